"""Tab: Q, K, V step by step. One row of a model's attention recomputed by hand from its own
weights (query, keys, scores, the division by sqrt(d_k), the causal mask, softmax, values,
the heads concatenated and projected), why sqrt(d_k), and the recurrent models' own scores.
It owns /qkv; it follows the shared sentence while it is open."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from inference import InputError, qkv
from inference.compare import MAX_INPUT_CHARS
from tabs.common import (
    QUIET,
    Models,
    Page,
    caption,
    follow,
    quiet_choices,
    raw_value,
    user_error,
)
from views import heatmaps
from views import qkv as views

SHOWS_WORDS = False
KIND_CHOICES = [(label, name) for name, label in heatmaps.KINDS.items()]


def whole(value, what: str) -> int:
    """A layer, head or query position (from 1) from a picker or an API client; InputError
    for anything that is not a whole number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer():
        raise InputError(f"The {what} must be a whole number counted from 1, not "
                         f"{str(value)[:20]!r}.")
    return int(number)


def flag(value) -> bool:
    """The 'without the mask' box from the page or an API client (true/false, 1/0)."""
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "1"):
        return True
    if value is None or str(value).strip().lower() in ("false", "0", ""):
        return False
    raise InputError(f"'Without the mask' must be true or false, not {str(value)[:20]!r}.")


def numbered(component: gr.components.Component, what: str) -> gr.components.Component:
    """A picker whose choices change with the sentence: an API client sends a whole number
    (the API page says so, not the first sentence's choices), and our check explains a bad
    one."""
    component.api_info = lambda: {"type": "integer", "description": what}
    return raw_value(component)


def build(page: Page) -> gr.Tab | None:
    models, inputs = page.models, page.inputs
    if not models.attending:
        return None
    first = (models.multi or models.attending)[0]
    most_layers = max([max(models.info[n]["kind_layers"].values(), default=1)
                       for n in models.multi] + [1])
    most_heads = max([models.info[n]["heads"] for n in models.multi] + [1])
    with gr.Tab("Q, K, V", id="qkv") as tab:
        caption(views.INTRO)
        pick = SimpleNamespace()
        with gr.Row():
            pick.model = quiet_choices(gr.Dropdown(
                [(models.labels[n], n) for n in models.attending], value=first, label="Model",
                elem_id="qkv-model", min_width=200))
            pick.kind = quiet_choices(gr.Radio(
                KIND_CHOICES, value="cross", label="Attention", elem_id="qkv-kind", scale=2,
                min_width=300, visible=first in models.multi))
        with gr.Row():
            pick.layer = numbered(gr.Slider(
                1, max(2, most_layers), value=1, step=1, label="Layer", elem_id="qkv-layer",
                visible=most_layers > 1, min_width=160), "layer, from 1")
            pick.head = numbered(gr.Slider(
                1, max(2, most_heads), value=1, step=1, label="Head", elem_id="qkv-head",
                visible=most_heads > 1, min_width=160), "head, from 1")
            pick.query = numbered(gr.Dropdown(
                [("1", 1)], value=1, label="Query piece", elem_id="qkv-query", min_width=160,
                info="the row: a German piece (an English one for encoder self-attention)"),
                "query position, from 1")
            pick.unmasked = raw_value(gr.Checkbox(
                False, label="Without the mask", info="let the piece see the pieces after it",
                elem_id="qkv-no-mask", visible=False, min_width=160))
        button = gr.Button("Show the steps", variant="primary", elem_id="qkv-show")
        summary = gr.Markdown(elem_id="qkv-summary")
        with gr.Row(elem_classes="plot-grid", elem_id="qkv-grid"):
            with gr.Column(min_width=0):
                steps_plot = gr.Plot(show_label=False, elem_id="qkv-steps",
                                     elem_classes="fit-plot")
                steps_caption = caption("")
                with gr.Accordion("The row as numbers", open=False):
                    table = gr.Markdown(elem_id="qkv-table")
            with gr.Column(min_width=0):
                vectors_plot = gr.Plot(show_label=False, elem_id="qkv-vectors",
                                       elem_classes="fit-plot")
                vectors_caption = caption("")
            with gr.Column(min_width=0):
                mask_plot = gr.Plot(show_label=False, elem_id="qkv-mask", elem_classes="fit-plot",
                                    visible=False)
                mask_caption = caption("")
            with gr.Column(min_width=0):
                entropy_plot = gr.Plot(show_label=False, elem_id="qkv-entropy",
                                       elem_classes="fit-plot")
                entropy_caption = caption("")
        heads = gr.Markdown(elem_id="qkv-heads")
        with gr.Accordion("The numbers as JSON (what the /qkv API returns first)", open=False):
            numbers = gr.JSON(show_label=False, elem_id="qkv-json")

    outputs = [numbers, summary, steps_plot, steps_caption, table, vectors_plot, vectors_caption,
               mask_plot, mask_caption, entropy_plot, entropy_caption, heads]
    controls = [pick.model, pick.kind, pick.layer, pick.head, pick.query, pick.unmasked]

    def show(sentence: str, model: str = first, kind: str = "cross", layer: int = 1,
             head: int = 1, query: int = 1, without_mask: bool = False):
        """/qkv: strict, so a bad choice from an API client is named, not silently moved."""
        return steps(models, sentence, model, kind, layer, head, query, without_mask, True)

    def refresh(sentence, model, kind, layer, head, query, without_mask):
        """The page moved on (another sentence, model or kind): show the nearest row."""
        return steps(models, sentence, model, kind, layer, head, query, without_mask, False)

    button.click(show, [inputs.sentence, *controls], outputs, api_name="qkv")
    follow(page, tab, refresh, controls, outputs)
    for control in (pick.model, pick.kind, pick.query, pick.unmasked):
        control.input(refresh, [inputs.sentence, *controls], outputs, **QUIET)
    for control in (pick.layer, pick.head):
        control.release(refresh, [inputs.sentence, *controls], outputs, **QUIET)
    numbers.change(pickers, numbers, [pick.kind, pick.layer, pick.head, pick.query,
                                      pick.unmasked], **QUIET)
    return tab


def steps(models: Models, sentence, name, kind, layer, head, query, without_mask,
          strict: bool) -> tuple:
    """One attention row of model `name` on `sentence`, as the tab's outputs; gr.Error in one
    sentence for bad input. strict=False moves a layer, head or query the sentence or model
    does not have to the nearest one that exists."""
    try:
        if name not in models.attending:
            raise InputError(f"There is no shipped model with attention called "
                             f"{str(name)[:40]!r}.")
        if kind not in qkv.KINDS:
            raise InputError(f"Pick the kind of attention: {', '.join(qkv.KINDS)}; not "
                             f"{str(kind)[:30]!r}.")
        if kind != "cross" and not models.multi:
            raise InputError("No Transformer is shipped with this app, so there is no "
                             "self-attention to show: pick kind 'cross'.")
        chosen = (whole(layer, "layer") - 1, whole(head, "head") - 1,
                  whole(query, "query position") - 1)
        masked = not flag(without_mask)
        if isinstance(sentence, str):
            sentence = sentence[:MAX_INPUT_CHARS]  # a huge paste costs nothing
        run = qkv.forward(models.translators[name], sentence)
        if not strict:
            kind, *chosen = qkv.clamp(run, kind, *chosen)
        row = qkv.row(run, kind, *chosen, masked=masked)
    except Exception as err:
        raise user_error(err) from None
    return draw(row)


def draw(row: dict) -> tuple:
    """One row's outputs: the JSON first (the API's contract), then the views."""
    mask = views.mask_figure(row)
    return (qkv.as_json(row), views.summary(row), views.steps_figure(row),
            views.steps_caption(row), views.row_table(row), views.vectors_figure(row),
            views.vectors_caption(row),
            gr.Plot(mask, visible=mask is not None), views.mask_caption(row),
            views.entropy_figure(row), views.entropy_caption(row), views.heads_markdown(row))


def pickers(payload: dict | None):
    """The pickers as the row just shown has them: its kind, layer and head, the pieces of its
    sentence to pick a query from, the mask box only for decoder self-attention."""
    if not payload:
        return tuple(gr.skip() for _ in range(5))
    multi = payload["score_function"] == "scaled_dot_product"
    layers, heads = payload["layers"], payload["heads"]
    return (gr.Radio(value=payload["kind"], visible=multi),
            gr.Slider(maximum=max(2, layers), value=payload["layer"], visible=layers > 1),
            gr.Slider(maximum=max(2, heads), value=payload["head"], visible=heads > 1),
            gr.Dropdown(choices=[(f"{i} · {piece}", i)
                                 for i, piece in enumerate(payload["rows"], start=1)],
                        value=payload["query_index"]),
            gr.Checkbox(visible=payload["kind"] == "decoder_self"))

"""Backprop through attention: for one German piece the learner picks, gradient x input of every
English piece beside the attention row, for each model with attention, and their rank
correlation (Jain & Wallace 2019). It owns /saliency."""

from __future__ import annotations

import gradio as gr

from inference import gradients
from tabs.common import (
    Page,
    caption,
    common_target,
    follow,
    model_colors,
    raw_value,
    user_error,
)
from views import gradients as gradient_views

SHOWS_WORDS = False


def build(page: Page) -> gr.Tab | None:
    models = page.models
    attending = [n for n in models.names if gradients.has_attention(models.translators[n])]
    if not attending:
        return None
    colors = model_colors(models)
    with gr.Tab("Attention vs. gradient", id="saliency") as tab:
        caption(gradient_views.SALIENCY_INTRO)
        with gr.Row(equal_height=True):
            # The learner picks a piece here; its choices follow the target, so the API takes
            # the 0-based index from `index` (hidden), whose value we check ourselves
            # (inference.gradients.piece_index): a dropdown whose choices were updated would
            # refuse an index from a previous target with Gradio's own message.
            picker = gr.Dropdown([("0: the first piece", 0)], value=0,
                                 label="German piece being written", scale=2, min_width=200,
                                 elem_id="saliency-piece")
            target_box = common_target("saliency-target", scale=3)
            button = gr.Button("Compare", variant="primary", scale=1, min_width=120,
                               elem_id="saliency-btn")
        index = raw_value(gr.Number(0, precision=0, visible=False,
                                    label="Output piece (0-based index into the target)",
                                    elem_id="saliency-index"))
        note = gr.Markdown(elem_id="saliency-target-note")
        summary = gr.Markdown(elem_id="saliency-caption")
        with gr.Row(elem_classes="plot-grid", elem_id="saliency-grid"):
            plots = {name: gr.Plot(show_label=False, elem_id=f"saliency-{name}",
                                   elem_classes="fit-plot") for name in attending}
        with gr.Accordion("Saliency and attention as JSON (what the /saliency API returns "
                          "first)", open=False):
            data = gr.JSON(show_label=False, elem_id="saliency-json")

    def compare(sentence: str, piece=0, target: str = "", fallback: bool = False):
        """/saliency: each attention model's gradient x input and attention row for output
        piece `piece` (0-based) of the common target."""
        try:
            # Every model may write the common target, as on /gradient_flow; those with
            # attention are compared.
            results = gradients.saliency_all(models.translators, sentence, piece, target,
                                             fallback=fallback)
        except Exception as err:
            raise user_error(err) from None
        answer = {n: r.as_json() for n, r in results.items()}
        first = next(iter(answer.values()))
        choices = gr.Dropdown(choices=gradient_views.piece_choices(first["target_pieces"]),
                              value=first["index"])
        return ([answer, choices, first["index"], gradient_views.target_note(answer),
                 gradient_views.saliency_caption(answer)]
                + [gradient_views.saliency_figure(answer[n], colors.get(n)) for n in attending])

    def follow_sentence(sentence: str, piece=0, target: str = ""):
        # A new sentence has a new target: a piece past its end falls back to the first.
        return compare(sentence, piece, target, fallback=True)

    outputs = [data, picker, index, note, summary] + [plots[n] for n in attending]
    sentence = page.inputs.sentence
    button.click(compare, [sentence, index, target_box], outputs, api_name="saliency")
    picker.input(compare, [sentence, picker, target_box], outputs, api_visibility="private")
    target_box.submit(follow_sentence, [sentence, index, target_box], outputs,
                      api_visibility="private")
    follow(page, tab, follow_sentence, [index, target_box], outputs)
    return tab

"""What every tab shares: the page it is built on, and small widget helpers.

A tab's `build(page)` reads the shipped models and the input row from `page` and adds its own
widgets and events. Tabs never import `app`; `app` builds the `Page` and calls them in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import gradio as gr

from inference import InputError
from inference.catalogue import Look
from inference.errors import whole_number
from inference.translator import MAX_BEAM
from views import heatmaps

log = logging.getLogger("app")

QUIET = dict(api_visibility="private", show_progress="hidden")  # redraws, no model call


class Models(Protocol):
    """What a tab may ask of the shipped models (app.Shipped)."""

    translators: dict[str, Any]  # name -> inference.Translator, in the chapter's order
    names: list[str]
    labels: dict[str, str]
    looks: dict[str, Look]  # name -> label, order, colour, role (metadata, then catalogue)
    info: dict[str, dict]  # name -> inference.compare.attention_info
    attending: list[str]  # with attention
    multi: list[str]  # with several heads (Transformers)
    single: list[str]  # with one alignment (RNNs with attention)
    translate: Any  # (sentence, beam) -> (results, notes), cached
    align: Any  # (sentence, target) -> results, cached
    alignment: dict[str, dict]  # name -> split -> its eval's "alignment" (inference.reference)
    aligner: Any  # inference.aligner.PairAligner, or None without one
    aligner_note: str  # why there is no aligner ("" when there is)
    word_links: Any  # (source, target) -> inference.reference.WordLinks, cached

    def translated(self, key: dict | None) -> dict: ...

    def aligned(self, key: dict | None) -> dict: ...


@dataclass
class Page:
    """The page the tabs are built on."""

    demo: gr.Blocks
    models: Models
    inputs: SimpleNamespace  # the input row: sentence, beam, words, button, examples, ...
    translations: gr.State  # only the key {"sentence", "beam"}: see app.Shipped
    viewport: gr.Number  # the page's width, read once by the browser
    downloads: Path  # where download files are written (and served from)
    # The last event of each way of translating (button, Enter, example, page load): a tab
    # whose figures follow the translation chains its redraw onto each of them.
    translated: list = field(default_factory=list)
    # The id of the tab on screen (app sets it on every tab's select): a tab that follows the
    # sentence recomputes only while it is open (`follow`).
    open_tab: gr.State | None = None
    # Called by app with {tab id: title} of every tab shown, once all are built.
    after_build: list = field(default_factory=list)


# ---- widgets that explain a bad value from an API client in one sentence ---------------------
# (Instances are adjusted rather than subclassed: Gradio writes a .pyi file next to any module
# that subclasses a component.)
def raw_value(component: gr.components.Component) -> gr.components.Component:
    """Hand on whatever an API client sent, so our own check (e.g. `beam_size`) can explain a
    bad value ('abc', None) instead of Gradio's generic error and a logged traceback."""
    component.preprocess = lambda payload: payload
    return component


def quiet_choices(component: gr.components.Component) -> gr.components.Component:
    """A radio or dropdown whose "not one of the choices" error is one line, with no traceback
    in the log."""
    check = component.preprocess

    def preprocess(payload):
        try:
            return check(payload)
        except gr.Error as err:
            raise gr.Error(str(err.message)[:300], print_exception=False) from None

    component.preprocess = preprocess
    return component


def beam_size(value) -> int:
    """The beam size from the slider or an API client; InputError for anything else."""
    return whole_number(value, 1, MAX_BEAM, "beam size")


def user_error(err: Exception) -> gr.Error:
    """A message a person can act on; anything unexpected is logged, never shown as a trace."""
    if isinstance(err, InputError):
        return gr.Error(str(err), print_exception=False)
    log.exception("unexpected error")
    return gr.Error("Something went wrong on our side; please try another sentence.",
                    print_exception=False)


def caption(markdown: str) -> gr.Markdown:
    return gr.Markdown(markdown, elem_classes="caption")


def common_target(elem_id: str, scale: int) -> gr.Textbox:
    """The German target every model is made to write for the gradient views; empty: the
    reference model's translation (inference.gradients picks it)."""
    return gr.Textbox("", label="German target (empty: the reference model's translation)",
                      lines=1, scale=scale, placeholder="Ein Hund rennt durch den Schnee.",
                      elem_id=elem_id)


def layer_head_pickers(info: dict, prefix: str) -> tuple[gr.Radio, gr.Radio]:
    """A layer and a head picker for one multi-head model; values are 0-based (head "mean")."""
    with gr.Row():
        layer = quiet_choices(gr.Radio(heatmaps.layer_choices(info["layers"]),
                                       value=str(info["layers"] - 1), label="Layer",
                                       elem_id=f"{prefix}-layer", min_width=120))
        head = quiet_choices(gr.Radio(heatmaps.head_choices(info["heads"]), value=heatmaps.MEAN,
                                      label="Head", elem_id=f"{prefix}-head", scale=3))
    return layer, head


def picked(pickers: dict[str, tuple], values) -> dict[str, tuple]:
    """Flat picker values (layer, head, layer, head, ...) -> {model: (layer, head)}."""
    it = iter(values)
    return {name: (next(it), next(it)) for name in pickers}


def model_colors(models: Models) -> dict[str, str]:
    """name -> colour for the models whose metadata or catalogue entry names one."""
    return {name: look.color for name, look in models.looks.items() if look.color}


def follow(page: Page, tab: gr.Tab, fn, inputs: list, outputs: list) -> None:
    """Run `fn(sentence, *inputs)` -> outputs when `tab` is opened and, while it is open, after
    every translation of the input row; a hidden tab costs nothing. `fn` raises gr.Error
    (`user_error`) for bad input. The tab's own button (with its api_name) is wired apart."""
    sentence = page.inputs.sentence
    tab.select(fn, [sentence, *inputs], outputs, api_visibility="private")

    def if_open(open_tab, *values):
        if open_tab != tab.id:
            return tuple(gr.skip() for _ in outputs) if len(outputs) > 1 else gr.skip()
        return fn(*values)

    if page.open_tab is not None:
        for event in page.translated:
            event.then(if_open, [page.open_tab, sentence, *inputs], outputs,
                       api_visibility="private")

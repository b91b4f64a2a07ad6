"""Tab 2, a Transformer's heads: every head of one layer as small multiples, and which heads
rest on </s> or "." (only when a multi-head model is shipped)."""

from __future__ import annotations

import gradio as gr

from tabs.common import QUIET, Models, Page, caption
from views import captions, heatmaps

SHOWS_WORDS = True


def build(page: Page) -> gr.Tab | None:
    models, inputs = page.models, page.inputs
    if not models.multi:
        return None
    first = models.multi[0]
    with gr.Tab("Transformer heads", id="heads") as tab:
        grid_caption = caption(captions.HEAD_GRID["cross"])
        resting = gr.Markdown(elem_id="grid-resting")
        with gr.Row():
            model = gr.Dropdown([(models.labels[n], n) for n in models.multi], value=first,
                                label="Model", visible=len(models.multi) > 1)
            kind = gr.Radio([(v, k) for k, v in heatmaps.KINDS.items()], value="cross",
                            label="Attention", elem_id="grid-kind", scale=3, min_width=320)
            layer = gr.Radio(heatmaps.layer_choices(models.info[first]["layers"]),
                             value=str(models.info[first]["layers"] - 1), label="Layer",
                             elem_id="grid-layer")
        grid = gr.Plot(show_label=False, elem_id="head-grid", elem_classes="fit-plot")

    def layer_picker(name: str, attention: str) -> gr.Radio:
        # A deep encoder under a shallow decoder: each kind has its own number of layers.
        layers = models.info[name]["kind_layers"].get(attention, models.info[name]["layers"])
        return gr.Radio(heatmaps.layer_choices(layers), value=str(layers - 1))

    model.change(layer_picker, [model, kind], layer, **QUIET)
    kind.change(layer_picker, [model, kind], layer, **QUIET)

    def redraw(key: dict, name: str, attention: str, at: str, words: bool, width: float):
        return draw_grid(models, key, name, attention, at, words, width)

    grid_inputs = [page.translations, model, kind, layer, inputs.words, page.viewport]
    grid_outputs = [grid, grid_caption, resting]
    for event in page.translated:  # after each translation, as soon as it is drawn
        event.then(redraw, grid_inputs, grid_outputs, **QUIET)
    for control in (kind, layer, inputs.words, page.viewport):
        control.change(redraw, grid_inputs, grid_outputs, **QUIET)
    return tab


def draw_grid(models: Models, key: dict, name: str, kind: str, layer: str, words: bool,
              viewport: float | None = None):
    """The head grid, its caption, and the sentence naming the heads that rest on </s> or "."."""
    results = models.translated(key)
    if name not in results:
        return None, captions.HEAD_GRID.get(kind, ""), ""
    translation = results[name]
    view = heatmaps.select_view(translation, kind, int(layer), 0, words)
    columns = heatmaps.grid_columns(models.info[name]["heads"],
                                    len(view.columns) if view else 0, viewport)
    figure = heatmaps.head_grid(translation, kind, int(layer), words, columns)
    return (figure, captions.HEAD_GRID.get(kind, ""),
            heatmaps.resting_heads(translation, kind, int(layer), words))

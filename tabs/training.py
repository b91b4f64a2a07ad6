"""Tab 4, training: one validation sentence's alignment epoch by epoch (a slider over the
snapshots training kept), and every model's loss and BLEU curves."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from inference import reference
from tabs.common import QUIET, Models, Page, caption, model_colors
from views import captions, heatmaps, text
from views import training as training_views
from views.style import paint

SHOWS_WORDS = True


def build(page: Page) -> gr.Tab:
    with gr.Tab("Training", id="training") as tab:
        contents(page.models, page.inputs)
    return tab


def contents(models: Models, inputs: SimpleNamespace) -> None:
    """One sentence's alignment epoch by epoch (a slider), and every model's curves."""
    translators = models.translators
    caption(captions.TRAINING)
    shown = [n for n, t in translators.items()
             if t.snapshots and training_views.snapshot_layers(t.snapshots)]
    if not shown:
        gr.Markdown(text.missing("No shipped model with attention has training snapshots "
                                 "(snapshots.json), so there is no epoch-by-epoch view."))
    else:
        # Open on the model whose attention aligns words best (lowest val AER), else by role.
        opening = reference.cleanest(models.alignment, shown, models.looks)
        first = translators[opening]
        n_layers = training_views.snapshot_layers(first.snapshots)
        with gr.Row():
            model = gr.Dropdown([(models.labels[n], n) for n in shown], value=opening,
                                label="Model", elem_id="snap-model", min_width=260)
            sentence = gr.Dropdown(training_views.snapshot_sentences(first.snapshots), value=0,
                                   label="Validation sentence", elem_id="snap-sentence",
                                   min_width=260, scale=2)
            layer = gr.Radio(heatmaps.layer_choices(n_layers), value=str(n_layers - 1),
                             label="Layer (mean of heads)", visible=n_layers > 1,
                             elem_id="snap-layer")
        epoch = gr.Slider(1, max(len(first.snapshots), 2), value=len(first.snapshots), step=1,
                          label="Snapshot (epoch)", elem_id="snap-epoch")

        def draw(name: str, index: int, at: float, layer_index: int, words: bool = False):
            t = translators[name]
            view, summary = training_views.snapshot_view(
                t.snapshots, name, t.metadata, int(at) - 1, index or 0, layer_index, words)
            return summary, None if view is None else heatmaps.heatmap(view, title=view.title)

        summary, figure = draw(opening, 0, len(first.snapshots), str(n_layers - 1))
        info = gr.Markdown(summary, elem_id="snap-info")
        with gr.Row(elem_classes="plot-grid"):
            plot = gr.Plot(figure, show_label=False, elem_id="snapshot-heatmap",
                           elem_classes="fit-plot")

        def pick_model(name: str):
            t = translators[name]
            layers = training_views.snapshot_layers(t.snapshots)
            return (gr.Dropdown(training_views.snapshot_sentences(t.snapshots), value=0),
                    gr.Slider(1, max(len(t.snapshots), 2), value=len(t.snapshots), step=1),
                    gr.Radio(heatmaps.layer_choices(layers), value=str(layers - 1),
                             visible=layers > 1))

        controls = [model, sentence, epoch, layer, inputs.words]
        model.change(pick_model, model, [sentence, epoch, layer], api_visibility="private") \
            .then(draw, controls, [info, plot], **QUIET)
        for control in (sentence, epoch, layer, inputs.words):
            control.change(draw, controls, [info, plot], **QUIET)
        without = [models.labels[n] for n in models.names if n not in shown]
        if without:
            gr.Markdown(text.missing("No alignment snapshots for: " + ", ".join(without)
                                     + " (no attention, or no snapshots.json shipped)."))
    caption(captions.CURVES)
    loss, bleu = training_views.curves_figures(
        {n: (models.labels[n], t.metadata.get("curves", [])) for n, t in translators.items()})
    # Each model in its own colour (its metadata's, else the catalogue's).
    loss, bleu = (paint(figure, model_colors(models)) for figure in (loss, bleu))
    if loss is None:
        gr.Markdown(text.missing("No shipped model has training curves in its metadata."))
    else:
        with gr.Row(elem_classes="plot-grid"):
            gr.Plot(loss, show_label=False, elem_id="curves-loss")
            gr.Plot(bleu, show_label=False, elem_id="curves-bleu")

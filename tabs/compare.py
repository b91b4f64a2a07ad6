"""Tab 3, the same target aligned by every model: each model is forced to write one German
sentence (a model's translation or the learner's own), and the alignments are ranked by how
close they come to the reference alignment; where the statistical aligner is shipped, its word
links are one more matrix, and each model's attention is scored against them. It owns /align.

/align's outputs: the target and its scores, each attention model's heatmap, the ranking
summary and table, each multi-head model's JS grid, the JSON and CSV downloads, then the
aligner's heatmap and what it says (None and a note without the aligner)."""

from __future__ import annotations

import gradio as gr

from inference import InputError
from inference import compare as comparing
from inference.reference import cleanest
from tabs.common import (
    QUIET,
    Page,
    caption,
    layer_head_pickers,
    log,
    picked,
    quiet_choices,
    user_error,
)
from views import captions, export, heatmaps
from views import compare as compare_views

SHOWS_WORDS = True
OWN_TARGET = "__own__"


def build(page: Page) -> gr.Tab | None:
    models, inputs, translations = page.models, page.inputs, page.translations
    if not models.attending:
        return None
    labels = models.labels
    # The model whose attention aligns words best (lowest val AER), else by role.
    default_target = cleanest(models.alignment, models.names, models.looks)
    default_reference = cleanest(models.alignment, models.single, models.looks)
    with gr.Tab("Same target, compared", id="compare") as tab:
        caption(captions.COMPARE)
        with gr.Row():
            choice = quiet_choices(gr.Radio(
                [(f"{labels[n]}'s translation", n) for n in models.names]
                + [("my own German sentence", OWN_TARGET)], value=default_target,
                label="Target every model must write", elem_id="target-choice", scale=2))
            with gr.Column(min_width=260):
                own = gr.Textbox("", label="My own German sentence", lines=1,
                                 placeholder="Ein Hund rennt durch den Schnee.",
                                 elem_id="own-target")
                reference = quiet_choices(gr.Dropdown(
                    [(labels[n], n) for n in models.single], value=default_reference,
                    label="Reference alignment (a GRU)", visible=bool(models.single)))
        button = gr.Button("Align every model to this target", variant="primary",
                           elem_id="align-btn")
        info = gr.Markdown(elem_id="aligned-info")
        aligned_state = gr.State({})  # only the key {"sentence", "target"}: see app.Shipped
        plots, pickers = {}, {}
        with gr.Row(elem_classes="plot-grid"):
            for name in models.attending:
                with gr.Column(min_width=0):
                    plots[name] = gr.Plot(show_label=False, elem_id=f"aligned-{name}",
                                          elem_classes="fit-plot")
                    if name in models.multi:
                        pickers[name] = layer_head_pickers(models.info[name], f"aligned-{name}")
            with gr.Column(min_width=0, visible=models.aligner is not None):
                aligner_plot = gr.Plot(show_label=False, elem_id="aligned-eflomal",
                                       elem_classes="fit-plot")
        aligner_info = gr.Markdown(elem_id="aligner-summary", elem_classes="caption")
        summary = gr.Markdown(elem_id="ranking-summary")
        ranking = gr.Dataframe(headers=compare_views.TABLE_HEADERS, interactive=False,
                               label="Ranking: closest to the reference first", max_height=420,
                               wrap=True, column_widths=compare_views.COLUMN_WIDTHS,
                               elem_id="ranking")
        if models.multi and models.single:
            caption(captions.JS_GRID)
        js_plots = [gr.Plot(show_label=False, elem_id=f"js-{n}", elem_classes="fit-plot")
                    for n in models.multi]
        with gr.Row():
            downloads = [gr.DownloadButton("Download these matrices (JSON)", size="sm"),
                         gr.DownloadButton("Download these matrices (CSV)", size="sm")]
    picker_inputs = [c for pair in pickers.values() for c in pair]

    def word_links(aligned: dict):
        """The aligner's links of the shared pair (None without it), and why there are none."""
        if not aligned or models.aligner is None:
            return None, models.aligner_note
        first = next(iter(aligned.values()))
        try:
            return models.word_links(first.source, first.text), ""
        except Exception as err:  # the aligner is an extra: the models' matrices still show
            log.warning("the statistical aligner failed on a pair: %s", err)
            return None, "The statistical aligner could not align this pair."

    def draw(key: dict, ref: str | None, words: bool, *values):
        aligned = models.aligned(key)
        selections = picked(pickers, values)
        views = heatmaps.cross_views(aligned, list(plots), selections, words)
        shown = [v for v in views if v]
        figures = [None if v is None else heatmaps.heatmap(v, title=v.title) for v in views]
        text_md, table, grids = compare_views.comparison(aligned, ref, labels, words)
        pair, note = word_links(aligned)
        eflomal = None if pair is None else compare_views.aligner_view(
            pair, next(iter(aligned.values())).metadata)
        said = compare_views.aligner_summary(aligned, pair, labels, selections, words, note)
        source = next(iter(aligned.values())).source if aligned else ""
        files = export.write_downloads(shown + ([eflomal] if eflomal else []), source,
                                       page.downloads, "same-target")
        return figures + [text_md, table] + [grids.get(n) for n in models.multi] + list(files) \
            + [None if eflomal is None else heatmaps.heatmap(eflomal, title=eflomal.title), said]

    def align(sentence: str, target_choice: str, own_target: str, ref: str | None,
              words: bool, key: dict, *values):
        try:
            if target_choice == OWN_TARGET:
                if not (own_target or "").strip():
                    raise InputError("Type the German sentence every model should write, or "
                                     "pick a model's translation.")
                target = own_target
            else:
                target = comparing.target_for(models.translators, target_choice, sentence,
                                              models.translated(key))
            aligned = models.align(sentence, target)
        except Exception as err:
            raise user_error(err) from None
        aligned_key = {"sentence": sentence, "target": target}
        return [aligned_key, compare_views.target_summary(aligned, labels)] \
            + draw(aligned_key, ref, words, *values)

    # New outputs go at the end, so an API client's indices into the older ones still hold.
    outputs = list(plots.values()) + [summary, ranking] + js_plots + downloads \
        + [aligner_plot, aligner_info]
    button.click(align, [inputs.sentence, choice, own, reference, inputs.words, translations]
                 + picker_inputs, [aligned_state, info] + outputs, api_name="align")
    for control in [reference, inputs.words] + picker_inputs:
        control.change(draw, [aligned_state, reference, inputs.words] + picker_inputs, outputs,
                       **QUIET)
    # Typing a German sentence means "use mine": pick that choice for the learner.
    own.input(lambda typed: OWN_TARGET if (typed or "").strip() else gr.Radio(), own, choice,
              **QUIET)
    return tab

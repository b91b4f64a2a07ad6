"""Tab 1, every model side by side: each translation, and where each model with attention
looked. It owns /translate: the button, Enter, an example and the page load all translate,
then set the messages under the input row and write the downloads."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from tabs.common import QUIET, Page, beam_size, caption, layer_head_pickers, picked, user_error
from views import captions, export, heatmaps, text

SHOWS_WORDS = True  # the word toggle changes this tab's figures
WORDS_PAST = 15  # source pieces beyond which the word view is the default (until the box is used)


def build(page: Page) -> gr.Tab:
    side = widgets(page)
    wire(page, side)
    return side.tab


def widgets(page: Page) -> SimpleNamespace:
    """Each model's translation; those with attention with their heatmap, two to a row on a
    wide screen and one on a phone (CSS grid), each sized to the sentence."""
    models = page.models
    with gr.Tab("Side by side", id="side") as tab:
        caption(captions.SIDE_BY_SIDE)
        texts, plots, pickers = {}, {}, {}
        with gr.Row(elem_classes="plot-grid", elem_id="model-grid"):
            for name in models.names:
                with gr.Column(min_width=0, elem_classes="model-cell"):
                    texts[name] = translation_box(models, name)
                    if name not in models.attending:
                        gr.Markdown(captions.NO_ATTENTION, elem_classes="no-attention",
                                    elem_id=f"no-attention-{name}")
                        continue
                    plots[name] = gr.Plot(show_label=False, elem_id=f"heatmap-{name}",
                                          elem_classes="fit-plot")
                    if name in models.multi:
                        pickers[name] = layer_head_pickers(models.info[name], name)
        texts = {name: texts[name] for name in models.names}  # the API's order
        with gr.Row():
            download_json = gr.DownloadButton("Download these matrices (JSON)", size="sm",
                                              elem_id="download-json")
            download_csv = gr.DownloadButton("Download these matrices (CSV)", size="sm",
                                             elem_id="download-csv")
        with gr.Accordion("All translations as JSON (what the /translate API returns first)",
                          open=False):
            all_json = gr.JSON(show_label=False, elem_id="translations-json")
    return SimpleNamespace(tab=tab, texts=texts, plots=plots, pickers=pickers, json=all_json,
                           downloads=[download_json, download_csv])


def translation_box(models, name: str) -> gr.Textbox:
    """A model's translation under a line naming the model, its size and headline score."""
    card = text.model_card(models.translators[name].metadata, name)
    gr.Markdown(text.card_markdown(card), elem_classes="model-card")
    return gr.Textbox(label=card, show_label=False, container=False, interactive=False,
                      elem_id=f"translation-{name}")


def wire(page: Page, side: SimpleNamespace) -> None:
    """/translate (button, Enter, an example, page load), then the messages and the downloads;
    redraws when a view option changes, from the stored translations (no model call); marks the
    results stale when the sentence or beam changes without translating."""
    models, inputs, translations = page.models, page.inputs, page.translations
    picker_inputs = [c for pair in side.pickers.values() for c in pair]
    plotted = list(side.plots)

    def figures(results: dict, words: bool, values) -> list:
        views = heatmaps.cross_views(results, plotted, picked(side.pickers, values), words)
        return [None if v is None else heatmaps.heatmap(v) for v in views]

    def translate(sentence: str, beam: float = 1, words: bool = False, *values):
        try:
            beam = beam_size(beam)
            results, notes = models.translate(sentence, beam)
        except Exception as err:
            raise user_error(err) from None
        for note in notes:
            gr.Warning(note)
        key = {"sentence": sentence, "beam": beam}
        return ([{name: r.text for name, r in results.items()}, text.notices(notes), key]
                + [results[name].text for name in models.names]
                + figures(results, words, values))

    def after(key: dict, chosen: bool, words: bool, sentence: str, beam: float):
        """Word view past WORDS_PAST pieces (unless chosen by hand), the subword notes, and
        no stale mark."""
        results = models.translated(key)
        first = next(iter(results.values()), None)
        if first is not None and not chosen:
            words = len(first.source_pieces) - 1 > WORDS_PAST  # less the end token
        return (words, text.stale_note(key, sentence, beam),
                text.sentence_notes(results, models.labels))

    def downloads(key: dict, words: bool, *values):
        results = models.translated(key)
        views = heatmaps.cross_views(results, plotted, picked(side.pickers, values), words)
        source = next(iter(results.values())).source if results else ""
        return export.write_downloads([v for v in views if v], source, page.downloads,
                                      "side-by-side")

    outputs = [side.json, inputs.notice, translations] \
        + [side.texts[n] for n in models.names] + [side.plots[n] for n in plotted]
    view_inputs = [translations, inputs.words] + picker_inputs
    translate_inputs = [inputs.sentence, inputs.beam, inputs.words] + picker_inputs
    for trigger, api in ((inputs.button.click, dict(api_name="translate")),
                         (inputs.sentence.submit, dict(api_visibility="private")),
                         (inputs.examples.load_input_event.then, dict(api_visibility="private")),
                         (page.demo.load, dict(api_visibility="private"))):
        event = trigger(translate, translate_inputs, outputs, **api) \
            .then(after, [translations, inputs.words_chosen, inputs.words, inputs.sentence,
                          inputs.beam], [inputs.words, inputs.status, inputs.pieces], **QUIET) \
            .then(downloads, view_inputs, side.downloads, **QUIET)
        page.translated.append(event)

    def redraw(key: dict, words: bool, *values):
        return figures(models.translated(key), words, values)

    for control in [inputs.words] + picker_inputs:
        control.change(redraw, view_inputs, [side.plots[n] for n in plotted], **QUIET) \
            .then(downloads, view_inputs, side.downloads, **QUIET)
    for control in (inputs.sentence, inputs.beam):
        control.change(text.stale_note, [translations, inputs.sentence, inputs.beam],
                       inputs.status, **QUIET)

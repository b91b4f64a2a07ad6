"""The app: type a sentence, see every shipped model's translation and where it looked.

    python app.py                                   # models from checkpoints/ next to this file
    CHECKPOINTS_DIR=/path/to/folders python app.py  # or from elsewhere

Widgets and event wiring only. Translations come from the inference facade (`inference`,
`inference.compare`, `inference.lab`); figures, tables and text from `views`. A bare
`demo.launch()` reads GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, as Spaces sets them.

The API: `gradio_client.Client(url).predict("A dog runs.", api_name="/translate")` returns
first a JSON object {model name: translation}, then a notice, each model's text and each
heatmap; `/align` makes every model write one given target and ranks their alignments.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from inference import InputError, lab, load_all, serve_threads
from inference import compare as comparing
from inference.recent import Recent
from inference.translator import MAX_BEAM
from views import captions, export, heatmaps, text
from views import compare as compare_views
from views import lab as lab_views
from views import training as training_views

log = logging.getLogger("app")

HERE = Path(__file__).resolve().parent
# Limits that keep a public Space answering (the README's "Limits and safety" lists them).
CONCURRENCY = 3  # requests run at once (one torch thread each); the rest wait in the queue
QUEUE_SIZE = 64  # waiting requests beyond this are turned away at once with a message
RECENT = 16  # translations (and forced alignments) kept in memory, shared by all visitors
# A long sentence at a wide beam costs seconds: such requests run one at a time, so a burst of
# them from one client cannot hold every worker while short requests wait.
HEAVY_CHARS, HEAVY_BEAM, HEAVY_WAIT_S = 400, 6, 3.0
HEAVY = threading.BoundedSemaphore(1)
# Created when a first download is written, removed at exit: `import app` leaves nothing.
DOWNLOADS = Path(tempfile.gettempdir()) / f"attention-app-downloads-{os.getpid()}"
EXAMPLES = [
    "A brown dog runs through the snow.",
    "Two men are playing soccer on a green field.",
    "A woman with a red umbrella walks down a busy street.",
    "A little girl jumps into the lake while her father watches.",
    "Three cyclists ride past an old church in the city.",
    "A black cat sleeps on a wooden bench in the sun.",
    "A man in a blue jacket and a woman with a small child are waiting at the bus stop "
    "next to a market where people are selling fruit and flowers.",
]
OWN_TARGET = "__own__"
QUIET = dict(api_visibility="private", show_progress="hidden")  # redraws, no model call
CSS = """
.caption { font-size: 0.93em; color: var(--body-text-color-subdued); }
.no-attention { border-left: 4px solid #9E9E9E; padding: 10px 14px;
                background: var(--background-fill-secondary); border-radius: 6px; }
.model-card h3 { margin-bottom: 0; }
"""
LAUNCH_OPTIONS = dict(theme=gr.themes.Soft(primary_hue="blue", neutral_hue="slate"), css=CSS)


# ---- widgets that explain a bad value from an API client in one sentence ---------------------
class AppBlocks(gr.Blocks):
    """Blocks whose events say, in one line and without echoing the input to the log, that an
    API call sent too few values (Gradio would log a traceback with the whole input)."""

    def validate_inputs(self, block_fn, inputs: list) -> None:
        if len(inputs) < len(block_fn.inputs):
            raise gr.Error(f"This call sent {len(inputs)} of the {len(block_fn.inputs)} inputs "
                           f"{block_fn.name or 'the event'} needs; send them all (see the "
                           "API page, or use gradio_client, which fills in the defaults).",
                           print_exception=False)


class GradioLook:
    """Drawn by the Gradio component this class derives from (its Svelte file)."""

    def get_block_name(self) -> str:
        return next(c for c in type(self).__mro__
                    if c.__module__.startswith("gradio.")).__name__.lower()


class BeamSlider(GradioLook, gr.Slider):
    """The beam slider. It hands on whatever it receives, so that `beam_size` can explain a bad
    value ('abc', None) instead of Gradio's generic error and a logged traceback."""

    def preprocess(self, payload):
        return payload


class QuietChoices(GradioLook):
    """A choice widget whose "not one of the choices" error is one line, no logged traceback."""

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except gr.Error as err:
            raise gr.Error(str(err.message)[:300], print_exception=False) from None


class Picker(QuietChoices, gr.Radio):
    pass


class PickerList(QuietChoices, gr.Dropdown):
    pass


class Shipped:
    """The models found under a checkpoints folder, and what the UI needs to know of each."""

    def __init__(self, root: Path):
        self.root = root
        self.translators, self.problems = load_all(root)
        self.info = {}
        for name, translator in list(self.translators.items()):
            try:
                self.info[name] = comparing.attention_info(translator)
            except Exception as err:  # a folder that loads but cannot translate is left out
                self.problems.append(f"{name}: cannot translate a test sentence ({err}).")
                del self.translators[name]
        self.names = list(self.translators)
        self.labels = {n: t.label for n, t in self.translators.items()}
        # Pages keep only (sentence, beam) or (sentence, target); the results live here, the
        # newest few for everyone, and an evicted one is translated again.
        self.translate = Recent(self._translate, RECENT)
        self.align = Recent(self._align, RECENT)
        self.attending = [n for n in self.names if self.info[n]["has_attention"]]
        self.multi = [n for n in self.attending if self.info[n]["heads"]]  # Transformers
        self.single = [n for n in self.attending if not self.info[n]["heads"]]  # GRUs

    def _translate(self, sentence: str, beam: int):
        if len(sentence) < HEAVY_CHARS and beam < HEAVY_BEAM:
            return comparing.translate_all(self.translators, sentence, beam)
        if not HEAVY.acquire(timeout=HEAVY_WAIT_S):
            raise InputError(f"Another long translation is running (over {HEAVY_CHARS} "
                             f"characters or beam {HEAVY_BEAM}+ run one at a time); try again "
                             "in a few seconds, or use a shorter sentence or a smaller beam.")
        try:
            return comparing.translate_all(self.translators, sentence, beam)
        finally:
            HEAVY.release()

    def _align(self, sentence: str, target: str):
        return comparing.align_all(self.translators, sentence, target)

    def translated(self, key: dict | None) -> dict:
        """The translations a page's key {"sentence", "beam"} stands for ({} before any)."""
        if not key:
            return {}
        return self.translate(key["sentence"], key["beam"])[0]

    def aligned(self, key: dict | None) -> dict:
        """The forced alignments a page's key {"sentence", "target"} stands for."""
        return self.align(key["sentence"], key["target"]) if key else {}


def checkpoints_dir() -> Path:
    return Path(os.environ.get("CHECKPOINTS_DIR", HERE / "checkpoints"))


def beam_size(value) -> int:
    """The beam size from the slider or an API client; InputError for anything else."""
    try:
        beam = float(value)
    except (TypeError, ValueError):
        beam = float("nan")
    if not beam.is_integer() or not 1 <= beam <= MAX_BEAM:
        raise InputError(f"The beam size must be a whole number from 1 to {MAX_BEAM}, "
                         f"not {str(value)[:20]!r}.")
    return int(beam)


def user_error(err: Exception) -> gr.Error:
    """A message a person can act on; anything unexpected is logged, never shown as a trace."""
    if isinstance(err, InputError):
        return gr.Error(str(err), print_exception=False)
    log.exception("unexpected error")
    return gr.Error("Something went wrong on our side; please try another sentence.",
                    print_exception=False)


def caption(markdown: str) -> gr.Markdown:
    return gr.Markdown(markdown, elem_classes="caption")


def layer_head_pickers(info: dict, prefix: str) -> tuple[gr.Radio, gr.Radio]:
    """A layer and a head picker for one multi-head model; values are 0-based (head "mean")."""
    with gr.Row():
        layer = Picker(heatmaps.layer_choices(info["layers"]), value=str(info["layers"] - 1),
                         label="Layer", elem_id=f"{prefix}-layer", min_width=120)
        head = Picker(heatmaps.head_choices(info["heads"]), value=heatmaps.MEAN,
                        label="Head", elem_id=f"{prefix}-head", scale=3)
    return layer, head


def picked(pickers: dict[str, tuple], values) -> dict[str, tuple]:
    """Flat picker values (layer, head, layer, head, ...) -> {model: (layer, head)}."""
    it = iter(values)
    return {name: (next(it), next(it)) for name in pickers}


def build_demo(root: str | Path | None = None) -> gr.Blocks:
    """The whole app on the model folders under `root` (default: $CHECKPOINTS_DIR)."""
    models = Shipped(Path(root) if root is not None else checkpoints_dir())
    # Downloads are served from their own folder, not copied into Gradio's cache per request,
    # and that folder keeps only the newest few (views.export.prune): disk use stays bounded.
    gr.set_static_paths([DOWNLOADS])
    atexit.register(shutil.rmtree, DOWNLOADS, True)
    # delete_cache: Gradio's copies of the downloads go after an hour, checked hourly.
    with AppBlocks(title="Attention beats recurrence", fill_width=True,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown(captions.INTRO)
        if not models.names:
            gr.Markdown(text.no_models(str(models.root), models.problems), elem_id="no-models")
            no_model_api()
            with gr.Tab("Chapter lab: the price of attention"):
                scaling_lab()
        else:
            if models.problems:
                gr.Markdown(text.problems_note(models.problems))
            inputs = input_row()
            translations = gr.State({})  # only the key {"sentence", "beam"}: see Shipped
            with gr.Tabs():
                side = side_by_side_tab(models)
                heads = heads_tab(models) if models.multi else None
                if models.attending:
                    compare_tab(models, inputs, translations)
                with gr.Tab("Training", id="training"):
                    training_tab(models)
                with gr.Tab("Chapter lab", id="lab"):
                    lab_tab(models)
                with gr.Tab("Models", id="models"):
                    caption(captions.MODELS)
                    gr.Markdown(text.models_table({n: t.metadata for n, t in
                                                   models.translators.items()}),
                                elem_id="models-table")
            wire_translation(demo, models, inputs, translations, side, heads)
    # A few requests run at once; the rest wait their turn in a bounded queue.
    return demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)


# ---- the sentence, shared by every tab --------------------------------------------------------
def input_row() -> SimpleNamespace:
    with gr.Row(equal_height=True):
        # lines=1: Enter translates (Gradio submits a one-line box on Enter); it still grows.
        sentence = gr.Textbox(EXAMPLES[0], label="English sentence", lines=1, max_lines=4,
                              scale=4,
                              placeholder="Type an English sentence…", elem_id="sentence")
        with gr.Column(scale=1, min_width=220):
            beam = BeamSlider(1, MAX_BEAM, value=1, step=1, label="Beam size",
                              info="1 = greedy search", elem_id="beam")
            words = gr.Checkbox(False, label=captions.WORDS, elem_id="words")
            button = gr.Button("Translate", variant="primary", elem_id="translate-btn")
    gr.Examples(EXAMPLES, inputs=[sentence], label="Examples (click one, then Translate)")
    notice = gr.Markdown(elem_id="notice")
    return SimpleNamespace(sentence=sentence, beam=beam, words=words, button=button,
                           notice=notice)


# ---- 1. every model side by side ---------------------------------------------------------------
def side_by_side_tab(models: Shipped) -> SimpleNamespace:
    with gr.Tab("Side by side", id="side"):
        caption(captions.SIDE_BY_SIDE)
        texts, plots, pickers = {}, {}, {}
        with gr.Row():
            for name in models.names:
                with gr.Column(min_width=280):
                    gr.Markdown(text.model_card(models.translators[name].metadata, name),
                                elem_classes="model-card")
                    texts[name] = gr.Textbox(label="translation", interactive=False,
                                             elem_id=f"translation-{name}", buttons=["copy"])
                    if name not in models.attending:
                        gr.Markdown(captions.NO_ATTENTION, elem_classes="no-attention",
                                    elem_id=f"no-attention-{name}")
                        continue
                    plots[name] = gr.Plot(show_label=False, elem_id=f"heatmap-{name}")
                    if name in models.multi:
                        pickers[name] = layer_head_pickers(models.info[name], name)
        with gr.Row():
            download_json = gr.DownloadButton("Download these matrices (JSON)", size="sm",
                                              elem_id="download-json")
            download_csv = gr.DownloadButton("Download these matrices (CSV)", size="sm",
                                             elem_id="download-csv")
        with gr.Accordion("All translations as JSON (what the /translate API returns first)",
                          open=False):
            all_json = gr.JSON(show_label=False, elem_id="translations-json")
    return SimpleNamespace(texts=texts, plots=plots, pickers=pickers, json=all_json,
                           downloads=[download_json, download_csv])


# ---- 2. a Transformer's heads -----------------------------------------------------------------
def heads_tab(models: Shipped) -> SimpleNamespace:
    first = models.multi[0]
    with gr.Tab("Transformer heads", id="heads"):
        grid_caption = caption(captions.HEAD_GRID["cross"])
        with gr.Row():
            model = gr.Dropdown([(models.labels[n], n) for n in models.multi], value=first,
                                label="Model", visible=len(models.multi) > 1)
            kind = gr.Radio([(v, k) for k, v in heatmaps.KINDS.items()], value="cross",
                            label="Attention", elem_id="grid-kind")
            layer = gr.Radio(heatmaps.layer_choices(models.info[first]["layers"]),
                             value=str(models.info[first]["layers"] - 1), label="Layer",
                             elem_id="grid-layer")
        grid = gr.Plot(show_label=False, elem_id="head-grid")
    def layer_picker(name: str, attention: str) -> gr.Radio:
        # A deep encoder under a shallow decoder: each kind has its own number of layers.
        layers = models.info[name]["kind_layers"].get(attention, models.info[name]["layers"])
        return gr.Radio(heatmaps.layer_choices(layers), value=str(layers - 1))

    model.change(layer_picker, [model, kind], layer, **QUIET)
    kind.change(layer_picker, [model, kind], layer, **QUIET)
    return SimpleNamespace(model=model, kind=kind, layer=layer, grid=grid, caption=grid_caption)


def draw_grid(models: Shipped, key: dict, name: str, kind: str, layer: str, words: bool):
    results = models.translated(key)
    figure = heatmaps.head_grid(results[name], kind, int(layer), words) \
        if name in results else None
    return figure, captions.HEAD_GRID.get(kind, "")


# ---- translating, and redrawing what was translated ----------------------------------------------
def wire_translation(demo: gr.Blocks, models: Shipped, inputs: SimpleNamespace,
                     translations: gr.State, side: SimpleNamespace,
                     heads: SimpleNamespace | None) -> None:
    """/translate (button, Enter, page load), then the downloads and the head grid; redraws
    when a view option changes, from the stored translations (no model call)."""
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

    def downloads(key: dict, words: bool, *values):
        results = models.translated(key)
        views = heatmaps.cross_views(results, plotted, picked(side.pickers, values), words)
        source = next(iter(results.values())).source if results else ""
        return export.write_downloads([v for v in views if v], source, DOWNLOADS,
                                      "side-by-side")

    outputs = [side.json, inputs.notice, translations] \
        + [side.texts[n] for n in models.names] + [side.plots[n] for n in plotted]
    view_inputs = [translations, inputs.words] + picker_inputs
    grid_inputs = [translations, heads.model, heads.kind, heads.layer, inputs.words] \
        if heads else []

    def grid(key: dict, name: str, kind: str, layer: str, words: bool):
        return draw_grid(models, key, name, kind, layer, words)

    for trigger, api in ((inputs.button.click, dict(api_name="translate")),
                         (inputs.sentence.submit, dict(api_visibility="private")),
                         (demo.load, dict(api_visibility="private"))):
        event = trigger(translate, [inputs.sentence, inputs.beam, inputs.words] + picker_inputs,
                        outputs, **api)
        event.then(downloads, view_inputs, side.downloads, **QUIET)
        if heads:
            event.then(grid, grid_inputs, [heads.grid, heads.caption], **QUIET)

    def redraw(key: dict, words: bool, *values):
        return figures(models.translated(key), words, values)

    for control in [inputs.words] + picker_inputs:
        control.change(redraw, view_inputs, [side.plots[n] for n in plotted], **QUIET) \
            .then(downloads, view_inputs, side.downloads, **QUIET)
    if heads:
        for control in (heads.kind, heads.layer, inputs.words):
            control.change(grid, grid_inputs, [heads.grid, heads.caption], **QUIET)


# ---- 3. the same target, aligned by every model ------------------------------------------------
def compare_tab(models: Shipped, inputs: SimpleNamespace, translations: gr.State) -> None:
    labels = models.labels
    default_target = "gru_bahdanau" if "gru_bahdanau" in models.names else models.names[0]
    default_reference = "gru_bahdanau" if "gru_bahdanau" in models.single \
        else (models.single[0] if models.single else None)
    with gr.Tab("Same target, compared", id="compare"):
        caption(captions.COMPARE)
        with gr.Row():
            choice = Picker([(f"{labels[n]}'s translation", n) for n in models.names]
                              + [("my own German sentence", OWN_TARGET)], value=default_target,
                              label="Target every model must write", elem_id="target-choice")
            own = gr.Textbox("", label="My own German sentence", lines=1,
                             placeholder="Ein Hund rennt durch den Schnee.", elem_id="own-target")
            reference = PickerList([(labels[n], n) for n in models.single],
                                    value=default_reference, label="Reference alignment (a GRU)",
                                    visible=bool(models.single))
        button = gr.Button("Align every model to this target", variant="primary",
                           elem_id="align-btn")
        info = gr.Markdown(elem_id="aligned-info")
        aligned_state = gr.State({})  # only the key {"sentence", "target"}: see Shipped
        plots, pickers = {}, {}
        with gr.Row():
            for name in models.attending:
                with gr.Column(min_width=280):
                    plots[name] = gr.Plot(show_label=False, elem_id=f"aligned-{name}")
                    if name in models.multi:
                        pickers[name] = layer_head_pickers(models.info[name], f"aligned-{name}")
        summary = gr.Markdown(elem_id="ranking-summary")
        ranking = gr.Dataframe(headers=compare_views.TABLE_HEADERS, interactive=False,
                               label="Ranking: closest to the reference first", max_height=420,
                               elem_id="ranking")
        if models.multi and models.single:
            caption(captions.JS_GRID)
        js_plots = [gr.Plot(show_label=False, elem_id=f"js-{n}") for n in models.multi]
        with gr.Row():
            downloads = [gr.DownloadButton("Download these matrices (JSON)", size="sm"),
                         gr.DownloadButton("Download these matrices (CSV)", size="sm")]
    picker_inputs = [c for pair in pickers.values() for c in pair]

    def draw(key: dict, ref: str | None, words: bool, *values):
        aligned = models.aligned(key)
        views = heatmaps.cross_views(aligned, list(plots), picked(pickers, values), words)
        shown = [v for v in views if v]
        height = min(900, 170 + 22 * max((len(v.rows) for v in shown), default=0))
        figures = [None if v is None else heatmaps.heatmap(v, title=v.title, height=height)
                   for v in views]
        text_md, table, grids = compare_views.comparison(aligned, ref, labels, words)
        source = next(iter(aligned.values())).source if aligned else ""
        files = export.write_downloads(shown, source, DOWNLOADS, "same-target")
        return figures + [text_md, table] + [grids.get(n) for n in models.multi] + list(files)

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

    outputs = list(plots.values()) + [summary, ranking] + js_plots + downloads
    button.click(align, [inputs.sentence, choice, own, reference, inputs.words, translations]
                 + picker_inputs, [aligned_state, info] + outputs, api_name="align")
    for control in [reference, inputs.words] + picker_inputs:
        control.change(draw, [aligned_state, reference, inputs.words] + picker_inputs, outputs,
                       **QUIET)


# ---- 4. training ----------------------------------------------------------------------------
def training_tab(models: Shipped) -> None:
    """One sentence's alignment epoch by epoch (a slider), and every model's curves."""
    translators = models.translators
    caption(captions.TRAINING)
    shown = [n for n, t in translators.items()
             if t.snapshots and training_views.snapshot_layers(t.snapshots)]
    if not shown:
        gr.Markdown(text.missing("No shipped model with attention has training snapshots "
                                 "(snapshots.json), so there is no epoch-by-epoch view."))
    else:
        first = translators[shown[0]]
        n_layers = training_views.snapshot_layers(first.snapshots)
        with gr.Row():
            model = gr.Dropdown([(models.labels[n], n) for n in shown], value=shown[0],
                                label="Model", elem_id="snap-model")
            sentence = gr.Dropdown(training_views.snapshot_sentences(first.snapshots), value=0,
                                   label="Validation sentence", elem_id="snap-sentence")
            layer = gr.Radio(heatmaps.layer_choices(n_layers), value=str(n_layers - 1),
                             label="Layer (mean of heads)", visible=n_layers > 1,
                             elem_id="snap-layer")
        epoch = gr.Slider(1, max(len(first.snapshots), 2), value=len(first.snapshots), step=1,
                          label="Snapshot (epoch)", elem_id="snap-epoch")

        def draw(name: str, index: int, at: float, layer_index: int):
            t = translators[name]
            view, summary = training_views.snapshot_view(
                t.snapshots, name, t.metadata, int(at) - 1, index or 0, layer_index)
            return summary, None if view is None else heatmaps.heatmap(view, title=view.title)

        summary, figure = draw(shown[0], 0, len(first.snapshots), str(n_layers - 1))
        info = gr.Markdown(summary, elem_id="snap-info")
        plot = gr.Plot(figure, show_label=False, elem_id="snapshot-heatmap")

        def pick_model(name: str):
            t = translators[name]
            layers = training_views.snapshot_layers(t.snapshots)
            return (gr.Dropdown(training_views.snapshot_sentences(t.snapshots), value=0),
                    gr.Slider(1, max(len(t.snapshots), 2), value=len(t.snapshots), step=1),
                    gr.Radio(heatmaps.layer_choices(layers), value=str(layers - 1),
                             visible=layers > 1))

        controls = [model, sentence, epoch, layer]
        model.change(pick_model, model, [sentence, epoch, layer], api_visibility="private") \
            .then(draw, controls, [info, plot], **QUIET)
        for control in (sentence, epoch, layer):
            control.change(draw, controls, [info, plot], **QUIET)
        without = [models.labels[n] for n in models.names if n not in shown]
        if without:
            gr.Markdown(text.missing("No alignment snapshots for: " + ", ".join(without)
                                     + " (no attention, or no snapshots.json shipped)."))
    caption(captions.CURVES)
    curves = training_views.curves_figure(
        {n: (t.label, t.metadata.get("curves", [])) for n, t in translators.items()})
    if curves is None:
        gr.Markdown(text.missing("No shipped model has training curves in its metadata."))
    else:
        gr.Plot(curves, show_label=False, elem_id="curves")


# ---- 5. the chapter's lab --------------------------------------------------------------------
def lab_tab(models: Shipped) -> None:
    caption(captions.BY_LENGTH)
    evals = {n: (models.labels[n], lab.load_eval(t.folder))
             for n, t in models.translators.items()}
    figure = lab_views.bleu_by_length_figure({n: e for n, e in evals.items() if e[1]})
    if figure is None:
        gr.Markdown(text.missing("No shipped model has evaluation results by length "
                                 "(eval/*.json): run `python -m training.evaluate`."))
    else:
        gr.Plot(figure, show_label=False, elem_id="bleu-by-length")
        absent = [label for label, result in evals.values() if result is None]
        if absent:
            gr.Markdown(text.missing(f"No evaluation results shipped for: {', '.join(absent)}."))
    scaling_lab()


def scaling_lab() -> None:
    """The O(n^2) lab: a button that measures attention against a GRU, a plot and a table."""
    caption(captions.SCALING)
    button = gr.Button("Measure now (a few seconds)", elem_id="scaling-btn")
    plot = gr.Plot(show_label=False, elem_id="scaling-plot")
    summary = gr.Markdown(elem_id="scaling-summary")
    table = gr.Dataframe(headers=lab_views.SCALING_HEADERS, interactive=False,
                         label="Measurements", elem_id="scaling-table")

    def measure():
        rows = lab.measure_scaling()
        return (lab_views.scaling_figure(rows), lab_views.scaling_summary(rows, lab.MEMORY_NOTE),
                lab_views.scaling_rows(rows))

    # One measurement at a time, so two people measuring do not slow each other's numbers.
    button.click(measure, None, [plot, summary, table], api_visibility="private",
                 concurrency_limit=1, concurrency_id="lab")


def no_model_api() -> None:
    """Keep /translate answering, with a clear error, when no model is shipped."""
    sentence, out = gr.Textbox(visible=False), gr.JSON(visible=False)

    def translate(text_in: str):
        raise gr.Error("No model is shipped with this app: train and export one into "
                       "checkpoints/ (see the message on the page).", print_exception=False)

    sentence.submit(translate, sentence, out, api_name="translate")


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    serve_threads(int(os.environ.get("TRANSLATE_THREADS", "1")))
    build_demo().launch(**LAUNCH_OPTIONS)


if __name__ == "__main__":
    main()

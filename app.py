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
import contextlib
import ctypes
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
# Gradio keeps, per session (each open page, each API call), a copy of every component's last
# value: about 1 MB here. Only the newest SESSIONS are kept; an older page that redraws after
# its session was dropped shows empty plots until it translates again.
SESSIONS = int(os.environ.get("APP_SESSIONS", "64"))
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
#tour > button span:first-child { font-size: 1.3em; font-weight: 700; }
.no-attention { border-left: 4px solid #9E9E9E; padding: 8px 12px;
                background: var(--background-fill-secondary); border-radius: 6px; }
.no-attention p { margin: 0; }
#messages { gap: 4px; }
#messages:not(:has(span.md:not(:empty))) { display: none; }
#messages > .block:has(span.md:empty) { display: none; }
#status .stale, #status p { color: var(--color-accent); }
/* Plots two to a row on a wide screen, one on a phone; each as wide as its labels need. */
.plot-grid { display: grid !important;
             grid-template-columns: repeat(auto-fill, minmax(min(520px, 100%), 1fr));
             gap: var(--layout-gap); }
.plot-grid > * { min-width: 0 !important; width: auto !important; margin: 0 !important; }
.model-cell { gap: 6px !important; }
.model-card p { margin: 0; font-size: 0.85em; }
.model-card strong { font-size: 1.15em; }
.card-grid { display: grid !important;
             grid-template-columns: repeat(auto-fill, minmax(min(340px, 100%), 1fr)); }
.card-grid > * { min-width: 0 !important; }
.model-details ul { margin-top: 4px; }
.model-details li { font-size: 0.95em; }
.model-details code { white-space: normal; word-break: break-all; }
.fit-plot { overflow-x: auto !important; }
@media (max-width: 700px) {
  .gradio-container { padding-left: 6px !important; padding-right: 6px !important; }
}
"""
# Each figure names the least width its labels need (layout.meta.min_width, views.heatmaps);
# the browser gives it that width, so a long sentence scrolls sideways on a phone instead of
# piling its labels on top of each other. Runs once on load and after every change to the page.
FIT_PLOTS = """
() => {
  let queued = false;
  const fit = () => {
    queued = false;
    for (const gd of document.querySelectorAll(".js-plotly-plot")) {
      if (!gd.offsetParent || !gd._fullLayout) continue;  // hidden (another tab) or not drawn
      const want = Math.round((gd.layout.meta && gd.layout.meta.min_width) || 0);
      if (gd.dataset.minWidth !== String(want)) {
        gd.dataset.minWidth = String(want);
        gd.style.minWidth = want ? `${want}px` : "";
      }
      if (Math.abs(gd._fullLayout.width - gd.clientWidth) > 2 && !gd.dataset.fitting) {
        gd.dataset.fitting = "1";
        window.Plotly.Plots.resize(gd).finally(() => { delete gd.dataset.fitting; });
      }
    }
  };
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(fit); }
  }).observe(document.body, {childList: true, subtree: true, attributes: true,
                             attributeFilter: ["style", "class"]});
  window.addEventListener("resize", () => requestAnimationFrame(fit));
  fit();
}
"""
LAUNCH_OPTIONS = dict(theme=gr.themes.Soft(primary_hue="blue", neutral_hue="slate"), css=CSS,
                      js=FIT_PLOTS, state_session_capacity=SESSIONS)


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
        # The page opens on the translators; what they are and how to read them folds away.
        with gr.Accordion(captions.TITLE, open=False, elem_id="tour"):
            gr.Markdown(captions.INTRO + "\n" + captions.TOUR, elem_id="intro")
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
            # The page's width, read once by the browser: the head grid's columns follow it.
            viewport = gr.Number(0, visible=False, elem_id="viewport")
            demo.load(None, None, viewport, js="() => window.innerWidth", **QUIET)
            with gr.Tabs(overflow_behavior="wrap", elem_id="tabs"):
                side = side_by_side_tab(models)
                heads = heads_tab(models) if models.multi else None
                if models.attending:
                    compare_tab(models, inputs, translations)
                with gr.Tab("Training", id="training") as training:
                    training_tab(models, inputs)
                with gr.Tab("Chapter lab", id="lab") as lab_page:
                    lab_tab(models)
                with gr.Tab("Models", id="models") as models_page:
                    caption(captions.MODELS)
                    with gr.Row(elem_classes="card-grid", elem_id="models-cards"):
                        for name, translator in models.translators.items():
                            with gr.Column(min_width=280):
                                gr.Markdown(text.model_details(name, translator.metadata,
                                                               translator.config),
                                            elem_classes="model-details")
            wire_translation(demo, models, inputs, translations, side, heads, viewport)
            # The word toggle only shows on tabs with alignments, where it does something.
            with_alignments = [side.tab, heads.tab if heads else None, inputs.compare_tab,
                               training]
            for page in with_alignments + [lab_page, models_page]:
                if page is not None:
                    page.select(show_words(page in with_alignments), None, inputs.words,
                                **QUIET)
    # A few requests run at once; the rest wait their turn in a bounded queue.
    return demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)


def show_words(visible: bool):
    """An event handler showing or hiding the word toggle."""
    return lambda: gr.Checkbox(visible=visible)


# ---- the sentence, shared by every tab --------------------------------------------------------
def input_row() -> SimpleNamespace:
    with gr.Row(equal_height=False, elem_id="input-row"):
        with gr.Column(scale=5, min_width=260):
            # lines=1: Enter translates (Gradio submits a one-line box on Enter); it grows.
            sentence = gr.Textbox(EXAMPLES[0], label="English sentence (Enter translates)",
                                  lines=1, max_lines=4, placeholder="Type an English sentence…",
                                  elem_id="sentence")
            examples = gr.Examples(EXAMPLES, inputs=[sentence], elem_id="examples",
                                   label="Examples: click one to translate it",
                                   example_labels=[example_label(e) for e in EXAMPLES])
        beam = raw_value(gr.Slider(1, MAX_BEAM, value=1, step=1, label="Beam size",
                                   info=captions.BEAM, scale=2, min_width=240, elem_id="beam"))
        with gr.Column(scale=1, min_width=170):
            button = gr.Button("Translate", variant="primary", elem_id="translate-btn")
            words = gr.Checkbox(False, label=captions.WORDS, info=captions.WORDS_INFO,
                                elem_id="words")
    # Messages about the sentence: results older than the controls, input cut, subwords.
    with gr.Column(elem_id="messages"):
        status = gr.Markdown(elem_id="status")
        notice = gr.Markdown(elem_id="notice")
        pieces = gr.Markdown(elem_id="pieces-note")
    words_chosen = gr.State(False)  # set once the learner ticks or unticks the box by hand
    words.input(lambda: True, None, words_chosen, **QUIET)
    return SimpleNamespace(sentence=sentence, beam=beam, words=words, button=button,
                           examples=examples, notice=notice, status=status, pieces=pieces,
                           words_chosen=words_chosen, compare_tab=None)


def example_label(sentence: str, longest: int = 22) -> str:
    """An example as its button shows it: its first words (a click fills in the whole
    sentence), and the length of a long one."""
    words = sentence.split()
    if len(sentence) <= longest:
        return sentence
    label = sentence[:longest].rsplit(" ", 1)[0] + " …"
    return label + (f" ({len(words)} words)" if len(words) > 15 else "")


# ---- 1. every model side by side ---------------------------------------------------------------
def side_by_side_tab(models: Shipped) -> SimpleNamespace:
    """Each model's translation; those with attention with their heatmap, two to a row on a
    wide screen and one on a phone (CSS grid), each sized to the sentence."""
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


def translation_box(models: Shipped, name: str) -> gr.Textbox:
    """A model's translation under a line naming the model, its size and headline score."""
    card = text.model_card(models.translators[name].metadata, name)
    gr.Markdown(text.card_markdown(card), elem_classes="model-card")
    return gr.Textbox(label=card, show_label=False, container=False, interactive=False,
                      elem_id=f"translation-{name}")


# ---- 2. a Transformer's heads -----------------------------------------------------------------
def heads_tab(models: Shipped) -> SimpleNamespace:
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
    return SimpleNamespace(tab=tab, model=model, kind=kind, layer=layer, grid=grid,
                           caption=grid_caption, resting=resting)


def draw_grid(models: Shipped, key: dict, name: str, kind: str, layer: str, words: bool,
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


# ---- translating, and redrawing what was translated ----------------------------------------------
WORDS_PAST = 15  # source pieces beyond which the word view is the default (until the box is used)


def wire_translation(demo: gr.Blocks, models: Shipped, inputs: SimpleNamespace,
                     translations: gr.State, side: SimpleNamespace,
                     heads: SimpleNamespace | None, viewport: gr.Number) -> None:
    """/translate (button, Enter, an example, page load), then the messages, the downloads and
    the head grid; redraws when a view option changes, from the stored translations (no model
    call); marks the results stale when the sentence or beam changes without translating."""
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
        return export.write_downloads([v for v in views if v], source, DOWNLOADS,
                                      "side-by-side")

    outputs = [side.json, inputs.notice, translations] \
        + [side.texts[n] for n in models.names] + [side.plots[n] for n in plotted]
    view_inputs = [translations, inputs.words] + picker_inputs
    grid_inputs = [translations, heads.model, heads.kind, heads.layer, inputs.words,
                   viewport] if heads else []
    grid_outputs = [heads.grid, heads.caption, heads.resting] if heads else []

    def grid(key: dict, name: str, kind: str, layer: str, words: bool, width: float):
        return draw_grid(models, key, name, kind, layer, words, width)

    translate_inputs = [inputs.sentence, inputs.beam, inputs.words] + picker_inputs
    for trigger, api in ((inputs.button.click, dict(api_name="translate")),
                         (inputs.sentence.submit, dict(api_visibility="private")),
                         (inputs.examples.load_input_event.then, dict(api_visibility="private")),
                         (demo.load, dict(api_visibility="private"))):
        event = trigger(translate, translate_inputs, outputs, **api) \
            .then(after, [translations, inputs.words_chosen, inputs.words, inputs.sentence,
                          inputs.beam], [inputs.words, inputs.status, inputs.pieces], **QUIET) \
            .then(downloads, view_inputs, side.downloads, **QUIET)
        if heads:
            event.then(grid, grid_inputs, grid_outputs, **QUIET)

    def redraw(key: dict, words: bool, *values):
        return figures(models.translated(key), words, values)

    for control in [inputs.words] + picker_inputs:
        control.change(redraw, view_inputs, [side.plots[n] for n in plotted], **QUIET) \
            .then(downloads, view_inputs, side.downloads, **QUIET)
    if heads:
        for control in (heads.kind, heads.layer, inputs.words, viewport):
            control.change(grid, grid_inputs, grid_outputs, **QUIET)
    for control in (inputs.sentence, inputs.beam):
        control.change(text.stale_note, [translations, inputs.sentence, inputs.beam],
                       inputs.status, **QUIET)


# ---- 3. the same target, aligned by every model ------------------------------------------------
def compare_tab(models: Shipped, inputs: SimpleNamespace, translations: gr.State) -> None:
    labels = models.labels
    default_target = "gru_bahdanau" if "gru_bahdanau" in models.names else models.names[0]
    default_reference = "gru_bahdanau" if "gru_bahdanau" in models.single \
        else (models.single[0] if models.single else None)
    with gr.Tab("Same target, compared", id="compare") as tab:
        inputs.compare_tab = tab
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
        aligned_state = gr.State({})  # only the key {"sentence", "target"}: see Shipped
        plots, pickers = {}, {}
        with gr.Row(elem_classes="plot-grid"):
            for name in models.attending:
                with gr.Column(min_width=0):
                    plots[name] = gr.Plot(show_label=False, elem_id=f"aligned-{name}",
                                          elem_classes="fit-plot")
                    if name in models.multi:
                        pickers[name] = layer_head_pickers(models.info[name], f"aligned-{name}")
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

    def draw(key: dict, ref: str | None, words: bool, *values):
        aligned = models.aligned(key)
        views = heatmaps.cross_views(aligned, list(plots), picked(pickers, values), words)
        shown = [v for v in views if v]
        figures = [None if v is None else heatmaps.heatmap(v, title=v.title) for v in views]
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
    # Typing a German sentence means "use mine": pick that choice for the learner.
    own.input(lambda typed: OWN_TARGET if (typed or "").strip() else gr.Radio(), own, choice,
              **QUIET)


# ---- 4. training ----------------------------------------------------------------------------
def training_tab(models: Shipped, inputs: SimpleNamespace) -> None:
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

        summary, figure = draw(shown[0], 0, len(first.snapshots), str(n_layers - 1))
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
        {n: (t.label, t.metadata.get("curves", [])) for n, t in translators.items()})
    if loss is None:
        gr.Markdown(text.missing("No shipped model has training curves in its metadata."))
    else:
        with gr.Row(elem_classes="plot-grid"):
            gr.Plot(loss, show_label=False, elem_id="curves-loss")
            gr.Plot(bleu, show_label=False, elem_id="curves-bleu")


# ---- 5. the chapter's lab --------------------------------------------------------------------
def lab_tab(models: Shipped) -> None:
    caption(captions.BY_LENGTH)
    evals = {n: (models.labels[n], lab.load_eval(t.folder))
             for n, t in models.translators.items()}
    shipped = {n: e for n, e in evals.items() if e[1]}
    figure = lab_views.bleu_by_length_figure(shipped)
    if figure is None:
        gr.Markdown(text.missing("No shipped model has evaluation results by length "
                                 "(eval/*.json): run `python -m training.evaluate`."))
    else:
        gr.Markdown(lab_views.bleu_by_length_summary(shipped), elem_id="by-length-summary")
        gr.Plot(figure, show_label=False, elem_id="bleu-by-length")
        absent = [label for label, result in evals.values() if result is None]
        if absent:
            gr.Markdown(text.missing(f"No evaluation results shipped for: {', '.join(absent)}."))
    scaling_lab()


LAB_WIDTHS = [64, 128, 256, 512, 1024]
LAB_HEADS = 8
LAB_REPEATS = 5
LAB_MAX_WEIGHTS = 512 * 2**20  # bytes of attention weights one measurement may allocate


def scaling_lab() -> None:
    """The O(n^2) lab: n, width and batch chosen by the learner; attention against a GRU."""
    caption(captions.SCALING)
    with gr.Row():
        longest = gr.Slider(64, 4096, value=1024, step=64, label="Longest n",
                            info="measured at 16, 32, 64, … up to this n", elem_id="lab-n")
        width = gr.Dropdown(LAB_WIDTHS, value=256, label="Width (d_model)",
                            info=f"{LAB_HEADS} heads of d_model / {LAB_HEADS}",
                            elem_id="lab-width")
        batch = gr.Slider(1, 16, value=1, step=1, label="Batch", elem_id="lab-batch")
    button = gr.Button("Measure now (seconds; up to a minute at the largest settings)",
                       elem_id="scaling-btn")
    summary = gr.Markdown(elem_id="scaling-summary")
    with gr.Row(elem_classes="plot-grid"):
        time_plot = gr.Plot(show_label=False, elem_id="scaling-time")
        memory_plot = gr.Plot(show_label=False, elem_id="scaling-memory")
    table = gr.Dataframe(headers=lab_views.SCALING_HEADERS, interactive=False, wrap=True,
                         label="Measurements", elem_id="scaling-table")

    def measure(n: float, d_model: float, b: float):
        n, d_model, b = int(n), int(d_model), int(b)
        need = lab_views.weights_bytes(n, b, LAB_HEADS)
        if d_model not in LAB_WIDTHS or not 1 <= b <= 16 or not 16 <= n <= 4096:
            raise gr.Error("Pick n from 16 to 4,096, a listed width and a batch of 1 to 16.",
                           print_exception=False)
        if need > LAB_MAX_WEIGHTS:
            raise gr.Error(f"n = {n:,} at batch {b} needs {need / 2**20:,.0f} MiB for the "
                           f"attention weights alone (B·H·n²·4 bytes); this app measures up to "
                           f"{LAB_MAX_WEIGHTS / 2**20:,.0f} MiB. Lower n or the batch.",
                           print_exception=False)
        rows = lab.measure_scaling(lab_views.scaling_lengths(n), d_model=d_model,
                                   num_heads=LAB_HEADS, batch=b, repeats=LAB_REPEATS,
                                   statistic="min")
        figures = lab_views.scaling_figures(rows, f"min of {LAB_REPEATS} runs")
        return (*figures, lab_views.scaling_summary(rows, lab.MEMORY_NOTE),
                lab_views.scaling_rows(rows))

    # One measurement at a time, so two people measuring do not slow each other's numbers.
    button.click(measure, [longest, width, batch], [time_plot, memory_plot, summary, table],
                 api_visibility="private", concurrency_limit=1, concurrency_id="lab")


def no_model_api() -> None:
    """Keep /translate answering, with a clear error, when no model is shipped."""
    sentence, out = gr.Textbox(visible=False), gr.JSON(visible=False)

    def translate(text_in: str):
        raise gr.Error("No model is shipped with this app: train and export one into "
                       "checkpoints/ (see the message on the page).", print_exception=False)

    sentence.submit(translate, sentence, out, api_name="translate")


def tune_malloc() -> None:
    """Keep a long-running server's memory flat (glibc's malloc; a no-op elsewhere).

    Each request builds megabytes of short-lived plot JSON on a worker thread. By default
    glibc gives each thread its own pool and, after a large block is freed, serves ever larger
    blocks from the pools instead of returning them to the system: memory crept up by 60 MB
    over 400 requests. Two pools and a fixed 128 KiB threshold for blocks that go straight back
    to the system (as MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 would) cut that to 19 MB.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD


def main() -> None:
    tune_malloc()
    logging.basicConfig(level=logging.INFO)
    serve_threads(int(os.environ.get("TRANSLATE_THREADS", "1")))
    build_demo().launch(**LAUNCH_OPTIONS)


if __name__ == "__main__":
    main()

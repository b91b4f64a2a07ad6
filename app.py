"""The app: type a sentence, see every shipped model's translation and where it looked.

    python app.py                                   # models from checkpoints/ next to this file
    CHECKPOINTS_DIR=/path/to/folders python app.py  # or from elsewhere

This file only assembles the page: the shipped models (`Shipped`), the input row every tab
shares, then the tabs of `tabs.TABS` in order (one module each, which wire their own widgets
to the inference facade and `views`); and it launches. A bare `demo.launch()` reads
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, as Spaces sets them.

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

from inference import InputError, catalogue, load_all, reference, serve_threads
from inference import compare as comparing
from inference.recent import Recent
from inference.translator import MAX_BEAM
from tabs import TABS
from tabs import lab as lab_tab
from tabs import recall as recall_tab
from tabs.common import (  # noqa: F401 (beam_size, quiet_choices, user_error: app's names too)
    QUIET,
    Page,
    beam_size,
    quiet_choices,
    raw_value,
    user_error,
)
from views import captions, text

HERE = Path(__file__).resolve().parent
# Limits that keep a public Space answering (the README's "Limits and safety" lists them).
CONCURRENCY = 3  # requests run at once (one torch thread each); the rest wait in the queue
QUEUE_SIZE = 64  # waiting requests beyond this are turned away at once with a message
RECENT = 8  # translations (and forced alignments) kept in memory, shared by all visitors
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
CSS = """
.caption { font-size: 0.93em; color: var(--body-text-color-subdued); }
#tour > button span:first-child { font-size: 1.3em; font-weight: 700; }
.no-attention { border-left: 4px solid #9E9E9E; padding: 8px 12px;
                background: var(--background-fill-secondary); border-radius: 6px; }
.no-attention p { margin: 0; }
#messages { gap: 4px; }
/* Eleven tabs: tighter than Gradio's padding, so the strip is one line on a laptop. */
#tabs button[role="tab"] { padding-left: 9px !important; padding-right: 9px !important; }
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


class Shipped:
    """The models found under a checkpoints folder, and what the UI needs to know of each."""

    def __init__(self, root: Path):
        self.root = root
        # In the chapter's order, as each folder's metadata or the catalogue places it.
        self.translators, self.problems = load_all(root)
        self.info = {}
        for name, translator in list(self.translators.items()):
            try:
                self.info[name] = comparing.attention_info(translator)
            except Exception as err:  # a folder that loads but cannot translate is left out
                self.problems.append(f"{name}: cannot translate a test sentence ({err}).")
                del self.translators[name]
        self.names = list(self.translators)
        # How each model is named and drawn: its metadata first, then the catalogue.
        self.looks = {n: catalogue.look(n, t.metadata) for n, t in self.translators.items()}
        self.labels = {n: look.label for n, look in self.looks.items()}
        # Pages keep only (sentence, beam) or (sentence, target); the results live here, the
        # newest few for everyone, and an evicted one is translated again.
        self.translate = Recent(self._translate, RECENT)
        self.align = Recent(self._align, RECENT)
        self.attending = [n for n in self.names if self.info[n]["has_attention"]]
        self.multi = [n for n in self.attending if self.info[n]["heads"]]  # Transformers
        self.single = [n for n in self.attending if not self.info[n]["heads"]]  # GRUs
        # How well each model's attention aligns words (its eval files), and the statistical
        # aligner it was measured against, shipped as priors beside the folders (None, and why
        # not, without it): the app's defaults and the comparisons read them.
        self.alignment = {n: reference.alignment_results(t.folder)
                          for n, t in self.translators.items()}
        self.aligner, self.aligner_note = reference.load_aligner(root)
        self.word_links = Recent(self._word_links, RECENT)

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

    def _word_links(self, source: str, target: str):
        return reference.word_links(self.aligner, source, target)

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
                lab_tab.scaling_lab()
            with gr.Tab("Vanishing gradients: the recall lab"):  # needs no shipped model
                recall_tab.section(None)
        else:
            if models.problems:
                gr.Markdown(text.problems_note(models.problems))
            inputs = input_row()
            # The page's width, read once by the browser: the head grid's columns follow it.
            viewport = gr.Number(0, visible=False, elem_id="viewport")
            demo.load(None, None, viewport, js="() => window.innerWidth", **QUIET)
            page = Page(demo=demo, models=models, inputs=inputs, viewport=viewport,
                        translations=gr.State({}),  # only the key {"sentence", "beam"}
                        downloads=DOWNLOADS, open_tab=gr.State("side"))
            shown = {}
            with gr.Tabs(overflow_behavior="wrap", elem_id="tabs", selected="side"):
                for tab in TABS:
                    page_tab = tab.build(page)
                    if page_tab is None:
                        continue
                    shown[page_tab.id] = page_tab.label
                    # The word toggle only shows on tabs with alignments, where it does something.
                    page_tab.select(show_words(tab.SHOWS_WORDS), None, inputs.words, **QUIET)
                    page_tab.select(opened(page_tab.id), None, page.open_tab, **QUIET)
            for finish in page.after_build:
                finish(shown)
    # A few requests run at once; the rest wait their turn in a bounded queue.
    return demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)


def opened(tab_id):
    """An event handler noting which tab is on screen (tabs.common.follow reads it)."""
    return lambda: tab_id


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
                           words_chosen=words_chosen)


def example_label(sentence: str, longest: int = 22) -> str:
    """An example as its button shows it: its first words (a click fills in the whole
    sentence), and the length of a long one."""
    words = sentence.split()
    if len(sentence) <= longest:
        return sentence
    label = sentence[:longest].rsplit(" ", 1)[0] + " …"
    return label + (f" ({len(words)} words)" if len(words) > 15 else "")


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
    logging.basicConfig(level=logging.INFO)
    serve_threads(int(os.environ.get("TRANSLATE_THREADS", "1")))
    demo = build_demo()
    tune_malloc()  # for serving; loading the models is quicker with malloc's defaults
    demo.launch(**LAUNCH_OPTIONS)


if __name__ == "__main__":
    main()

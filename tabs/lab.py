"""Tab 5, the chapter's lab: how BLEU falls with sentence length for each shipped model, and
the O(n^2) cost of self-attention against a GRU, measured on demand."""

from __future__ import annotations

import gradio as gr

from inference import catalogue, lab
from tabs.common import Models, Page, caption, model_colors
from views import captions, text
from views import lab as lab_views

SHOWS_WORDS = False


def build(page: Page) -> gr.Tab:
    with gr.Tab("Chapter lab", id="lab") as tab:
        contents(page.models)
    return tab


def contents(models: Models) -> None:
    """BLEU by sentence length from the shipped evaluations, then the O(n^2) lab."""
    caption(captions.BY_LENGTH)
    evals = {n: (models.labels[n], lab.load_eval(t.folder))
             for n, t in models.translators.items()}
    shipped = {n: e for n, e in evals.items() if e[1]}
    figure = lab_views.bleu_by_length_figure(shipped, model_colors(models))
    if figure is None:
        gr.Markdown(text.missing("No shipped model has evaluation results by length "
                                 "(eval/*.json): run `python -m training.evaluate`."))
    else:
        gr.Markdown(lab_views.bleu_by_length_summary(shipped), elem_id="by-length-summary")
        gr.Plot(figure, show_label=False, elem_id="bleu-by-length")
        absent = [label for label, result in evals.values() if result is None]
        if absent:
            gr.Markdown(text.missing(f"No evaluation results shipped for: {', '.join(absent)}."))
    scaling_lab(models.looks)


LAB_WIDTHS = [64, 128, 256, 512, 1024]
LAB_HEADS = 8
LAB_REPEATS = 5
LAB_MAX_WEIGHTS = 512 * 2**20  # bytes of attention weights one measurement may allocate


def scaling_lab(looks: dict[str, catalogue.Look] | None = None) -> None:
    """The O(n^2) lab: n, width and batch chosen by the learner; attention against a GRU,
    each line in the colour of the shipped model (`looks`) that plays its part."""
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
        figures = lab_views.scaling_figures(rows, f"min of {LAB_REPEATS} runs", looks)
        return (*figures, lab_views.scaling_summary(rows, lab.MEMORY_NOTE),
                lab_views.scaling_rows(rows))

    # One measurement at a time, so two people measuring do not slow each other's numbers.
    button.click(measure, [longest, width, batch], [time_plot, memory_plot, summary, table],
                 api_visibility="private", concurrency_limit=1, concurrency_id="lab")

"""The recall lab, a section of the "Vanishing gradients" tab (`tabs.gradients` calls
`section`): a tanh RNN, an LSTM and a GRU trained live to recall a symbol L steps back, their
accuracy against L and their gradient k steps back. It owns /recall_lab, which needs no
sentence: `Client(url).predict(api_name="/recall_lab")` runs the default lengths."""

from __future__ import annotations

import gradio as gr

from inference import InputError, recall
from tabs.common import Page, caption, log, raw_value
from views import recall as recall_views


def section(page: Page | None = None) -> None:
    """Add the lab's widgets and its /recall_lab event inside the tab being built (the lab
    reads nothing from `page`: it trains its own small networks)."""
    caption(recall_views.intro(recall.SYMBOLS, recall.HIDDEN))
    with gr.Row(equal_height=True):
        lengths = gr.Textbox(
            ", ".join(map(str, recall.DEFAULT_LENGTHS)), label="Lengths L", scale=3,
            info=(f"up to {recall.MAX_LENGTHS}, each {recall.MIN_LENGTH} to "
                  f"{recall.MAX_LENGTH}, adding up to at most {recall.MAX_TOTAL}"),
            elem_id="recall-lengths")
        seed = raw_value(gr.Number(0, label="Seed", precision=0, minimum=0, scale=1,
                                   min_width=100, elem_id="recall-seed"))
        button = gr.Button("Run the lab (seconds)", variant="primary", scale=1, min_width=150,
                           elem_id="recall-btn")
    summary = gr.Markdown(elem_id="recall-summary")
    with gr.Row(elem_classes="plot-grid"):
        accuracy_plot = gr.Plot(show_label=False, elem_id="recall-accuracy")
        gradient_plot = gr.Plot(show_label=False, elem_id="recall-gradients")
    with gr.Accordion("The results as JSON (what the /recall_lab API returns first)",
                      open=False):
        data = gr.JSON(show_label=False, elem_id="recall-json")

    def run(lengths_text: str = ", ".join(map(str, recall.DEFAULT_LENGTHS)), seed_value=0):
        """/recall_lab: each cell's accuracy per length and its gradient k steps back."""
        try:
            result = recall.run_recall_lab(lengths_text, seed_value)
        except InputError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except Exception:
            log.exception("recall lab failed")
            raise gr.Error("The recall lab failed on our side; please run it again.",
                           print_exception=False) from None
        return (result, recall_views.caption(result), recall_views.accuracy_figure(result),
                recall_views.gradient_figure(result))

    # One run at a time: each trains three small networks per length, on one thread.
    button.click(run, [lengths, seed], [data, summary, accuracy_plot, gradient_plot],
                 api_name="recall_lab", concurrency_limit=1, concurrency_id="recall")

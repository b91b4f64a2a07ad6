"""The recurrent encoders' gates on the typed sentence: a GRU's update and reset gates, an LSTM's
input, forget and output gates, per piece and hidden unit; a plain tanh RNN says it has none.
It owns /gates (only when a recurrent model is shipped)."""

from __future__ import annotations

import gradio as gr

from inference import gates as gating
from tabs.common import Page, caption, follow, user_error
from views import gates as gate_views

SHOWS_WORDS = False


def build(page: Page) -> gr.Tab | None:
    models = page.models
    recurrent = [n for n in models.names if gating.is_recurrent(models.translators[n])]
    if not recurrent:
        return None
    gated = [n for n in recurrent if gating.has_gates(models.translators[n])]
    with gr.Tab("Gates", id="gates") as tab:
        caption(gate_views.INTRO)
        button = gr.Button("Show the gates of this sentence", variant="primary",
                           elem_id="gates-btn")
        summary = gr.Markdown(elem_id="gates-caption")
        for name in recurrent:
            if name not in gated:
                gr.Markdown(gate_views.no_gates_note(models.labels[name]),
                            elem_classes="no-attention", elem_id=f"gates-none-{name}")
        plots = {name: gr.Plot(show_label=False, elem_id=f"gates-{name}", elem_classes="fit-plot")
                 for name in gated}
        with gr.Accordion("The gates as JSON (what the /gates API returns first)", open=False):
            data = gr.JSON(show_label=False, elem_id="gates-json")

    def show(sentence: str):
        """/gates: every gated encoder's gates on `sentence`, the caption, a figure each."""
        try:
            results = gating.gates_all({n: models.translators[n] for n in recurrent}, sentence)
            answer = gating.gates_json(results)
        except Exception as err:
            raise user_error(err) from None
        figures = [gate_views.gates_figure(answer[n]) if n in answer else None for n in gated]
        return [answer, gate_views.gates_caption(answer)] + figures

    outputs = [data, summary] + [plots[n] for n in gated]
    button.click(show, [page.inputs.sentence], outputs, api_name="gates")
    if gated:  # only tanh RNNs: the notes say it all, and /gates answers why there is nothing
        follow(page, tab, show, [], outputs)
    return tab

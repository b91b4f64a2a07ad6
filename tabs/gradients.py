"""Vanishing gradients on the shipped models: the gradient of one common translation's
log-probability per English piece, every model on one chart. It owns /gradient_flow; the recall
lab (`tabs.recall`, /recall_lab) follows as a section of the same tab."""

from __future__ import annotations

import gradio as gr

from inference import gradients
from tabs import recall
from tabs.common import Page, caption, common_target, follow, model_colors, user_error
from views import gradients as gradient_views

SHOWS_WORDS = False


def build(page: Page) -> gr.Tab | None:
    models = page.models
    if not models.names:
        return None
    colors = model_colors(models)
    with gr.Tab("Vanishing gradients", id="gradients") as tab:
        caption(gradient_views.FLOW_INTRO)
        with gr.Row(equal_height=True):
            target_box = common_target("gradflow-target", scale=4)
            button = gr.Button("Backpropagate", variant="primary", scale=1, min_width=150,
                               elem_id="gradflow-btn")
        note = gr.Markdown(elem_id="gradflow-target-note")
        plot = gr.Plot(show_label=False, elem_id="gradflow-plot", elem_classes="fit-plot")
        summary = gr.Markdown(elem_id="gradflow-caption")
        with gr.Accordion("The gradient norms as JSON (what the /gradient_flow API returns "
                          "first)", open=False):
            data = gr.JSON(show_label=False, elem_id="gradflow-json")
        recall.section(page)

    def flow(sentence: str, target: str = ""):
        """/gradient_flow: every model's gradient norm per source piece, on one target."""
        try:
            answer = {n: r.as_json() for n, r in
                      gradients.flow_all(models.translators, sentence, target).items()}
        except Exception as err:
            raise user_error(err) from None
        return [answer, gradient_views.target_note(answer),
                gradient_views.flow_figure(answer, colors), gradient_views.flow_caption(answer)]

    outputs = [data, note, plot, summary]
    inputs = [page.inputs.sentence, target_box]
    button.click(flow, inputs, outputs, api_name="gradient_flow")
    target_box.submit(flow, inputs, outputs, api_visibility="private")
    follow(page, tab, flow, [target_box], outputs)
    return tab

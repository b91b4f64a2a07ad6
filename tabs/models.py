"""Tab 6, the models: one card per shipped model with its architecture, size, training and
scores, and how well its attention aligns words (AER against the statistical aligner)."""

from __future__ import annotations

import gradio as gr

from tabs.common import Page, caption
from views import captions, text

SHOWS_WORDS = False


def build(page: Page) -> gr.Tab:
    with gr.Tab("Models", id="models") as tab:
        caption(captions.MODELS)
        with gr.Row(elem_classes="card-grid", elem_id="models-cards"):
            for name, translator in page.models.translators.items():
                with gr.Column(min_width=280):
                    gr.Markdown(text.model_details(name, translator.metadata, translator.config,
                                                   page.models.alignment.get(name)),
                                elem_classes="model-details")
    return tab

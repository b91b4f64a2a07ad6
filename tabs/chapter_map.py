"""Tab 0, the chapter map: the six learning objectives, the tab that shows each, the files to
read. The page still opens on "Side by side"; this tab is first in the strip, where a reader
of the chapter looks for the way in."""

from __future__ import annotations

import gradio as gr

from tabs.common import Page, caption
from views import chapter_map

SHOWS_WORDS = False


def build(page: Page) -> gr.Tab:
    with gr.Tab("Chapter map", id="map") as tab:
        caption(chapter_map.CAPTION)
        table = gr.Markdown(elem_id="chapter-map")
    # Which tabs show depends on the models shipped (no Transformer, no heads tab): the table
    # is written once every tab is built (app calls `page.after_build`).
    page.after_build.append(lambda shown: setattr(table, "value",
                                                  chapter_map.map_markdown(shown)))
    return tab

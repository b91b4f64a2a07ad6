"""The chapter map: every objective points at tabs the app has and files the repository has, and
the README shows the very table the app's first tab draws."""

from __future__ import annotations

import gradio as gr
import pytest

import app
from tests.app_fixtures import ROOT, build_checkpoints
from views.chapter_map import CHAPTER, map_markdown


@pytest.fixture(scope="module")
def tab_titles(tmp_path_factory) -> dict[str, str]:
    demo = app.build_demo(build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints"))
    return {block.id: block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)}


def test_six_objectives_each_with_a_tab_and_code_that_exist(tab_titles):
    assert [o.number for o in CHAPTER] == [1, 2, 3, 4, 5, 6]
    for objective in CHAPTER:
        assert objective.views and objective.files
        for tab_id, _ in objective.views:
            assert tab_id in tab_titles, (objective.number, tab_id)
        for path in objective.files:
            assert (ROOT / path).is_file(), path


def test_the_readme_shows_the_map_the_app_draws(tab_titles):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert map_markdown(tab_titles) in readme


def test_a_tab_that_is_not_shown_is_named_as_missing():
    table = map_markdown({"side": "Side by side"})
    assert table.count("not shown") == sum(tab != "side" for o in CHAPTER for tab, _ in o.views)
    assert "**Side by side**" in table

"""The catalogue: a folder's metadata, then the catalogue, then a generic look; and a new
folder with its own look shows in the app and the figures with no change to the code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gradio as gr
import pytest

import app
from inference import catalogue
from inference.lab import load_eval
from tabs.common import model_colors
from tests.app_fixtures import alignment_result, build_checkpoints
from views import lab as lab_views
from views import training as training_views
from views.style import EXTRA_COLORS, model_color, paint

MINE = {"label": "My GRU, attention twice", "color": "#123456", "order": 0.5,
        "role": catalogue.ADDITIVE}


def test_metadata_wins_then_the_catalogue_then_a_generic_look():
    assert catalogue.look("gru_bahdanau").label == "GRU + Bahdanau attention"
    assert catalogue.look("gru_bahdanau", {"label": "Mine"}).label == "Mine"
    assert catalogue.look("gru_bahdanau", {"label": "Mine"}).color == "#1F77B4"
    new = catalogue.look("brand_new", {})
    assert (new.label, new.order, new.color, new.role) == ("brand_new", catalogue.UNLISTED,
                                                           None, None)
    # Values of the wrong kind are ignored, not drawn: a colour plotly could not read, a NaN.
    odd = catalogue.look("transformer", {"color": "red; x", "order": float("nan"), "label": 7})
    assert (odd.label, odd.order, odd.color) == ("Transformer", 4, "#D62728")
    assert model_color("brand_new", 1) == EXTRA_COLORS[1]
    assert model_color("brand_new", 1, {"color": "#ABC"}) == "#ABC"
    names = ["transformer", "brand_new", "gru_noattn", "mine"]
    metadata = {"mine": {"order": 0.5}}
    assert sorted(names, key=lambda n: catalogue.order_key(n, metadata.get(n))) == \
        ["gru_noattn", "mine", "transformer", "brand_new"]


def test_every_catalogued_model_has_a_known_role_and_a_readable_colour():
    for name, look in catalogue.CATALOGUE.items():
        assert look.role in catalogue.ROLES, name
        assert catalogue.COLOR.fullmatch(look.color), name
        assert set(look.as_metadata()) == set(catalogue.KEYS)
    assert catalogue.reference(catalogue.CATALOGUE, list(catalogue.CATALOGUE)) == "gru_bahdanau"


def test_folder_key_reads_the_folder_metadata(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "metadata.json").write_text(json.dumps({"order": -1}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metadata.json").write_text("{not json")
    assert catalogue.folder_key(tmp_path / "x") == (-1, "x")
    assert catalogue.folder_key(tmp_path / "broken") == (catalogue.UNLISTED, "broken")


@pytest.fixture(scope="module")
def with_mine(tmp_path_factory) -> Path:
    """The fixture folders, plus gru_bahdanau copied as "gru_mine" with a look of its own."""
    root = tmp_path_factory.mktemp("catalogue") / "checkpoints"
    shutil.copytree(build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints"), root)
    shutil.copytree(root / "gru_bahdanau", root / "gru_mine")
    path = root / "gru_mine" / "metadata.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "name": "gru_mine", **MINE}))
    return root


def component(demo: gr.Blocks, elem_id: str = "", label: str = ""):
    for block in demo.blocks.values():
        if (elem_id and getattr(block, "elem_id", None) == elem_id) or \
                (label and getattr(block, "label", None) == label):
            return block
    raise AssertionError(f"no component {elem_id or label!r}")


def test_a_new_folder_brings_its_own_label_colour_order_and_role(with_mine):
    shipped = app.Shipped(with_mine)
    # Order 0.5: right after the bottleneck, before the catalogue's Bahdanau GRU.
    assert shipped.names == ["gru_noattn", "gru_mine", "gru_bahdanau", "lstm_bahdanau",
                             "gru_luong", "transformer"]
    assert shipped.labels["gru_mine"] == MINE["label"]
    assert model_colors(shipped)["gru_mine"] == MINE["color"]

    demo = app.build_demo(with_mine)
    # Its role makes it the reference alignment and the target, and the Training tab opens on it.
    assert component(demo, label="Reference alignment (a GRU)").value == "gru_mine"
    assert component(demo, elem_id="target-choice").value == "gru_mine"
    assert component(demo, elem_id="snap-model").value == "gru_mine"
    assert component(demo, elem_id="translation-gru_mine").label.startswith(MINE["label"])
    assert MINE["label"] in component(demo, elem_id="by-length-summary").value

    # The figures draw it in its colour: BLEU by length, the curves, the O(n^2) lab's GRU line.
    evals = {n: (shipped.labels[n], load_eval(t.folder))
             for n, t in shipped.translators.items()}
    bars = lab_views.bleu_by_length_figure({n: e for n, e in evals.items() if e[1]},
                                           model_colors(shipped))
    assert {t.name: t.marker.color for t in bars.data}[MINE["label"]] == MINE["color"]
    loss, _ = training_views.curves_figures(
        {n: (shipped.labels[n], t.metadata.get("curves", []))
         for n, t in shipped.translators.items()})
    paint(loss, model_colors(shipped))
    assert {t.line.color for t in loss.data if t.legendgroup == "gru_mine"} == {MINE["color"]}
    rows = [{"n": n, "attention_ms": 1.0 * n, "gru_ms": 2.0, "attention_bytes": 4 * n,
             "gru_bytes": 2 * n, "attention_weights_bytes": n} for n in (16, 32)]
    time_plot, _ = lab_views.scaling_figures(rows, looks=shipped.looks)
    assert {t.name: t.line.color for t in time_plot.data}["GRU"] == MINE["color"]


def test_the_lowest_val_aer_picks_the_defaults_over_the_role(tmp_path_factory):
    """With val alignment results, the defaults follow the numbers: the LSTM (not first by role)
    aligns words best, so the app opens on it; its card shows the score and its split."""
    root = tmp_path_factory.mktemp("by_aer") / "checkpoints"
    shutil.copytree(build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints"), root)
    for name, aer in {"gru_bahdanau": 0.4, "lstm_bahdanau": 0.2, "transformer": 0.25}.items():
        (root / name / "eval" / "val-alignment.json").write_text(json.dumps(
            {"model": name, "split": "val", "alignment": alignment_result(aer)}))
    demo = app.build_demo(root)
    assert component(demo, label="Reference alignment (a GRU)").value == "lstm_bahdanau"
    assert component(demo, elem_id="target-choice").value == "lstm_bahdanau"
    assert component(demo, elem_id="snap-model").value == "lstm_bahdanau"
    cards = [b.value for b in demo.blocks.values()
             if "model-details" in (getattr(b, "elem_classes", None) or [])]
    assert any("word alignment on val" in c and "AER **0.200**" in c for c in cards)
    assert sum("word alignment on" in c for c in cards) == 3  # gru_noattn, gru_luong: none

"""inference.kinds: every alignment kind declared once, and the one (L, H, R, C) shape."""

from __future__ import annotations

import numpy as np
import pytest

from inference import Translation
from inference.kinds import BOS_PIECE, KINDS, as_stack, axis_pieces, kind_of
from inference.translation import snapshot_translation
from views import heatmaps
from views import training as training_views

SOURCE = ["▁a", "▁dog", "</s>"]
TARGET = ["▁ein", "▁Hund", "▁rennt", "</s>"]


def test_every_kind_is_declared_once_and_views_read_the_table():
    assert list(KINDS) == ["cross", "decoder_self", "encoder_self"]
    assert heatmaps.KINDS == {name: kind.caption for name, kind in KINDS.items()}
    assert heatmaps.HOVER == {name: kind.hover for name, kind in KINDS.items()}
    with pytest.raises(ValueError, match="choose one of cross, decoder_self, encoder_self"):
        kind_of("sideways")


def test_axes_come_from_the_table():
    assert axis_pieces("target_so_far", SOURCE, TARGET) == [BOS_PIECE] + TARGET[:-1]
    t = Translation("m", "a dog", "ein Hund rennt", SOURCE, TARGET, metadata={
        "language_pair": "en-de"})
    assert heatmaps.axes(t, "cross") == (TARGET, SOURCE, "German (written)", "English (read)")
    assert heatmaps.axes(t, "encoder_self")[:2] == (SOURCE, SOURCE)
    with pytest.raises(ValueError):
        heatmaps.axes(t, "sideways")


def test_as_stack_gives_every_alignment_four_axes():
    m = np.arange(12.0).reshape(4, 3)
    assert as_stack(m).shape == (1, 1, 4, 3) and np.array_equal(as_stack(m)[0, 0], m)
    assert as_stack(np.stack([m, m])).shape == (2, 1, 4, 3)
    assert as_stack(np.zeros((2, 8, 4, 3))).shape == (2, 8, 4, 3)
    with pytest.raises(ValueError, match="not \\(3,\\)"):
        as_stack(np.zeros(3))
    with pytest.raises(ValueError, match="as_stack"):
        Translation("m", "a", "b", SOURCE, TARGET, {"cross": m})


def test_a_gru_has_one_matrix_whatever_head_is_asked_for():
    rng = np.random.default_rng(0)
    gru = Translation("g", "a dog", "ein Hund rennt", SOURCE, TARGET,
                      {"cross": as_stack(rng.random((4, 3)))})
    mean = heatmaps.select_view(gru, "cross", None, heatmaps.MEAN)
    first = heatmaps.select_view(gru, "cross", 0, 0)
    np.testing.assert_array_equal(mean.matrix, first.matrix)
    assert mean.detail == first.detail == "cross-attention"  # no layer or head named
    assert heatmaps.head_grid(gru) is None and heatmaps.resting_heads(gru) == ""


def snapshot(cross):
    return {"source": "a dog", "reference": "ein Hund rennt", "hypothesis": "ein",
            "source_pieces": SOURCE, "target_pieces": TARGET, "cross": cross}


def test_snapshots_are_translations_drawn_by_select_view():
    rng = np.random.default_rng(1)
    gru = snapshot_translation(snapshot(rng.random((4, 3)).tolist()), "g", {})
    assert gru.alignments["cross"].shape == (1, 1, 4, 3) and not gru.multi_head
    layers = rng.random((2, 4, 3))  # (L, T, S), heads averaged in training
    transformer = snapshot_translation(snapshot(layers.tolist()), "t", {})
    assert transformer.alignments["cross"].shape == (2, 1, 4, 3) and transformer.multi_head
    assert transformer.text == "ein Hund rennt" and transformer.target_pieces == TARGET
    assert snapshot_translation(snapshot(None), "n", {}).alignments == {}
    records = [{"epoch": 0, "sentences": [snapshot(layers.tolist())]}]
    for layer in (None, 0, 7):
        for words in (False, True):
            view, _ = training_views.snapshot_view(records, "t", {}, 0, 0, layer, words)
            same = heatmaps.select_view(transformer, "cross", layer, heatmaps.MEAN, words)
            np.testing.assert_array_equal(view.matrix, same.matrix)
            assert (view.rows, view.columns) == (same.rows, same.columns)
    view, _ = training_views.snapshot_view(records, "t", {}, 0, 0, 7)
    assert view.detail == "cross-attention after epoch 1 · layer 2 of 2, mean of heads"
    assert view.row_title == "German reference (forced)"

"""inference.reference: the statistical aligner the app ships (its priors beside the model folders),
each model's attention scored against it on one pair, the alignment results of a folder's eval
files, and the default model chosen by the lowest val AER (by role without one); and the views
that show them (views.compare's aligner heatmap and summary, the Models tab's card lines)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from inference import aligner, catalogue, load_all, reference
from inference import compare as C
from inference.reference import PRIORS, WordLinks
from inference.translation import word_groups
from tests.app_fixtures import AER, HEADS, LAYERS, alignment_result, build_checkpoints
from views import compare as compare_views
from views import heatmaps, text
from views.style import md_escape

ROOT = Path(__file__).resolve().parent.parent
needs_eflomal = pytest.mark.skipif(not aligner.available(), reason="eflomal is not installed")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> Path:
    return build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints")


# ---- the aligner, or why there is none ----------------------------------------------------------
def test_without_the_priors_file_there_is_no_aligner_and_a_reason(tmp_path):
    found, why = reference.load_aligner(tmp_path)
    assert found is None and PRIORS in why


def test_a_broken_priors_file_is_a_reason_not_a_crash(tmp_path):
    (tmp_path / PRIORS).write_bytes(b"not gzip at all")
    found, why = reference.load_aligner(tmp_path)
    assert found is None and "cannot be used" in why


def test_without_eflomal_there_is_no_aligner_and_a_reason(tmp_path, monkeypatch):
    (tmp_path / PRIORS).write_bytes(b"")
    monkeypatch.setattr(aligner, "available", lambda: False)
    found, why = reference.load_aligner(tmp_path)
    assert found is None and "eflomal is not installed" in why


@needs_eflomal
def test_the_fixture_priors_align_a_pair_word_by_word(checkpoints):
    found, why = reference.load_aligner(checkpoints)
    assert found is not None and why == ""
    pair = reference.word_links(found, "A dog runs on the beach.", "Ein Hund rennt am Strand.")
    assert pair.source_words == ("A", "dog", "runs", "on", "the", "beach.")
    assert pair.target_words == ("Ein", "Hund", "rennt", "am", "Strand.")
    assert {(0, 0), (1, 1), (2, 2)} <= pair.links  # A-Ein, dog-Hund, runs-rennt
    matrix = pair.matrix  # (T words, S words), each linked row sums to 1
    assert matrix.shape == (5, 6)
    np.testing.assert_allclose(matrix.sum(axis=1), [1.0 if any(t == r for _, t in pair.links)
                                                    else 0.0 for r in range(5)])


def test_shipped_priors_are_a_file_beside_the_model_folders():
    shipped = ROOT / "checkpoints"
    if not (shipped / PRIORS).exists():
        pytest.skip(f"no checkpoints/{PRIORS} in this clone")
    assert (shipped / PRIORS).is_file()
    found, problems = load_all(shipped)  # the file is no model folder, and no problem either
    assert not any(PRIORS in p for p in problems) and PRIORS not in found


def test_reference_imports_no_torch():
    code = ("import sys; import inference.reference, views.compare; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr


# ---- one pair: attention against the aligner ----------------------------------------------------
PAIR = WordLinks(frozenset({(0, 0), (1, 1), (2, 2)}), ("A", "dog", "runs."),
                 ("Ein", "Hund", "rennt."))


def one_hot(rows: list[int], columns: int) -> np.ndarray:
    """A word-level (T, S) attention: row t all on column rows[t]."""
    return np.eye(columns)[rows]


def test_attention_aer_is_zero_on_the_same_links_and_one_on_none():
    # 3 words + </s> each way; the </s> row and column are left out of the links
    assert reference.attention_aer(one_hot([0, 1, 2, 3], 4), PAIR) == 0.0
    assert reference.attention_aer(one_hot([1, 2, 0, 3], 4), PAIR) == 1.0
    assert reference.attention_aer(one_hot([0, 0, 2, 3], 4), PAIR) == pytest.approx(1 - 4 / 6)
    assert reference.attention_aer(one_hot([0, 1, 3], 4), PAIR) is None  # other words


def test_head_aers_score_every_head():
    stack = np.stack([np.stack([one_hot([0, 1, 2, 3], 4), one_hot([1, 2, 0, 3], 4)])])
    np.testing.assert_allclose(reference.head_aers(stack, PAIR), [[0.0, 1.0]])
    assert reference.head_aers(stack[..., :3], PAIR) is None


# ---- a folder's alignment results, and the default they choose -----------------------------------
def write(folder: Path, name: str, result) -> None:
    (folder / "eval").mkdir(parents=True, exist_ok=True)
    (folder / "eval" / name).write_text(json.dumps(result) if not isinstance(result, str)
                                        else result)


def test_alignment_results_read_every_split_and_skip_what_is_not_one(tmp_path):
    write(tmp_path, "val-beam5.json", {"bleu": 30.0})  # no alignment in it
    write(tmp_path, "val-alignment.json", {"alignment": alignment_result(0.25)})
    write(tmp_path, "test_2016_flickr-beam5.json", "{not json")
    write(tmp_path, "test_2017_flickr-beam5.json", {"alignment": {**alignment_result(0.3),
                                                                  "aer": 1.5}})
    assert reference.alignment_results(tmp_path) == {"val": alignment_result(0.25)}
    assert reference.alignment_results(tmp_path / "nothing") == {}
    assert reference.alignment_results(None) == {}


def test_a_card_shows_val_first_and_names_its_split(checkpoints):
    # The fixtures carry an alignment result on the test set only.
    results = {n: reference.alignment_results(checkpoints / n) for n in AER}
    assert reference.headline(results["gru_bahdanau"])[0] == "test_2016_flickr"
    assert reference.alignment_results(checkpoints / "gru_luong") == {}  # shipped bare
    card = text.model_details("gru_bahdanau", {}, None, results["gru_bahdanau"])
    assert "word alignment on test\\_2016\\_flickr" in card and "AER **0.300**" in card
    assert "12.5%" in card and "5.0%" in card  # the </s> and full-stop shares
    card = text.model_details("transformer", {}, None, results["transformer"])
    assert "mean of all heads" in card and "layer 2, head 3, AER **0.350**" in card
    with_val = {**results["lstm_bahdanau"], "val": alignment_result(0.2)}
    assert "on val" in text.model_details("lstm_bahdanau", {}, None, with_val)
    assert "AER" not in text.model_details("gru_luong", {}, None, {})


LOOKS = {n: catalogue.look(n) for n in catalogue.CATALOGUE}
NAMES = list(catalogue.CATALOGUE)


def val(aer: float) -> dict:
    return {"val": alignment_result(aer)}


def test_the_lowest_val_aer_is_the_default_not_the_role():
    results = {"gru_bahdanau": val(0.4), "lstm_bahdanau": val(0.2), "transformer": val(0.3)}
    assert reference.cleanest(results, NAMES, LOOKS) == "lstm_bahdanau"
    assert reference.cleanest(results, ["gru_bahdanau", "gru_luong"], LOOKS) == "gru_bahdanau"
    # A model without a val result ranks after those with one, whatever its role.
    assert reference.cleanest({"gru_luong": val(0.9)}, NAMES, LOOKS) == "gru_luong"


def test_no_val_result_or_a_tie_falls_back_to_the_role():
    assert reference.cleanest({}, NAMES, LOOKS) == "gru_bahdanau"
    # A test set never chooses.
    tests_only = {"transformer": {"test_2016_flickr": alignment_result(0.1)}}
    assert reference.cleanest(tests_only, NAMES, LOOKS) == "gru_bahdanau"
    tie = {"gru_luong": val(0.2), "lstm_bahdanau": val(0.2), "transformer": val(0.5)}
    assert reference.cleanest(tie, NAMES, LOOKS) == "lstm_bahdanau"  # additive, like Bahdanau
    assert reference.cleanest({}, [], LOOKS) is None


# ---- the views of the aligner beside the attention ---------------------------------------------
@pytest.fixture(scope="module")
def aligned(checkpoints):
    translators, problems = load_all(checkpoints)
    assert not problems
    return C.align_all(translators, "A dog runs.", "Ein Hund rennt.")


def test_the_aligner_is_drawn_like_the_attention_on_whole_words():
    view = compare_views.aligner_view(PAIR, {"language_pair": "en-de"})
    assert (view.rows, view.columns) == (list(PAIR.target_words), list(PAIR.source_words))
    assert (view.row_title, view.column_title) == ("German word", "English word")
    figure = heatmaps.heatmap(view, title=view.title)
    assert reference.NAME in figure.layout.title.text
    np.testing.assert_allclose(figure.data[0].z, np.eye(3))
    assert "linked to" in figure.data[0].hovertemplate


def test_the_summary_scores_each_model_on_the_words_shown(aligned):
    labels = {n: t.metadata.get("label", n) for n, t in aligned.items()}
    shown = {n: md_escape(label) for n, label in labels.items()}  # as Markdown writes them
    # The Bahdanau GRU made to attend exactly where the aligner links: AER 0, the closest.
    gru = aligned["gru_bahdanau"]
    assert reference.word_stack(gru).shape[-2:] == (4, 4)  # three words and </s>, each way
    tgt, src = word_groups(gru.target_pieces), word_groups(gru.source_pieces)
    exact = np.zeros((1, 1, len(tgt), len(src)))
    for t, word in enumerate(tgt):  # every piece of target word w: on source word w
        exact[0, 0, t, src.index(word)] = 1.0
    aligned = {**aligned, "gru_bahdanau": replace(gru, alignments={"cross": exact})}
    selections = {"transformer": ("0", "1")}  # layer 1, head 2
    summary = compare_views.aligner_summary(aligned, PAIR, labels, selections, words=False)
    assert f"{shown['gru_bahdanau']} **0.00**" in summary
    assert f"Closest to the aligner here: **{shown['gru_bahdanau']}**" in summary
    head = reference.word_stack(aligned["transformer"])[0, 1]
    assert (f"Transformer (layer 1 of {LAYERS} · head 2 of {HEADS}) "
            f"**{reference.attention_aer(head, PAIR):.2f}**") in summary
    assert "its best head on this pair" in summary and "tick *Whole words*" in summary
    assert "links 3 of the 3 German words" in summary
    assert shown["gru_noattn"] not in summary  # no attention, no score
    assert "tick" not in compare_views.aligner_summary(aligned, PAIR, labels, words=True)


def test_without_the_aligner_the_summary_says_why(aligned):
    assert compare_views.aligner_summary(aligned, None, {}, note="No aligner: why.") == \
        "*No aligner: why.*"
    assert compare_views.aligner_summary({}, PAIR, {}) == ""

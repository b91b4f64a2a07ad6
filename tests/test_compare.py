"""inference.metrics (alignment similarity), inference.compare (every model at once), the
eval/*.json results of a model folder, and inference.lab."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference import InputError, lab, load_all, metrics
from inference import compare as C
from inference.checkpoint import eval_path, read_eval, write_eval
from tests.app_fixtures import ENCODER_LAYERS, HEADS, LAYERS, build_checkpoints

ROOT = Path(__file__).resolve().parent.parent

LN2 = np.log(2.0)


def random_alignment(rng, *shape):
    a = rng.random(shape) ** 3
    return a / a.sum(axis=-1, keepdims=True)


# ---- pure numbers ------------------------------------------------------------------------------
def test_js_divergence_is_zero_for_identical_symmetric_and_bounded():
    rng = np.random.default_rng(0)
    p, q = random_alignment(rng, 6, 9), random_alignment(rng, 6, 9)
    np.testing.assert_allclose(C.js_divergence(p, p), 0.0, atol=1e-12)
    np.testing.assert_allclose(C.js_divergence(p, q), C.js_divergence(q, p), rtol=1e-12)
    js = C.js_divergence(p, q)
    assert js.shape == (6,) and np.all(js > 0) and np.all(js <= LN2)


def test_js_divergence_reaches_ln2_for_disjoint_rows():
    p, q = np.eye(4)[:2], np.eye(4)[2:]  # no source piece in common
    np.testing.assert_allclose(C.js_divergence(p, q), [LN2, LN2], rtol=1e-12)


def test_js_divergence_refuses_different_axes():
    with pytest.raises(ValueError, match="share axes"):
        C.js_divergence(np.ones((3, 4)) / 4, np.ones((3, 5)) / 5)


def test_row_entropy_of_one_hot_is_zero_and_of_uniform_is_ln_s():
    np.testing.assert_allclose(C.row_entropy(np.eye(5)), 0.0, atol=1e-12)
    np.testing.assert_allclose(C.row_entropy(np.full((3, 7), 1 / 7)), np.log(7), rtol=1e-12)


def test_normalise_rows_makes_an_all_zero_row_uniform():
    a = C.normalise_rows(np.array([[0.0, 0.0, 0.0, 0.0], [2.0, 2.0, 0.0, 0.0]]))
    np.testing.assert_allclose(a, [[0.25] * 4, [0.5, 0.5, 0, 0]])


def test_argmax_agreement_is_a_fraction_of_rows():
    a = np.eye(4)
    b = np.eye(4)[[0, 1, 3, 2]]  # two of four rows point elsewhere
    assert C.argmax_agreement(a, a) == 1.0
    assert C.argmax_agreement(a, b) == 0.5
    rng = np.random.default_rng(1)
    value = C.argmax_agreement(random_alignment(rng, 8, 5), random_alignment(rng, 8, 5))
    assert 0.0 <= value <= 1.0


def test_head_scores_and_ranking_put_the_copy_of_the_reference_first():
    rng = np.random.default_rng(2)
    reference = random_alignment(rng, 5, 6)
    heads = random_alignment(rng, 2, 3, 5, 6)  # (L, H, T, S)
    heads[1, 2] = reference  # layer 2, head 3 is the reference itself
    scores = C.head_scores(reference, heads)
    assert {k: v.shape for k, v in scores.items()} == {k: (2, 3) for k in scores}
    assert scores["js"][1, 2] == pytest.approx(0.0, abs=1e-12)
    assert scores["agreement"][1, 2] == 1.0
    ranked = C.rank_alignments(reference, {
        "t": {"model": "Transformer", "alignment": heads},
        "g": {"model": "GRU", "alignment": random_alignment(rng, 5, 6)}})
    assert len(ranked) == 2 * 3 + 2 + 1  # every head, each layer's mean, the other GRU
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert (ranked[0]["model"], ranked[0]["layer"], ranked[0]["head"]) == ("Transformer", 2, 3)
    assert all(a["js"] <= b["js"] for a, b in zip(ranked, ranked[1:]))


def test_the_measures_live_in_metrics_and_compare_re_exports_them():
    for name in ("LN2", "normalise_rows", "row_entropy", "js_divergence", "argmax_agreement",
                 "compare_to", "head_scores", "rank_alignments", "similarity"):
        assert getattr(C, name) is getattr(metrics, name), name


def test_metrics_and_translation_import_no_torch():
    """The views' half of the comparisons needs no torch: the package's names load lazily."""
    code = ("import sys; import inference.metrics, inference.translation; "
            "from inference import InputError, Translation; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr


# ---- every model at once, on the fixture folders ------------------------------------------------
@pytest.fixture(scope="module")
def translators(tmp_path_factory):
    root = build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints")
    found, problems = load_all(root)
    assert not problems
    return found


def test_translate_all_gives_every_model_in_chapter_order(translators):
    results, notices = C.translate_all(translators, "A dog runs on the beach.", beam=2)
    assert list(results) == ["gru_noattn", "gru_bahdanau", "lstm_bahdanau", "gru_luong",
                            "transformer"]
    assert notices == []
    assert not results["gru_noattn"].has_attention
    assert results["transformer"].alignments["cross"].shape[:2] == (LAYERS, HEADS)
    assert results["transformer"].multi_head and not results["gru_bahdanau"].multi_head
    assert results["gru_bahdanau"].alignments["cross"].shape[:2] == (1, 1)  # one (T, S) matrix


def test_translate_all_cuts_long_input_with_a_notice(translators):
    results, notices = C.translate_all(translators, "dog " * 4000)  # 16,000 characters
    assert any("characters" in n for n in notices)
    assert any("only the first 100" in n for n in notices)
    assert len(results["gru_bahdanau"].source_pieces) == 101  # 100 pieces + </s>


@pytest.mark.parametrize("text", ["", "   \n\t", "\x00\x07"])
def test_translate_all_rejects_empty_input_with_a_sentence(translators, text):
    with pytest.raises(InputError, match="empty"):
        C.translate_all(translators, text)


def test_align_all_puts_every_model_on_the_same_axes(translators):
    aligned = C.align_all(translators, "A dog runs.", "Ein Hund rennt.")
    shapes = {name: t.alignments["cross"].shape[-2:] for name, t in aligned.items()
              if t.has_attention}
    assert len(shapes) == 4 and len(set(shapes.values())) == 1
    assert all(t.score is not None for t in aligned.values())


@pytest.mark.parametrize("words", [False, True])
def test_similarity_ranks_every_head_against_the_reference(translators, words):
    aligned = C.align_all(translators, "A dog runs on the beach.", "Ein Hund rennt am Strand.")
    result = C.similarity(aligned, "gru_bahdanau", words=words)
    assert len(result["ranked"]) == 2 + LAYERS * (HEADS + 1)  # LSTM, Luong GRU, every head
    assert result["grids"]["transformer"].shape == (LAYERS, HEADS)
    assert 0 <= result["reference_entropy"] <= np.log(result["columns"]) + 1e-9
    with pytest.raises(InputError):
        C.similarity(aligned, "gru_noattn")


def test_attention_info_reads_layers_and_heads(translators):
    infos = {name: C.attention_info(t) for name, t in translators.items()}
    assert infos["gru_noattn"] == {"has_attention": False, "layers": 0, "heads": 0,
                                   "kind_layers": {}}
    assert infos["gru_bahdanau"] == {"has_attention": True, "layers": 0, "heads": 0,
                                     "kind_layers": {}}
    assert infos["transformer"] == {
        "has_attention": True, "layers": LAYERS, "heads": HEADS,
        "kind_layers": {"cross": LAYERS, "decoder_self": LAYERS, "encoder_self": ENCODER_LAYERS}}


# ---- the lab ------------------------------------------------------------------------------------
def test_measure_scaling_counts_the_n_squared_weights():
    rows = lab.measure_scaling((8, 16, 32), d_model=32, num_heads=4, repeats=1)
    assert [r["n"] for r in rows] == [8, 16, 32]
    for r in rows:
        assert r["attention_weights_bytes"] == 1 * 4 * r["n"] ** 2 * 4  # B*H*n*n float32
        assert r["gru_bytes"] == (r["n"] + 1) * 32 * 4  # outputs (1, n, E) + state (1, 1, E)
        assert r["attention_ms"] > 0 and r["gru_ms"] > 0


def test_load_eval_prefers_test_and_skips_broken_files(translators, tmp_path):
    result = lab.load_eval(translators["transformer"].folder)
    assert result["split"] == "test_2016_flickr" and result["by_length"]
    assert lab.load_eval(translators["gru_luong"].folder) is None  # shipped without eval/
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "test_2016_flickr-beam5.json").write_text("{not json")
    (tmp_path / "eval" / "val-beam5.json").write_text(json.dumps({"by_length": [], "split": "val"}))
    assert lab.load_eval(tmp_path)["split"] == "val"
    assert lab.load_eval(None) is None


def test_eval_results_are_written_and_read_back_by_one_format(tmp_path):
    rows = [{"bucket": "1-8", "min_words": 1, "max_words": 8, "sentences": 2, "bleu": 31.5}]
    result = {"model": "m", "split": "val", "beam": 5, "bleu": 30.0, "chrf": 55.0,
              "by_length": rows, "hypotheses": ["Ein Hund rennt.", "Zwei Männer."]}
    path = write_eval(eval_path(tmp_path, "val", 5), result)
    assert path == tmp_path / "eval" / "val-beam5.json"
    assert read_eval(tmp_path) == result  # non-ASCII text survives
    assert "Männer" in path.read_text(encoding="utf-8")
    write_eval(eval_path(tmp_path, "test_2016_flickr", 1), {**result, "split": "test_2016_flickr"},
               hypotheses=False)
    preferred = read_eval(tmp_path)
    assert preferred["split"] == "test_2016_flickr" and "hypotheses" not in preferred
    assert read_eval(tmp_path, splits=("val",))["split"] == "val"
    assert read_eval(tmp_path / "nothing-here") is None


def test_target_for_reuses_a_translation_of_the_same_sentence(translators):
    results, _ = C.translate_all(translators, "A dog runs.")
    fake = results["gru_bahdanau"]
    fake.text = "Ein Hund rennt."  # a cached translation of the same (cleaned) sentence
    assert C.target_for(translators, "gru_bahdanau", "  A dog\truns. ", results) == fake.text
    fresh = C.target_for(translators, "gru_bahdanau", "Two cats sleep.", results)
    assert fresh == translators["gru_bahdanau"].translate("Two cats sleep.").text
    with pytest.raises(InputError, match="no shipped model"):
        C.target_for(translators, "gru_nope", "A dog.")

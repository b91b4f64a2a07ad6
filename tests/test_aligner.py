"""The word-alignment reference (inference.aligner), the measures against it (inference.metrics:
aer, argmax_links, sink_shares) and training.evaluate's alignment quality.

Hand-made links and matrices first; then eflomal on the first 1,000 train pairs of Multi30K
(skipped without the corpus), aligned once per session in a temporary cache.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from data.corpus import load_pair, read_lines
from inference import aligner
from inference.aligner import (
    PairAligner,
    align_corpus,
    link_matrix,
    symmetrise,
    to_words,
    tokens,
    words,
)
from inference.errors import InputError
from inference.metrics import aer, alignment_scores, argmax_links, full_stop_columns, sink_shares

TRAIN_PAIRS, VAL_PAIRS = 1000, 20
QUICK = 0.2  # eflomal's iterations, relative: a fifth is plenty for 1,000 pairs


# ---- AER -----------------------------------------------------------------------------------------
def test_aer_of_hand_made_links():
    sure = {(0, 0), (1, 2)}
    assert aer(sure, sure) == 0.0
    assert aer({(0, 1), (1, 0)}, sure) == 1.0
    assert aer({(0, 0), (1, 1)}, sure) == pytest.approx(0.5)  # 1 - (1 + 1) / (2 + 2)
    assert aer({(0, 0)}, sure) == pytest.approx(1 - 2 / 3)  # precise, half the recall
    # a possible link counts for precision only: 1 - (|A&S| 1 + |A&P| 2) / (|A| 2 + |S| 1)
    assert aer({(0, 0), (1, 1)}, {(0, 0)}, {(1, 1)}) == 0.0
    assert aer({(0, 0), (2, 2)}, {(0, 0)}, {(1, 1)}) == pytest.approx(1 - 2 / 3)
    assert aer(set(), set()) == 0.0


def test_corpus_aer_pools_links_over_sentences():
    predicted = [{(0, 0)}, {(0, 0), (1, 1), (2, 2)}]
    sure = [{(0, 1)}, {(0, 0), (1, 1), (2, 2)}]
    scores = alignment_scores(predicted, sure)
    # pooled: 3 right of 4 predicted and of 4 sure, not the mean of sentence AERs (0.5)
    assert scores["aer"] == pytest.approx(0.25)
    assert scores["precision"] == scores["recall"] == pytest.approx(0.75)
    assert scores["links"] == 4
    with pytest.raises(ValueError, match="one set of links per sentence"):
        alignment_scores(predicted, sure[:1])


# ---- the attention's side ---------------------------------------------------------------------
def test_argmax_links_leave_out_the_eos_row_and_column():
    # target words "Ein", "Hund.", </s>; source words "A", "dog.", </s>
    alignment = np.array([[0.6, 0.1, 0.3],
                          [0.1, 0.2, 0.7],    # mostly </s>: still links to its best real word
                          [0.0, 0.0, 1.0]])  # the target's </s>: no link
    assert argmax_links(alignment) == {(0, 0), (1, 1)}
    assert argmax_links(np.ones((1, 3))) == set()
    with pytest.raises(ValueError):
        argmax_links(np.ones((1, 1, 3, 3)))


def test_sink_shares_of_a_hand_made_matrix():
    source = ["▁A", "▁dog", ".", "</s>"]
    target = ["▁Ein", "▁Hund", ".", "</s>"]
    alignment = np.array([[0.7, 0.1, 0.0, 0.2],
                          [0.1, 0.5, 0.0, 0.4],
                          [0.0, 0.0, 0.6, 0.4],
                          [0.0, 0.0, 0.0, 1.0]])
    shares = sink_shares(alignment, source, target)
    assert shares["rows"] == 3  # the row that emits </s> is left out
    assert shares["eos"] == pytest.approx((0.2 + 0.4 + 0.4) / 3)
    assert shares["full_stop"] == pytest.approx(0.6 / 3)
    every_row = sink_shares(alignment, source, target, eos_row=True)
    assert every_row["rows"] == 4 and every_row["eos"] == pytest.approx(2.0 / 4)
    stack = np.stack([alignment, np.roll(alignment, 1, axis=-1)])[None]  # (1, 2, T, S)
    per_head = sink_shares(stack, source, target)
    assert per_head["eos"].shape == (1, 2)
    assert per_head["eos"][0, 0] == pytest.approx(shares["eos"])
    assert per_head["eos"][0, 1] == pytest.approx((0.0 + 0.0 + 0.6) / 3)  # shifted one right
    with pytest.raises(ValueError, match="does not fit"):
        sink_shares(alignment, source[:-1], target)


def test_full_stop_pieces():
    pieces = ["▁A", ".", "▁.", "...", "“.", "▁Mr", "</s>", "▁"]
    assert full_stop_columns(pieces) == [1, 2, 3]


# ---- the reference's side ------------------------------------------------------------------------
def test_words_are_the_words_of_the_app_and_tokens_split_punctuation():
    from inference.translator import clean_text

    for text in ["A dog's  ball.", " Two\tmen\u200bplay\x00 soccer ", "Ein Hund.", ""]:
        assert words(text) == clean_text(text).split()
    assert tokens(["A", "dog's", "T-shirt."]) == (
        ["a", "dog", "'", "s", "t", "-", "shirt", "."], [0, 1, 1, 1, 2, 2, 2, 2])
    owner = [0, 1, 1, 1, 2, 2, 2, 2]
    assert to_words({(1, 0), (3, 0), (7, 1)}, owner, [0, 1]) == {(1, 0), (2, 1)}


def test_symmetrise_a_tiny_example():
    forward = {(0, 0), (1, 1), (2, 2), (0, 3)}  # each target token from one source token
    reverse = {(0, 0), (1, 1), (2, 2), (3, 3)}  # each source token to one target token
    assert symmetrise(forward, reverse, "intersection") == {(0, 0), (1, 1), (2, 2)}
    assert symmetrise(forward, reverse, "union") == forward | reverse
    # (3, 3) is a diagonal neighbour and aligns a new source token; (0, 3) neighbours no link
    # and joins two tokens that are aligned already
    assert symmetrise(forward, reverse) == {(0, 0), (1, 1), (2, 2), (3, 3)}
    # final-and: a one-direction link between two unaligned tokens, far from the others
    assert symmetrise({(0, 0), (2, 1)}, {(0, 0)}) == {(0, 0), (2, 1)}
    with pytest.raises(ValueError, match="method must be one of"):
        symmetrise(forward, reverse, "grow")


def test_link_matrix_rows_share_their_links():
    matrix = link_matrix({(0, 0), (1, 1), (2, 1)}, n_source=3, n_target=3)
    assert matrix.tolist() == [[1, 0, 0], [0, 0.5, 0.5], [0, 0, 0]]


def test_pair_aligner_hands_eflomal_only_the_priors_of_its_tokens():
    pair = PairAligner(["LEX\ta\tein\t5", "LEX\ta\tzwei\t1", "LEX\tdog\thund\t4",
                        "FERF\ta\t1\t3", "FERR\tkatze\t1\t2", "HMMF\t1\t9", "HMMR\t1\t8"])
    assert sorted(pair.priors(["a", "dog"], ["ein", "hund"])) == [
        "FERF\ta\t1\t3", "HMMF\t1\t9", "HMMR\t1\t8", "LEX\ta\tein\t5", "LEX\tdog\thund\t4"]


# ---- eflomal on Multi30K -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def small_corpus(multi30k_dir, tmp_path_factory):
    """The first 1,000 train pairs of Multi30K and 20 of val and test_2016_flickr, as a corpus
    folder."""
    folder = tmp_path_factory.mktemp("small_multi30k")
    for split, n in (("train", TRAIN_PAIRS), ("val", VAL_PAIRS), ("test_2016_flickr", VAL_PAIRS)):
        for lang in ("en", "de"):
            lines = read_lines(multi30k_dir / f"{split}.{lang}")[:n]
            (folder / f"{split}.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def aligner_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("aligner_cache")


@pytest.fixture(scope="session")
def aligned(small_corpus, aligner_cache):
    """eflomal's run on the small corpus, as training.evaluate makes it (about 2 s)."""
    pairs = load_pair("en", "de", str(small_corpus))
    parts = {name: (list(ds["src"]), list(ds["tgt"])) for name, ds in pairs.items()}
    return align_corpus(parts, cache_dir=aligner_cache, rel_iterations=QUICK)


def test_eflomal_links_val_sentences_plausibly(aligned):
    links = aligned.links("val")
    assert len(links) == VAL_PAIRS
    first = aligned.parts["val"][0]
    # "A group of men are loading cotton onto a truck" / "Eine Gruppe von Männern lädt
    # Baumwolle auf einen Lastwagen"
    assert aligned.src_words[first][:4] == ["A", "group", "of", "men"]
    assert {(0, 0), (1, 1), (2, 2), (3, 3)} <= links[0]  # A/Eine group/Gruppe of/von men/Männern
    # "A man sleeping in a green room on a couch." / "Ein Mann schläft in einem grünen Raum auf
    # einem Sofa.": word for word
    assert {(0, 0), (1, 1), (5, 5), (6, 6)} <= links[1]  # A/Ein man/Mann green/grünen room/Raum
    # a source word is only ever linked to target words that exist
    for n, pair_links in enumerate(links):
        assert all(i < len(aligned.src_words[first + n]) and j < len(aligned.tgt_words[first + n])
                   for i, j in pair_links)


def test_cached_run_is_read_back_and_priors_align_a_new_pair(aligned, small_corpus,
                                                             aligner_cache, monkeypatch):
    def no_second_run(*args, **kwargs):
        pytest.fail("eflomal ran again on lines it had aligned")

    monkeypatch.setattr(aligner, "_run_eflomal", no_second_run)
    pairs = load_pair("en", "de", str(small_corpus))
    again = align_corpus({name: (list(ds["src"]), list(ds["tgt"])) for name, ds in pairs.items()},
                         cache_dir=aligner_cache, rel_iterations=QUICK)
    assert again.folder == aligned.folder and again.forward == aligned.forward
    monkeypatch.undo()
    assert aligned.priors_path.stat().st_size > 1000
    pair = aligned.pair_aligner()
    links = pair.align("A man sleeping in a green room on a couch.",
                       "Ein Mann schläft in einem grünen Raum auf einem Sofa.")
    assert {(0, 0), (1, 1), (5, 5)} <= links
    with pytest.raises(InputError, match="one is empty"):
        pair.align("A dog.", "  ")


# ---- training.evaluate's alignment quality -------------------------------------------------------
@pytest.fixture
def quick_reference(monkeypatch, aligner_cache, aligned):
    """training.evaluate reads the session's small eflomal run instead of making its own."""
    monkeypatch.setattr(aligner, "align_corpus", functools.partial(
        align_corpus, cache_dir=aligner_cache, rel_iterations=QUICK))


@pytest.fixture(scope="module")
def fixture_models(tmp_path_factory):
    from tests.app_fixtures import build_checkpoints
    return build_checkpoints(tmp_path_factory.mktemp("aligner_models"))


def test_evaluate_alignment_only_of_a_gru_and_a_transformer(fixture_models, small_corpus,
                                                            quick_reference, tmp_path, capsys):
    from tests.app_fixtures import HEADS, LAYERS
    from training.evaluate import main as evaluate_main

    out = tmp_path / "gru.json"
    assert evaluate_main(["--model", str(fixture_models / "gru_bahdanau"), "--split", "val",
                          "--corpus", str(small_corpus), "--limit", "4", "--alignment-only",
                          "--output", str(out)]) == 0
    assert "AER" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert "bleu" not in result and "hypotheses" not in result
    gru = result["alignment"]
    assert gru["sentences"] == 4 and gru["skipped"] == 0 and "per_head" not in gru
    assert 0 <= gru["aer"] <= 1 and 0 <= gru["eos_share"] <= 1 and 0 <= gru["full_stop_share"] <= 1

    folder = fixture_models / "transformer"
    out = folder / "eval" / "val-alignment.json"  # the default path of --alignment-only
    assert evaluate_main(["--model", str(folder), "--split", "val", "--corpus", str(small_corpus),
                          "--limit", "4", "--alignment-only"]) == 0
    heads = json.loads(out.read_text())["alignment"]
    assert heads["attention"] == "mean of all heads"
    assert np.shape(heads["per_head"]["aer"]) == (LAYERS, HEADS)
    assert np.shape(heads["per_head"]["eos_share"]) == (LAYERS, HEADS)
    assert len(heads["layer_mean"]) == LAYERS
    best = heads["best_head"]
    assert best["chosen_on"] == "val"
    assert best["aer"] == min(min(row) for row in heads["per_head"]["aer"])
    assert heads["per_head"]["aer"][best["layer"] - 1][best["head"] - 1] == best["aer"]
    assert "val_chosen_head" not in heads

    # on a test split the head chosen on val is scored too, beside this split's own best
    out = tmp_path / "test.json"
    assert evaluate_main(["--model", str(folder), "--split", "test_2016_flickr", "--corpus",
                          str(small_corpus), "--limit", "4", "--alignment-only",
                          "--output", str(out)]) == 0
    test = json.loads(out.read_text())["alignment"]
    chosen = test["val_chosen_head"]
    assert (chosen["layer"], chosen["head"], chosen["chosen_on"]) == (
        best["layer"], best["head"], "val")
    assert chosen["aer"] == test["per_head"]["aer"][chosen["layer"] - 1][chosen["head"] - 1]
    assert test["best_head"]["chosen_on"] == "test_2016_flickr"


def test_evaluate_adds_alignment_to_the_scores_unless_told_not_to(fixture_models, small_corpus,
                                                                  quick_reference, tmp_path):
    from training.evaluate import main as evaluate_main

    common = ["--split", "val", "--corpus", str(small_corpus), "--limit", "3", "--beam", "1"]
    out = tmp_path / "with.json"
    assert evaluate_main(["--model", str(fixture_models / "gru_luong"), *common,
                          "--output", str(out)]) == 0
    result = json.loads(out.read_text())
    assert "bleu" in result and result["alignment"]["sentences"] == 3
    out = tmp_path / "without.json"
    assert evaluate_main(["--model", str(fixture_models / "gru_luong"), *common,
                          "--no-alignment", "--output", str(out)]) == 0
    assert "alignment" not in json.loads(out.read_text())


def test_a_model_without_attention_has_no_alignment_quality(fixture_models, small_corpus,
                                                            quick_reference, tmp_path, capsys):
    from training.evaluate import main as evaluate_main

    assert evaluate_main(["--model", str(fixture_models / "gru_noattn"), "--split", "val",
                          "--corpus", str(small_corpus), "--limit", "2", "--alignment-only",
                          "--output", str(tmp_path / "x.json")]) == 2
    assert "has no attention" in capsys.readouterr().err

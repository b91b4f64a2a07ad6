"""The test fixtures themselves: they must work on a bare clone, without the Multi30K files."""

from __future__ import annotations

import pytest

from data.corpus import CorpusError, load_pair
from data.tokenizer import Tokenizer
from tests.app_fixtures import CORPUS, SNAPSHOT_PAIRS, _sentences, toy_pairs
from tests.conftest import SHARED_CORPUS

pytestmark = pytest.mark.usefixtures("one_thread")


def test_fixture_vocabulary_trains_without_the_corpus(tmp_path):
    sentences = _sentences(tmp_path)  # an empty folder: the bare-clone case
    assert sentences == [en for en, _ in toy_pairs()] + [de for _, de in toy_pairs()]
    tokenizer = Tokenizer.train(sentences, vocab_size=300)  # the size build_checkpoints asks for
    assert tokenizer.vocab_size == 300
    for source, reference in SNAPSHOT_PAIRS:  # every character of the snapshots is known
        assert tokenizer.unk_id not in tokenizer.encode(source) + tokenizer.encode(reference)


def test_toy_pairs_are_seeded_and_agree_in_number():
    pairs = toy_pairs(200)
    assert pairs == toy_pairs(200) and pairs != toy_pairs(200, seed=1)
    plural = [(en, de) for en, de in pairs if en.startswith(("Two", "Three", "Four", "Several"))]
    assert plural and all(" is " not in en and " are " not in de for en, de in plural)
    assert all(en.endswith(".") and de.endswith(".") for en, de in pairs)


def test_fixtures_and_conftest_look_for_the_corpus_in_one_place():
    assert CORPUS == SHARED_CORPUS


@pytest.mark.skipif((SHARED_CORPUS / "train.en").exists(),
                    reason="checks the hidden-corpus run (MULTI30K_DIR naming an empty folder)")
def test_a_hidden_corpus_stays_hidden():
    # "auto" must not find ../shared/data/multi30k behind our back; offline, the Hub fails too.
    with pytest.raises(CorpusError):
        load_pair("en", "de")


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_multi30k_dir_is_the_only_place_looked_at_when_set(tmp_path, monkeypatch, folder):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("MULTI30K_DIR", str(tmp_path / folder))
    with pytest.raises(CorpusError, match=f"MULTI30K_DIR is {tmp_path / folder}"):
        load_pair("en", "de")

"""Corpus pairing, the training filter, the tokenizer and token-budget batching."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest

from data import (
    CorpusError,
    TokenBudgetBatchSampler,
    Tokenizer,
    collate,
    encode_split,
    load_pair,
    train_or_load,
)


def write_corpus(folder, split, en, de):
    (folder / f"{split}.en").write_text("".join(line + "\n" for line in en), encoding="utf-8")
    (folder / f"{split}.de").write_text("".join(line + "\n" for line in de), encoding="utf-8")


@pytest.fixture
def small_corpus(tmp_path):
    write_corpus(tmp_path, "train", ["A dog runs.", "", "Two men sit.", "word " * 60],
                 ["Ein Hund rennt.", "Leer", "Zwei Männer sitzen.", "Wort " * 60])
    write_corpus(tmp_path, "val", ["A cat.", ""], ["Eine Katze.", ""])
    return tmp_path


def test_pairs_stay_aligned_in_both_directions(small_corpus):
    en_de = load_pair("en", "de", str(small_corpus))
    de_en = load_pair("de", "en", str(small_corpus))
    assert list(en_de["train"]["src"])[2] == "Two men sit."
    assert list(en_de["train"]["tgt"])[2] == "Zwei Männer sitzen."
    assert list(de_en["train"]["src"]) == list(en_de["train"]["tgt"])
    assert set(en_de) == {"train", "val"}  # only the splits present


def test_mismatched_files_name_both_files_and_counts(small_corpus):
    (small_corpus / "val.de").write_text("Eine Katze.\n", encoding="utf-8")
    with pytest.raises(CorpusError) as err:
        load_pair("en", "de", str(small_corpus))
    message = str(err.value)
    assert "val.en" in message and "val.de" in message
    assert "has 2 lines" in message and "has 1" in message


def test_bad_language_is_a_clear_error(small_corpus):
    with pytest.raises(CorpusError, match="Unknown language 'xx'"):
        load_pair("en", "xx", str(small_corpus))


def test_training_filter_counts_and_eval_is_untouched(small_corpus, caplog):
    pairs = load_pair("en", "de", str(small_corpus))
    tok = Tokenizer.train(list(pairs["train"]["src"]) + list(pairs["train"]["tgt"]) * 20,
                          vocab_size=60, model_type="bpe")
    with caplog.at_level(logging.INFO, logger="data.batching"):
        train = encode_split(pairs["train"], tok, max_len=30, name="train")
    assert train.rows == [0, 2]  # the empty pair and the 60-word pair are dropped
    assert "dropped 1 empty and 1 longer than 30 pieces" in caplog.text
    val = encode_split(pairs["val"], tok)
    assert val.rows == [0, 1] and val.src[1] == []  # evaluation keeps even an empty line


def test_hub_layout_goes_through_the_same_path(tmp_path):
    """A Hub dataset with a `translation` column and train/validation/test splits, read by
    `datasets.load_dataset` from local files (no hub is reachable in tests)."""
    rows = {"train": [("A dog.", "Ein Hund."), ("A cat.", "Eine Katze.")],
            "validation": [("A man.", "Ein Mann.")], "test": [("A boy.", "Ein Junge.")]}
    for split, pairs in rows.items():
        with open(tmp_path / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for en, de in pairs:
                f.write(json.dumps({"translation": {"en": en, "de": de}}) + "\n")
    loaded = load_pair("de", "en", str(tmp_path))
    assert set(loaded) == {"train", "val", "test_2016_flickr"}
    assert list(loaded["train"]["src"]) == ["Ein Hund.", "Eine Katze."]
    assert list(loaded["val"]["tgt"]) == ["A man."]


def test_unreachable_hub_id_is_one_clear_sentence():
    with pytest.raises(CorpusError, match="Could not load the corpus"):
        load_pair("en", "de", "nobody/no-such-multi30k")


@pytest.mark.parametrize("pair,sentence", [
    (("en", "de"), "Ein Mädchen überquert die Straße, während zwei Jungen Fußball spielen."),
    (("en", "fr"), "Un garçon âgé de dix ans mange une pêche près de la fenêtre."),
    (("en", "cs"), "Dívka s černým kloboukem běží přes ulici."),
    (("en", "de"), "A young girl in a pink dress climbs into a wooden playhouse."),
])
def test_tokenizer_round_trip_every_language(multi30k_dir, tmp_path, pair, sentence):
    pairs = load_pair(*pair, corpus=str(multi30k_dir))
    train = pairs["train"]
    tok = train_or_load(list(train["src"]) + list(train["tgt"]), tmp_path, vocab_size=2000)
    ids, pieces = tok.encode_pieces(sentence)
    assert tok.unk_id not in ids
    assert tok.decode(ids) == sentence
    assert "".join(pieces).replace("▁", " ").strip() == sentence


def test_tokenizer_is_cached_by_data_and_options(tmp_path):
    text = ["ein kleiner hund", "zwei große katzen", "a small dog", "two big cats"] * 10
    first = train_or_load(text, tmp_path, vocab_size=40)
    again = train_or_load(text, tmp_path, vocab_size=40)
    other = train_or_load(text + ["noch ein satz"], tmp_path, vocab_size=40)
    assert first.model_proto == again.model_proto
    assert len(list(tmp_path.glob("*.model"))) == 2 and other.vocab_size == 40
    assert (first.pad_id, first.unk_id, first.bos_id, first.eos_id) == (0, 1, 2, 3)


@pytest.mark.parametrize("replicas", [1, 3])
def test_token_budget_batches_cover_every_pair_once(replicas):
    import random
    rng = random.Random(0)
    lengths = [rng.randint(3, 40) for _ in range(1000)]
    seen = Counter()
    for rank in range(replicas):
        sampler = TokenBudgetBatchSampler(lengths, max_tokens=300, seed=1, num_replicas=replicas,
                                          rank=rank)
        sampler.set_epoch(2)
        for batch in sampler:
            assert len(batch) * max(lengths[i] for i in batch) <= 300
            seen.update(batch)
    assert set(seen) == set(range(1000))
    if replicas == 1:
        assert set(seen.values()) == {1}  # DDP may repeat a few to give ranks equal counts


def test_epochs_shuffle_differently_and_reproducibly():
    lengths = [5 + i % 17 for i in range(500)]
    a = TokenBudgetBatchSampler(lengths, 200, seed=0)
    b = TokenBudgetBatchSampler(lengths, 200, seed=0)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and list(b) == first


def test_collate_shapes_and_masks():
    batch = collate([(7, [10, 11], [20]), (9, [12], [21, 22, 23])], pad_id=0, bos_id=2, eos_id=3)
    assert batch.src.tolist() == [[10, 11, 3], [12, 3, 0]]
    assert batch.tgt_in.tolist() == [[2, 20, 0, 0], [2, 21, 22, 23]]
    assert batch.tgt_out.tolist() == [[20, 3, 0, 0], [21, 22, 23, 3]]
    assert batch.src_mask.tolist() == [[True, True, True], [True, True, False]]
    assert batch.index.tolist() == [7, 9]


def test_datamodule_on_the_real_corpus(multi30k_dir, tmp_path):
    from training.datamodule import Multi30kDataModule

    dm = Multi30kDataModule("en", "de", corpus=str(multi30k_dir), vocab_size=8000,
                            tokenizer_dir=str(tmp_path), max_tokens=2048)
    assert dm.vocab_size == 8000 and (dm.pad_id, dm.bos_id, dm.eos_id) == (0, 2, 3)
    assert len(dm.encoded["val"]) == 1014 and len(dm.encoded["test_2016_flickr"]) == 1000
    batch = next(iter(dm.train_dataloader()))
    assert batch.src.numel() <= 2048 and batch.tgt_out.numel() <= 2048
    train = dm.pairs["train"]
    for b in range(len(batch)):
        row = int(batch.index[b])
        src_ids = batch.src[b][batch.src_mask[b]].tolist()
        tgt_ids = batch.tgt_out[b][batch.tgt_mask[b]].tolist()
        assert src_ids[-1] == dm.eos_id and tgt_ids[-1] == dm.eos_id
        assert dm.tokenizer.decode(src_ids) == train[row]["src"].strip()
        assert dm.tokenizer.decode(tgt_ids) == train[row]["tgt"].strip()
    assert batch.tgt_in[:, 0].eq(dm.bos_id).all()
    val = next(iter(dm.val_dataloader()))
    assert val.index.tolist() == list(range(len(val)))  # evaluation keeps corpus order

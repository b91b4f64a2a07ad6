"""The LightningDataModule: one Multi30K language pair, its joint tokenizer, and its batches.

It loads the corpus and trains (or reuses) the tokenizer in `__init__`, not in `setup`, so
that the CLI can link the vocabulary size and the special ids into the model's config before
the model is built. Both steps take about a second on Multi30K.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Literal

import datasets
import lightning as L
from torch.utils.data import DataLoader

from data import TokenBudgetBatchSampler, Tokenizer, collate, encode_split
from data.corpus import CorpusError, load_pair, read_lines, resolve_corpus
from data.tokenizer import train_or_load

log = logging.getLogger(__name__)

EVAL_SPLITS = ("val", "test_2016_flickr", "test_2017_flickr")
Language = Literal["en", "de", "fr", "cs"]


# The options that bring a teacher's translations in: a copy of a config without them trains
# on the corpus's own targets (the throughput bench, the resume test).
TEACHER_OPTIONS = ("train_targets", "keep_references")


class Multi30kDataModule(L.LightningDataModule):
    """Multi30K Task 1 for one language pair, either direction.

    Args:
        src_lang, tgt_lang: two of en, de, fr, cs.
        corpus: a local folder of Multi30K files, a Hub dataset id, or "auto" (the local copy
            named by $MULTI30K_DIR or ../shared/data/multi30k, else bentrevett/multi30k).
        vocab_size, spm_model_type: the joint sentencepiece vocabulary, trained on train only.
        tokenizer_dir: where trained tokenizers are cached (keyed by data and options).
        max_tokens: padded-token budget of a training batch.
        max_len: training pairs with a side longer than this many pieces are dropped.
        eval_batch_size: sentences per validation/test batch (those splits keep their order).
        snapshot_count: how many fixed val sentences the model records alignments for.
        train_targets: a text file with one target sentence for each train pair, used in
            place of the corpus's own targets: a teacher model's translations of the train
            split, for sequence-level knowledge distillation (Kim & Rush, 2016; made with
            `python -m training.translate`). The vocabulary is still trained on the corpus,
            so every model shares it; validation and test keep the human references.
        keep_references: with train_targets, train on both: every source once with its human
            reference and once with the teacher's translation (the union of the original and
            the distilled data, Nguyen et al., 2020, "Data Diversification"; an epoch is then
            twice as long).
    """

    def __init__(self, src_lang: Language = "en", tgt_lang: Language = "de", corpus: str = "auto",
                 vocab_size: int = 8000, spm_model_type: Literal["bpe", "unigram"] = "bpe",
                 tokenizer_dir: str = ".cache/tokenizers", max_tokens: int = 4096,
                 max_len: int = 100, eval_batch_size: int = 100, num_workers: int = 0,
                 seed: int = 0, snapshot_count: int = 4,
                 eval_split: Literal["val", "test_2016_flickr", "test_2017_flickr"] = "val",
                 train_targets: str | None = None, keep_references: bool = False):
        super().__init__()
        # Checked before the corpus is read: a wrong number fails in a second, not mid-fit.
        for name, value, low in (("vocab_size", vocab_size, 1), ("max_tokens", max_tokens, 1),
                                 ("max_len", max_len, 1), ("eval_batch_size", eval_batch_size, 1),
                                 ("num_workers", num_workers, 0),
                                 ("snapshot_count", snapshot_count, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"data.{name} must be a whole number >= {low}, not {value!r}.")
        if keep_references and not train_targets:
            raise ValueError("data.keep_references keeps the human references beside a "
                             "teacher's translations: it needs data.train_targets.")
        self.save_hyperparameters()
        self.src_lang, self.tgt_lang = src_lang, tgt_lang
        self.max_tokens, self.max_len = max_tokens, max_len
        self.eval_batch_size, self.num_workers, self.seed = eval_batch_size, num_workers, seed
        self.eval_split = eval_split
        self.pairs = load_pair(src_lang, tgt_lang, corpus)
        if eval_split not in self.pairs:
            raise CorpusError(
                f"The corpus {resolve_corpus(corpus)} has no {eval_split} split for {src_lang}-"
                f"{tgt_lang} (it has {', '.join(self.pairs)}): add {eval_split}.{src_lang} and "
                f"{eval_split}.{tgt_lang}, or pick another data.eval_split.")
        train = self.pairs["train"]
        self.tokenizer: Tokenizer = train_or_load(
            list(train["src"]) + list(train["tgt"]), Path(tokenizer_dir), vocab_size,
            spm_model_type)
        if train_targets:
            taught = distilled(train, train_targets)
            train = datasets.concatenate_datasets([train, taught]) if keep_references else taught
        self.encoded = {"train": encode_split(train, self.tokenizer, max_len, "train")}
        lengths = self.encoded["train"].lengths()
        if not lengths:
            raise ValueError(f"No training pair is left: every pair is empty on one side or "
                             f"longer than data.max_len={max_len} pieces; raise data.max_len.")
        if max(lengths) > max_tokens:
            raise ValueError(f"data.max_tokens={max_tokens} is less than the longest training "
                             f"pair ({max(lengths)} pieces with eos): raise data.max_tokens or "
                             f"lower data.max_len.")
        for split in EVAL_SPLITS:
            if split in self.pairs:
                self.encoded[split] = encode_split(self.pairs[split], self.tokenizer)
        self.snapshot_count = snapshot_count

    # Values the CLI links into the model's config.
    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_id

    @property
    def bos_id(self) -> int:
        return self.tokenizer.bos_id

    @property
    def eos_id(self) -> int:
        return self.tokenizer.eos_id

    def references(self, split: str) -> list[str]:
        """Target sentences of an evaluation split, in corpus order."""
        return list(self.pairs[split]["tgt"])

    def sources(self, split: str) -> list[str]:
        return list(self.pairs[split]["src"])

    def snapshot_sentences(self) -> list[tuple[str, str]]:
        """A few fixed val pairs, of growing length, whose alignments are recorded each epoch."""
        val = self.pairs["val" if "val" in self.pairs else self.eval_split]
        if self.snapshot_count <= 0:
            return []
        step = max(1, len(val) // self.snapshot_count)
        rows = sorted(range(0, len(val), step)[: self.snapshot_count],
                      key=lambda i: len(val[i]["src"]))
        return [(val[i]["src"], val[i]["tgt"]) for i in rows]

    def _collate(self):
        return functools.partial(collate, pad_id=self.pad_id, bos_id=self.bos_id,
                                 eos_id=self.eos_id)

    def train_dataloader(self) -> DataLoader:
        world, rank, epoch = 1, 0, 0
        if self.trainer is not None:
            world, rank = self.trainer.world_size, self.trainer.global_rank
            epoch = self.trainer.current_epoch
        train = self.encoded["train"]
        sampler = TokenBudgetBatchSampler(train.lengths(), self.max_tokens, shuffle=True,
                                          seed=self.seed, num_replicas=world, rank=rank)
        sampler.set_epoch(epoch)
        return DataLoader(train, batch_sampler=sampler, collate_fn=self._collate(),
                          num_workers=self.num_workers)

    def _eval_loader(self, split: str) -> DataLoader:
        # Evaluation keeps corpus order; each batch carries its rows to find references.
        return DataLoader(self.encoded[split], batch_size=self.eval_batch_size, shuffle=False,
                          collate_fn=self._collate(), num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader(self.eval_split)

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test_2016_flickr")


def distilled(train, path: str):
    """The train split with its targets replaced by the lines of `path`, one per pair."""
    if not Path(path).is_file():
        raise CorpusError(f"data.train_targets: no file {path} (make it with python -m "
                          f"training.translate --input the train sources --output {path}).")
    targets = read_lines(path)
    if len(targets) != len(train):
        raise CorpusError(f"data.train_targets: {path} has {len(targets):,} lines but the train "
                          f"split has {len(train):,} pairs; it must have one line per pair.")
    log.info("training on the targets in %s (sequence-level distillation)", path)
    return train.remove_columns("tgt").add_column("tgt", targets)

"""From sentence pairs to padded tensors: encoding, the training filter, token-budget batches.

Shapes: B batch, S source length, T target length.
A batch holds `src` (B, S) = pieces + eos, `tgt_in` (B, T) = bos + pieces, `tgt_out` (B, T) =
pieces + eos, right-padded with pad_id, and boolean masks where True = a real token.

Why a token budget rather than a fixed number of sentences: a batch of 64 six-word captions and a
batch of 64 thirty-word ones cost very different memory and time. Grouping sentences of similar
length (buckets) and filling each batch up to a budget of padded tokens keeps every step about
the same size and wastes little on padding.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import datasets
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from data.tokenizer import Tokenizer

log = logging.getLogger(__name__)


@dataclass
class Batch:
    src: Tensor       # (B, S) long
    src_mask: Tensor  # (B, S) bool, True = real token
    tgt_in: Tensor    # (B, T) long, starts with bos
    tgt_out: Tensor   # (B, T) long, ends with eos
    tgt_mask: Tensor  # (B, T) bool
    index: Tensor     # (B,) row of each pair in its split, to find its reference text

    def __len__(self) -> int:
        return self.src.size(0)


class PairIds(Dataset):
    """Encoded pairs of one split: item i is (row in the split, source ids, target ids)."""

    def __init__(self, rows: list[int], src: list[list[int]], tgt: list[list[int]]):
        self.rows, self.src, self.tgt = rows, src, tgt

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[int, list[int], list[int]]:
        return self.rows[i], self.src[i], self.tgt[i]

    def lengths(self) -> list[int]:
        """Padded cost of each pair: its longer side, with the eos/bos it gains."""
        return [max(len(s), len(t)) + 1 for s, t in zip(self.src, self.tgt)]


def encode_split(split: datasets.Dataset, tokenizer: Tokenizer, max_len: int | None = None,
                 name: str = "") -> PairIds:
    """Encode a split. With `max_len` (training only), empty pairs and pairs with a side longer
    than `max_len` pieces are dropped, counted and logged; without it nothing is dropped."""
    src_text, tgt_text = list(split["src"]), list(split["tgt"])
    src_ids, tgt_ids = tokenizer.sp.encode(src_text), tokenizer.sp.encode(tgt_text)
    if max_len is None:
        return PairIds(list(range(len(src_ids))), src_ids, tgt_ids)
    rows, empty, long = [], 0, 0
    for i, (s, t) in enumerate(zip(src_ids, tgt_ids)):
        if not src_text[i].strip() or not tgt_text[i].strip():
            empty += 1
        elif len(s) > max_len or len(t) > max_len:
            long += 1
        else:
            rows.append(i)
    log.info("%s: kept %s of %s pairs; dropped %d empty and %d longer than %d pieces",
             name or "split", f"{len(rows):,}", f"{len(src_ids):,}", empty, long, max_len)
    return PairIds(rows, [src_ids[i] for i in rows], [tgt_ids[i] for i in rows])


def collate(items: Sequence[tuple[int, list[int], list[int]]], pad_id: int, bos_id: int,
            eos_id: int) -> Batch:
    """Pad a list of (row, src ids, tgt ids) into a Batch."""
    B = len(items)
    S = max(len(s) for _, s, _ in items) + 1
    T = max(len(t) for _, _, t in items) + 1
    src = torch.full((B, S), pad_id, dtype=torch.long)
    tgt_in = torch.full((B, T), pad_id, dtype=torch.long)
    tgt_out = torch.full((B, T), pad_id, dtype=torch.long)
    for b, (_, s, t) in enumerate(items):
        src[b, : len(s) + 1] = torch.tensor(s + [eos_id])
        tgt_in[b, : len(t) + 1] = torch.tensor([bos_id] + t)
        tgt_out[b, : len(t) + 1] = torch.tensor(t + [eos_id])
    index = torch.tensor([row for row, _, _ in items], dtype=torch.long)
    return Batch(src, src != pad_id, tgt_in, tgt_out, tgt_out != pad_id, index)


class TokenBudgetBatchSampler(Sampler[list[int]]):
    """Batches of similar-length pairs whose padded size (count x longest) fits `max_tokens`.

    Each epoch the pairs are shuffled, sorted by length inside large pools (so batches are
    tight but not identical every epoch), cut into batches, and the batches are shuffled.
    With several processes (DDP) every rank builds the same batch list from the same seed and
    takes every `num_replicas`-th batch; the list is padded so all ranks step equally often.
    """

    def __init__(self, lengths: Sequence[int], max_tokens: int, shuffle: bool = True,
                 seed: int = 0, pool_factor: int = 100, num_replicas: int = 1, rank: int = 0):
        if not lengths:
            raise ValueError("There are no pairs to batch: the split is empty.")
        if max(lengths) > max_tokens:
            raise ValueError(f"A pair of {max(lengths)} tokens does not fit a budget of "
                             f"{max_tokens}: raise max_tokens or lower max_len.")
        self.lengths, self.max_tokens, self.shuffle = list(lengths), max_tokens, shuffle
        self.seed, self.pool_factor = seed, pool_factor
        self.num_replicas, self.rank, self.epoch = num_replicas, rank, 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        if self._cache is None or self._cache[0] != self.epoch:
            self._cache = (self.epoch, self._make_batches())
        return self._cache[1]

    def _make_batches(self) -> list[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        order = list(range(len(self.lengths)))
        if self.shuffle:
            rng.shuffle(order)
        # A pool holds roughly pool_factor batches; sorting within it groups similar lengths.
        mean_len = sum(self.lengths) / len(self.lengths)
        pool = max(1, int(self.pool_factor * self.max_tokens / mean_len))
        batches: list[list[int]] = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start:start + pool], key=self.lengths.__getitem__)
            batch: list[int] = []
            longest = 0
            for i in chunk:
                longest_if_added = max(longest, self.lengths[i])
                if batch and longest_if_added * (len(batch) + 1) > self.max_tokens:
                    batches.append(batch)
                    batch, longest_if_added = [], self.lengths[i]
                batch.append(i)
                longest = longest_if_added
            if batch:
                batches.append(batch)
        if self.shuffle:
            rng.shuffle(batches)
        if self.num_replicas > 1:
            while len(batches) % self.num_replicas:
                batches.append(batches[len(batches) % self.num_replicas])
            batches = batches[self.rank::self.num_replicas]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()

    def __len__(self) -> int:
        return len(self._batches())

"""The inference facade: the only place that knows models, tokenizers and checkpoints.

    translator = Translator.load("checkpoints/transformer")
    t = translator.translate("A dog runs on the beach.", beam=5)   # -> Translation
    t = translator.align("A dog runs.", "Ein Hund rennt.")           # forced alignment

The app and the command-line tools (`training.translate`, `training.evaluate`) go through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from data.batching import collate
from inference import catalogue
from inference.checkpoint import CheckpointError, load_folder
from inference.errors import InputError
from inference.kinds import as_stack
from inference.translation import EOS_PIECE, Translation, clean_text  # noqa: F401 (re-exported)
from models.ensemble import Ensemble
from models.search import beam_search, forced_alignment, greedy_search

MAX_SOURCE_PIECES = 100  # longer input is cut here, with a notice: attention cost grows as n^2
MAX_BEAM = 10


class Translator:
    """A shipped model, ready to translate and to show where it looks."""

    def __init__(self, name: str, model, tokenizer, config: dict, metadata: dict,
                 snapshots: list, folder: Path | None = None):
        self.name, self.model, self.tokenizer = name, model, tokenizer
        self.config, self.metadata, self.snapshots = config, metadata, snapshots
        self.folder = folder
        self.max_len_a = float(config.get("max_len_a", 1.5))
        self.max_len_b = int(config.get("max_len_b", 10))
        # Beam search ranks by log p / len ** length_penalty; chosen on val, kept in config.json.
        self.length_penalty = float(config.get("length_penalty", 1.0))

    @classmethod
    def load(cls, folder: str | Path) -> Translator:
        folder = Path(folder)
        model, tokenizer, config, metadata, snapshots = load_folder(folder)
        return cls(folder.name, model, tokenizer, config, metadata, snapshots, folder)

    @classmethod
    def ensemble(cls, folders: Sequence[str | Path]) -> Translator:
        """Several model folders searched as one (the mean of their probabilities), to make
        distillation targets; CheckpointError unless they share one sentencepiece model.

        A member's length penalty was chosen on val for that model alone, so the ensemble
        searches with 1.0 unless its `length_penalty` is set (`translate --length-penalty`)."""
        members = [cls.load(folder) for folder in folders]
        first = members[0]
        vocabulary = (first.folder / "spm.model").read_bytes()
        for other in members[1:]:
            if (other.folder / "spm.model").read_bytes() != vocabulary:
                raise CheckpointError(f"{other.name} and {first.name} have different spm.model "
                                      "files: an ensemble needs one shared vocabulary.")
        name = "+".join(m.name for m in members)
        config = {k: v for k, v in first.config.items() if k != "length_penalty"}
        return cls(name, Ensemble([m.model for m in members]).eval(), first.tokenizer, config,
                   {"label": f"ensemble of {', '.join(m.label for m in members)}"}, [])

    @property
    def label(self) -> str:
        return self.metadata.get("label", self.name)

    # ---- input ------------------------------------------------------------------------------
    def _encode(self, text: str) -> tuple[str, list[int], int]:
        """Cleaned text, its source ids cut to MAX_SOURCE_PIECES, and the uncut length."""
        clean = clean_text(text)
        ids = self.tokenizer.encode(clean) if clean else []
        return clean, ids[:MAX_SOURCE_PIECES], len(ids)

    def prepare(self, text: str) -> tuple[str, list[int], str]:
        """Cleaned text, source ids (without eos), and a notice if the input was cut to the
        length limit; InputError for text with nothing to translate."""
        clean, ids, full_length = self._encode(text)
        if not clean:
            raise InputError("Type a sentence to translate: the input is empty.")
        if not ids:
            raise InputError("The input has no characters the model can read.")
        notice = ""
        if full_length > MAX_SOURCE_PIECES:
            notice = (f"The input is {full_length} subword pieces long; only the first "
                      f"{MAX_SOURCE_PIECES} were translated.")
        return clean, ids, notice

    def _batch(self, sources: Sequence[list[int]], targets: Sequence[list[int]] | None = None):
        tok = self.tokenizer
        targets = targets if targets is not None else [[] for _ in sources]
        items = [(i, s, t) for i, (s, t) in enumerate(zip(sources, targets))]
        return collate(items, tok.pad_id, tok.bos_id, tok.eos_id)

    def _pieces(self, ids: list[int]) -> list[str]:
        return [EOS_PIECE if i == self.tokenizer.eos_id else self.tokenizer.id_to_piece(i)
                for i in ids]

    # ---- translation ------------------------------------------------------------------------
    @torch.inference_mode()
    def translate(self, text: str, beam: int = 1) -> Translation:
        """Translate one sentence (greedy when beam == 1) with every alignment matrix."""
        if not 1 <= int(beam) <= MAX_BEAM:
            raise InputError(f"The beam size must be between 1 and {MAX_BEAM}.")
        source, ids, notice = self.prepare(text)
        batch = self._batch([ids])
        hyp = self._search(batch, int(beam), need_weights=True)[0]
        tokens = hyp.tokens
        return Translation(
            model=self.name, source=source, text=self.tokenizer.decode(tokens),
            source_pieces=self._pieces(ids + [self.tokenizer.eos_id]),
            target_pieces=self._pieces(tokens),
            **_alignments(hyp.alignments), score=float(hyp.score), notice=notice,
            metadata=self.metadata,
        )

    def _search(self, batch, beam: int, need_weights: bool):
        tok = self.tokenizer
        if beam == 1:
            return greedy_search(self.model, batch.src, batch.src_mask, tok.bos_id, tok.eos_id,
                                 self.max_len_a, self.max_len_b, need_weights=need_weights)
        return beam_search(self.model, batch.src, batch.src_mask, tok.bos_id, tok.eos_id,
                           beam_size=beam, length_penalty=self.length_penalty,
                           max_len_a=self.max_len_a, max_len_b=self.max_len_b,
                           need_weights=need_weights)

    @torch.inference_mode()
    def search_ids(self, ids: list[int], beam: int = 1, need_weights: bool = True):
        """The search alone on one sentence's source ids (from `prepare`), with no text around
        it: (the batch it ran on, its hypothesis). For timing the model's parts apart
        (bench/latency.py feeds the batch to `model.encode` and the tokens to `model.step`)."""
        if not 1 <= int(beam) <= MAX_BEAM:
            raise InputError(f"The beam size must be between 1 and {MAX_BEAM}.")
        batch = self._batch([ids])
        return batch, self._search(batch, int(beam), need_weights)[0]

    @torch.inference_mode()
    def translate_batch(self, texts: Sequence[str], beam: int = 1, batch_size: int = 64,
                        progress: Callable[[int], None] | None = None) -> list[str]:
        """Translate many sentences, line for line; an empty line gives an empty line.

        Sentences are sorted by length so each batch pads little, then put back in order.
        `progress(n)` is called after each batch with the number of sentences it held.
        """
        if not 1 <= int(beam) <= MAX_BEAM:
            raise InputError(f"The beam size must be between 1 and {MAX_BEAM}.")
        if int(batch_size) < 1:
            raise InputError(f"The batch size must be at least 1, not {batch_size}.")
        out = [""] * len(texts)
        todo = []
        for i, text in enumerate(texts):
            _, ids, _ = self._encode(text)
            if ids:
                todo.append((i, ids))
            elif progress:
                progress(1)
        todo.sort(key=lambda item: len(item[1]))
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            hyps = self._search(self._batch([ids for _, ids in chunk]), beam, need_weights=False)
            for (i, _), hyp in zip(chunk, hyps):
                out[i] = self.tokenizer.decode(hyp.tokens)
            if progress:
                progress(len(chunk))
        return out

    @torch.inference_mode()
    def align(self, source: str, target: str) -> Translation:
        """Forced alignment: the attention this model pays to `source` while producing exactly
        `target`, so several models can be compared on the same axes."""
        clean_source, src_ids, notice = self.prepare(source)
        clean_target = clean_text(target)
        tgt_ids = self.tokenizer.encode(clean_target)[:MAX_SOURCE_PIECES * 2]
        if not tgt_ids:
            raise InputError("Give a target sentence to align to: it is empty.")
        batch = self._batch([src_ids], [tgt_ids])
        aligned = forced_alignment(self.model, batch.src, batch.src_mask, batch.tgt_in,
                                   batch.tgt_mask)[0]
        log_probs = aligned.pop("log_probs", None)
        return Translation(
            model=self.name, source=clean_source, text=clean_target,
            source_pieces=self._pieces(src_ids + [self.tokenizer.eos_id]),
            target_pieces=self._pieces(tgt_ids + [self.tokenizer.eos_id]),
            **_alignments(aligned),
            score=None if log_probs is None else float(np.sum(log_probs.float().numpy())),
            notice=notice, metadata=self.metadata,
        )


def _alignments(weights: dict[str, torch.Tensor]) -> dict:
    """A search's matrices as Translation fields: every one as a numpy (L, H, R, C) stack (a
    GRU's single (T, S) becomes (1, 1, T, S)), and whether the model has layers and heads."""
    return {"alignments": {k: as_stack(v.float().numpy()) for k, v in weights.items()},
            "multi_head": any(v.dim() == 4 for v in weights.values())}


def serve_threads(n: int = 1) -> None:
    """Give each translation n torch threads (call once, before serving).

    A server translates a few requests at once (the app's queue concurrency), each a string of
    tiny batch-1 steps that gain little from several threads. With one thread per request the
    cores stay busy without one request's threads waiting on each other: on a shared 2-core
    machine under load, the four fixture models took a median 42 ms with one thread against
    363 ms with two.
    """
    torch.set_num_threads(max(1, int(n)))


def load_all(root: str | Path = "checkpoints") -> tuple[dict[str, Translator], list[str]]:
    """Every model folder under `root`, in the chapter's order; and one message per folder
    that could not be loaded (the app shows them instead of failing)."""
    root = Path(root)
    translators: dict[str, Translator] = {}
    problems: list[str] = []
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=catalogue.folder_key) \
        if root.is_dir() else []
    for folder in folders:
        try:
            translators[folder.name] = Translator.load(folder)
        except CheckpointError as err:
            problems.append(str(err))
    return translators, problems

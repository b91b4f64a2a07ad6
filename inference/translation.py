"""The one object every view draws: a translation with its alignments.

Plain data (lists and numpy arrays, no tensors, no model), so views can turn it into figures
and tables without knowing which model made it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from inference.errors import InputError
from inference.kinds import as_stack

EOS_PIECE = "</s>"


@dataclass
class Translation:
    """One model's translation of one sentence.

    source_pieces: the source's subword pieces plus "</s>" (the columns of every matrix).
    target_pieces: the produced (or forced) pieces, ending in "</s>" if the model stopped.
    alignments: named matrices, all of one shape (L, H, R, C) (kinds and their axes are
        declared in `inference.kinds`): "cross" (L, H, T, S), and for the Transformer
        "decoder_self" (L, H, T, T) and "encoder_self" (L, H, S, S). A GRU with attention has
        one matrix, held as (1, 1, T, S); the no-attention GRU, whose decoder sees one fixed
        vector, has none.
    multi_head: True when the model has layers and heads to choose from (a Transformer);
        False for one attention (a GRU), whose views name no layer or head.
    """

    model: str
    source: str
    text: str
    source_pieces: list[str]
    target_pieces: list[str]
    alignments: dict[str, np.ndarray] = field(default_factory=dict)
    score: float | None = None
    notice: str = ""
    metadata: dict = field(default_factory=dict)
    multi_head: bool = False

    def __post_init__(self):
        for kind, stack in self.alignments.items():
            if np.ndim(stack) != 4:
                raise ValueError(f"The {kind!r} alignment is {np.shape(stack)}, not an "
                                 f"(L, H, R, C) stack; make it one with inference.kinds.as_stack.")

    @property
    def has_attention(self) -> bool:
        return "cross" in self.alignments

    @property
    def source_words(self) -> list[int]:
        return word_groups(self.source_pieces)

    @property
    def target_words(self) -> list[int]:
        return word_groups(self.target_pieces)


def snapshot_translation(sentence: dict, model: str, metadata: dict) -> Translation:
    """One sentence of a training snapshot (as `snapshots.json` stores it) as a Translation of
    its source forced to its reference, so it is drawn like any other.

    The stored cross matrix is (T, S) for a GRU and (L, T, S), already averaged over heads, for a
    Transformer; here it becomes (1, 1, T, S) or (L, 1, T, S). None stored: no alignments.
    """
    cross = sentence.get("cross")
    alignments = {} if cross is None else {"cross": as_stack(np.asarray(cross, np.float64))}
    return Translation(
        model=model, source=sentence.get("source", ""), text=sentence.get("reference", ""),
        source_pieces=list(sentence.get("source_pieces", [])),
        target_pieces=list(sentence.get("target_pieces", [])), alignments=alignments,
        metadata=metadata, multi_head=cross is not None and np.ndim(cross) == 3)


def word_groups(pieces: list[str]) -> list[int]:
    """The word index of each piece: a piece starting with "▁" begins a new word; "</s>" is
    a word of its own."""
    groups, word = [], -1
    for i, piece in enumerate(pieces):
        if i == 0 or piece.startswith("▁") or piece == EOS_PIECE or pieces[i - 1] == EOS_PIECE:
            word += 1
        groups.append(word)
    return groups


def word_labels(pieces: list[str]) -> list[str]:
    """The words the pieces make, e.g. ["▁Hund", "e"] -> ["Hunde"]."""
    words: dict[int, str] = {}
    for piece, group in zip(pieces, word_groups(pieces)):
        words[group] = words.get(group, "") + piece
    return [w.replace("▁", "") or "▁" for _, w in sorted(words.items())]


def merge_to_words(matrix: np.ndarray, target_pieces: list[str],
                   source_pieces: list[str]) -> np.ndarray:
    """Piece-level (..., T, S) attention -> word-level (..., T_words, S_words).

    Weights are summed over a word's source pieces (attention to a word is the attention to
    its parts, so rows still sum to one) and averaged over its target pieces (each target
    piece is one decision; a word's row is their typical distribution).
    """
    tgt, src = word_groups(target_pieces), word_groups(source_pieces)
    n_t, n_s = max(tgt) + 1, max(src) + 1
    summed = np.zeros(matrix.shape[:-1] + (n_s,), dtype=np.float64)
    for j, g in enumerate(src):
        summed[..., g] += matrix[..., j]
    out = np.zeros(matrix.shape[:-2] + (n_t, n_s), dtype=np.float64)
    counts = np.bincount(tgt, minlength=n_t)
    for i, g in enumerate(tgt):
        out[..., g, :] += summed[..., i, :]
    return out / counts[:, None]


def clean_text(text: str) -> str:
    """Control characters become spaces, runs of whitespace one space, ends trimmed."""
    if not isinstance(text, str):
        raise InputError("The input must be text.")
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
                   for ch in text)
    return re.sub(r"\s+", " ", text).strip()

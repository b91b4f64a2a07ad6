"""The one object every view draws: a translation with its alignments.

Plain data (lists and numpy arrays, no tensors, no model), so views can turn it into figures
and tables without knowing which model made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EOS_PIECE = "</s>"


@dataclass
class Translation:
    """One model's translation of one sentence.

    source_pieces: the source's subword pieces plus "</s>" (the columns of every matrix).
    target_pieces: the produced (or forced) pieces, ending in "</s>" if the model stopped.
    alignments: named matrices, rows = target pieces, columns = source or target pieces:
        "cross" (T, S) for a GRU with attention, (L, H, T, S) for the Transformer;
        "decoder_self" (L, H, T, T) and "encoder_self" (L, H, S, S) for the Transformer;
        nothing for the no-attention GRU, whose decoder sees one fixed vector.
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

    @property
    def has_attention(self) -> bool:
        return "cross" in self.alignments

    @property
    def source_words(self) -> list[int]:
        return word_groups(self.source_pieces)

    @property
    def target_words(self) -> list[int]:
        return word_groups(self.target_pieces)


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

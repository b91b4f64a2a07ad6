"""The kinds of alignment a Translation can hold, declared once: what their rows and columns are.

Legend: L layers, H heads, R rows (the pieces being written or read), C columns (the pieces
looked at), T target pieces, S source pieces.

Every alignment above `models/` is one shape, (L, H, R, C): a model with one attention (a GRU)
has L = H = 1, and snapshots averaged over heads during training have H = 1. `as_stack` is the
one place a matrix of another shape is turned into it. Which pieces label the rows and columns,
the axis titles, the hover text and the caption come from `KINDS`; views read them from here and
know nothing else about a kind. Pure Python and numpy: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOS_PIECE = "<s>"
# The pieces an axis runs over: what is written (target), what is read (source), and what the
# decoder has seen before writing each piece (<s> followed by the pieces already written).
AXES = ("target", "source", "target_so_far")


@dataclass(frozen=True)
class AlignmentKind:
    """One kind of attention: rows attend over columns.

    rows, columns: one of AXES. row_title, column_title: axis titles, with {src} and {tgt} for
    the languages' names. hover: a plotly hover template (%{y} the row piece, %{x} the column).
    """

    name: str
    caption: str
    rows: str
    columns: str
    row_title: str
    column_title: str
    hover: str


KINDS: dict[str, AlignmentKind] = {kind.name: kind for kind in (
    AlignmentKind("cross", "cross-attention", "target", "source",
                  "{tgt} (written)", "{src} (read)",
                  "writing <b>%{y}</b><br>looks at <b>%{x}</b><br>weight %{z:.3f}"),
    AlignmentKind("decoder_self", "decoder self-attention", "target", "target_so_far",
                  "{tgt} (written)", "{tgt} so far (decoder input)",
                  "writing <b>%{y}</b><br>looks back at <b>%{x}</b><br>weight %{z:.3f}"),
    AlignmentKind("encoder_self", "encoder self-attention", "source", "source",
                  "{src} piece", "{src} piece it looks at",
                  "<b>%{y}</b> looks at <b>%{x}</b><br>weight %{z:.3f}"),
)}


def kind_of(name: str) -> AlignmentKind:
    """The declared kind called `name`; ValueError naming the known ones otherwise."""
    if name not in KINDS:
        raise ValueError(f"Unknown alignment kind {name!r}; choose one of {', '.join(KINDS)}.")
    return KINDS[name]


def axis_pieces(axis: str, source_pieces: list[str], target_pieces: list[str]) -> list[str]:
    """The pieces labelling one axis (one of AXES)."""
    if axis == "source":
        return list(source_pieces)
    if axis == "target":
        return list(target_pieces)
    if axis == "target_so_far":  # row t writes piece t having seen <s> and pieces 0..t-1
        return [BOS_PIECE] + list(target_pieces[:-1])
    raise ValueError(f"Unknown axis {axis!r}; choose one of {', '.join(AXES)}.")


def as_stack(matrix) -> np.ndarray:
    """Any alignment as the one shape (L, H, R, C).

    (R, C), one attention (a GRU) -> (1, 1, R, C); (L, R, C), layers already averaged over heads
    (a Transformer's training snapshot) -> (L, 1, R, C); (L, H, R, C) is returned as it is.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim == 2:
        return matrix[None, None]
    if matrix.ndim == 3:
        return matrix[:, None]
    if matrix.ndim == 4:
        return matrix
    raise ValueError(f"An alignment must be (R, C), (L, R, C) or (L, H, R, C), "
                     f"not {matrix.shape}.")

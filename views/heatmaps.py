"""Alignment heatmaps drawn from `Translation` objects: one matrix, or every head of a layer.

Legend: R rows (the pieces being written), C columns (the pieces looked at), L layers, H heads.

Every matrix a person sees goes through `select_view`, which picks the layer and head (or the
mean over heads), optionally merges subword pieces into words, and names both axes. The same
`AlignmentView` is drawn by `heatmap` and written by `views.export`, so a download holds exactly
what is on screen. Rows run down (first piece at the top, as in the papers), columns across.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inference.translation import Translation, merge_to_words, word_labels
from views.style import WEIGHT_RANGE, WEIGHT_SCALE, axis, axis_labels, base_layout, escape

BOS_PIECE = "<s>"
KINDS = {"cross": "cross-attention", "decoder_self": "decoder self-attention",
         "encoder_self": "encoder self-attention"}
LANGUAGES = {"en": "English", "de": "German", "fr": "French", "cs": "Czech"}
MEAN = "mean"  # the head value meaning "average over heads"


@dataclass
class AlignmentView:
    """One (R, C) matrix ready to draw, with raw (unescaped) row and column labels."""

    model: str
    label: str
    kind: str
    detail: str
    matrix: np.ndarray  # (R, C)
    rows: list[str]
    columns: list[str]
    row_title: str
    column_title: str

    @property
    def title(self) -> str:
        return f"{self.label} · {self.detail}"


def languages(metadata: dict) -> tuple[str, str]:
    """("English", "German") from metadata's "en-de" (or a list), with readable fallbacks."""
    pair = metadata.get("language_pair", "en-de")
    if isinstance(pair, str) and "-" in pair:
        src, tgt = pair.split("-", 1)
    elif isinstance(pair, list | tuple) and len(pair) == 2:
        src, tgt = pair
    else:
        src, tgt = "en", "de"
    return LANGUAGES.get(src, str(src)), LANGUAGES.get(tgt, str(tgt))


def axes(translation: Translation, kind: str) -> tuple[list[str], list[str], str, str]:
    """Row pieces, column pieces and both axis titles of one kind of matrix.

    Decoder self-attention: row t writes target piece t while looking at the decoder's inputs
    0..t, which are <s> followed by the pieces already written.
    """
    src_lang, tgt_lang = languages(translation.metadata)
    target, source = translation.target_pieces, translation.source_pieces
    if kind == "cross":
        return target, source, f"{tgt_lang} (written)", f"{src_lang} (read)"
    if kind == "decoder_self":
        return target, [BOS_PIECE] + target[:-1], f"{tgt_lang} (written)", \
            f"{tgt_lang} so far (decoder input)"
    if kind == "encoder_self":
        return source, source, f"{src_lang} piece", f"{src_lang} piece it looks at"
    raise ValueError(f"Unknown alignment kind {kind!r}; choose one of {', '.join(KINDS)}.")


def layer_and_head(matrix: np.ndarray, layer: int | None, head: int | str | None) -> tuple:
    """(L, H, R, C) -> the (R, C) matrix of one layer and head (or the heads' mean), with a
    description; out-of-range choices fall back to the last layer and the mean."""
    L, H = matrix.shape[:2]
    layer = L - 1 if layer is None or not 0 <= int(layer) < L else int(layer)
    if head is None or head == MEAN or not 0 <= int(head) < H:
        return matrix[layer].mean(axis=0), f"layer {layer + 1} of {L} · mean of {H} heads"
    return matrix[layer, int(head)], f"layer {layer + 1} of {L} · head {int(head) + 1} of {H}"


def select_view(translation: Translation, kind: str = "cross", layer: int | None = None,
                head: int | str | None = MEAN, words: bool = False) -> AlignmentView | None:
    """The matrix to show for one translation, or None if the model has no such attention.

    layer is 0-based (None: the last layer); head is 0-based or "mean". words: merge pieces into
    words (attention summed over a word's source pieces, averaged over its target pieces).
    """
    matrix = translation.alignments.get(kind)
    if matrix is None:
        return None
    rows, columns, row_title, column_title = axes(translation, kind)
    matrix = np.asarray(matrix, dtype=np.float64)
    detail = KINDS[kind]
    if matrix.ndim == 4:
        matrix, where = layer_and_head(matrix, layer, head)
        detail = f"{detail} · {where}"
    if words:
        matrix = merge_to_words(matrix, rows, columns)
        rows, columns = word_labels(rows), word_labels(columns)
        detail += " · words"
    label = translation.metadata.get("label", translation.model)
    return AlignmentView(translation.model, label, kind, detail, matrix, rows, columns,
                         row_title, column_title)


HOVER = {"cross": "writing <b>%{y}</b><br>looks at <b>%{x}</b><br>weight %{z:.3f}",
         "decoder_self": "writing <b>%{y}</b><br>looks back at <b>%{x}</b><br>weight %{z:.3f}",
         "encoder_self": "<b>%{y}</b> looks at <b>%{x}</b><br>weight %{z:.3f}"}


def _tick_size(n: int) -> int:
    return 12 if n <= 20 else 10 if n <= 40 else 8


def _every_tick(n: int) -> dict:
    """Label every piece (plotly would skip some on a narrow plot) unless there are too many
    to read anyway."""
    return dict(dtick=1) if n <= 60 else {}


def heatmap(view: AlignmentView, title: str | None = None, height: int | None = None) -> go.Figure:
    """An interactive heatmap of one view: weights on a fixed 0..1 scale, rows top-down,
    escaped unique labels, and a hover box naming both pieces and the weight."""
    R, C = view.matrix.shape
    trace = go.Heatmap(
        z=np.round(view.matrix, 4), x=axis_labels(view.columns), y=axis_labels(view.rows),
        zmin=WEIGHT_RANGE[0], zmax=WEIGHT_RANGE[1], colorscale=WEIGHT_SCALE, xgap=1, ygap=1,
        colorbar=dict(title=dict(text="weight", side="right"), thickness=12, len=0.8),
        hovertemplate=HOVER[view.kind] + "<extra></extra>")
    layout = base_layout(
        title=dict(text=escape(title if title is not None else view.detail), font=dict(size=13),
                   x=0, xanchor="left"),
        height=height or int(np.clip(150 + 22 * R, 320, 900)),
        margin=dict(l=90, r=10, t=50, b=110),
        xaxis=axis(type="category", title=dict(text=escape(view.column_title)), tickangle=-60,
                   tickfont=dict(size=_tick_size(C)), showgrid=False, showline=False,
                   **_every_tick(C)),
        yaxis=axis(type="category", title=dict(text=escape(view.row_title)),
                   autorange="reversed", tickfont=dict(size=_tick_size(R)), showgrid=False,
                   showline=False, **_every_tick(R)))
    return go.Figure(data=[trace], layout=layout)


def translation_heatmap(translation: Translation, layer: int | None = None,
                        head: int | str | None = MEAN, words: bool = False,
                        title: str | None = None) -> go.Figure | None:
    """The cross-attention heatmap of one translation, or None if its model has none."""
    view = select_view(translation, "cross", layer, head, words)
    return None if view is None else heatmap(view, title)


def head_grid(translation: Translation, kind: str = "cross", layer: int | None = None,
              words: bool = False, columns: int = 4) -> go.Figure | None:
    """Every head of one layer as small multiples on shared axes and one colour scale.

    Returns None if the translation has no (L, H, R, C) matrix of this kind.
    """
    stack = translation.alignments.get(kind)
    if stack is None or np.ndim(stack) != 4:
        return None
    L, H = stack.shape[:2]
    layer = L - 1 if layer is None or not 0 <= int(layer) < L else int(layer)
    views = [select_view(translation, kind, layer, h, words) for h in range(H)]
    R, C = views[0].matrix.shape
    columns = min(columns, H)
    n_rows = math.ceil(H / columns)
    figure = make_subplots(rows=n_rows, cols=columns, shared_xaxes=True, shared_yaxes=True,
                           subplot_titles=[f"head {h + 1}" for h in range(H)],
                           horizontal_spacing=0.02,
                           vertical_spacing=min(0.2 / n_rows, 0.1))
    x, y = axis_labels(views[0].columns), axis_labels(views[0].rows)
    for h, view in enumerate(views):
        figure.add_trace(go.Heatmap(
            z=np.round(view.matrix, 4), x=x, y=y, coloraxis="coloraxis", xgap=0.5, ygap=0.5,
            hovertemplate=f"head {h + 1}<br>" + HOVER[kind] + "<extra></extra>"),
            row=h // columns + 1, col=h % columns + 1)
    label = translation.metadata.get("label", translation.model)
    words_note = " · words" if words else ""
    figure.update_layout(**base_layout(
        title=dict(text=escape(f"{label} · {KINDS[kind]} · layer {layer + 1} of {L}, all {H} "
                               f"heads{words_note}"), font=dict(size=14), x=0, xanchor="left"),
        coloraxis=dict(colorscale=WEIGHT_SCALE, cmin=WEIGHT_RANGE[0], cmax=WEIGHT_RANGE[1],
                       colorbar=dict(title=dict(text="weight"), thickness=12, len=0.6)),
        height=int(np.clip(n_rows * (120 + 14 * R), 360, 1400)),
        margin=dict(l=90, r=10, t=70, b=100)))
    figure.update_xaxes(**axis(type="category", tickangle=-60, showgrid=False, showline=False,
                               tickfont=dict(size=_tick_size(C) - 2), **_every_tick(C)))
    figure.update_yaxes(**axis(type="category", autorange="reversed", showgrid=False,
                               showline=False, tickfont=dict(size=_tick_size(R) - 2),
                               **_every_tick(R)))
    return figure


def head_choices(num_heads: int) -> list[tuple[str, str]]:
    """Radio choices for a head: the mean first, then heads 1..H (values "mean", "0", "1", ...:
    text, so an API client sends what the API description says)."""
    return [("mean of heads", MEAN)] + [(str(h + 1), str(h)) for h in range(num_heads)]


def layer_choices(num_layers: int) -> list[tuple[str, str]]:
    """Radio choices for a layer: labels 1..L, values "0".."L-1" (0-based, as text)."""
    return [(str(layer + 1), str(layer)) for layer in range(num_layers)]


def cross_views(results: dict[str, Translation], names: list[str],
                selections: dict[str, tuple] | None = None,
                words: bool = False) -> list[AlignmentView | None]:
    """The cross-attention view of each named model (None where it has none or is missing),
    with each multi-head model's (layer, head) from `selections` (default: last layer, mean)."""
    selections = selections or {}
    views = []
    for name in names:
        layer, head = selections.get(name, (None, MEAN))
        views.append(select_view(results[name], "cross", layer, head, words)
                     if name in results else None)
    return views

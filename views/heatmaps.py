"""Alignment heatmaps drawn from `Translation` objects: one matrix, or every head of a layer.

Legend: R rows (the pieces being written), C columns (the pieces looked at), L layers, H heads.

Every alignment is an (L, H, R, C) stack (a GRU's is (1, 1, R, C)); what its rows and columns
are, and its hover text and caption, come from `inference.kinds`. Every matrix a person sees
goes through `select_view`, which picks the layer and head (or the mean over heads), optionally
merges subword pieces into words, and names both axes. The same
`AlignmentView` is drawn by `heatmap` and written by `views.export`, so a download holds exactly
what is on screen. Rows run down (first piece at the top, as in the papers), columns across.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inference import kinds
from inference.kinds import BOS_PIECE  # noqa: F401 (re-exported)
from inference.translation import Translation, merge_to_words, word_labels
from views.style import WEIGHT_RANGE, WEIGHT_SCALE, axis, axis_labels, base_layout, escape

KINDS = {name: kind.caption for name, kind in kinds.KINDS.items()}  # name -> caption
HOVER = {name: kind.hover for name, kind in kinds.KINDS.items()}
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
    hover: str | None = None  # a plotly hover template; None: the kind's (`inference.kinds`)

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
    """Row pieces, column pieces and both axis titles of one kind of matrix (`inference.kinds`).

    Decoder self-attention: row t writes target piece t while looking at the decoder's inputs
    0..t, which are <s> followed by the pieces already written.
    """
    declared = kinds.kind_of(kind)
    src, tgt = languages(translation.metadata)
    source, target = translation.source_pieces, translation.target_pieces
    return (kinds.axis_pieces(declared.rows, source, target),
            kinds.axis_pieces(declared.columns, source, target),
            declared.row_title.format(src=src, tgt=tgt),
            declared.column_title.format(src=src, tgt=tgt))


def pick_layer(layers: int, layer: int | None) -> int:
    """The 0-based layer to show of `layers`: the one asked for, or the last when it is None or
    out of range. The one layer clamp every view uses."""
    return layers - 1 if layer is None or not 0 <= int(layer) < layers else int(layer)


def layer_and_head(matrix: np.ndarray, layer: int | None, head: int | str | None) -> tuple:
    """(L, H, R, C) -> the (R, C) matrix of one layer and head (or the heads' mean), with a
    description; out-of-range choices fall back to the last layer and the mean."""
    L, H = matrix.shape[:2]
    layer = pick_layer(L, layer)
    if head is None or head == MEAN or not 0 <= int(head) < H:
        return matrix[layer].mean(axis=0), f"layer {layer + 1} of {L} · mean of {H} heads"
    return matrix[layer, int(head)], f"layer {layer + 1} of {L} · head {int(head) + 1} of {H}"


def select_view(translation: Translation, kind: str = "cross", layer: int | None = None,
                head: int | str | None = MEAN, words: bool = False) -> AlignmentView | None:
    """The matrix to show for one translation, or None if the model has no such attention.

    layer is 0-based (None: the last layer); head is 0-based or "mean". words: merge pieces into
    words (attention summed over a word's source pieces, averaged over its target pieces).
    """
    stack = translation.alignments.get(kind)
    if stack is None:
        return None
    rows, columns, row_title, column_title = axes(translation, kind)
    matrix, where = layer_and_head(np.asarray(stack, dtype=np.float64), layer, head)  # (R, C)
    detail = KINDS[kind]
    if translation.multi_head:  # one attention (a GRU): no layer or head to name
        detail = f"{detail} · {where}"
    if words:
        matrix = merge_to_words(matrix, rows, columns)
        rows, columns = word_labels(rows), word_labels(columns)
        detail += " · words"
    label = translation.metadata.get("label", translation.model)
    return AlignmentView(translation.model, label, kind, detail, matrix, rows, columns,
                         row_title, column_title)


# ---- sizes: every piece gets a readable, non-overlapping label ---------------------------------
# A heatmap is sized from its number of pieces, not squeezed into whatever width it is given:
# each row and column gets at least one label's line height, so labels never overlap. The
# figure carries the width it needs as layout.meta["min_width"]; the page (app.FIT_PLOTS) gives
# the plot that minimum, so on a narrow phone a long sentence scrolls sideways instead of
# piling its labels on top of each other. Column labels turn vertical when they do not fit
# side by side (plotly's `autotickangles`).
CHAR_EM = 0.62  # width of an average label character, in font sizes (system sans-serif)


def tick_font(n: int) -> int:
    """Font size (px) for the labels of an axis with n pieces."""
    return 12 if n <= 20 else 11 if n <= 40 else 10


def cell_size(font: int) -> int:
    """The least distance (px) between two labels of this font size: one line height."""
    return round(font * 1.45)


def label_extent(labels: list[str], font: int) -> int:
    """How far (px) the longest label reaches, written out."""
    return round(max((len(str(label)) for label in labels), default=1) * font * CHAR_EM)


def wrap_title(text: str, width: int = 44) -> tuple[str, int]:
    """Escaped title broken at " · " so no line is much over `width` characters; and its
    number of lines (a long title would run off a phone's screen)."""
    lines, line = [], ""
    for part in str(text).split(" · "):
        if line and len(line) + 3 + len(part) > width:
            lines.append(line)
            line = part
        else:
            line = f"{line} · {part}" if line else part
    lines.append(line)
    return "<br>".join(escape(line) for line in lines), len(lines)


def _axis_style(n: int, font: int) -> dict:
    return dict(type="category", showgrid=False, showline=False, tickfont=dict(size=font),
                dtick=1)  # every piece labelled: sizes above leave room for each


def heatmap(view: AlignmentView, title: str | None = None, height: int | None = None) -> go.Figure:
    """An interactive heatmap of one view: weights on a fixed 0..1 scale, rows top-down,
    escaped unique labels, and a hover box naming both pieces and the weight. Its height and
    its least width (layout.meta["min_width"]) follow the number of pieces."""
    R, C = view.matrix.shape
    font_x, font_y = tick_font(C), tick_font(R)
    text, lines = wrap_title(title if title is not None else view.detail)
    left = label_extent(view.rows, font_y) + 45  # row labels and the axis title
    bottom = label_extent(view.columns, font_x) + 50  # column labels (vertical at worst)
    top = 20 + 18 * lines
    right = 70  # the colour bar
    trace = go.Heatmap(
        z=np.round(view.matrix, 4), x=axis_labels(view.columns), y=axis_labels(view.rows),
        zmin=WEIGHT_RANGE[0], zmax=WEIGHT_RANGE[1], colorscale=WEIGHT_SCALE, xgap=1, ygap=1,
        colorbar=dict(title=dict(text="weight", side="right"), thickness=10, len=0.8),
        hovertemplate=(view.hover or HOVER[view.kind]) + "<extra></extra>")
    layout = base_layout(
        title=dict(text=text, font=dict(size=13), x=0, xanchor="left"),
        height=height or top + bottom + R * cell_size(font_y),
        margin=dict(l=left, r=right - 50, t=top, b=50),
        meta=dict(min_width=left + right + C * cell_size(font_x)),
        xaxis=axis(**_axis_style(C, font_x), title=dict(text=escape(view.column_title)),
                   autotickangles=[0, -90]),
        yaxis=axis(**_axis_style(R, font_y), title=dict(text=escape(view.row_title)),
                   autorange="reversed"))
    return go.Figure(data=[trace], layout=layout)


def translation_heatmap(translation: Translation, layer: int | None = None,
                        head: int | str | None = MEAN, words: bool = False,
                        title: str | None = None) -> go.Figure | None:
    """The cross-attention heatmap of one translation, or None if its model has none."""
    view = select_view(translation, "cross", layer, head, words)
    return None if view is None else heatmap(view, title)


def grid_columns(heads: int, columns: int, viewport: float | None = None) -> int:
    """How many heads side by side: two on a phone (or when a long sentence needs the room),
    else four; never more than there are heads."""
    narrow = bool(viewport) and viewport < 700
    room = (viewport or 1366) - 220  # the page's width less labels and colour bar
    wide_enough = columns * cell_size(tick_font(columns) - 1) * 4 <= room
    return max(1, min(heads, 2 if narrow or not wide_enough else 4))


def head_grid(translation: Translation, kind: str = "cross", layer: int | None = None,
              words: bool = False, columns: int = 4) -> go.Figure | None:
    """Every head of one layer as small multiples on shared axes and one colour scale,
    `columns` heads side by side. Sized from the pieces like `heatmap` (meta["min_width"]).

    Returns None if the translation has no matrix of this kind, or no heads (a GRU).
    """
    stack = translation.alignments.get(kind)
    if stack is None or not translation.multi_head:
        return None
    L, H = np.shape(stack)[:2]
    layer = pick_layer(L, layer)
    views = [select_view(translation, kind, layer, h, words) for h in range(H)]
    R, C = views[0].matrix.shape
    columns = max(1, min(columns, H))
    n_rows = math.ceil(H / columns)
    font_x, font_y = tick_font(C) - 1, tick_font(R) - 1
    label = translation.metadata.get("label", translation.model)
    words_note = " · words" if words else ""
    text, lines = wrap_title(f"{label} · {KINDS[kind]} · layer {layer + 1} of {L} · all {H} "
                             f"heads{words_note}", 50)
    top = 40 + 18 * lines
    bottom = label_extent(views[0].columns, font_x) + 40
    gap = 34  # between rows of heads: room for the next row's "head k" title
    panel = R * cell_size(font_y)
    height = top + bottom + n_rows * panel + (n_rows - 1) * gap
    figure = make_subplots(rows=n_rows, cols=columns, shared_xaxes=True, shared_yaxes=True,
                           subplot_titles=[f"head {h + 1}" for h in range(H)],
                           horizontal_spacing=0.12 / columns,
                           vertical_spacing=0 if n_rows == 1 else
                           min(gap / max(height - top - bottom, 1), 0.9 / (n_rows - 1)))
    x, y = axis_labels(views[0].columns), axis_labels(views[0].rows)
    for h, view in enumerate(views):
        figure.add_trace(go.Heatmap(
            z=np.round(view.matrix, 4), x=x, y=y, coloraxis="coloraxis", xgap=0.5, ygap=0.5,
            hovertemplate=f"head {h + 1}<br>" + HOVER[kind] + "<extra></extra>"),
            row=h // columns + 1, col=h % columns + 1)
    left = label_extent(views[0].rows, font_y) + 20
    figure.update_layout(**base_layout(
        title=dict(text=text, font=dict(size=14), x=0, xanchor="left"),
        coloraxis=dict(colorscale=WEIGHT_SCALE, cmin=WEIGHT_RANGE[0], cmax=WEIGHT_RANGE[1],
                       colorbar=dict(title=dict(text="weight"), thickness=10, len=0.6)),
        height=height, margin=dict(l=30, r=20, t=top, b=30),
        meta=dict(min_width=left + 80 + columns * (C * cell_size(font_x) + 12))))
    figure.update_annotations(font=dict(size=12))  # the "head k" titles
    figure.update_xaxes(**axis(**_axis_style(C, font_x), autotickangles=[0, -90]))
    figure.update_yaxes(**axis(**_axis_style(R, font_y), autorange="reversed"))
    return figure


# ---- what a layer's heads do, read from their weights ------------------------------------------
RESTING = ("</s>", "<s>", ".")  # pieces a head can park its weight on when it has nothing to add
RESTING_SHARE = 0.3  # a head "rests" when at least this share of its weight goes there


def resting_heads(translation: Translation, kind: str = "cross", layer: int | None = None,
                  words: bool = False) -> str:
    """One Markdown sentence naming the heads of a layer that put much of their weight on
    `</s>`, `<s>` or ".", with the share; computed on the matrices the grid shows."""
    stack = translation.alignments.get(kind)
    if stack is None or not translation.multi_head:
        return ""
    L, H = np.shape(stack)[:2]
    views = [select_view(translation, kind, layer, h, words) for h in range(H)]
    marks = [c for c, piece in enumerate(views[0].columns)
             if str(piece).replace("▁", "") in RESTING]
    merged = ""
    if words and "." in (p.replace("▁", "") for p in axes(translation, kind)[1]):
        merged = (' (In the word view "." is merged into the word before it: untick *Whole '
                  'words* to see it on its own.)')
    if not marks:
        return ("*No `</s>`, `<s>` or \".\" column in this view, so no head can rest on one "
                "here.*" + merged)
    names = sorted({str(views[0].columns[c]).replace("▁", "") for c in marks})
    which = " or ".join(f"`{n}`" if n != "." else '"."' for n in names)
    shares = [float(v.matrix[:, marks].sum(axis=1).mean()) for v in views]  # mean over rows
    resting = sorted((h for h in range(H) if shares[h] >= RESTING_SHARE),
                     key=lambda h: -shares[h])
    where = views[0].detail.split(" · head")[0]
    if not resting:
        top = int(np.argmax(shares))
        return (f"**Resting places** ({where}): no head puts {RESTING_SHARE:.0%} or more of its "
                f"weight on {which}; the most is head {top + 1} with {shares[top]:.0%}."
                + merged)
    listed = ", ".join(f"head {h + 1} ({shares[h]:.0%})" for h in resting)
    others = [shares[h] for h in range(H) if h not in resting]
    rest = (f"; the other heads at most {max(others):.0%}" if others else "")
    verb = "puts" if len(resting) == 1 else "put"
    return (f"**Resting places** ({where}): {listed} {verb} that share of their weight, "
            f"averaged over rows, on {which}{rest}." + merged)


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

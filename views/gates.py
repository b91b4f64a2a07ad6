"""The recurrent encoders' gates on one sentence: heatmaps of pieces x hidden units, the mean per
piece, and a caption computed from the same numbers.

Legend: S source pieces (rows), K = 2 * He hidden units (columns: the forward direction's He
units, then the backward direction's), G gates of one cell (GRU 2, LSTM 3).

Drawn from what /gates returns (`inference.gates.EncoderGates.as_json`), so the figure shows
exactly the API's numbers. Units have no order of their own, so within each direction they are
sorted by their mean over the sentence (the lowest left): units that keep their old state at
every piece gather at one end, units that switch from piece to piece stand out as stripes.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from views.heatmaps import cell_size, label_extent, tick_font, wrap_title
from views.style import BOTTOM_LEGEND, axis, axis_labels, base_layout, escape, md_escape

# Gates are not attention weights: their own 0..1 scale, so the two are never confused.
GATE_SCALE = "YlGnBu"
GATE_COLORS = {"update": "#1F77B4", "reset": "#FF7F0E", "input": "#2CA02C",
               "forget": "#1F77B4", "output": "#D62728"}
SYMBOLS = {"update": "z", "reset": "r", "input": "i", "forget": "f", "output": "o"}
KEEP, DROP = 0.9, 0.1  # a gate value above KEEP keeps the old state; below DROP replaces it
PANEL = 150  # least width (px) of one gate's heatmap: units are not labelled, only sorted
MEAN_PANEL = 170

INTRO = (
    "**What the recurrent encoders decide at each English piece.** One map per gate: a row per "
    "piece, a column per hidden unit (forward units left of the white line, backward units "
    "right of it, each half sorted by the unit's mean over this sentence, lowest left; for a "
    "wide encoder, 48 units of each direction spread evenly over that order, and the caption's "
    "shares count those). The last panel is each gate's mean over all units. "
    "**What to look for:** a GRU's update gate z near 1, or an LSTM's forget gate f near 1, "
    "keeps the old state: h = (1 − z)·n + z·h₋₁ "
    "and c = f·c₋₁ + i·g pass it on through a sum, the additive path that lets gradients "
    "through long sentences. A plain tanh RNN has no gates: its old state always goes through "
    "the squashing tanh.")


def name(gate: str) -> str:
    """"update z" for "update"."""
    symbol = SYMBOLS.get(gate)
    return f"{gate} {symbol}" if symbol else gate


def unit_order(values: np.ndarray, per_direction: int) -> np.ndarray:
    """Column order (K,) for gate values (S, K): each direction's units sorted by their mean
    over the sentence, lowest first; the forward half stays left of the backward half."""
    means = values.mean(axis=0)  # (K,)
    halves = [np.arange(0, per_direction), np.arange(per_direction, values.shape[1])]
    return np.concatenate([h[np.argsort(means[h], kind="stable")] for h in halves if len(h)])


def _axis_name(k: int) -> str:
    """Plotly's name for the k-th (0-based) x axis in a trace: "x", "x2", ..."""
    return "x" if k == 0 else f"x{k + 1}"


def gates_figure(entry: dict, title: str | None = None) -> go.Figure:
    """One model's gates: G heatmaps (S x K, units sorted by `unit_order`) and a panel of each
    gate's mean per piece, side by side on one axis of piece labels, on a fixed 0..1 scale.
    Sized from the pieces like `views.heatmaps.heatmap` (layout.meta["min_width"]).

    Built as one layout (panels placed by hand, not with make_subplots): plotly's per-update
    checks made a figure of 20 x 512 cells cost a tenth of a second each."""
    pieces, gates = entry["pieces"], entry["gates"]
    names = list(gates)
    S, G = len(pieces), len(names)
    font = tick_font(S)
    rows = axis_labels(pieces)
    text, lines = wrap_title(title or f"{entry.get('label', '')} · encoder gates", 60)
    left, top = label_extent(pieces, font) + 40, 48 + 18 * lines
    # Panel k spans domains[k] of the width: G heatmaps, then the narrower mean panel.
    widths, gap = [1.0] * G + [0.8], 0.025
    unit = (1 - gap * G) / sum(widths)
    domains, start = [], 0.0
    for width in widths:
        domains.append([start, min(start + width * unit, 1.0)])
        start += width * unit + gap
    traces, shapes, titles, layout_axes = [], [], [], {}
    for k, gate in enumerate(names):
        values = np.asarray(gates[gate], dtype=np.float64)  # (S, K)
        per_direction = int(entry.get("units_per_direction") or values.shape[1])
        order = unit_order(values, per_direction)
        traces.append(go.Heatmap(
            z=values[:, order].astype(np.float32), y=rows, xaxis=_axis_name(k), yaxis="y",
            coloraxis="coloraxis",
            hovertemplate=(f"<b>%{{y}}</b><br>{escape(name(gate))} = %{{z:.3f}}"
                           "<br>unit %{x} in sorted order<extra></extra>")))
        if 0 < per_direction < values.shape[1]:  # where the backward units begin
            shapes.append(dict(type="line", xref=_axis_name(k), yref="paper",
                               x0=per_direction - 0.5, x1=per_direction - 0.5, y0=0, y1=1,
                               line=dict(color="white", width=2)))
        layout_axes[f"xaxis{k + 1 if k else ''}"] = dict(
            domain=domains[k], anchor="y", showticklabels=False, showgrid=False,
            showline=False, zeroline=False, ticks="", title=dict(text="units", font=dict(size=11),
                                                       standoff=4))
    mean_axis = _axis_name(G)
    for gate in names:  # the mean over every unit where the API gives it
        mean = np.asarray(entry.get("mean", {}).get(gate) or
                          np.asarray(gates[gate], dtype=np.float64).mean(axis=1))  # (S,)
        traces.append(go.Scatter(
            x=np.round(mean, 3), y=rows, xaxis=mean_axis, yaxis="y", mode="lines+markers",
            name=escape(name(gate)), line=dict(color=GATE_COLORS.get(gate), width=2),
            marker=dict(size=5),
            hovertemplate=(f"<b>%{{y}}</b><br>mean {escape(name(gate))} = %{{x:.3f}}"
                           "<extra></extra>")))
    layout_axes[f"xaxis{G + 1}"] = axis(domain=domains[G], anchor="y", range=[0, 1], dtick=0.5,
                                        title=dict(text="over units", font=dict(size=11)))
    for k, title_k in enumerate([name(g) for g in names] + ["mean"]):
        titles.append(dict(text=escape(title_k), x=sum(domains[k]) / 2, y=1, xref="paper",
                           yref="paper", xanchor="center", yanchor="bottom", showarrow=False,
                           font=dict(size=12), yshift=4))
    layout = base_layout(
        title=dict(text=text, font=dict(size=13), x=0, xanchor="left"),
        height=top + 70 + S * cell_size(font), margin=dict(l=left, r=20, t=top, b=70),
        coloraxis=dict(colorscale=GATE_SCALE, cmin=0, cmax=1,
                       colorbar=dict(title=dict(text="gate", side="right"), thickness=10,
                                     len=0.7, x=1.02)),
        legend={**BOTTOM_LEGEND, "x": 0}, shapes=shapes, annotations=titles,
        meta=dict(min_width=left + G * PANEL + MEAN_PANEL + 70),
        yaxis=dict(type="category", autorange="reversed", tickfont=dict(size=font), dtick=1,
                   showgrid=False, automargin=True, ticks=""),
        **layout_axes)
    return go.Figure(data=traces, layout=layout)


def _quoted(piece: str) -> str:
    return f"“{md_escape(piece)}”"


def model_line(entry: dict) -> str:
    """One Markdown line on one model: its keeping gate's mean, the share of values that keep
    (above KEEP) or replace (below DROP) the old state, and the pieces where its mean per piece
    is highest and lowest."""
    gate = entry.get("keeps") or next(iter(entry["gates"]))
    values = np.asarray(entry["gates"][gate], dtype=np.float64)  # (S, K)
    per_piece = values.mean(axis=1)
    pieces = entry["pieces"]
    hi, lo = int(per_piece.argmax()), int(per_piece.argmin())
    return (f"**{md_escape(entry.get('label', ''))}**: {name(gate)} averages "
            f"{values.mean():.2f}; {(values > KEEP).mean():.0%} of its values are above {KEEP} "
            f"(the unit keeps its old state) and {(values < DROP).mean():.0%} below {DROP} (it "
            f"takes the new input). Its mean is highest at {_quoted(pieces[hi])} "
            f"({per_piece[hi]:.2f}) and lowest at {_quoted(pieces[lo])} ({per_piece[lo]:.2f}).")


def gates_caption(data: dict) -> str:
    """Markdown for the figures of /gates' answer `data`: a line per model, then which model
    keeps its state most and least often, each by its own keeping gate."""
    if not data:
        return ""
    lines = [model_line(entry) for entry in data.values()]
    shares = {}
    for entry in data.values():
        gate = entry.get("keeps") or next(iter(entry["gates"]))
        shares[entry.get("label", "")] = (float((np.asarray(entry["gates"][gate]) > KEEP).mean()),
                                          gate)
    if len(shares) > 1:
        most = max(shares, key=lambda k: shares[k][0])
        least = min(shares, key=lambda k: shares[k][0])
        lines.append(f"Keeps its state most often: **{md_escape(most)}** "
                     f"({name(shares[most][1])} above {KEEP} in {shares[most][0]:.0%} of cells); "
                     f"least often: **{md_escape(least)}** ({shares[least][0]:.0%}).")
    return "\n\n".join(lines)


def no_gates_note(label: str) -> str:
    """The note in place of a plain tanh RNN's figure."""
    return (f"**{md_escape(label)}: no gates to show.** A plain tanh RNN computes "
            "h = tanh(W·x + U·h₋₁): nothing decides what to keep, so the old state always "
            "passes through the tanh and the gradient shrinks at every step back.")

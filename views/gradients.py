"""Gradients on the shipped models: the gradient norm per source piece (every model on one chart),
and gradient x input beside attention for one output piece; captions computed from the numbers.

Legend: S source pieces (with </s>), T target pieces.

Drawn from what /gradient_flow and /saliency return (`inference.gradients`), so every figure
shows exactly the API's numbers. No torch here.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from views.heatmaps import cell_size, label_extent, tick_font, wrap_title
from views.style import (
    BOTTOM_LEGEND,
    axis,
    axis_labels,
    base_layout,
    escape,
    md_escape,
    model_color,
)

ATTENTION_COLOR, SALIENCY_COLOR = "#4C78A8", "#F58518"
BAR_CELL = 2  # a bar pair needs about two label heights of room

FLOW_INTRO = (
    "**Vanishing gradients, measured on the shipped models.** Every model is made to write the "
    "same German sentence (below), and the log-probability of that whole translation is "
    "backpropagated to the English input: each point is the size (L2 norm) of the gradient "
    "with respect to one English piece's token embedding (for the Transformer, the embedding "
    "before its scaling and position code). A small value means that piece's embedding hardly "
    "moves the translation's probability, to first order. A recurrent encoder reaches a piece "
    "only through every step between it and the decoder; attention adds a direct path to "
    "every piece. The y-axis is logarithmic: equal gaps are equal ratios. Heights differ "
    "between models with each model's embedding scale, so compare the shape of each line.")

SALIENCY_INTRO = (
    "**Backprop through attention: is attention an explanation?** Pick one German piece. For "
    "each model with attention, the orange bars are **gradient × input**, "
    "|∂ log p(piece) / ∂e · e| for each English piece's token embedding e (how much, to first "
    "order, the piece's embedding moves that output's probability); the blue bars are the "
    "**attention** the model paid while writing it (a Transformer: its last layer, mean of the "
    "heads). Both are shown as shares of their total. ρ is Spearman's rank correlation: 1 = "
    "both rank the English pieces alike, 0 = unrelated. Jain & Wallace (2019, *Attention is "
    "not Explanation*) found the two often disagree.")


def _color(name: str, index: int, colors: dict[str, str] | None) -> str:
    return (colors or {}).get(name) or model_color(name, index)


def _quoted(piece: str) -> str:
    return f"“{md_escape(piece)}”"


def target_note(data: dict) -> str:
    """Markdown naming the target every model was forced to write, and whose it is."""
    entry = next(iter(data.values()), None)
    if entry is None:
        return ""
    reference = entry.get("reference")
    whose = (f"{md_escape(data[reference]['label'])}'s greedy translation"
             if reference in data else "typed above" if reference is None
             else f"the greedy translation of {md_escape(reference)}")
    return f"**Target every model writes** ({whose}): {md_escape(entry['target'])}"


# ---- gradient norm per source piece --------------------------------------------------------------
def flow_figure(data: dict, colors: dict[str, str] | None = None) -> go.Figure | None:
    """/gradient_flow's answer as one chart: the gradient norm per source position, a line per
    model in its colour, on a log axis; the first model's pieces label the positions."""
    if not data:
        return None
    pieces = next(iter(data.values()))["pieces"]
    S = max(len(e["pieces"]) for e in data.values())
    font = tick_font(S)
    figure = go.Figure()
    for i, (name, entry) in enumerate(data.items()):
        norms = np.asarray(entry["grad_norm"], dtype=np.float64)
        color = _color(name, i, colors)
        figure.add_trace(go.Scatter(
            x=list(range(len(norms))), y=np.maximum(norms, 1e-12), mode="lines+markers",
            name=escape(entry.get("label", name)), legendgroup=name,
            line=dict(color=color, width=2), marker=dict(color=color, size=6),
            customdata=axis_labels(entry["pieces"]),
            hovertemplate=(f"<b>{escape(entry.get('label', name))}</b><br>%{{customdata}} "
                           "(piece %{x})<br>gradient norm %{y:.3g}<extra></extra>")))
    # Room for the labels written out below the plot; when they turn vertical, automargin
    # takes it from the plot area, and the legend stays at the figure's bottom edge.
    extent = label_extent(pieces, font)
    text, lines = wrap_title("Gradient of log p(translation) per English piece", 60)
    figure.update_layout(**base_layout(
        title=dict(text=text, font=dict(size=13), x=0, xanchor="left"),
        height=420 + extent, margin=dict(l=70, r=20, t=30 + 18 * lines, b=100),
        legend=BOTTOM_LEGEND, meta=dict(min_width=110 + S * cell_size(font)),
        xaxis=axis(tickmode="array", tickvals=list(range(len(pieces))),
                   ticktext=axis_labels(pieces), tickfont=dict(size=font),
                   autotickangles=[0, -90], title_text="English piece (position)"),
        yaxis=axis(type="log", title_text="‖∂ log p / ∂ embedding‖", dtick=log_ticks(data))))
    return figure


def log_ticks(data: dict) -> str | int:
    """Log-axis tick spacing that never crowds: 1, 2, 5 per decade over a short range, only
    the powers of ten over a long one (plotly's default labels 2 to 9 in every decade)."""
    norms = np.concatenate([np.asarray(e["grad_norm"], dtype=np.float64) for e in data.values()])
    norms = norms[norms > 0]
    decades = np.log10(norms.max() / norms.min()) if norms.size else 0.0
    return 1 if decades > 3 else "D2"


def flow_caption(data: dict) -> str:
    """Markdown, a line per model: the range of its norms and where they are smallest and
    largest, the first piece against the last before </s>; then the widest and narrowest."""
    if not data:
        return ""
    lines, spreads = [], {}
    for entry in data.values():
        norms = np.asarray(entry["grad_norm"], dtype=np.float64)
        pieces = entry["pieces"]
        lo, hi = int(norms.argmin()), int(norms.argmax())
        spread = norms[hi] / norms[lo] if norms[lo] > 0 else float("inf")
        spreads[entry.get("label", "")] = spread
        line = (f"**{md_escape(entry.get('label', ''))}**: from {norms[lo]:.3g} at "
                f"{_quoted(pieces[lo])} to {norms[hi]:.3g} at {_quoted(pieces[hi])} "
                f"({spread:.1f}× apart)")
        last = len(norms) - 2  # the last piece before </s>
        if last > 0:
            ratio = norms[0] / norms[last] if norms[last] > 0 else float("inf")
            line += (f"; the first piece gets {ratio:.2g}× the gradient of the last before "
                     f"{md_escape('</s>')}")
        lines.append(line + ".")
    if len(spreads) > 1:
        widest, narrowest = max(spreads, key=spreads.get), min(spreads, key=spreads.get)
        lines.append(f"Most uneven across the sentence: **{md_escape(widest)}** "
                     f"({spreads[widest]:.1f}×); most even: **{md_escape(narrowest)}** "
                     f"({spreads[narrowest]:.1f}×).")
    return "\n\n".join(lines)


# ---- gradient x input beside attention -----------------------------------------------------------
def shares(values) -> np.ndarray:
    """Non-negative values as shares of their total (all zero stays zero)."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    total = values.sum()
    return values / total if total > 0 else values


def rho_text(rho: float | None) -> str:
    return "ρ undefined" if rho is None else f"ρ = {rho:.2f}"


def saliency_figure(entry: dict, color: str | None = None) -> go.Figure:
    """One model's gradient x input and attention row for the chosen output piece, as grouped
    bars of shares over the source pieces; Spearman's rho in the title."""
    pieces = entry["pieces"]
    S = len(pieces)
    font = tick_font(S)
    x = axis_labels(pieces)
    attention, saliency = shares(entry["attention"]), shares(entry["saliency"])
    figure = go.Figure([
        go.Bar(x=x, y=np.round(attention, 4), name="attention", marker_color=ATTENTION_COLOR,
               hovertemplate="<b>%{x}</b><br>attention %{y:.1%}<extra></extra>"),
        go.Bar(x=x, y=np.round(saliency, 4), name="gradient × input",
               marker_color=SALIENCY_COLOR,
               hovertemplate="<b>%{x}</b><br>gradient × input %{y:.1%} of the total"
                             "<extra></extra>")])
    title = (f"{entry.get('label', '')} · writing {entry['output_piece']} · "
             f"{rho_text(entry.get('spearman'))}")
    text, lines = wrap_title(title, 48)
    top = 24 + 18 * lines
    figure.update_layout(**base_layout(  # margins as in `flow_figure`
        title=dict(text=text, font=dict(size=13, color=color or "#1F2937"), x=0,
                   xanchor="left"),
        barmode="group", bargap=0.25, height=380 + top + label_extent(pieces, font),
        margin=dict(l=60, r=20, t=top, b=100), legend=BOTTOM_LEGEND,
        meta=dict(min_width=100 + S * BAR_CELL * cell_size(font)),
        xaxis=axis(type="category", tickfont=dict(size=font), dtick=1, showgrid=False,
                   autotickangles=[0, -90], title_text="English piece"),
        yaxis=axis(tickformat=".0%", rangemode="tozero", title_text="share")))
    return figure


def saliency_line(entry: dict) -> str:
    """One model in Markdown: rho, where each measure peaks, and the piece they disagree on
    most (the largest gap between the two shares)."""
    pieces = entry["pieces"]
    attention, saliency = shares(entry["attention"]), shares(entry["saliency"])
    top_a, top_s = int(attention.argmax()), int(saliency.argmax())
    line = f"**{md_escape(entry.get('label', ''))}** ({rho_text(entry.get('spearman'))}): "
    if top_a == top_s:
        line += (f"both put the most on {_quoted(pieces[top_a])} (attention "
                 f"{attention[top_a]:.0%}, gradient × input {saliency[top_s]:.0%})")
    else:
        line += (f"attention peaks at {_quoted(pieces[top_a])} ({attention[top_a]:.0%}), "
                 f"gradient × input at {_quoted(pieces[top_s])} ({saliency[top_s]:.0%})")
    gap = attention - saliency
    worst = int(np.abs(gap).argmax())
    if abs(gap[worst]) >= 0.1:
        more, less = ("attention", "gradient × input") if gap[worst] > 0 \
            else ("gradient × input", "attention")
        line += (f"; the widest gap is {_quoted(pieces[worst])}, with "
                 f"{max(attention[worst], saliency[worst]):.0%} of the {more} but "
                 f"{min(attention[worst], saliency[worst]):.0%} of the {less}")
    return line + "."


def saliency_caption(data: dict) -> str:
    """Markdown for /saliency's answer: the output piece, a line per model, then how many
    models agree on the top piece and the highest and lowest rho."""
    if not data:
        return ""
    first = next(iter(data.values()))
    lines = [f"Writing {_quoted(first['output_piece'])} (piece {first['index']} of the target):"]
    lines += [saliency_line(entry) for entry in data.values()]
    agree = sum(int(np.argmax(shares(e["attention"])) == np.argmax(shares(e["saliency"])))
                for e in data.values())
    rhos = {e.get("label", n): e["spearman"] for n, e in data.items()
            if e.get("spearman") is not None}
    summary = f"Attention and gradient × input peak at the same piece in {agree} of {len(data)}."
    if len(rhos) > 1:
        best, worst = max(rhos, key=rhos.get), min(rhos, key=rhos.get)
        summary += (f" Closest ranking: **{md_escape(best)}** (ρ = {rhos[best]:.2f}); furthest:"
                    f" **{md_escape(worst)}** (ρ = {rhos[worst]:.2f}).")
    return "\n\n".join(lines + [summary])


def piece_choices(target_pieces: list[str]) -> list[tuple[str, int]]:
    """Dropdown choices for the output piece: ("3: ▁Hund", 3), values 0-based."""
    return [(f"{i}: {piece}", i) for i, piece in enumerate(target_pieces)]

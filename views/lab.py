"""The chapter's lab: BLEU by sentence length, and the O(n^2) cost of self-attention."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from views.style import axis, base_layout, escape, model_color

SCALING_HEADERS = ["n", "attention (ms)", "GRU (ms)", "attention weights (MB)",
                   "attention total (MB)", "GRU (MB)"]


def bleu_by_length_figure(evals: dict[str, tuple[str, dict]]) -> go.Figure | None:
    """Grouped bars: BLEU per source-length bucket, one colour per model.

    evals: name -> (label, eval JSON with "by_length": [{bucket, sentences, bleu}, ...]).
    None when no model has results by length.
    """
    evals = {name: e for name, e in evals.items() if e[1].get("by_length")}
    if not evals:
        return None
    figure = go.Figure()
    for i, (name, (label, result)) in enumerate(evals.items()):
        rows = result["by_length"]
        figure.add_trace(go.Bar(
            x=[escape(r["bucket"]) for r in rows], y=[r["bleu"] for r in rows],
            name=escape(label), marker_color=model_color(name, i),
            customdata=[r.get("sentences", "") for r in rows],
            hovertemplate=(f"{escape(label)}<br>%{{x}} words: BLEU %{{y:.1f}}"
                           "<br>%{customdata} sentences<extra></extra>")))
    first = next(iter(evals.values()))[1]
    split = escape(f"{first.get('split', 'test')}, beam {first.get('beam', '?')}")
    figure.update_layout(**base_layout(
        barmode="group", height=420, title=dict(text=f"BLEU by source length ({split})",
                                                x=0, xanchor="left"),
        legend=dict(orientation="h", y=-0.2)))
    figure.update_xaxes(**axis(title_text="source sentence length (words)", showgrid=False))
    figure.update_yaxes(**axis(title_text="BLEU", rangemode="tozero"))
    return figure


def _guide(ns: list[int], anchor_n: int, anchor_value: float, power: int) -> list[float]:
    """A c * n^power line through one measured point: the growth rate to compare against."""
    return [anchor_value * (n / anchor_n) ** power for n in ns]


def scaling_figure(rows: list[dict]) -> go.Figure | None:
    """Time and memory against n on log-log axes, with dotted n and n^2 guides."""
    if not rows:
        return None
    ns = [r["n"] for r in rows]
    mb = 1 / 2**20
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        "Time of one pass (ms, measured: median)",
        "Memory of one pass (MB, counted from tensor sizes)"))
    series = (("self-attention", model_color("transformer"), "attention_ms", "attention_bytes"),
              ("GRU", model_color("gru_bahdanau"), "gru_ms", "gru_bytes"))
    for name, color, time_key, bytes_key in series:
        figure.add_trace(go.Scatter(x=ns, y=[r[time_key] for r in rows], name=name,
                                    mode="lines+markers", line=dict(color=color),
                                    legendgroup=name), row=1, col=1)
        figure.add_trace(go.Scatter(x=ns, y=[r[bytes_key] * mb for r in rows], name=name,
                                    mode="lines+markers", line=dict(color=color),
                                    legendgroup=name, showlegend=False), row=1, col=2)
    figure.add_trace(go.Scatter(x=ns, y=[r["attention_weights_bytes"] * mb for r in rows],
                                name="attention weights alone (B·H·n·n·4 bytes)",
                                mode="lines+markers", line=dict(color=model_color("transformer"),
                                                                dash="dot")), row=1, col=2)
    last = rows[-1]
    for power, key, col in ((2, "attention_bytes", 2), (1, "gru_bytes", 2)):
        figure.add_trace(go.Scatter(
            x=ns, y=[v * mb for v in _guide(ns, last["n"], last[key], power)],
            name=f"∝ n{'²' if power == 2 else ''}", mode="lines",
            line=dict(color="#888", dash="dash", width=1), legendgroup=f"guide{power}"),
            row=1, col=col)
    figure.update_xaxes(**axis(type="log", title_text="sequence length n", tickvals=ns))
    figure.update_yaxes(**axis(type="log", dtick=1, minor=dict(showgrid=True,
                                                                gridcolor="#F3F5F8")))
    figure.update_layout(**base_layout(height=420, legend=dict(orientation="h", y=-0.25)))
    return figure


def scaling_rows(rows: list[dict]) -> list[list]:
    mb = 1 / 2**20
    return [[r["n"], round(r["attention_ms"], 2), round(r["gru_ms"], 2),
             round(r["attention_weights_bytes"] * mb, 3), round(r["attention_bytes"] * mb, 3),
             round(r["gru_bytes"] * mb, 3)] for r in rows]


def scaling_summary(rows: list[dict], memory_note: str = "") -> str:
    """How much each grew from the shortest to the longest n, in Markdown; `memory_note` says
    how memory was obtained."""
    if len(rows) < 2:
        return ""
    a, b = rows[0], rows[-1]
    k = b["n"] / a["n"]

    def grew(key: str) -> str:
        return f"{b[key] / a[key]:.0f}×" if a[key] > 0 else "n/a"

    return (f"From n = {a['n']} to n = {b['n']} (×{k:.0f} longer): attention memory grew "
            f"{grew('attention_bytes')} (n² alone would be ×{k * k:.0f}), GRU memory "
            f"{grew('gru_bytes')} (n alone: ×{k:.0f}); time grew {grew('attention_ms')} for "
            f"attention and {grew('gru_ms')} for the GRU. Timings on a shared machine are "
            f"noisy; run it again to see the spread."
            + (f"  \n<small>{escape(memory_note[:1].upper() + memory_note[1:])}.</small>"
               if memory_note else ""))

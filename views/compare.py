"""Views of the "same target, same axes" comparison: the ranking table and the JS grid.

The numbers come from `inference.compare` (pure numpy on matrices already computed); here they
only become rows, Markdown and figures.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from inference.metrics import LN2, similarity
from inference.translation import Translation
from views.style import DIVERGENCE_SCALE, base_layout, escape, md_escape

# Short headers, so the whole table fits a phone (the caption above it spells them out).
TABLE_HEADERS = ["#", "model", "layer", "head", "JS ↓", "agree ↑", "entropy"]
COLUMN_WIDTHS = ["8%", "28%", "11%", "11%", "14%", "14%", "14%"]


def ranking_rows(ranked: list[dict]) -> list[list]:
    """`inference.compare.rank_alignments` rows -> table rows (numbers rounded for reading)."""
    return [[r["rank"], r["model"], "" if r["layer"] is None else r["layer"],
             "" if r["head"] is None else r["head"], round(r["js"], 4),
             round(r["agreement"], 3), round(r["entropy"], 3)] for r in ranked]


def ranking_summary(ranked: list[dict], reference_label: str, reference_entropy: float,
                    source_length: int) -> str:
    """One Markdown sentence answering "which head aligns most like the reference?"."""
    if not ranked:
        return "Nothing to compare with: ship a model with attention besides the reference."
    best = ranked[0]
    where = "" if best["layer"] is None else \
        f", layer {best['layer']}, " + ("mean of heads" if best["head"] == "mean"
                                         else f"head {best['head']}")
    return (f"Closest to **{md_escape(reference_label)}**: **{md_escape(best['model'])}{where}** "
            f"(JS {best['js']:.3f}, argmax agreement {best['agreement']:.0%}). "
            f"The reference's own row entropy is {reference_entropy:.2f} nats "
            f"(uniform over these {source_length} columns would be {np.log(source_length):.2f}).")


def js_grid(js: np.ndarray, model_label: str, reference_label: str) -> go.Figure:
    """(L, H) JS divergences as a heatmap: one cell per layer and head, values written in."""
    L, H = js.shape
    figure = go.Figure(go.Heatmap(
        z=np.round(js, 4), x=[f"head {h + 1}" for h in range(H)],
        y=[f"layer {layer + 1}" for layer in range(L)], zmin=0.0, zmax=LN2,
        colorscale=DIVERGENCE_SCALE, texttemplate="%{z:.2f}", xgap=2, ygap=2,
        colorbar=dict(title=dict(text="JS (nats)"), thickness=12),
        hovertemplate="%{y}, %{x}<br>JS divergence %{z:.3f}<extra></extra>"))
    figure.update_layout(**base_layout(
        title=dict(text=escape(f"{model_label}: JS divergence from {reference_label}, per head"),
                   font=dict(size=13), x=0, xanchor="left"),
        height=int(np.clip(120 + 50 * L, 260, 600))))
    figure.update_xaxes(showgrid=False, showline=False)
    figure.update_yaxes(autorange="reversed", showgrid=False, showline=False)
    return figure


def comparison(aligned: dict[str, Translation], reference: str | None, labels: dict[str, str],
               words: bool = False) -> tuple[str, list[list], dict[str, go.Figure]]:
    """Summary Markdown, ranking table rows and a JS grid per multi-head model, for the
    forced alignments `aligned` (name -> Translation) against the `reference` model's."""
    if not aligned:
        return "", [], {}
    if reference not in aligned or "cross" not in aligned[reference].alignments:
        return ("*Ship a GRU with attention (e.g. gru\\_bahdanau) to rank the Transformer's "
                "heads against it.*", [], {})
    result = similarity(aligned, reference, words)
    summary = ranking_summary(result["ranked"], labels[reference], result["reference_entropy"],
                              result["columns"])
    grids = {name: js_grid(js, labels[name], labels[reference])
             for name, js in result["grids"].items()}
    return summary, ranking_rows(result["ranked"]), grids


def target_summary(aligned: dict[str, Translation], labels: dict[str, str]) -> str:
    """The shared target, and how likely each model finds it (its forced log-probability)."""
    if not aligned:
        return ""
    first = next(iter(aligned.values()))
    scores = ", ".join(f"{md_escape(labels.get(n, n))} {t.score:.1f}"
                       for n, t in aligned.items() if t.score is not None)
    return (f"Every model writes: **{md_escape(first.text)}**  \n"
            f"How likely each model finds this target (log-probability of the whole sentence; "
            f"higher = more natural to it): {scores}")

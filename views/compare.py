"""Views of the "same target, same axes" comparison: the ranking table, the JS grid, and the
statistical aligner's word links beside the attention.

The numbers come from `inference.compare` and `inference.reference` (pure numpy on matrices
already computed); here they only become rows, Markdown and figures.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from inference import reference
from inference.metrics import LN2, similarity
from inference.translation import Translation
from views.heatmaps import MEAN, AlignmentView, languages, layer_and_head
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


# ---- the statistical aligner beside the attention ---------------------------------------------
ALIGNER_HOVER = "<b>%{y}</b> linked to <b>%{x}</b><br>share of the row %{z:.2f}"


def aligner_view(pair: reference.WordLinks, metadata: dict | None = None) -> AlignmentView:
    """eflomal's links of one pair as a heatmap view on whole words (no "</s>": the aligner
    links words only). `metadata` names the languages (a model's, else English-German)."""
    src, tgt = languages(metadata or {})
    return AlignmentView("eflomal", reference.NAME, "cross", "links between words", pair.matrix,
                         list(pair.target_words), list(pair.source_words),
                         f"{tgt} word", f"{src} word", hover=ALIGNER_HOVER)


def _names(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def aligner_summary(aligned: dict[str, Translation], pair: reference.WordLinks | None,
                    labels: dict[str, str], selections: dict[str, tuple] | None = None,
                    words: bool = False, note: str = "") -> str:
    """Markdown on the aligner's links of the shared target and each model's alignment error
    rate against them (the layer and head each multi-head model shows, from `selections`; and
    its best head on this pair). `note` says why there is no aligner when `pair` is None."""
    if not aligned:
        return ""
    if pair is None:
        return f"*{md_escape(note)}*" if note else ""
    first = next(iter(aligned.values()))
    src, tgt = languages(first.metadata)
    selections = selections or {}
    parts, scores = [], {}
    for name, t in aligned.items():
        stack = reference.word_stack(t)  # (L, H, T words, S words)
        if stack is None:
            continue
        label = md_escape(labels.get(name, name))
        matrix, where = layer_and_head(stack, *selections.get(name, (None, MEAN)))
        score = reference.attention_aer(matrix, pair)
        shown = f"{label} ({where})" if t.multi_head else label
        if score is None:
            parts.append(f"{shown} – (not on the aligner's words: the sentence was cut)")
            continue
        scores[name] = score
        part = f"{shown} **{score:.2f}**"
        heads = reference.head_aers(stack, pair) if t.multi_head else None
        if heads is not None:
            layer, head = np.unravel_index(int(np.argmin(heads)), heads.shape)
            part += (f" (its best head on this pair: layer {layer + 1}, head {head + 1}, "
                     f"{heads[layer, head]:.2f})")
        parts.append(part)
    text = (f"**What a statistical aligner says.** eflomal links "
            f"{pair.linked_targets} of the {len(pair.target_words)} {tgt} words of this pair "
            f"to {src} words ({len(pair.links)} links; a word it leaves unlinked has an empty "
            f"row). Alignment error rate of each model's attention against it, each {tgt} word "
            f"linked to the {src} word it attends to most (0 = the same links, 1 = none in "
            f"common): " + " · ".join(parts) + ".")
    if scores:
        best = min(scores.values())
        closest = [md_escape(labels.get(n, n)) for n, score in scores.items() if score == best]
        text += f" Closest to the aligner here: **{_names(closest)}**."
    if not words:
        text += (" The models' matrices above are in subword pieces: tick *Whole words* to see "
                 "them on the aligner's words.")
    return text

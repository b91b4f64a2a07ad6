"""The training tab: one sentence's alignment epoch by epoch, and the loss and BLEU curves.

Snapshots are the records `training` keeps after each validation (see `Translator.snapshots`):
per epoch, a few fixed validation sentences forced to their reference translation, with their
cross-attention. Each sentence is read as a `Translation` (`snapshot_translation`: (1, 1, T, S)
for a GRU, (L, 1, T, S) already averaged over heads for a Transformer) and drawn by the same
`select_view` as any translation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import plotly.graph_objects as go

from inference.translation import snapshot_translation
from views.heatmaps import MEAN, AlignmentView, languages, pick_layer, select_view
from views.style import BOTTOM_LEGEND, axis, base_layout, escape, md_escape, model_color


def snapshot_sentences(snapshots: list[dict]) -> list[tuple[str, int]]:
    """Dropdown choices (source sentence, index) for the sentences a model's snapshots hold."""
    if not snapshots:
        return []
    return [(s.get("source", f"sentence {i + 1}"), i)
            for i, s in enumerate(snapshots[-1].get("sentences", []))]


def snapshot_layers(snapshots: list[dict]) -> int:
    """Number of layers in the snapshots' cross matrices (1 for a GRU, 0 without attention)."""
    for record in snapshots:
        for sentence in record.get("sentences", []):
            cross = snapshot_translation(sentence, "", {}).alignments.get("cross")
            if cross is not None:
                return cross.shape[0]  # (L, 1, T, S)
    return 0


def snapshot_view(snapshots: list[dict], model: str, metadata: dict, epoch_index: int,
                  sentence_index: int = 0, layer: int | None = None,
                  words: bool = False) -> tuple[AlignmentView | None, str]:
    """The alignment of one sentence after one epoch, and a Markdown line about that epoch.

    epoch_index counts snapshots from 0; layer is 0-based (None: the last) for a Transformer.
    The view is None (and the text says why) when there is nothing to draw.
    """
    label = metadata.get("label", model)
    if not snapshots:
        return None, f"**{md_escape(label)}** shipped no training snapshots."
    epoch_index = int(np.clip(epoch_index, 0, len(snapshots) - 1))
    record = snapshots[epoch_index]
    sentences = record.get("sentences", [])
    if not sentences:
        return None, "This snapshot holds no sentences."
    sentence = sentences[int(np.clip(sentence_index, 0, len(sentences) - 1))]
    bleu = record.get("val_bleu")
    text = (f"**Epoch {record.get('epoch', epoch_index) + 1}** "
            f"(snapshot {epoch_index + 1} of {len(snapshots)})"
            + (f" · validation BLEU {bleu:.1f}" if isinstance(bleu, int | float) else "")
            + f"  \nReference: {md_escape(sentence.get('reference', ''))}"
            + f"  \nModel's own translation at this epoch: "
              f"{md_escape(sentence.get('hypothesis', ''))}")
    translation = snapshot_translation(sentence, model, metadata)
    view = select_view(translation, "cross", layer, MEAN, words)
    if view is None:
        return None, text + "  \n*No alignment: this model has no attention.*"
    # The same view, titled as a snapshot: which epoch, and heads averaged during training.
    detail = f"cross-attention after epoch {record.get('epoch', epoch_index) + 1}"
    if translation.multi_head:
        L = translation.alignments["cross"].shape[0]
        detail += f" · layer {pick_layer(L, layer) + 1} of {L}, mean of heads"
    if words:
        detail += " · words"
    return replace(view, detail=detail,
                   row_title=f"{languages(metadata)[1]} reference (forced)"), text


def curves_figures(curves: dict[str, tuple[str, list[dict]]]
                   ) -> tuple[go.Figure, go.Figure] | tuple[None, None]:
    """Two panels, every model: loss per epoch (train solid, validation dashed) and validation
    BLEU per epoch (greedy search, as training measured it). Separate figures, so a narrow
    screen stacks them instead of squeezing two panels side by side.

    curves: name -> (label, metadata["curves"]). (None, None) when no model has curves.
    """
    curves = {name: c for name, c in curves.items() if c[1]}
    if not curves:
        return None, None
    loss, bleu = go.Figure(), go.Figure()
    for i, (name, (label, points)) in enumerate(curves.items()):
        epochs = [p.get("epoch", j) + 1 for j, p in enumerate(points)]
        color = model_color(name, i)
        for figure, key, dash, what in ((loss, "train_loss", "solid", "training loss"),
                                        (loss, "val_loss", "dash", "validation loss"),
                                        (bleu, "val_bleu", "solid", "validation BLEU")):
            values = [p.get(key) for p in points]
            if all(v is None for v in values):
                continue
            figure.add_trace(go.Scatter(
                x=epochs, y=values, mode="lines+markers", name=escape(label),
                legendgroup=name, showlegend=key != "val_loss", line=dict(color=color, dash=dash),
                hovertemplate=(f"{escape(label)}<br>epoch %{{x}}<br>{what} %{{y:.2f}}"
                               "<extra></extra>")))
    for figure, title, y_title in (
            (loss, "Loss (solid: training, dashed: validation)", "cross-entropy"),
            (bleu, "Validation BLEU (greedy, during training)", "BLEU")):
        figure.update_layout(**base_layout(
            height=420, title=dict(text=title, x=0, xanchor="left", font=dict(size=14)),
            margin=dict(l=60, r=30, t=50, b=40),
            legend=BOTTOM_LEGEND))
        figure.update_xaxes(**axis(title_text="epoch", dtick=1, autotickangles=[0, -90]))
        figure.update_yaxes(**axis(title_text=y_title))
    return loss, bleu

"""How alike alignments are: pure numpy on matrices already computed, no model, no torch.

Legend: T target pieces (rows), S source pieces (columns), L layers, H heads. An alignment is a
(T, S) matrix whose rows are probability distributions over the source.

Measures of one alignment (row entropy) and of two alignments on the same axes (argmax
agreement, Jensen-Shannon divergence); `head_scores` and `rank_alignments`, which answer
"which Transformer head aligns most like Bahdanau attention?"; and `similarity`, the comparison
the app shows for alignments forced onto one target (`inference.compare.align_all` makes them).
It imports numpy, `inference.translation` and `inference.errors` only, so views can use it
without torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from inference.errors import InputError
from inference.translation import Translation, merge_to_words

LN2 = float(np.log(2.0))


# ---- one alignment ---------------------------------------------------------------------------
def normalise_rows(alignment: np.ndarray) -> np.ndarray:
    """(..., T, S) -> the same with every row summing to 1 (an all-zero row becomes uniform)."""
    a = np.clip(np.asarray(alignment, dtype=np.float64), 0.0, None)
    sums = a.sum(axis=-1, keepdims=True)
    uniform = np.full_like(a, 1.0 / a.shape[-1])
    return np.where(sums > 0, a / np.where(sums > 0, sums, 1.0), uniform)


def _plogq(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """p * log(q), with 0 * log(anything) = 0."""
    out = np.zeros_like(p)
    mask = p > 0
    out[mask] = p[mask] * np.log(q[mask])
    return out


def row_entropy(alignment: np.ndarray) -> np.ndarray:
    """Entropy in nats of each row: (..., T, S) -> (..., T).

    0 for a row that puts all weight on one source piece (a sharp, word-to-word alignment);
    ln S for a row spread evenly (the model looks everywhere, i.e. nowhere in particular).
    """
    p = normalise_rows(alignment)
    return -_plogq(p, p).sum(axis=-1)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in nats between matching rows: (..., T, S) x2 -> (..., T).

    JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2: symmetric, 0 exactly when
    the rows are equal, and at most ln 2 (rows with no source piece in common). Unlike KL it is
    finite when one row gives a piece zero weight and the other does not.
    """
    p, q = normalise_rows(p), normalise_rows(q)
    if p.shape[-2:] != q.shape[-2:]:
        raise ValueError(f"Alignments of shapes {p.shape} and {q.shape} do not share axes; "
                         "align both models to the same target first.")
    m = (p + q) / 2
    kl_pm = (_plogq(p, p) - _plogq(p, m)).sum(axis=-1)
    kl_qm = (_plogq(q, q) - _plogq(q, m)).sum(axis=-1)
    return np.clip((kl_pm + kl_qm) / 2, 0.0, LN2)


def argmax_agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fraction of rows whose most-attended source piece is the same: (..., T, S) x2 -> (...).

    1 when both alignments point every target piece at the same source piece, 0 when never.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape[-2:] != b.shape[-2:]:
        raise ValueError(f"Alignments of shapes {a.shape} and {b.shape} do not share axes.")
    return (a.argmax(axis=-1) == b.argmax(axis=-1)).mean(axis=-1)


# ---- many alignments against one reference ---------------------------------------------------
def compare_to(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Mean JS divergence, argmax agreement and the candidate's mean row entropy; all (T, S)."""
    return {"js": float(js_divergence(reference, candidate).mean()),
            "agreement": float(argmax_agreement(reference, candidate)),
            "entropy": float(row_entropy(candidate).mean())}


def head_scores(reference: np.ndarray, heads: np.ndarray) -> dict[str, np.ndarray]:
    """A (T, S) reference against every head of a (L, H, T, S) stack.

    Returns "js" (mean over rows), "agreement" and "entropy" (mean over rows), each (L, H).
    """
    heads = np.asarray(heads)
    if heads.ndim != 4:
        raise ValueError(f"heads must be (L, H, T, S), not {heads.shape}.")
    ref = np.broadcast_to(np.asarray(reference), heads.shape)
    return {"js": js_divergence(ref, heads).mean(axis=-1),
            "agreement": argmax_agreement(ref, heads),
            "entropy": row_entropy(heads).mean(axis=-1)}


def rank_alignments(reference: np.ndarray,
                    candidates: Mapping[str, Mapping]) -> list[dict]:
    """Rank alignments by how close they are to `reference` (T, S), closest first.

    candidates: name -> {"model": label, "alignment": (T, S) or (L, H, T, S)}. A 4-d stack is
    expanded into one row per layer and head plus one per layer for the mean over its heads.
    Each row: rank, model, layer (1-based or None), head (1-based, "mean" or None), js,
    agreement, entropy.
    """
    rows = []
    for info in candidates.values():
        a = np.asarray(info["alignment"])
        if a.ndim == 2:
            rows.append({"model": info["model"], "layer": None, "head": None,
                         **compare_to(reference, a)})
            continue
        scores = head_scores(reference, a)
        means = a.mean(axis=1)  # (L, T, S)
        for layer in range(a.shape[0]):
            for head in range(a.shape[1]):
                rows.append({"model": info["model"], "layer": layer + 1, "head": head + 1,
                             **{k: float(v[layer, head]) for k, v in scores.items()}})
            rows.append({"model": info["model"], "layer": layer + 1, "head": "mean",
                         **compare_to(reference, means[layer])})
    rows.sort(key=lambda r: (r["js"], -r["agreement"]))
    for i, row in enumerate(rows):
        row["rank"] = i + 1
    return rows


# ---- the comparison the app shows -----------------------------------------------------------
def similarity(aligned: Mapping[str, Translation], reference: str, words: bool = False) -> dict:
    """How alike every model's alignment of the same target is to `reference`'s.

    aligned: name -> forced alignment of one shared (source, target), e.g. from `align_all`;
    reference: the name of a model with one attention (the Bahdanau GRU in the chapter).
    words: compare word-level matrices (`merge_to_words`) instead of pieces.
    Returns "ranked" (`rank_alignments` rows, closest first), "grids" (name -> (L, H) JS per
    head for every multi-head model), "reference_entropy" (mean over rows) and "columns" (S).
    """
    def matrix(t: Translation) -> np.ndarray:
        """(L, H, T, S) for a multi-head model, the one (T, S) matrix of a GRU."""
        a = np.asarray(t.alignments["cross"], dtype=np.float64)  # (L, H, T, S)
        a = a if t.multi_head else a[0, 0]
        return merge_to_words(a, t.target_pieces, t.source_pieces) if words else a

    if reference not in aligned or "cross" not in aligned[reference].alignments:
        raise InputError(f"The reference model {reference!r} has no alignment to compare with.")
    if aligned[reference].multi_head:
        raise InputError("The reference must be a model with one attention (a GRU), not heads.")
    ref = matrix(aligned[reference])
    candidates, grids = {}, {}
    for name, t in aligned.items():
        if name == reference or "cross" not in t.alignments:
            continue
        a = matrix(t)
        candidates[name] = {"model": t.metadata.get("label", name), "alignment": a}
        if t.multi_head:
            grids[name] = head_scores(ref, a)["js"]
    return {"ranked": rank_alignments(ref, candidates), "grids": grids,
            "reference_entropy": float(row_entropy(ref).mean()), "columns": ref.shape[-1]}

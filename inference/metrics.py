"""How alike alignments are: pure numpy on matrices already computed, no model, no torch.

Legend: T target pieces (rows), S source pieces (columns), L layers, H heads. An alignment is a
(T, S) matrix whose rows are probability distributions over the source.

Measures of one alignment (row entropy) and of two alignments on the same axes (argmax
agreement, Jensen-Shannon divergence); `head_scores` and `rank_alignments`, which answer
"which Transformer head aligns most like Bahdanau attention?"; and `similarity`, the comparison
the app shows for alignments forced onto one target (`inference.compare.align_all` makes them);
and, against a word-alignment reference (`inference.aligner`), the alignment error rate of the
attention's argmax (`aer`, `alignment_scores`, `argmax_links`) and how much of it goes to the
source's "</s>" and full stop (`sink_shares`).
It imports numpy, `inference.translation` and `inference.errors` only, so views can use it
without torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from inference.errors import InputError
from inference.translation import EOS_PIECE, Translation, merge_to_words

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


# ---- against a word-alignment reference --------------------------------------------------------
# A link is (source word, target word), 0-based, as in Pharaoh's "i-j" lines and
# `inference.aligner`. Word-level matrices are (T, S) from `merge_to_words`, rows the target
# words, columns the source words; the last row and column are "</s>".
Link = tuple[int, int]


def _link_counts(predicted, sure, possible=None) -> np.ndarray:
    """[|A & S|, |A & P|, |A|, |S|] for one sentence (P = S when not given; S is counted in P)."""
    a, s = set(predicted), set(sure)
    p = s if possible is None else set(possible) | s
    return np.array([len(a & s), len(a & p), len(a), len(s)], dtype=np.int64)


def _aer(counts: np.ndarray) -> float:
    a_s, a_p, n_a, n_s = counts
    return 0.0 if n_a + n_s == 0 else float(1.0 - (a_s + a_p) / (n_a + n_s))


def aer(predicted, sure, possible=None) -> float:
    """Alignment error rate of one sentence (Och & Ney, 2003): 1 - (|A&S| + |A&P|) / (|A| + |S|).

    predicted (A), sure (S), possible (P): iterables of links. P defaults to S (one reference
    set), and then AER = 1 - F1 of precision |A&S|/|A| and recall |A&S|/|S|. 0 is a perfect
    match; 0.0 also when neither side has a link.
    """
    return _aer(_link_counts(predicted, sure, possible))


def alignment_scores(predicted: Sequence, sure: Sequence, possible: Sequence | None = None
                     ) -> dict[str, float | int]:
    """AER, precision (|A&P|/|A|) and recall (|A&S|/|S|) of a corpus: one link set per
    sentence in each argument, counts pooled over sentences (as AER is usually reported, not a
    mean of sentence AERs). Also "links": |A|, the number of predicted links."""
    if len(predicted) != len(sure) or (possible is not None and len(possible) != len(sure)):
        raise ValueError("Give one set of links per sentence, for the same sentences.")
    counts = np.zeros(4, dtype=np.int64)
    for n in range(len(sure)):
        counts += _link_counts(predicted[n], sure[n], None if possible is None else possible[n])
    a_s, a_p, n_a, n_s = counts
    return {"aer": _aer(counts), "precision": float(a_p / n_a) if n_a else 0.0,
            "recall": float(a_s / n_s) if n_s else 0.0, "links": int(n_a)}


def argmax_links(alignment: np.ndarray) -> set[Link]:
    """The link each target word's attention points at: {(argmax over source words, t)}.

    alignment: one word-level (T, S) matrix whose last row (the target's "</s>") and last column
    (the source's "</s>") are left out: every real target word links to the real source word it
    attends to most, even when "</s>" got more. (L, H, T, S) stacks: call once per head.
    """
    a = np.asarray(alignment)
    if a.ndim != 2:
        raise ValueError(f"argmax_links takes one (T, S) matrix, not {a.shape}.")
    if a.shape[0] < 2 or a.shape[1] < 2:
        return set()
    best = a[:-1, :-1].argmax(axis=1)  # (T - 1,)
    return {(int(s), t) for t, s in enumerate(best)}


def full_stop_columns(source_pieces: Sequence[str]) -> list[int]:
    """The source pieces that are a full stop: ".", "▁." or a run of dots."""
    return [j for j, piece in enumerate(source_pieces)
            if piece.lstrip("▁") and set(piece.lstrip("▁")) == {"."}]


def sink_shares(alignment: np.ndarray, source_pieces: Sequence[str],
                target_pieces: Sequence[str], eos_row: bool = False) -> dict:
    """How much attention goes to the source's "</s>" and to its full stop(s).

    alignment: piece-level (..., T, S), its columns `source_pieces` (the last is "</s>"), its
    rows `target_pieces`. Shares are means over target rows; the row that emits the target's
    final "</s>" is left out unless `eos_row` (once the sentence is done, attending to the
    source's end is the right thing to do, not a sink). Returns "eos" and "full_stop", each
    (...), and "rows", how many rows were averaged (to pool sentences by).
    """
    a = np.asarray(alignment, dtype=np.float64)
    if a.shape[-1] != len(source_pieces) or a.shape[-2] != len(target_pieces):
        raise ValueError(f"An alignment of shape {a.shape} does not fit "
                         f"{len(target_pieces)} x {len(source_pieces)} pieces.")
    if not eos_row and target_pieces and target_pieces[-1] == EOS_PIECE:
        a = a[..., :-1, :]
    rows = a.shape[-2]
    eos = [j for j, piece in enumerate(source_pieces) if piece == EOS_PIECE]
    stops = full_stop_columns(source_pieces)

    def share(columns: list[int]) -> np.ndarray:
        if not rows or not columns:
            return np.zeros(a.shape[:-2])
        return a[..., columns].sum(axis=-1).mean(axis=-1)

    return {"eos": share(eos), "full_stop": share(stops), "rows": rows}

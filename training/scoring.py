"""Corpus-level translation metrics, all from sacreBLEU: we never compute BLEU ourselves.

BLEU (cased, 13a tokenisation) is the headline figure. Lowercased BLEU is closer to how most
published Multi30K figures were computed (tokenised, lowercased text), so both are reported.
chrF scores character n-grams, kinder to German compounds and inflections than word BLEU.
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import BLEU, CHRF

# Source-length buckets (in words) for the Bahdanau et al. (2015, Fig. 2) style chart:
# attention's advantage over the fixed-vector encoder-decoder grows with sentence length.
LENGTH_BUCKETS = ((1, 8), (9, 12), (13, 16), (17, 20), (21, 25), (26, 1000))


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """BLEU, lowercased BLEU and chrF of a whole corpus, with their sacreBLEU signatures."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references.")
    bleu, bleu_lc, chrf = BLEU(), BLEU(lowercase=True), CHRF()
    b = bleu.corpus_score(list(hypotheses), [list(references)])
    lc = bleu_lc.corpus_score(list(hypotheses), [list(references)])
    c = chrf.corpus_score(list(hypotheses), [list(references)])
    return {
        "bleu": round(b.score, 2), "bleu_lowercase": round(lc.score, 2), "chrf": round(c.score, 2),
        "bleu_signature": str(bleu.get_signature()),
        "bleu_lowercase_signature": str(bleu_lc.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "sentences": len(hypotheses),
        # Output length / reference length (BLEU's brevity penalty bites below 1): what a beam
        # search length penalty moves.
        "length_ratio": round(b.sys_len / b.ref_len, 4) if b.ref_len else None,
    }


def bleu_by_length(sources: Sequence[str], hypotheses: Sequence[str],
                   references: Sequence[str]) -> list[dict]:
    """Cased BLEU per source-length bucket (words), each with its sentence count."""
    rows = []
    for low, high in LENGTH_BUCKETS:
        idx = [i for i, s in enumerate(sources) if low <= len(s.split()) <= high]
        if not idx:
            continue
        score = BLEU().corpus_score([hypotheses[i] for i in idx], [[references[i] for i in idx]])
        label = f"{low}-{high}" if high < 1000 else f"{low}+"
        rows.append({"bucket": label, "min_words": low, "max_words": high,
                     "sentences": len(idx), "bleu": round(score.score, 2)})
    return rows

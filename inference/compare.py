"""Every model on one sentence: the model half of the comparisons the app shows.

`translate_all` / `align_all` run every shipped model through the facade (`Translator`), so the
app makes one call and gets one `Translation` per model. `align_all` forces every model to
produce the same target, so their matrices share both axes and can be compared cell by cell.
`attention_info` and `target_for` answer what the app needs to know about each model.

The numbers on how alike alignments are (row entropy, argmax agreement, Jensen-Shannon
divergence, `rank_alignments`, `similarity`) are pure numpy and live in `inference.metrics`,
which needs no torch; they are re-exported here so `inference.compare.X` keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from inference.metrics import (  # noqa: F401 (re-exported: the app imports them from here)
    LN2,
    argmax_agreement,
    compare_to,
    head_scores,
    js_divergence,
    normalise_rows,
    rank_alignments,
    row_entropy,
    similarity,
)
from inference.translation import Translation
from inference.translator import InputError, Translator, clean_text

# A sentence of 100 pieces (the facade's limit) never needs more characters than this; longer
# pastes are cut before cleaning so a huge paste costs nothing.
MAX_INPUT_CHARS = 10_000


# ---- every model at once ---------------------------------------------------------------------
def _cut(text: str) -> tuple[str, str]:
    if not isinstance(text, str):
        raise InputError("The input must be text.")
    if len(text) <= MAX_INPUT_CHARS:
        return text, ""
    return text[:MAX_INPUT_CHARS], (f"The input has {len(text):,} characters; only the first "
                                    f"{MAX_INPUT_CHARS:,} were read.")


def translate_all(translators: Mapping[str, Translator], text: str,
                  beam: int = 1) -> tuple[dict[str, Translation], list[str]]:
    """Every model's translation of `text` (greedy when beam == 1), in the given order, and the
    notices to show (e.g. that a long input was cut). Raises `InputError` for unusable input."""
    text, cut_notice = _cut(text)
    results = {name: t.translate(text, beam=int(beam)) for name, t in translators.items()}
    notices = [cut_notice] if cut_notice else []
    notices += sorted({r.notice for r in results.values() if r.notice})
    return results, notices


def align_all(translators: Mapping[str, Translator], source: str,
              target: str) -> dict[str, Translation]:
    """Every model forced to produce exactly `target` from `source` (same axes for all)."""
    source, _ = _cut(source)
    target, _ = _cut(target)
    return {name: t.align(source, target) for name, t in translators.items()}


# ---- what the app needs to know about each model ----------------------------------------------
PROBE = "A dog runs."


def attention_info(translator: Translator) -> dict:
    """{"has_attention", "layers", "heads", "kind_layers"} of a model, read from one short
    translation (so the app can build a layer and head picker without knowing model internals).

    layers and heads are those of the cross-attention, 0 for a model with one attention (a GRU,
    whose (1, 1, T, S) stack has no layer or head to pick) or none; kind_layers maps every kind
    of a multi-head model ("cross", "decoder_self", "encoder_self") to its number of layers,
    which differ when the encoder is deeper than the decoder."""
    probe = translator.translate(PROBE)
    stacks = probe.alignments if probe.multi_head else {}  # (L, H, R, C) each
    kind_layers = {kind: int(np.shape(m)[0]) for kind, m in stacks.items()}
    layers, heads = np.shape(stacks["cross"])[:2] if "cross" in stacks else (0, 0)
    return {"has_attention": probe.has_attention, "layers": int(layers), "heads": int(heads),
            "kind_layers": kind_layers}


def target_for(translators: Mapping[str, Translator], choice: str, source: str,
               translations: Mapping[str, Translation] | None = None) -> str:
    """The German sentence every model is to write: model `choice`'s translation of `source`,
    reused from `translations` when it is of the same sentence, else translated now."""
    if choice not in translators:
        raise InputError(f"There is no shipped model called {choice!r}.")
    current = (translations or {}).get(choice)
    try:
        same = current is not None and current.source == clean_text(_cut(source)[0])
    except InputError:
        same = False
    if not same:
        current = translators[choice].translate(_cut(source)[0])
    if not current.text.strip():
        raise InputError(f"{translators[choice].label} wrote nothing for this sentence; pick "
                         "another target or type your own.")
    return current.text

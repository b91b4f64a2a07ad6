"""The statistical aligner in the app: what it says, and how close each model's attention comes.

    aligner, why_not = reference.load_aligner(checkpoints)  # None and one sentence without it
    pair = reference.word_links(aligner, source, target)     # WordLinks: eflomal's word links
    reference.attention_aer(word_matrix, pair)               # one attention's AER on this pair
    results = reference.alignment_results(folder)            # split -> its eval's "alignment"
    reference.cleanest(results_by_model, among, looks)       # the lowest val AER, else by role

**The aligner.** `training.evaluate` measures attention against eflomal's word alignment
(`inference.aligner`). The app ships what eflomal learnt on Multi30K's train split as one file
of priors, `checkpoints/aligner-priors.txt.gz` (a file, not a folder: every folder there is a
model), and aligns each new pair with it in a few hundredths of a second. Without the file, or
without eflomal (it builds from source), the app still runs and says why there is no aligner.

**The scores.** Per pair, as in `training.evaluate`: each target word is linked to the source
word its word-level attention points at most (`inference.metrics.argmax_links`, "</s>" left
out), and the links are scored against eflomal's by alignment error rate (0 = the same links,
1 = none in common). Per model, the scores `training.evaluate` wrote under "alignment" in the
folder's eval files (eval/SPLIT-beamN.json, or eval/SPLIT-alignment.json from
`--alignment-only`).

**Defaults by the numbers.** The model whose attention aligns words best on the val split, by
AER, is the one the app opens on (the reference alignment, the target, the Training tab's model):
`cleanest`. A test split never chooses. Without val results, or on a tie, the catalogue's role
decides (`catalogue.reference`: the first with additive attention).

Numpy and the torch-free parts of `inference` only: no torch, no gradio.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference import aligner, catalogue
from inference.catalogue import Look
from inference.metrics import aer, argmax_links
from inference.translation import Translation, merge_to_words

log = logging.getLogger(__name__)

PRIORS = "aligner-priors.txt.gz"  # in the checkpoints folder, beside the model folders
NAME = "eflomal (statistical aligner)"
# The splits whose "alignment" result a model card shows, the first found: val, then the tests.
SPLITS = ("val", "test_2016_flickr", "test_2017_flickr")
CHOOSING_SPLIT = "val"  # the one split that may choose a default
PROBE = ("A dog runs.", "Ein Hund rennt.")  # aligned once at load: eflomal really runs


# ---- the aligner ---------------------------------------------------------------------------------
def load_aligner(root: str | Path) -> tuple[aligner.PairAligner | None, str]:
    """The aligner with the priors shipped in the checkpoints folder `root`, and "" ; or None
    and one sentence saying why not (no priors file, eflomal missing, a broken file)."""
    path = Path(root) / PRIORS
    if not path.is_file():
        return None, (f"No statistical aligner: {PRIORS} is not in {Path(root).name or root}/ "
                      "(copy the priors.txt.gz of a run of inference.aligner.align_corpus "
                      "there).")
    if not aligner.available():
        return None, ("No statistical aligner: eflomal is not installed (pip install "
                      "eflomal==2.0.0; it builds from source with a C compiler).")
    try:
        loaded = aligner.PairAligner.load(path)
        if not loaded.lexical:
            return None, f"No statistical aligner: {PRIORS} holds no word priors."
        loaded.align(*PROBE)
    except (OSError, EOFError, ValueError, aligner.AlignerError) as err:
        return None, f"No statistical aligner: {PRIORS} cannot be used ({err})."
    except Exception as err:  # eflomal's own binary failing: the app runs on without it
        log.warning("the statistical aligner failed on a test pair: %s", err)
        return None, "No statistical aligner: eflomal failed on a test pair."
    return loaded, ""


@dataclass(frozen=True)
class WordLinks:
    """eflomal's links between the whitespace words of one (source, target) pair."""

    links: frozenset[tuple[int, int]]  # (source word, target word), 0-based
    source_words: tuple[str, ...]
    target_words: tuple[str, ...]

    @property
    def matrix(self) -> np.ndarray:
        """(T words, S words): row t spreads 1 over the source words target word t is linked
        to; an unlinked target word's row is all zero (`inference.aligner.link_matrix`)."""
        return aligner.link_matrix(self.links, len(self.source_words), len(self.target_words))

    @property
    def linked_targets(self) -> int:
        """How many target words have at least one link."""
        return len({t for _, t in self.links})


def word_links(pair_aligner: aligner.PairAligner, source: str, target: str) -> WordLinks:
    """The aligner's links for one pair, on the words the models' word views use."""
    links = pair_aligner.align(source, target)
    return WordLinks(frozenset(links), tuple(aligner.words(source)),
                     tuple(aligner.words(target)))


# ---- one pair: attention against the aligner -------------------------------------------------
def fits(word_matrix: np.ndarray, pair: WordLinks) -> bool:
    """Whether a word-level (T, S) attention is on the pair's words plus "</s>" each way."""
    return np.shape(word_matrix)[-2:] == (len(pair.target_words) + 1,
                                          len(pair.source_words) + 1)


def attention_aer(word_matrix: np.ndarray, pair: WordLinks) -> float | None:
    """AER of one word-level (T, S) attention's argmax links against the aligner's, or None
    when the matrix is not on the pair's words (a sentence cut to the length limit)."""
    if not fits(word_matrix, pair):
        return None
    return aer(argmax_links(word_matrix), pair.links)


def head_aers(word_stack: np.ndarray, pair: WordLinks) -> np.ndarray | None:
    """(L, H) AER of every head of a word-level (L, H, T, S) attention stack (`merge_to_words`
    of a forced alignment's cross-attention) against the aligner's links, or None when it is
    not on the pair's words."""
    word_stack = np.asarray(word_stack)
    if word_stack.ndim != 4 or not fits(word_stack, pair):
        return None
    L, H = word_stack.shape[:2]
    return np.array([[aer(argmax_links(word_stack[layer, head]), pair.links)
                      for head in range(H)] for layer in range(L)])


def word_stack(translation: Translation) -> np.ndarray | None:
    """A forced alignment's cross-attention merged to words, (L, H, T words, S words), or None
    for a model without attention."""
    stack = translation.alignments.get("cross")
    if stack is None:
        return None
    return merge_to_words(np.asarray(stack, dtype=np.float64), translation.target_pieces,
                          translation.source_pieces)


# ---- a model folder's alignment quality ------------------------------------------------------
def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _usable(result) -> bool:
    """An "alignment" result with an AER from 0 to 1 (the shares, when given, numbers too)."""
    return (isinstance(result, dict) and _number(result.get("aer")) and 0 <= result["aer"] <= 1
            and all(_number(result[k]) for k in ("eos_share", "full_stop_share") if k in result))


def alignment_results(folder: str | Path | None, splits: Sequence[str] = SPLITS
                      ) -> dict[str, dict]:
    """split -> the "alignment" result of the folder's eval files on that split (within a split,
    file names in reverse order: beam5 before beam1 before -alignment); splits without a usable
    one are left out, so a folder without eval files gives {}."""
    found = {}
    for split in splits:
        paths = sorted((Path(folder) / "eval").glob(f"{split}-*.json"), reverse=True) \
            if folder is not None else []
        for path in paths:
            try:
                result = json.loads(path.read_text(encoding="utf-8")).get("alignment")
            except (OSError, UnicodeDecodeError, ValueError, AttributeError):
                continue
            if _usable(result):
                found[split] = result
                break
    return found


def headline(results: Mapping[str, dict]) -> tuple[str, dict] | None:
    """(split, result) a model card shows: val first, then the test sets; None without one."""
    return next(((s, results[s]) for s in SPLITS if s in results), None)


def val_aer(results: Mapping[str, dict] | None) -> float | None:
    """The AER on the val split (a Transformer's: the mean of all its heads), or None."""
    result = (results or {}).get(CHOOSING_SPLIT)
    return float(result["aer"]) if _usable(result) else None


def cleanest(results: Mapping[str, Mapping[str, dict]], among: list[str],
             looks: dict[str, Look]) -> str | None:
    """The model of `among` whose attention aligns words best: the lowest val AER in
    `results` (name -> `alignment_results`). Models without a val result rank after those with
    one; a tie, or no val result at all, is decided by role (`catalogue.reference`). None when
    `among` is empty."""
    scored = {n: a for n in among if (a := val_aer(results.get(n))) is not None}
    if scored:
        best = min(scored.values())
        return catalogue.reference(looks, [n for n in among if scored.get(n) == best])
    return catalogue.reference(looks, among)

"""A word-alignment reference from a statistical aligner (eflomal), to measure attention against.

    corpus = align_corpus({"train": (en, de), "val": (val_en, val_de)})   # once, then cached
    corpus.links("val")[0]        # {(0, 0), (1, 1), ...}: word links of the first val pair
    pair = corpus.pair_aligner()  # or PairAligner.load(path) on a saved priors file
    pair.align("A dog runs.", "Ein Hund rennt.")   # one new pair in about 0.05 s

A link is (source word, target word), 0-based, in the order of Pharaoh's "i-j" lines; the
attention side (`inference.metrics.argmax_links`) uses the same order.

**Words.** The unit on both sides is the whitespace-separated word of the cleaned sentence
(`words`): exactly the groups `inference.translation.word_groups` makes of the model's pieces,
since sentencepiece never joins pieces across a space (on Multi30K every sentence's piece groups
are its whitespace words). So "beach." is one word, as it is one column of the word-level
attention. eflomal itself sees finer tokens (`tokens`): each word lowercased and its
punctuation split off ("beach." -> "beach", "."), so that "beach" and "beach." share their
statistics; its links are mapped back to the words that own the tokens. (So two sentences
that both end in "." get a link between their last words, as the attention's last word columns
hold the full stops too.)

**Symmetrisation.** eflomal aligns both ways: forward, every target token to at most one
source token; reverse, every source token to at most one target token. `symmetrise` joins them
by grow-diag-final-and (Koehn et al., 2005): start from the links both directions agree on,
add neighbouring links that either direction has where they align a so-far unaligned token,
then any remaining one-direction link between two unaligned tokens. That is the reference
(sure = possible) that `inference.metrics.aer` scores against.

**Training and new pairs.** eflomal has no separate training step: it samples the alignment
of everything it is given at once, so the evaluation splits are aligned together with the train
split in one run (12 s on an idle core for Multi30K's 32k pairs, 50 s on a busy one), cached
under `.cache/aligner/` by a hash of the input. What it learnt can be carried to new pairs as
Dirichlet priors, counts of the links it made in the train split (`write_priors`, about 300 KB
gzipped); with them eflomal aligns one new pair on its own in about 0.05 s (`PairAligner`),
where without them one pair alone would have no statistics to go on (its links are then close
to random).

Imports numpy and eflomal only (eflomal when first used), no torch.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from inference.errors import InputError
from inference.translation import clean_text

log = logging.getLogger(__name__)

Link = tuple[int, int]  # (source word, target word)
CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache" / "aligner"
TOKEN = re.compile(r"\w+|[^\w\s]")  # a run of letters and digits, or one other character
METHODS = ("grow-diag-final-and", "intersection", "union", "forward", "reverse")
VERSION = 1  # of the tokenisation and files here: part of the cache key


def describe(method: str = "grow-diag-final-and") -> str:
    """One line naming the reference, for results files and tables."""
    try:
        eflomal = f"eflomal {version('eflomal')}"
    except PackageNotFoundError:
        eflomal = "eflomal"
    return (f"{eflomal}, aligned with the train split; lowercased, punctuation split off, "
            f"{method}, links between whitespace words")


# ---- words and eflomal's tokens ---------------------------------------------------------------
def words(text: str) -> list[str]:
    """The words of a sentence as the models' word views see them: the whitespace-separated
    parts of the text cleaned as the facade cleans it (`clean_text`: control and format
    characters count as spaces)."""
    return clean_text(text).split()


def tokens(sentence_words: Sequence[str]) -> tuple[list[str], list[int]]:
    """eflomal's tokens of a sentence's words, lowercased with punctuation split off, and the
    index of the word each comes from: ["A", "dog."] -> (["a", "dog", "."], [0, 1, 1])."""
    out, owner = [], []
    for w, word in enumerate(sentence_words):
        parts = TOKEN.findall(word.lower())
        out += parts
        owner += [w] * len(parts)
    return out, owner


def parse_links(line: str) -> set[Link]:
    """Pharaoh links "0-0 1-2" -> {(0, 0), (1, 2)}."""
    return {(int(i), int(j)) for i, j in (pair.split("-") for pair in line.split())}


# ---- symmetrisation ----------------------------------------------------------------------------
NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def symmetrise(forward: set[Link], reverse: set[Link],
               method: str = "grow-diag-final-and") -> set[Link]:
    """One set of links from eflomal's two directions (see the module's docstring)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
    if method in ("forward", "reverse"):
        return set(forward if method == "forward" else reverse)
    union = forward | reverse
    if method == "union":
        return union
    links = forward & reverse
    if method == "intersection":
        return links
    aligned_src, aligned_tgt = {i for i, _ in links}, {j for _, j in links}

    def add(i: int, j: int) -> None:
        links.add((i, j))
        aligned_src.add(i)
        aligned_tgt.add(j)

    grown = True
    while grown:  # grow-diag: neighbours (diagonals too) of links already in
        grown = False
        for i, j in sorted(links):
            for di, dj in NEIGHBOURS:
                link = (i + di, j + dj)
                if link in union and link not in links and (
                        link[0] not in aligned_src or link[1] not in aligned_tgt):
                    add(*link)
                    grown = True
    for direction in (forward, reverse):  # final-and: links between two unaligned tokens
        for i, j in sorted(direction):
            if i not in aligned_src and j not in aligned_tgt:
                add(i, j)
    return links


def link_matrix(links: Iterable[Link], n_source: int, n_target: int) -> np.ndarray:
    """Links as a (T, S) matrix a heatmap can draw: row t spreads weight 1 evenly over the
    source words target word t is linked to; an unlinked target word's row is all zero."""
    matrix = np.zeros((n_target, n_source))
    for i, j in links:
        matrix[j, i] = 1.0
    sums = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, sums, out=np.zeros_like(matrix), where=sums > 0)


def to_words(links: Iterable[Link], src_owner: Sequence[int], tgt_owner: Sequence[int]
             ) -> set[Link]:
    """Token links -> links between the words that own the tokens."""
    return {(src_owner[i], tgt_owner[j]) for i, j in links}


# ---- eflomal on a corpus ----------------------------------------------------------------------
class AlignerError(RuntimeError):
    """The reference aligner cannot run; the message says what to install."""


def available() -> bool:
    """Whether eflomal is installed (it is an optional part: only evaluation needs it)."""
    try:
        _eflomal()
    except AlignerError:
        return False
    return True


def _eflomal():
    try:
        import eflomal
    except ImportError as err:
        raise AlignerError("The word aligner eflomal is not installed: pip install "
                           "eflomal==2.0.0 (it builds from source with a C compiler).") from err
    return eflomal


def _run_eflomal(src: Sequence[str], tgt: Sequence[str], folder: Path,
                 priors: Iterable[str] | None = None, rel_iterations: float = 1.0
                 ) -> tuple[list[str], list[str]]:
    """eflomal on token lines ("a dog ."); its forward and reverse link lines."""
    fwd, rev = folder / "forward.txt", folder / "reverse.txt"
    _eflomal().Aligner(rel_iterations=rel_iterations).align(
        list(src), list(tgt), links_filename_fwd=str(fwd), links_filename_rev=str(rev),
        priors_input=None if priors is None else list(priors))
    return fwd.read_text().splitlines(), rev.read_text().splitlines()


@dataclass
class CorpusAlignment:
    """eflomal's alignment of a corpus of named parts (splits), read from its cache folder."""

    folder: Path
    parts: dict[str, tuple[int, int]]  # name -> (first line, end line) in the joint run
    src_words: list[list[str]]
    tgt_words: list[list[str]]
    forward: list[str]  # eflomal's link lines, token level, one per pair
    reverse: list[str]
    seconds: float  # eflomal's time when the cache was made

    def _range(self, part: str) -> range:
        if part not in self.parts:
            raise KeyError(f"The alignment has no part {part!r} (it has {', '.join(self.parts)}).")
        return range(*self.parts[part])

    def links(self, part: str, method: str = "grow-diag-final-and") -> list[set[Link]]:
        """Word links of every pair in `part`, symmetrised by `method`."""
        out = []
        for n in self._range(part):
            _, src_owner = tokens(self.src_words[n])
            _, tgt_owner = tokens(self.tgt_words[n])
            out.append(to_words(symmetrise(parse_links(self.forward[n]),
                                           parse_links(self.reverse[n]), method),
                                src_owner, tgt_owner))
        return out

    @property
    def priors_path(self) -> Path:
        return self.folder / "priors.txt.gz"

    def pair_aligner(self) -> PairAligner:
        """A PairAligner with the priors learnt on the train part."""
        if not self.priors_path.exists():
            raise AlignerError("This alignment has no priors: align a corpus with a train "
                               "part to get them.")
        return PairAligner.load(self.priors_path)


def _write(path: Path, text: str) -> None:
    """Write whole or not at all, so a second process reading the cache never sees half."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _key(parts: Mapping[str, tuple[Sequence[str], Sequence[str]]], rel_iterations: float
         ) -> str:
    """A hash of the lines, their parts' names, the options, eflomal's version and ours."""
    _eflomal()
    digest = hashlib.sha256(json.dumps({"eflomal": version("eflomal"), "version": VERSION,
                                        "parts": list(parts), "iterations": rel_iterations
                                        }).encode())
    for src, tgt in parts.values():
        for line in (*src, "\0", *tgt, "\0"):
            digest.update(line.encode("utf-8"))
            digest.update(b"\n")
    return digest.hexdigest()[:16]


def align_corpus(parts: Mapping[str, tuple[Sequence[str], Sequence[str]]],
                 cache_dir: str | Path | None = None, prior_part: str = "train",
                 rel_iterations: float = 1.0) -> CorpusAlignment:
    """Align all `parts` (name -> (source lines, target lines)) in one eflomal run, or read the
    cached run on exactly these lines (in `cache_dir`, by default CACHE_DIR). Writes the priors
    of `prior_part` (the train split) beside the links, for `PairAligner`. `rel_iterations`
    scales eflomal's sampling iterations (5,000 / sqrt(pairs) per model at 1): less for a quick
    test on a few pairs."""
    folder = Path(cache_dir or CACHE_DIR) / f"eflomal-{_key(parts, rel_iterations)}"
    spans, start = {}, 0
    src_words, tgt_words = [], []
    for name, (src, tgt) in parts.items():
        if len(src) != len(tgt):
            raise ValueError(f"The part {name!r} has {len(src)} source and {len(tgt)} target "
                             "lines: they must be line-aligned.")
        spans[name] = (start, start + len(src))
        start += len(src)
        src_words += [words(line) for line in src]
        tgt_words += [words(line) for line in tgt]
    meta_path = folder / "meta.json"
    if not meta_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        src_tokens = [" ".join(tokens(w)[0]) for w in src_words]
        tgt_tokens = [" ".join(tokens(w)[0]) for w in tgt_words]
        began = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            forward, reverse = _run_eflomal(src_tokens, tgt_tokens, Path(tmp),
                                            rel_iterations=rel_iterations)
        seconds = time.perf_counter() - began
        if len(forward) != start or len(reverse) != start:
            raise AlignerError(f"eflomal returned {len(forward)} links lines for {start} pairs.")
        if prior_part in spans:
            write_priors(src_tokens[slice(*spans[prior_part])],
                         tgt_tokens[slice(*spans[prior_part])],
                         forward[slice(*spans[prior_part])], reverse[slice(*spans[prior_part])],
                         folder / "priors.txt.gz")
        _write(folder / "forward.txt", "\n".join(forward) + "\n")
        _write(folder / "reverse.txt", "\n".join(reverse) + "\n")
        # written last: a folder with meta.json is complete
        _write(meta_path, json.dumps({"parts": spans, "seconds": round(seconds, 1)}))
        log.info("eflomal aligned %s pairs in %.1f s: %s", f"{start:,}", seconds, folder)
    meta = json.loads(meta_path.read_text())
    return CorpusAlignment(folder, {k: tuple(v) for k, v in meta["parts"].items()}, src_words,
                           tgt_words, (folder / "forward.txt").read_text().splitlines(),
                           (folder / "reverse.txt").read_text().splitlines(), meta["seconds"])


# ---- priors, and one new pair ---------------------------------------------------------------
def write_priors(src_tokens: Sequence[str], tgt_tokens: Sequence[str], forward: Sequence[str],
                 reverse: Sequence[str], path: str | Path) -> Path:
    """eflomal's priors (link, jump and fertility counts) from an aligned corpus, as gzipped
    text (eflomal's priors format: LEX, HMMF, HMMR, FERF and FERR lines)."""
    eflomal = _eflomal()
    path = Path(path)
    counts = eflomal.calculate_priors(src_tokens, tgt_tokens, forward, reverse)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as out:
        eflomal.write_priors(out, *counts)
    tmp.replace(path)
    return path


class PairAligner:
    """Aligns one sentence pair at a time with priors learnt on a corpus (`write_priors`).

    Only the prior lines that concern the pair's tokens go to eflomal, so a pair takes about
    0.05 s on one core (most of it eflomal's own sampling) however large the corpus was. On
    Multi30K's val its links matched 88% of the joint run's (precision), and it found 93% of
    them (recall).
    """

    def __init__(self, lines: Iterable[str]):
        self.lexical: dict[str, list[tuple[str, str]]] = defaultdict(list)  # src -> (tgt, line)
        self.src_fertility: dict[str, list[str]] = defaultdict(list)
        self.tgt_fertility: dict[str, list[str]] = defaultdict(list)
        self.jumps: list[str] = []
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "LEX":
                self.lexical[fields[1]].append((fields[2], line))
            elif fields[0] == "FERF":
                self.src_fertility[fields[1]].append(line)
            elif fields[0] == "FERR":
                self.tgt_fertility[fields[1]].append(line)
            elif fields[0] in ("HMMF", "HMMR"):
                self.jumps.append(line)

    @classmethod
    def load(cls, path: str | Path) -> PairAligner:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return cls(f.read().splitlines())

    def priors(self, src: Sequence[str], tgt: Sequence[str]) -> list[str]:
        """The prior lines that concern these source and target tokens."""
        tgt_set = set(tgt)
        lines = [line for s in set(src) for t, line in self.lexical.get(s, ()) if t in tgt_set]
        lines += [line for s in set(src) for line in self.src_fertility.get(s, ())]
        lines += [line for t in tgt_set for line in self.tgt_fertility.get(t, ())]
        return lines + self.jumps

    def align(self, source: str, target: str, method: str = "grow-diag-final-and",
              rel_iterations: float = 0.1) -> set[Link]:
        """Word links (source word, target word) of one pair (words as `words` makes them).

        eflomal's iterations scale as 1/sqrt(pairs): 5,000 times `rel_iterations` for one pair.
        500 (0.1) agreed with the joint run on Multi30K's val as well as 5,000 did, in a tenth
        of the time.
        """
        src, src_owner = tokens(words(source))
        tgt, tgt_owner = tokens(words(target))
        if not src or not tgt:
            raise InputError("Give both a source and a target sentence to align: one is empty.")
        with tempfile.TemporaryDirectory() as tmp:
            forward, reverse = _run_eflomal([" ".join(src)], [" ".join(tgt)], Path(tmp),
                                            self.priors(src, tgt), rel_iterations)
        return to_words(symmetrise(parse_links(forward[0]), parse_links(reverse[0]), method),
                        src_owner, tgt_owner)

"""Multi30K as parallel text: a local folder of line-aligned files, or a Hugging Face Hub dataset.

Both roads end in the same place: a `datasets.DatasetDict` whose splits have two string columns,
`src` and `tgt`, where row N of `src` translates row N of `tgt`. Everything downstream
(tokenizer, batching, evaluation) reads only that shape.

A local folder is laid out like the public multi30k/dataset repository (data/task1/raw):
`train.en`, `train.de`, `val.en`, ... one sentence a line. On the Hub the same corpus is
published as e.g. `bentrevett/multi30k`, with columns `en` and `de` (or a `translation` dict)
and splits named `train`, `validation`, `test`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import datasets

log = logging.getLogger(__name__)

LANGUAGES = ("en", "de", "fr", "cs")
SPLITS = ("train", "val", "test_2016_flickr", "test_2017_flickr")
DEFAULT_LOCAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "multi30k"
DEFAULT_HUB = "bentrevett/multi30k"
# Hub split names -> ours. bentrevett/multi30k's "test" is the 2016 Flickr test set.
HUB_SPLITS = {"train": "train", "validation": "val", "val": "val", "test": "test_2016_flickr",
              "test_2016_flickr": "test_2016_flickr", "test_2017_flickr": "test_2017_flickr"}


class CorpusError(ValueError):
    """The corpus cannot be read as a parallel corpus; the message says why and what to do."""


def resolve_corpus(corpus: str = "auto") -> str:
    """`auto` means: $MULTI30K_DIR when it is set (and then only that folder), else the shared
    local copy if present, else the Hub."""
    if corpus != "auto":
        return corpus
    chosen = os.environ.get("MULTI30K_DIR")
    if chosen:
        if not (Path(chosen).is_dir() and any(Path(chosen).glob("train.*"))):
            raise CorpusError(f"MULTI30K_DIR is {chosen}, but that folder has no Multi30K files "
                              "(train.en, train.de, val.en, ...): point it at the raw files, "
                              "or unset it to use ../shared/data/multi30k or the Hub.")
        return chosen
    if DEFAULT_LOCAL.is_dir():
        return str(DEFAULT_LOCAL)
    return DEFAULT_HUB


def load_pair(src_lang: str, tgt_lang: str, corpus: str = "auto") -> datasets.DatasetDict:
    """Load one language pair, either direction, with columns `src` and `tgt` in every split.

    `corpus` is a local folder or a Hub dataset id (see `resolve_corpus`). Evaluation splits
    come back exactly as stored: no line is dropped or moved.
    """
    for lang in (src_lang, tgt_lang):
        if lang not in LANGUAGES:
            raise CorpusError(f"Unknown language {lang!r}: Multi30K has {', '.join(LANGUAGES)}.")
    if src_lang == tgt_lang:
        raise CorpusError(f"Source and target are both {src_lang!r}: pick two different languages.")
    corpus = resolve_corpus(corpus)
    if Path(corpus).is_dir() and any(Path(corpus).glob(f"*.{src_lang}")):
        pairs = _load_local(Path(corpus), src_lang, tgt_lang)
    else:
        pairs = _load_hub(corpus, src_lang, tgt_lang)
    log.info("Loaded %s-%s from %s: %s", src_lang, tgt_lang, corpus,
             ", ".join(f"{name} {len(ds):,}" for name, ds in pairs.items()))
    return pairs


def read_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file, without their line ends.

    Only "\n" ends a line, so a stray "\r" inside a sentence does not split it into two.
    CorpusError, naming the file and the line, for a file that is not UTF-8.
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise CorpusError(f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} on line "
                          f"{line}): convert it to UTF-8, e.g. iconv -t utf-8.") from err
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the end of the last line, not an empty line after it
    return [line.rstrip("\r") for line in lines]


def _load_local(folder: Path, src_lang: str, tgt_lang: str) -> datasets.DatasetDict:
    splits = {}
    for split in SPLITS:
        src_path, tgt_path = folder / f"{split}.{src_lang}", folder / f"{split}.{tgt_lang}"
        if not (src_path.exists() and tgt_path.exists()):
            continue  # test_2017_flickr has no Czech side
        src, tgt = read_lines(src_path), read_lines(tgt_path)
        for path, lines, other in ((src_path, src, tgt_path), (tgt_path, tgt, src_path)):
            if not any(line.strip() for line in lines):
                raise CorpusError(f"{path} is empty or holds only blank lines: give it one "
                                  f"sentence a line, line-aligned with {other}.")
        if len(src) != len(tgt):
            raise CorpusError(
                f"{src_path} has {len(src):,} lines but {tgt_path} has {len(tgt):,}: "
                "the files must be line-aligned (line N translates line N)."
            )
        splits[split] = datasets.Dataset.from_dict({"src": src, "tgt": tgt})
    if "train" not in splits:
        raise CorpusError(f"No train.{src_lang} and train.{tgt_lang} in {folder}.")
    return datasets.DatasetDict(splits)


def _load_hub(name: str, src_lang: str, tgt_lang: str) -> datasets.DatasetDict:
    try:
        raw = datasets.load_dataset(name)
    except Exception as err:  # offline, unknown id, no network: one sentence, then the cause
        raise CorpusError(
            f"Could not load the corpus {name!r} ({type(err).__name__}: {err}). Give a local "
            "folder of Multi30K files (--data.corpus PATH) or a reachable Hub dataset id."
        ) from err
    splits = {}
    for hub_split, ds in raw.items():
        split = HUB_SPLITS.get(hub_split)
        if split is None:
            continue
        if "translation" in ds.column_names:
            rows = list(ds["translation"])
            src, tgt = [r.get(src_lang) for r in rows], [r.get(tgt_lang) for r in rows]
        elif src_lang in ds.column_names and tgt_lang in ds.column_names:
            src, tgt = list(ds[src_lang]), list(ds[tgt_lang])
        else:
            raise CorpusError(f"{name} split {hub_split!r} has columns {ds.column_names}, "
                              f"not {src_lang!r} and {tgt_lang!r} (nor a 'translation' column).")
        if any(s is None for s in src) or any(t is None for t in tgt):
            raise CorpusError(f"{name} split {hub_split!r} lacks {src_lang!r} or {tgt_lang!r}.")
        if not any(s.strip() and t.strip() for s, t in zip(src, tgt)):
            raise CorpusError(f"{name} split {hub_split!r} has no sentence pairs: every row is "
                              "empty on one side; use another corpus.")
        splits[split] = datasets.Dataset.from_dict({"src": src, "tgt": tgt})
    if "train" not in splits:
        raise CorpusError(f"{name} has no train split (it has {list(raw)}).")
    return datasets.DatasetDict(splits)

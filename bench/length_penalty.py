"""Beam search's length penalty, chosen on val: BLEU, chrF and output length for each value.

    python bench/length_penalty.py [--models transformer gru_luong] [--penalties 0.6 1.0 1.4]
                                   [--beam 5] [--threads 2] [--corpus DIR] [--limit N]

Beam search ranks a hypothesis by (sum of log-probabilities) / len ** length_penalty: 0 ranks by
the raw sum, which every extra piece lowers, so short translations win; 1 by the mean
log-probability; above 1 longer ones are favoured. BLEU's brevity penalty punishes output
shorter than the references, so the best value depends on how long a model's translations come
out. Choose it here on val, never on a test set, then export with `--length-penalty` so
config.json keeps it (the app, `training.translate` and `training.evaluate` read it from there).

Prints a table (the best BLEU per model marked) and writes bench/results/length_penalty.json.
Needs the corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.corpus import CorpusError  # noqa: E402 (bench scripts stand alone)
from inference import CheckpointError, Translator  # noqa: E402
from training.evaluate import evaluate  # noqa: E402
from training.translate import length_penalty  # noqa: E402

PENALTIES = (0.6, 0.8, 1.0, 1.2, 1.4, 1.6)


def sweep(translator: Translator, penalties, split: str, beam: int, corpus: str = "auto",
          limit: int | None = None) -> list:
    rows, own = [], translator.length_penalty
    try:
        for value in penalties:
            translator.length_penalty = value
            result = evaluate(translator, split, beam, corpus, limit=limit)
            rows.append({"length_penalty": value, **{k: result[k] for k in (
                "bleu", "chrf", "length_ratio", "sentences", "seconds")}})
    finally:
        translator.length_penalty = own
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument("--models", nargs="+", default=["transformer", "gru_luong",
                                                        "gru_bahdanau", "gru_noattn"])
    parser.add_argument("--penalties", nargs="+", type=length_penalty, default=list(PENALTIES))
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--split", default="val", choices=("val",),
                        help="only val: a value chosen on a test set would be tuned on it")
    parser.add_argument("--corpus", default="auto", help="local Multi30K folder or Hub id")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "length_penalty.json"))
    args = parser.parse_args(argv)
    if args.beam < 2:
        parser.error("the length penalty only matters for a beam of 2 or more")
    torch.set_num_threads(args.threads)
    results = {}
    try:
        for name in args.models:
            translator = Translator.load(Path(args.checkpoints) / name)
            results[name] = {"own": translator.length_penalty,
                             "rows": sweep(translator, args.penalties, args.split, args.beam,
                                           args.corpus, args.limit)}
    except (CheckpointError, CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"\n{args.split}, beam {args.beam}: BLEU / chrF / output length ÷ reference length")
    print("| model | length penalty | BLEU | chrF | length ratio | |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, entry in results.items():
        best = max(entry["rows"], key=lambda r: r["bleu"])
        entry["best"] = best["length_penalty"]
        for row in entry["rows"]:
            marks = [m for m, on in (("best", row is best),
                                     ("shipped", row["length_penalty"] == entry["own"])) if on]
            print(f"| {name} | {row['length_penalty']:.1f} | {row['bleu']:.2f} | "
                  f"{row['chrf']:.2f} | {row['length_ratio']:.3f} | {', '.join(marks)} |")
    Path(args.out).write_text(json.dumps({"split": args.split, "beam": args.beam,
                                          "threads": args.threads, "models": results},
                                         indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

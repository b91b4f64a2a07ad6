"""Is one model really better than another? sacreBLEU's paired bootstrap on their translations.

    python bench/significance.py --baseline checkpoints/gru_bahdanau \
        --systems checkpoints/gru_luong checkpoints/transformer [--splits val test_2016_flickr]
        [--beam 5] [--resamples 1000] [--threads 2] [--corpus DIR] [--limit N]

Each folder translates each split with its own length penalty (as `training.evaluate` does);
then, per split, sacreBLEU's paired bootstrap resampling (Koehn, 2004) draws the same sentences
with replacement for the baseline and each system, `--resamples` times, and asks how often the
difference in BLEU and in chrF could arise by chance (p; below 0.05 is the usual bar). It
prints BLEU and chrF with the bootstrap's mean and 95% confidence interval, the difference from
the baseline and its p, and writes bench/results/significance.json. On a split of 1,000
sentences a BLEU difference of a few tenths is usually within the noise: two runs of the same
recipe can differ by that much. The seed is sacreBLEU's (SACREBLEU_SEED, 12345), so a rerun
prints the same p. Needs the corpus; a folder compared with itself has p = 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data import CorpusError, load_pair  # noqa: E402 (bench scripts stand alone)
from inference import CheckpointError, Translator  # noqa: E402
from training.evaluate import evaluate  # noqa: E402

METRICS = (("bleu", "BLEU"), ("chrf", "chrF2"))  # our key, sacreBLEU's name for the column


def paired_bootstrap(named_hypotheses: list[tuple[str, list[str]]], references: list[str],
                     resamples: int = 1000) -> list[dict]:
    """One row per system, the first the baseline: each metric's score, bootstrap mean and 95%
    interval, and (for all but the baseline) the paired test's p against the baseline."""
    if len(named_hypotheses) < 2:
        raise ValueError("a paired test needs a baseline and at least one system")
    test = PairedTest(named_hypotheses, {"BLEU": BLEU(), "chrF": CHRF()}, [references],
                      test_type="bs", n_samples=resamples)
    _, scores = test()
    rows = []
    for i, (name, hypotheses) in enumerate(named_hypotheses):
        row = {"system": name}
        for key, column in METRICS:
            result = scores[column][i]
            row[key] = round(float(result.score), 2)  # sacreBLEU hands back numpy floats
            row[f"{key}_mean"] = round(float(result.mean), 2)
            row[f"{key}_ci"] = round(float(result.ci), 2)
            row[f"{key}_p"] = None if i == 0 else round(float(result.p_value), 4)
        if i > 0 and hypotheses == named_hypotheses[0][1]:
            # The same translations: nothing to test. sacreBLEU counts only resampled
            # differences strictly above the observed one, so it would say 1/(resamples+1).
            row["bleu_p"] = row["chrf_p"] = 1.0
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="a model folder")
    parser.add_argument("--systems", nargs="+", required=True, help="model folders")
    parser.add_argument("--splits", nargs="+", default=["val"])
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--corpus", default="auto", help="local Multi30K folder or Hub id")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "significance.json"))
    args = parser.parse_args(argv)
    if args.resamples < 10:
        parser.error("--resamples must be at least 10 (sacreBLEU's default is 1000)")
    torch.set_num_threads(args.threads)
    folders = [args.baseline, *args.systems]
    labels = [str(Path(f)) for f in folders]
    if len(set(labels)) != len(labels):
        parser.error("each folder once: the baseline is compared with every --systems folder")
    results = {}
    try:
        translators = [Translator.load(folder) for folder in folders]
        pairs = {tuple(t.config["language_pair"]) for t in translators}
        if len(pairs) > 1:
            raise ValueError("the folders translate different language pairs: "
                             + ", ".join("-".join(p) for p in sorted(pairs)))
        corpus = load_pair(*pairs.pop(), args.corpus)
        for split in args.splits:
            runs = [evaluate(t, split, args.beam, args.corpus, limit=args.limit)
                    for t in translators]
            references = list(corpus[split]["tgt"])[:args.limit]
            rows = paired_bootstrap([(label, run["hypotheses"]) for label, run in
                                     zip(labels, runs)], references, args.resamples)
            for row, translator in zip(rows, translators):
                row["length_penalty"] = translator.length_penalty
            results[split] = rows
    except (CheckpointError, CorpusError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"\nbeam {args.beam}, paired bootstrap with {args.resamples} resamples against "
          f"{labels[0]}: score (bootstrap mean ± 95% interval), difference, p")
    print("| split | system | BLEU | Δ BLEU | p | chrF | Δ chrF | p |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for split, rows in results.items():
        base = rows[0]
        for row in rows:
            cells = []
            for key, _ in METRICS:
                cells.append(f"{row[key]:.2f} ({row[key + '_mean']:.2f} ± {row[key + '_ci']:.2f})")
                if row is base:
                    cells += ["baseline", ""]
                else:
                    p = row[key + "_p"]
                    cells += [f"{row[key] - base[key]:+.2f}", f"{p:.3f}{' *' if p < 0.05 else ''}"]
            print(f"| {split} | {row['system']} | " + " | ".join(cells) + " |")
    print("* p < 0.05: unlikely to be chance alone")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"beam": args.beam, "resamples": args.resamples,
                                          "splits": results}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

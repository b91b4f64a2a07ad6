"""Score a shipped model on a Multi30K split: `python -m training.evaluate --model
checkpoints/NAME --split test_2016_flickr [--beam N]`.

Prints cased BLEU (the headline), lowercased BLEU, chrF, the sacreBLEU signatures and BLEU by
source length, and writes them as JSON (by default into the model folder's eval/, where the app
reads the by-length chart).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from data import CorpusError, load_pair
from inference import CheckpointError, Translator
from inference.checkpoint import eval_path, write_eval
from inference.translator import MAX_BEAM
from training.scoring import bleu_by_length, corpus_scores
from training.translate import beam_size, output_problem, positive_int, warn_long_lines


def evaluate(translator: Translator, split: str, beam: int = 5, corpus: str = "auto",
             batch_size: int = 64, limit: int | None = None) -> dict:
    """Translate `split` (its first `limit` sentences) and score it; lines are never dropped."""
    for name, value, high in (("beam", beam, MAX_BEAM), ("batch_size", batch_size, None),
                              ("limit", 1 if limit is None else limit, None)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (
                high is not None and value > high):
            top = f" and <= {high}" if high else ""
            raise ValueError(f"{name} must be a whole number >= 1{top}, not {value!r}.")
    src_lang, tgt_lang = translator.config["language_pair"]
    pairs = load_pair(src_lang, tgt_lang, corpus)
    if split not in pairs:
        raise CorpusError(f"The {src_lang}-{tgt_lang} corpus has no split {split!r} "
                          f"(it has {', '.join(pairs)}).")
    sources, references = list(pairs[split]["src"]), list(pairs[split]["tgt"])
    if limit is not None:
        sources, references = sources[:limit], references[:limit]
    warn_long_lines(translator, sources, f"the {split} split")
    start = time.perf_counter()
    with tqdm(total=len(sources), unit="sent", desc=f"{translator.name} {split}") as bar:
        hyps = translator.translate_batch(sources, beam=beam, batch_size=batch_size,
                                          progress=bar.update)
    seconds = time.perf_counter() - start
    return {"model": translator.name, "split": split, "beam": beam,
            "pair": f"{src_lang}-{tgt_lang}", **corpus_scores(hyps, references),
            "by_length": bleu_by_length(sources, hyps, references),
            "seconds": round(seconds, 1), "hypotheses": hyps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a shipped model folder")
    parser.add_argument("--split", default="val",
                        help="val, test_2016_flickr or test_2017_flickr (default val)")
    parser.add_argument("--beam", type=beam_size, default=5,
                        help=f"beam size, 1 = greedy, at most {MAX_BEAM} (default 5)")
    parser.add_argument("--corpus", default="auto", help="local Multi30K folder or Hub id")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="only the first N sentences")
    parser.add_argument("--output", default=None,
                        help="JSON path (default MODEL/eval/SPLIT-beamN.json)")
    parser.add_argument("--threads", type=positive_int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    output = Path(args.output) if args.output else eval_path(args.model, args.split, args.beam)
    try:
        translator = Translator.load(args.model)
        problem = output_problem(output, make_folders=True)
        if problem:  # before the whole split is translated
            print(f"error: {problem}", file=sys.stderr)
            return 2
        result = evaluate(translator, args.split, args.beam, args.corpus, args.batch_size,
                          args.limit)
    except (CheckpointError, CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{result['model']} {result['pair']} {args.split} beam {args.beam}: "
          f"BLEU {result['bleu']:.2f}  BLEU(lowercase) {result['bleu_lowercase']:.2f}  "
          f"chrF {result['chrf']:.2f}  ({result['sentences']} sentences, {result['seconds']} s)")
    print(f"  {result['bleu_signature']}\n  {result['chrf_signature']}")
    print("  BLEU by source length (words):")
    for row in result["by_length"]:
        print(f"    {row['bucket']:>6}: {row['bleu']:6.2f}  ({row['sentences']} sentences)")
    try:
        write_eval(output, result)
    except OSError as err:
        print(f"error: cannot write --output {output} ({err.strerror}).", file=sys.stderr)
        return 2
    print(f"  written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

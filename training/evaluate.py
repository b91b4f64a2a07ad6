"""Score a shipped model on a Multi30K split: `python -m training.evaluate --model
checkpoints/NAME --split test_2016_flickr [--beam N]`.

Prints cased BLEU (the headline), lowercased BLEU, chrF, the sacreBLEU signatures and BLEU by
source length, and writes them as JSON (by default into the model folder's eval/, where the app
reads the by-length chart).

For a model with attention it also measures how well the attention aligns words (under
"alignment" in the JSON; `--no-alignment` skips it, `--alignment-only` skips the translation):
each reference is forced through the model (`Translator.align`), the attention is merged to
words, and each target word's most-attended source word is scored against eflomal's word
alignment of the split (`inference.aligner`) by alignment error rate, with the share of
attention that goes to the source's "</s>" and full stop. A Transformer is scored head by head,
by the mean of each layer's heads and by the mean of all its heads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from data import CorpusError, load_pair
from inference import CheckpointError, InputError, Translator, aligner, merge_to_words
from inference.checkpoint import eval_path, write_eval
from inference.metrics import alignment_scores, argmax_links, sink_shares
from inference.translator import MAX_BEAM
from training.scoring import bleu_by_length, corpus_scores
from training.translate import (
    beam_size,
    length_penalty,
    output_problem,
    positive_int,
    warn_long_lines,
)


def evaluate(translator: Translator, split: str, beam: int = 5, corpus: str = "auto",
             batch_size: int = 64, limit: int | None = None, alignment: bool = False) -> dict:
    """Translate `split` (its first `limit` sentences) and score it; lines are never dropped.
    alignment: also measure the attention's alignment (`alignment_quality`), for a model that
    has attention."""
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
    result = {"model": translator.name, "split": split, "beam": beam,
              "length_penalty": translator.length_penalty,
              "pair": f"{src_lang}-{tgt_lang}", **corpus_scores(hyps, references),
              "by_length": bleu_by_length(sources, hyps, references),
              "seconds": round(seconds, 1), "hypotheses": hyps}
    quality = alignment_quality(translator, split, corpus, limit) if alignment else None
    return result if quality is None else {**result, "alignment": quality}


# ---- alignment quality --------------------------------------------------------------------------
def alignment_quality(translator: Translator, split: str, corpus: str = "auto",
                      limit: int | None = None) -> dict | None:
    """How well the attention aligns the words of `split` (its first `limit` pairs); None for a
    model without attention.

    Per pair: the reference forced through the model, its cross-attention (L, H, T, S) merged to
    words, and each target word linked to the source word it attends to most
    (`inference.metrics.argmax_links`: "</s>" is neither a target row nor a source column here);
    AER, precision and recall against eflomal's links (pooled over the split), and the shares of
    attention on the source's "</s>" and full stop (`sink_shares`: means over every target
    piece's row except the one that emits "</s>", pooled over the split). A pair whose words do
    not come out as the reference's whitespace words (a sentence cut to the length limit) is
    skipped and counted.

    The figures at the top are those of the one attention of a recurrent model, or of the mean of
    all heads and layers of a Transformer; a Transformer also has them per head ("per_head",
    (L, H) lists, 1-based in the table), per layer ("layer_mean"), and its lowest-AER head on this
    split ("best_head", chosen on this split, so an optimistic figure on a test split: the head
    chosen on val is given as "val_chosen_head" where the folder has a val result).
    """
    if not translator.align("a", "a").has_attention:  # before eflomal runs for nothing
        return None
    src_lang, tgt_lang = translator.config["language_pair"]
    pairs = load_pair(src_lang, tgt_lang, corpus)
    if split not in pairs:
        raise CorpusError(f"The {src_lang}-{tgt_lang} corpus has no split {split!r} "
                          f"(it has {', '.join(pairs)}).")
    # Every split is aligned with the train split in one eflomal run, cached under
    # .cache/aligner/: each split and model after the first only reads it.
    parts = {name: (list(ds["src"]), list(ds["tgt"])) for name, ds in pairs.items()}
    corpus_alignment = aligner.align_corpus(parts)
    reference = corpus_alignment.links(split)
    sources, targets = parts[split]
    n = len(sources) if limit is None else min(limit, len(sources))
    start = time.perf_counter()
    predicted: dict[str, list[set]] = {}  # "l,h" / "layer l" / "mean" (1-based) -> links
    sure: list[set] = []
    eos = stop = None
    rows = skipped = 0
    for i in tqdm(range(n), unit="sent", desc=f"{translator.name} {split} alignment"):
        try:
            t = translator.align(sources[i], targets[i])
        except InputError:
            skipped += 1
            continue
        piece = np.asarray(t.alignments["cross"], dtype=np.float64)  # (L, H, T, S)
        word = merge_to_words(piece, t.target_pieces, t.source_pieces)  # (L, H, Tw, Sw)
        if t.notice or word.shape[-2:] != (len(aligner.words(t.text)) + 1,
                                           len(aligner.words(t.source)) + 1):
            skipped += 1
            continue
        layers, heads = word.shape[:2]
        matrices = {"mean": word.mean(axis=(0, 1))}
        if t.multi_head:
            matrices |= {f"layer {layer + 1}": word[layer].mean(axis=0) for layer in range(layers)}
            matrices |= {f"{layer + 1},{head + 1}": word[layer, head]
                         for layer in range(layers) for head in range(heads)}
        for key, matrix in matrices.items():
            predicted.setdefault(key, []).append(argmax_links(matrix))
        sure.append(reference[i])
        shares = sink_shares(piece, t.source_pieces, t.target_pieces)  # (L, H) each
        eos = shares["eos"] * shares["rows"] + (0 if eos is None else eos)
        stop = shares["full_stop"] * shares["rows"] + (0 if stop is None else stop)
        rows += shares["rows"]
    if not sure:
        return None
    eos, stop = eos / max(rows, 1), stop / max(rows, 1)  # (L, H)
    scores = {key: alignment_scores(links, sure) for key, links in predicted.items()}
    result = {"reference": aligner.describe(), "sentences": len(sure), "skipped": skipped,
              "seconds": round(time.perf_counter() - start, 1),
              "aligner_seconds": corpus_alignment.seconds,  # eflomal's run, when it was made
              "attention": "mean of all heads" if eos.size > 1 else "the attention",
              **_rounded(scores["mean"]), "eos_share": round(float(eos.mean()), 4),
              "full_stop_share": round(float(stop.mean()), 4)}
    if eos.size == 1:
        return result
    layers, heads = eos.shape
    grid = [[scores[f"{layer + 1},{head + 1}"]["aer"] for head in range(heads)]
            for layer in range(layers)]
    best = min(((layer, head) for layer in range(layers) for head in range(heads)),
               key=lambda lh: grid[lh[0]][lh[1]])
    result |= {
        "layers": layers, "heads": heads,
        "per_head": {"aer": [[round(a, 4) for a in row] for row in grid],
                     "eos_share": np.round(eos, 4).tolist(),
                     "full_stop_share": np.round(stop, 4).tolist()},
        "layer_mean": [{"layer": layer + 1, **_rounded(scores[f"layer {layer + 1}"]),
                        "eos_share": round(float(eos[layer].mean()), 4),
                        "full_stop_share": round(float(stop[layer].mean()), 4)}
                       for layer in range(layers)],
        "best_head": {"layer": best[0] + 1, "head": best[1] + 1, "chosen_on": split,
                      **_rounded(scores[f"{best[0] + 1},{best[1] + 1}"])},
    }
    chosen = _val_chosen_head(translator.folder) if split != "val" else None
    if chosen and chosen["layer"] <= layers and chosen["head"] <= heads:
        result["val_chosen_head"] = {
            "layer": chosen["layer"], "head": chosen["head"], "chosen_on": "val",
            **_rounded(scores[f"{chosen['layer']},{chosen['head']}"])}
    return result


def _rounded(scores: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}


def _val_chosen_head(folder: Path | None) -> dict | None:
    """The best head of the folder's own val result (eval/val-*.json), if it has one."""
    for path in sorted((folder / "eval").glob("val-*.json")) if folder else []:
        try:
            best = json.loads(path.read_text(encoding="utf-8"))["alignment"]["best_head"]
            return {"layer": int(best["layer"]), "head": int(best["head"])}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def alignment_table(quality: dict) -> list[str]:
    """The lines `main` prints for an "alignment" result."""
    def line(label: str, r: dict) -> str:
        return (f"    {label:<24} AER {r['aer']:.3f}  (precision {r['precision']:.3f}, recall "
                f"{r['recall']:.3f})  </s> {r['eos_share']:6.1%}  full stop "
                f"{r['full_stop_share']:6.1%}")

    out = [f"  Alignment vs {quality['reference']}",
           f"  ({quality['sentences']} sentences, {quality['skipped']} skipped, "
           f"{quality['seconds']} s): argmax of word-level attention",
           line(quality["attention"], quality)]
    if "per_head" not in quality:
        return out
    if quality["layers"] > 1:
        out += [line(f"layer {r['layer']}, mean of heads", r) for r in quality["layer_mean"]]
    for key in ("best_head", "val_chosen_head"):
        if key in quality:
            r = quality[key]
            out.append(f"    {'best' if key == 'best_head' else 'chosen'} head (on "
                       f"{r['chosen_on']}): layer {r['layer']}, head {r['head']}: AER "
                       f"{r['aer']:.3f}")
    out.append("    AER by head:        " + " ".join(f"{'h' + str(h + 1):>6}"
                                                     for h in range(quality["heads"])))
    for layer, row in enumerate(quality["per_head"]["aer"]):
        out.append(f"      layer {layer + 1:<12}" + " ".join(f"{a:6.3f}" for a in row))
    out.append("    </s> share by head: ")
    for layer, row in enumerate(quality["per_head"]["eos_share"]):
        out.append(f"      layer {layer + 1:<12}" + " ".join(f"{a:6.1%}" for a in row))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a shipped model folder")
    parser.add_argument("--split", default="val",
                        help="val, test_2016_flickr or test_2017_flickr (default val)")
    parser.add_argument("--beam", type=beam_size, default=5,
                        help=f"beam size, 1 = greedy, at most {MAX_BEAM} (default 5)")
    parser.add_argument("--length-penalty", type=length_penalty, default=None,
                        help="beam search's length penalty (default: the model's config.json, "
                             "else 1.0); needs --output, so the model's own eval is kept")
    parser.add_argument("--corpus", default="auto", help="local Multi30K folder or Hub id")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="only the first N sentences")
    parser.add_argument("--output", default=None,
                        help="JSON path (default MODEL/eval/SPLIT-beamN.json, or "
                             "MODEL/eval/SPLIT-alignment.json with --alignment-only)")
    parser.add_argument("--threads", type=positive_int, default=None)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--no-alignment", action="store_true",
                      help="skip the alignment quality (AER against eflomal, </s> share)")
    what.add_argument("--alignment-only", action="store_true",
                      help="only the alignment quality: no translation, no BLEU (--beam and "
                           "--batch-size are then unused)")
    args = parser.parse_args(argv)
    if args.length_penalty is not None and not args.output:
        print("error: with --length-penalty give --output too: the model's own eval files hold "
              "the length penalty in its config.json.", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    output = Path(args.output) if args.output else (
        Path(args.model) / "eval" / f"{args.split}-alignment.json" if args.alignment_only
        else eval_path(args.model, args.split, args.beam))
    alignment = not args.no_alignment
    if alignment and not aligner.available():
        if args.alignment_only:
            print("error: eflomal is not installed: pip install eflomal==2.0.0.",
                  file=sys.stderr)
            return 2
        print("note: eflomal is not installed, so there is no alignment quality "
              "(pip install eflomal==2.0.0).", file=sys.stderr)
        alignment = False
    try:
        translator = Translator.load(args.model)
        if args.length_penalty is not None:
            translator.length_penalty = args.length_penalty
        problem = output_problem(output, make_folders=True)
        if problem:  # before the whole split is translated
            print(f"error: {problem}", file=sys.stderr)
            return 2
        if args.alignment_only:
            return _alignment_only(translator, args, output)
        result = evaluate(translator, args.split, args.beam, args.corpus, args.batch_size,
                          args.limit, alignment=alignment)
    except (CheckpointError, CorpusError, aligner.AlignerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{result['model']} {result['pair']} {args.split} beam {args.beam}: "
          f"BLEU {result['bleu']:.2f}  BLEU(lowercase) {result['bleu_lowercase']:.2f}  "
          f"chrF {result['chrf']:.2f}  length ratio {result['length_ratio']}  "
          f"({result['sentences']} sentences, {result['seconds']} s)")
    print(f"  {result['bleu_signature']}\n  {result['chrf_signature']}")
    print("  BLEU by source length (words):")
    for row in result["by_length"]:
        print(f"    {row['bucket']:>6}: {row['bleu']:6.2f}  ({row['sentences']} sentences)")
    if "alignment" in result:
        print("\n".join(alignment_table(result["alignment"])))
    elif alignment:
        print("  No alignment quality: the model has no attention.")
    return _write(output, result)


def _alignment_only(translator: Translator, args: argparse.Namespace, output: Path) -> int:
    src_lang, tgt_lang = translator.config["language_pair"]
    quality = alignment_quality(translator, args.split, args.corpus, args.limit)
    if quality is None:
        print(f"error: {translator.name} has no attention to align with.", file=sys.stderr)
        return 2
    print(f"{translator.name} {src_lang}-{tgt_lang} {args.split}:")
    print("\n".join(alignment_table(quality)))
    return _write(output, {"model": translator.name, "split": args.split,
                           "pair": f"{src_lang}-{tgt_lang}", "alignment": quality})


def _write(output: Path, result: dict) -> int:
    try:
        write_eval(output, result)
    except OSError as err:
        print(f"error: cannot write --output {output} ({err.strerror}).", file=sys.stderr)
        return 2
    print(f"  written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

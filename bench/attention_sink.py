"""Is the recurrent models' `</s>` sink asked for by the query, or there whatever it asks?

    python bench/attention_sink.py [--checkpoints checkpoints] [--models A B] [--sentences 300]

For each recurrent model with attention, the first --sentences val pairs are forced through it
(teacher forcing on the reference) and every query its attention received is caught. Then the
same keys are asked three ways, and the share of attention that lands on the source's `</s>`
and on its last piece before `</s>` (usually ".") is averaged over all target positions:
- "own query": what the model does (the figure the README's alignment table reports);
- "another sentence's query": the queries of the previous sentence in the list, step by step,
  so a share that stays high here does not depend on what is being translated;
- "zero query": the query set to zeros; only the keys speak. For Luong's s . W h_j every score
  is then 0 and the attention is uniform, so the column says "uniform".
It also prints how alike the `</s>` keys are across sentences (mean cosine of the projected
keys): the backward encoder starts at `</s>` from the same zero state in every sentence.

Prints a table and writes bench/results/attention_sink.json. Needs the corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.batching import collate  # noqa: E402 (bench scripts stand alone)
from data.corpus import read_lines, resolve_corpus  # noqa: E402
from inference.catalogue import folder_key  # noqa: E402
from inference.checkpoint import load_folder  # noqa: E402
from models.attention import BahdanauAttention  # noqa: E402


def catch_queries(model, batch) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Teacher-force `batch`; return the memory, the queries (B, T, Q) and weights (B, T, S)."""
    queries = []
    hook = model.attention.register_forward_hook(lambda m, args, out: queries.append(args[0]))
    try:
        with torch.no_grad():
            memory = model.encode(batch.src, batch.src_mask)
            _, alignments = model(batch.src, batch.src_mask, batch.tgt_in, need_weights=True)
    finally:
        hook.remove()
    return memory, torch.stack(queries, dim=1), alignments["cross"]


def shares(weights: torch.Tensor, last: torch.Tensor, rows: torch.Tensor) -> tuple[float, float]:
    """weights (B, T, S) over `rows` (B, T) real target positions -> mean share on each
    sentence's `</s>` (its last real piece, index last) and on the piece before it."""
    B = weights.size(0)
    on_eos = weights[torch.arange(B), :, last]  # (B, T)
    before = weights[torch.arange(B), :, (last - 1).clamp(min=0)]
    return on_eos[rows].mean().item(), before[rows].mean().item()


def measure(folder: Path, src: list[str], tgt: list[str]) -> dict | None:
    model, tokenizer, _, metadata, _ = load_folder(folder)
    if getattr(model, "attention", None) is None or not hasattr(model, "attention_kind"):
        return None  # the Transformer (its heads are not one query) and the fixed-vector GRU
    items = [(i, tokenizer.encode(s), tokenizer.encode(t))
             for i, (s, t) in enumerate(zip(src, tgt))]
    batch = collate(items, tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id)
    memory, queries, weights = catch_queries(model, batch)
    last = batch.src_mask.sum(dim=1) - 1  # (B,) each source's </s>
    rows = batch.tgt_mask.clone()  # every German piece but the final </s>, as the README counts
    rows[torch.arange(rows.size(0)), rows.sum(dim=1) - 1] = False
    own = shares(weights, last, rows)

    attention, keys, values, mask = (model.attention, memory["keys"], memory["values"],
                                     memory["src_mask"])
    B, T = rows.shape
    with torch.no_grad():
        other = queries.roll(1, dims=0)  # sentence b asked by sentence b-1's queries
        asked = [attention(other[:, t], keys, values, mask)[1] for t in range(T)]
        rolled = shares(torch.stack(asked, dim=1), last, rows.roll(1, dims=0))
        zero = None
        if isinstance(attention, BahdanauAttention):
            blank = attention(torch.zeros_like(queries[:, 0]), keys, values, mask)[1]  # (B, S)
            zero = shares(blank[:, None, :], last, torch.ones(B, 1, dtype=torch.bool))
        eos_keys = torch.nn.functional.normalize(keys[torch.arange(B), last], dim=-1)  # (B, A)
        cosine = ((eos_keys @ eos_keys.T).sum() - B) / (B * (B - 1))
    return {"model": folder.name, "label": metadata.get("label", folder.name),
            "attention": model.attention_kind, "config": model.config,
            "own_eos": own[0], "own_before": own[1], "rolled_eos": rolled[0],
            "rolled_before": rolled[1], "zero_eos": None if zero is None else zero[0],
            "zero_before": None if zero is None else zero[1], "eos_key_cosine": cosine.item(),
            "uniform": (1.0 / (last + 1).float()).mean().item(), "sentences": B}


def percent(x: float | None) -> str:
    return "uniform" if x is None else f"{100 * x:.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument("--models", nargs="*", help="folder names (default: every one)")
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--corpus", default="auto")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "attention_sink.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    corpus = Path(resolve_corpus(args.corpus))
    if not (corpus / "val.en").is_file():
        parser.error(f"needs the Multi30K corpus as local files; {corpus} has no val.en")
    src = read_lines(corpus / "val.en")[: args.sentences]
    tgt = read_lines(corpus / "val.de")[: args.sentences]
    root = Path(args.checkpoints)
    folders = sorted((p for p in root.iterdir() if (p / "config.json").is_file()), key=folder_key)
    if args.models:
        folders = [root / name for name in args.models]
    results = [r for r in (measure(f, src, tgt) for f in folders) if r is not None]

    print(f"Attention on the source's </s> and on the piece before it (usually '.'), "
          f"{len(src)} val sentences forced to their references; uniform would give "
          f"{percent(results[0]['uniform']) if results else '-'} to each piece.")
    print("| model | own query: `</s>` / last piece | another sentence's query | zero query | "
          "`</s>` keys' cosine |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in results:
        zero = "uniform" if r["zero_eos"] is None else \
            f"{percent(r['zero_eos'])} / {percent(r['zero_before'])}"
        print(f"| {r['label']} | {percent(r['own_eos'])} / {percent(r['own_before'])} | "
              f"{percent(r['rolled_eos'])} / {percent(r['rolled_before'])} | {zero} | "
              f"{r['eos_key_cosine']:.2f} |")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

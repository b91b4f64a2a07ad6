"""Translation latency of each shipped model: greedy and beam 5, alignments included.

    python bench/latency.py [--checkpoints checkpoints] [--runs 50] [--threads 2]

Times `Translator.translate` (tokenising, search with every attention matrix, detokenising)
on a 15-word sentence, median and p95 over --runs calls after warm-up, and greedy's two parts
(the encoder, run once, and the mean decoder step, run once per output piece); prints a table and
writes bench/results/latency.json. Models without a shipped folder are built from their
training config with random weights (marked "random init": they may not stop early, so their
figures are an upper bound).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.tokenizer import Tokenizer  # noqa: E402
from inference import Translator  # noqa: E402
from inference.catalogue import CATALOGUE, folder_key  # noqa: E402
from inference.checkpoint import build_model  # noqa: E402

SENTENCE = "A young man in a red jacket is riding his bicycle down a busy street in the city."
TARGETS_MS = {1: 15.0, 5: 60.0}


def model_names(checkpoints: Path, names: list[str] | None = None) -> list[str]:
    """The models to time: those asked for; else every shipped folder, in the chapter's order;
    else (nothing shipped) every catalogued model with a training config, at random init."""
    if names:
        return names
    shipped = [p.name for p in sorted(checkpoints.glob("*/"), key=folder_key)
               if (p / "metadata.json").is_file()]
    configs = ROOT / "training" / "configs"
    return shipped or [n for n in CATALOGUE if (configs / f"{n}.yaml").is_file()]


def random_translator(name: str, tokenizer: Tokenizer) -> Translator:
    config = yaml.safe_load((ROOT / "training" / "configs" / f"{name}.yaml").read_text())
    spec = dict(config["model"]["model"])
    spec["init_args"] = {**spec.get("init_args", {}), "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    model = build_model(spec).eval()
    return Translator(name, model, tokenizer, {"language_pair": ["en", "de"]},
                      {"note": "random init"}, [])


def measure(translator: Translator, beam: int, runs: int) -> dict:
    for _ in range(3):
        translator.translate(SENTENCE, beam=beam)
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = translator.translate(SENTENCE, beam=beam)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
            "target_pieces": len(out.target_pieces), "source_pieces": len(out.source_pieces),
            "alignments": {k: list(v.shape) for k, v in out.alignments.items()}}


@torch.inference_mode()
def breakdown(translator: Translator, runs: int) -> dict:
    """Where greedy decoding's time goes: the encoder once, then one decoder step per output piece.

    Feeds the greedy output back through `step` (alignments on) and times both parts, so the
    per-step cost that grows with the output length is seen apart from the one-off encoding.
    """
    model, tok = translator.model, translator.tokenizer
    _, ids, _ = translator.prepare(SENTENCE)
    batch, hyp = translator.search_ids(ids, beam=1, need_weights=True)
    fed = [tok.bos_id] + hyp.tokens[:-1]
    encode_times, step_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        memory = model.encode(batch.src, batch.src_mask, need_weights=True)
        encode_times.append((time.perf_counter() - start) * 1000)
        state = model.init_state(memory)
        start = time.perf_counter()
        for piece in fed:
            _, state, _ = model.step(memory, state, torch.tensor([piece]), need_weights=True)
        step_times.append((time.perf_counter() - start) * 1000 / len(fed))
    return {"encode_ms": round(statistics.median(encode_times), 2),
            "step_ms": round(statistics.median(step_times), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument("--names", nargs="*", default=None,
                        help="models to time (default: every folder under --checkpoints)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "latency.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"Sentence ({len(SENTENCE.split())} words): {SENTENCE}")
    rows, tokenizer = [], None
    for name in model_names(Path(args.checkpoints), args.names):
        folder = Path(args.checkpoints) / name
        if folder.is_dir():
            translator, source = Translator.load(folder), "shipped"
        else:
            if tokenizer is None:
                shipped = sorted(Path(args.checkpoints).glob("*/spm.model"))
                if not shipped:
                    print(f"skip {name}: no shipped folder and no tokenizer to build one")
                    continue
                tokenizer = Tokenizer.load(shipped[0])
            translator, source = random_translator(name, tokenizer), "random init"
        parts = breakdown(translator, args.runs)
        for beam in (1, 5):
            m = measure(translator, beam, args.runs)
            rows.append({"model": name, "weights": source, "beam": beam,
                         "parameters": translator.model.num_parameters(), **m,
                         "target_ms": TARGETS_MS[beam],
                         "meets_target": m["median_ms"] <= TARGETS_MS[beam],
                         **(parts if beam == 1 else {})})
    header = f"{'model':<14}{'weights':<13}{'beam':>5}{'median ms':>11}{'p95 ms':>9}" \
             f"{'target':>8}{'out pieces':>12}{'encode ms':>11}{'ms/step':>9}"
    print(header)
    print("-" * len(header))
    for r in rows:
        parts = f"{r['encode_ms']:>11.2f}{r['step_ms']:>9.3f}" if "step_ms" in r else ""
        print(f"{r['model']:<14}{r['weights']:<13}{r['beam']:>5}{r['median_ms']:>11.2f}"
              f"{r['p95_ms']:>9.2f}{'<=' + str(int(r['target_ms'])):>8}{r['target_pieces']:>12}"
              + parts)
    print("encode ms / ms/step: greedy's two parts, the encoder once and one decoder step per "
          "output piece (alignments on)")
    result = {"sentence": SENTENCE, "threads": args.threads, "runs": args.runs,
              "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
              "cpus": torch.get_num_threads(), "rows": rows}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

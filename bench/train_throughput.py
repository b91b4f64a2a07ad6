"""Training throughput of each config beside this machine's matrix-multiply peak.

    python bench/train_throughput.py [--steps 20] [--threads 2] [--configs transformer ...]
                                     [--precision 32-true|bf16-mixed]

For each YAML config: real Multi30K batches at the config's token budget, full training steps
(forward, backward, AdamW), target tokens per second; the FLOPs of one step counted by torch's
FlopCounterMode; and a 2048^3 matrix multiply measured in the same run. The ratio
achieved-FLOP/s : matmul-FLOP/s says how much of the machine a model's training uses.
`--precision bf16-mixed` times the steps as `--trainer.precision bf16-mixed` runs them (the
forward and the loss under CPU autocast to bfloat16, weights and AdamW in fp32) and measures
the peak as a bfloat16 multiply: on CPUs with AMX or AVX512-BF16 that peak is several times
fp32's. Prints a table and writes bench/results/train_throughput[_bf16-mixed].json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.catalogue import CATALOGUE  # noqa: E402
from inference.checkpoint import build_model  # noqa: E402
from training.datamodule import TEACHER_OPTIONS, Multi30kDataModule  # noqa: E402
from training.module import TranslationModule  # noqa: E402

PRECISIONS = {"32-true": torch.float32, "bf16-mixed": torch.bfloat16}


def matmul_peak(n: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def step_data_args(config: dict) -> dict:
    """A config's data options for timing a step: all but the teacher's, which change what is
    learnt, not the cost of a step (and whose file need not exist here)."""
    return {k: v for k, v in config.get("data", {}).items() if k not in TEACHER_OPTIONS}


def bench_config(name: str, steps: int, corpus: str, precision: str = "32-true") -> dict:
    config = yaml.safe_load((ROOT / "training" / "configs" / f"{name}.yaml").read_text())
    data_args = step_data_args(config)
    dm = Multi30kDataModule(corpus=corpus, **data_args)
    spec = dict(config["model"]["model"])
    spec["init_args"] = {**spec.get("init_args", {}), "vocab_size": dm.vocab_size,
                         "pad_id": dm.pad_id}
    torch.manual_seed(0)
    model = build_model(spec)
    hparams = {k: v for k, v in config["model"].items() if k != "model"}
    module = TranslationModule(model, **hparams).train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4)
    batches = iter(dm.train_dataloader())

    def one_step(batch) -> int:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
            loss, tokens = module.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimizer.step()
        return tokens

    for _ in range(3):  # warm-up
        one_step(next(batches))
    batch = next(batches)
    counter = FlopCounterMode(display=False)
    with counter:
        flop_tokens = one_step(batch)
    flops_per_token = counter.get_total_flops() / flop_tokens
    tokens, start = 0, time.perf_counter()
    for _ in range(steps):
        tokens += one_step(next(batches))
    seconds = time.perf_counter() - start
    return {"config": name, "precision": precision, "parameters": model.num_parameters(),
            "max_tokens": data_args.get("max_tokens"), "steps": steps,
            "tokens_per_s": round(tokens / seconds, 1),
            "flops_per_target_token": round(flops_per_token),
            "achieved_gflops": round(tokens / seconds * flops_per_token / 1e9, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="*",
                        default=[n for n in CATALOGUE
                                 if (ROOT / "training" / "configs" / f"{n}.yaml").is_file()])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--corpus", default="auto")
    parser.add_argument("--precision", choices=list(PRECISIONS), default="32-true",
                        help="as --trainer.precision: bf16-mixed autocasts the forward to "
                             "bfloat16 (default 32-true)")
    parser.add_argument("--output", help="default bench/results/train_throughput.json, "
                                         "or train_throughput_bf16-mixed.json")
    args = parser.parse_args()
    suffix = "" if args.precision == "32-true" else f"_{args.precision}"
    output = args.output or str(ROOT / "bench" / "results" / f"train_throughput{suffix}.json")
    torch.set_num_threads(args.threads)
    dtype = PRECISIONS[args.precision]
    dtype_name = str(dtype).removeprefix("torch.")
    peak_before = matmul_peak(dtype=dtype)
    rows = [bench_config(name, args.steps, args.corpus, args.precision) for name in args.configs]
    peak = max(peak_before, matmul_peak(dtype=dtype))
    for row in rows:
        row["ratio_to_matmul_peak"] = round(row["achieved_gflops"] * 1e9 / peak, 3)
    header = f"{'config':<14}{'params':>11}{'budget':>8}{'tokens/s':>10}{'GFLOP/tok':>11}" \
             f"{'GFLOP/s':>9}{'of peak':>9}"
    print(f"matrix multiply 2048^3 {dtype_name}, {args.threads} threads: "
          f"{peak / 1e9:.1f} GFLOP/s; steps in {args.precision}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['config']:<14}{r['parameters']:>11,}{r['max_tokens']:>8}"
              f"{r['tokens_per_s']:>10.0f}{r['flops_per_target_token'] / 1e9:>11.4f}"
              f"{r['achieved_gflops']:>9.1f}{r['ratio_to_matmul_peak']:>9.1%}")
    result = {"threads": args.threads, "precision": args.precision,
              "matmul_dtype": dtype_name,
              "matmul_gflops": round(peak / 1e9, 1), "torch": torch.__version__, "rows": rows}
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(result, indent=1))
    print(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

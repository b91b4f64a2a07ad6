"""The O(n^2) lab: how self-attention and a GRU pass grow with the sequence length n.

Legend: B batch, n sequence length, E = d_model, H heads.

Self-attention compares every position with every other: n x n scores per head, computed in
one batch of matrix products. A GRU reads the sequence one position at a time: n small steps,
each waiting for the one before. So attention's work and memory grow as n^2 but run in
parallel, while the GRU's grow as n but cannot be parallelised over positions. The lab measures
both live, on this machine, at small sizes. (`load_eval` reads the other half of the lab, BLEU
by sentence length, from what `training.evaluate` left in a model folder.)

Time is measured (wall-clock over a few repeats after a warm-up: the median by default, or the
minimum, the run least disturbed by anything else on the machine). Memory is counted,
not profiled: the bytes of the tensors each pass creates, read from their real sizes
(`numel * element_size`) — for attention the (B, H, n, n) weight matrix plus the projected
queries, keys, values and the output; for the GRU its (B, n, E) outputs and final state.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from inference.checkpoint import read_eval
from models.attention import MultiHeadAttention

DEFAULT_LENGTHS = (16, 32, 64, 128, 256, 512)
MEMORY_NOTE = ("memory counted from the sizes of the tensors each pass creates "
               "(numel x bytes per element), not read from a profiler")


def _nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


STATISTICS = {"median": statistics.median, "min": min}


def _time_ms(fn, repeats: int, statistic: str = "median", warmup: int = 1) -> float:
    for _ in range(warmup):  # first calls pay for allocation and kernel selection
        fn()
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return STATISTICS[statistic](times)


@contextlib.contextmanager
def _threads(n: int | None):
    """Run with n torch threads, restoring the previous count afterwards."""
    previous = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def measure_scaling(lengths: Sequence[int] = DEFAULT_LENGTHS, d_model: int = 256,
                    num_heads: int = 8, batch: int = 1, repeats: int = 3, seed: int = 0,
                    threads: int | None = 1, statistic: str = "median",
                    warmup: int = 1) -> list[dict]:
    """Time and memory of one self-attention layer and one GRU pass at each length n.

    threads: torch threads to measure with (None: leave as is). One thread by default, so the
    curves show how the work grows, not how well a busy machine shares its cores: tiny steps on
    several threads spend most of their time waiting for each other.
    statistic: "median" or "min" of the `repeats` timed runs, after `warmup` untimed ones.
    Returns one row per n: n, attention_ms, gru_ms (wall-clock), attention_weights_bytes
    (the B*H*n*n float32 weights alone), attention_bytes (weights + q, k, v, output), gru_bytes
    (outputs + final state).
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, not {statistic!r}.")
    with _threads(threads), torch.inference_mode():
        return _measure(lengths, d_model, num_heads, batch, repeats, seed, statistic, warmup)


def _measure(lengths: Sequence[int], d_model: int, num_heads: int, batch: int, repeats: int,
             seed: int, statistic: str = "median", warmup: int = 1) -> list[dict]:
    torch.manual_seed(seed)
    attention = MultiHeadAttention(d_model, num_heads).eval()
    gru = nn.GRU(d_model, d_model, batch_first=True).eval()
    rows = []
    for n in lengths:
        x = torch.randn(batch, int(n), d_model)  # (B, n, E)

        def attend(x=x):
            return attention(x, x, x, need_weights=True)

        def recur(x=x):
            return gru(x)

        attention_ms = _time_ms(attend, repeats, statistic, warmup)
        gru_ms = _time_ms(recur, repeats, statistic, warmup)
        # Count the tensors of one pass from their real shapes.
        out, weights = attend()  # out (B, n, E), weights (B, H, n, n)
        q, k, v = attention.project_qkv(x)  # (B, H, n, D) each, as the pass makes them
        outputs, state = recur()  # (B, n, E), (1, B, E)
        rows.append({
            "n": int(n),
            "attention_ms": round(attention_ms, 3),
            "gru_ms": round(gru_ms, 3),
            "attention_weights_bytes": _nbytes(weights),
            "attention_bytes": _nbytes(weights, q, k, v, out),
            "gru_bytes": _nbytes(outputs, state),
        })
    return rows


# ---- BLEU by sentence length, from each model folder's eval results ---------------------------
def load_eval(folder: str | Path | None) -> dict | None:
    """The evaluation a model folder ships (eval/SPLIT-beamN.json written by
    `training.evaluate`), preferring test_2016_flickr, then test_2017_flickr, then val; None
    if the folder has none (or none that can be read)."""
    return None if folder is None else read_eval(folder)

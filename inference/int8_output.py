"""The Transformer's output layer computed straight from the shipped int8 weights.

Each decoder step scores the hidden state against the whole shared embedding, 8,000 x 256: in
fp32 that reads 8 MB per step and is bound by memory bandwidth, the largest single cost of a
step on a CPU. A folder exported with int8 weights already holds that matrix as int8 rows with
one scale each; multiplying with those directly (a weight-only int8 kernel, the activations in
bfloat16) reads a quarter of the bytes. The logits differ from the fp32 path by about 0.02 at
most, and val BLEU of the shipped Transformer did not move (README, Benchmarks).

Used only at inference, only where torch has the kernel and it agrees with the fp32 path on a
check at load time; everything else scores in fp32 as before.
"""

from __future__ import annotations

import torch
from torch import Tensor

TOLERANCE = 0.1  # largest |logit difference| accepted in the load-time check


class Int8OutputProjection:
    """x (..., E) -> logits (..., V) from int8 rows (V, E) and their scales (V,)."""

    def __init__(self, weight: Tensor, scale: Tensor):
        self.weight = weight.contiguous()
        self.scale = scale.to(torch.bfloat16)

    def __call__(self, x: Tensor) -> Tensor:
        flat = x.reshape(-1, x.size(-1)).to(torch.bfloat16)  # (N, E)
        logits = torch._weight_int8pack_mm(flat, self.weight, self.scale)  # (N, V)
        return logits.float().view(*x.shape[:-1], -1)


def attach(model: torch.nn.Module, packed: dict[str, Tensor], scale_suffix: str) -> bool:
    """Give `model` an int8 output projection if it has a slot for one, its embedding was
    stored as int8, the kernel exists and it matches the fp32 scores; returns whether it did."""
    weight, scale = packed.get("embedding.weight"), packed.get("embedding.weight" + scale_suffix)
    if not hasattr(model, "output_projection") or weight is None or scale is None \
            or weight.dtype != torch.int8 or not hasattr(torch, "_weight_int8pack_mm"):
        return False
    projection = Int8OutputProjection(weight, scale)
    probe = torch.randn(2, weight.size(1), generator=torch.Generator().manual_seed(0))
    try:
        with torch.inference_mode():
            fast = projection(probe)
            exact = probe @ model.embedding.weight.t()
    except RuntimeError:  # no kernel for this shape or machine
        return False
    if not torch.allclose(fast, exact, atol=TOLERANCE, rtol=0.0):
        return False
    model.output_projection = projection
    return True

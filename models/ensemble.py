"""Several translators that share one vocabulary, searched as one: the mean of their probabilities.

Legend: B batch, S source length, T target length, V vocabulary size, M models.

At every step each model gives p_m(y | x, y_<t); the ensemble writes from
    log p(y | x, y_<t) = log (1/M) sum_m p_m(y | x, y_<t),
so a piece that one model is unsure of and the others are sure of still wins. Averaging
probabilities, not log-probabilities, is what fairseq and Marian do. Each model keeps its own
memory and state (a GRU's hidden state beside a Transformer's key/value cache) under its index,
and `select_rows` reorders them all at once, so greedy and beam search drive an ensemble unchanged.

What it is for here: a better teacher for sequence-level distillation (Kim & Rush, 2016; Freitag
et al., 2017, distil an ensemble into one model). An ensemble has no single alignment to show,
so it returns no weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from models.seq2seq import Seq2Seq


class Ensemble(Seq2Seq):
    """The models' next-piece probabilities averaged; `logits` are those log-probabilities."""

    def __init__(self, models: Sequence[Seq2Seq]):
        super().__init__()
        if len(models) < 2:
            raise ValueError(f"An ensemble needs at least two models, not {len(models)}.")
        sizes = {(m.vocab_size, m.pad_id) for m in models}
        if len(sizes) > 1:
            raise ValueError(f"The models disagree on (vocabulary size, pad id): {sorted(sizes)}; "
                             "an ensemble needs one shared vocabulary.")
        self.members = nn.ModuleList(models)
        self.vocab_size, self.pad_id = models[0].vocab_size, models[0].pad_id
        self.config = {"members": [m.config for m in models]}

    def _mean(self, logits: Sequence[Tensor]) -> Tensor:
        """log of the mean of softmax(logits) over the models: (..., V) each -> (..., V)."""
        log_probs = torch.stack([x.float().log_softmax(dim=-1) for x in logits])  # (M, ..., V)
        return torch.logsumexp(log_probs, dim=0) - math.log(len(logits))

    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor,
                need_weights: bool = False) -> tuple[Tensor, dict[str, Tensor]]:
        return self._mean([m(src, src_mask, tgt_in)[0] for m in self.members]), {}  # (B, T, V)

    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> dict:
        return {i: m.encode(src, src_mask) for i, m in enumerate(self.members)}

    def init_state(self, memory: dict) -> dict:
        return {i: m.init_state(memory[i]) for i, m in enumerate(self.members)}

    def step(self, memory: dict, state: dict, token: Tensor,
             need_weights: bool = False) -> tuple[Tensor, dict, dict[str, Tensor]]:
        logits, new_state = [], {}
        for i, m in enumerate(self.members):
            out, new_state[i], _ = m.step(memory[i], state[i], token)
            logits.append(out)
        return self._mean(logits), new_state, {}  # (B, V)

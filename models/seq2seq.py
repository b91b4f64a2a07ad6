"""The face every translator shows, so one search module and one training module serve them all.

Legend: B batch, S source length, T target length, V vocabulary size.

A model turns `src` (B, S) = pieces + eos, right-padded with `pad_id`, and `src_mask` (B, S)
(True = real token) into next-piece logits, in two ways that must agree:

- teacher forcing, for training: `forward(src, src_mask, tgt_in)` scores every position of
  `tgt_in` (B, T) = bos + pieces at once and returns logits (B, T, V) for `tgt_out`;
- one piece at a time, for search: `encode` once per sentence, `init_state`, then `step` with the
  piece just chosen. `step` reuses everything computed before it (projected encoder keys, the
  decoder's recurrent state or key/value cache), so a step costs one position, not a prefix.

Memory and state are plain dicts (holding tensors, or lists/tuples of tensors) whose tensors all
have the batch on dim 0. That is what lets search expand a batch into beams and reorder beams
with `select_rows`, without knowing which model it drives.

Attention weights are returned only when `need_weights=True`, as a dict keyed by kind
("cross", "decoder_self", "encoder_self"); `{}` otherwise, or when a model has no alignment.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn


class Seq2Seq(nn.Module):
    """Base class of our translators: documents the shared face; holds nothing itself.

    Subclasses set `vocab_size`, `pad_id` and `config` (their constructor arguments, so a
    checkpoint can rebuild them) and implement the four methods below.
    """

    vocab_size: int
    pad_id: int
    config: dict[str, Any]

    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor,
                need_weights: bool = False) -> tuple[Tensor, dict[str, Tensor]]:
        """Teacher-forced logits (B, T, V) and alignments (see the module docstring)."""
        raise NotImplementedError

    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> dict:
        """Everything the decoder needs from the source, computed once per sentence."""
        raise NotImplementedError

    def init_state(self, memory: dict) -> dict:
        """The decoder state before the first step (bos is fed to the first `step`)."""
        raise NotImplementedError

    def step(self, memory: dict, state: dict, token: Tensor,
             need_weights: bool = False) -> tuple[Tensor, dict, dict[str, Tensor]]:
        """Feed `token` (B,); return next-piece logits (B, V), the new state, step weights."""
        raise NotImplementedError

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of parameters, each shared (tied) tensor counted once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


def select_rows(tree: Any, index: Tensor) -> Any:
    """`index_select(0, index)` on every tensor of a nested dict/list/tuple; other leaves kept.

    Search uses it to expand sentences into beams and to follow beam back-pointers.
    """
    if isinstance(tree, Tensor):
        return tree.index_select(0, index)
    if isinstance(tree, dict):
        return {key: select_rows(value, index) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(select_rows(value, index) for value in tree)
    return tree

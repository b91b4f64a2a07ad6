"""Attention: a query looks at every key, and takes the matching values in proportion.

Legend: B batch, S source (key) length, T target (query) length, H heads, D head size,
E = H*D model size; for the recurrent attentions Q query size, K key/value size, A scoring size.

Read top to bottom: the masked softmax every attention shares, the two masks, scaled dot-product
attention (the Transformer's), then the two recurrent attentions (Bahdanau's additive score and
Luong's multiplicative one), then multi-head attention built on the dot product.

Masks are boolean with True = may attend, everywhere. A padded key gets exactly 0 weight: its
score is set to -inf before the softmax, and exp(-inf) is 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last dim, with exactly 0 where `mask` is False.

    scores (..., S); mask broadcastable to scores. A row with nothing to attend to would be
    softmax(-inf, ..., -inf) = NaN; we set such rows to all zeros instead (so their context is
    the zero vector and no NaN reaches the loss or its gradient). Our models never build such a
    row, since every sentence keeps its eos, but a hand-made batch might.
    """
    if mask is None:
        return scores.softmax(dim=-1)
    blocked = ~mask
    weights = scores.masked_fill(blocked, float("-inf")).softmax(dim=-1)
    return weights.masked_fill(blocked, 0.0)


def padding_mask(src_mask: Tensor) -> Tensor:
    """(B, S) real-token mask -> (B, 1, 1, S), ready to broadcast over heads and queries."""
    return src_mask[:, None, None, :]


def causal_mask(T: int, device: torch.device | str | None = None, offset: int = 0) -> Tensor:
    """(T, offset + T) bool, True on and below the diagonal: query i may see keys 0..offset+i.

    `offset` is the number of earlier positions already in a key/value cache (0 for a whole
    sequence, which gives the usual (T, T) lower-triangular mask).
    """
    return torch.ones(T, offset + T, dtype=torch.bool, device=device).tril(diagonal=offset)


# Why divide by sqrt(D): if the D components of a query and a key are independent with mean 0
# and variance 1, their dot product has variance D. With D = 64 the scores would spread over
# roughly +-8 and up, the softmax would put almost all weight on one key, and its gradient
# (which shrinks as the output nears one-hot) would all but vanish. Dividing by sqrt(D) brings
# the scores back to unit variance whatever the head size, so training starts with soft,
# trainable attention.
def scaled_dot_product(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None,
                       dropout_p: float = 0.0) -> tuple[Tensor, Tensor]:
    """softmax(q k^T / sqrt(D)) v.

    q (B, H, T, D); k, v (B, H, S, D); mask broadcastable to (B, H, T, S), True = may attend.
    Dropout (pass 0 at evaluation) drops weights on the way to the context only; the returned
    weights (B, H, T, S) are the softmax itself, so they sum to 1 over S.
    Returns context (B, H, T, D) and weights.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, T, S)
    weights = masked_softmax(scores, mask)
    dropped = F.dropout(weights, dropout_p) if dropout_p > 0 else weights
    return dropped @ v, weights


def weighted_sum(scores: Tensor, values: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """The second half of every recurrent attention: normalise scores, mix the values.

    scores (B, S); values (B, S, K); mask (B, S). Returns context (B, K) and weights (B, S).
    """
    weights = masked_softmax(scores, mask)
    context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)  # (B, 1, S) @ (B, S, K) -> (B, K)
    return context, weights


class BahdanauAttention(nn.Module):
    """Additive attention (Bahdanau et al., 2015): score_j = v^T tanh(W_q s + W_k h_j).

    The key half W_k h_j does not depend on the decoder, so `project_keys` computes it once per
    sentence; each decoder step then pays for one (Q -> A) projection and a tanh over S.
    """

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, attn_dim, bias=False)
        self.key_proj = nn.Linear(key_dim, attn_dim)  # one bias is enough for the sum
        self.energy = nn.Linear(attn_dim, 1, bias=False)  # v^T

    def project_keys(self, keys: Tensor) -> Tensor:
        """keys (B, S, K) -> (B, S, A). Once per sentence."""
        return self.key_proj(keys)

    def forward(self, query: Tensor, projected_keys: Tensor, values: Tensor,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """query (B, Q); projected_keys (B, S, A); values (B, S, K); mask (B, S).

        Returns context (B, K) and weights (B, S).
        """
        hidden = torch.tanh(projected_keys + self.query_proj(query).unsqueeze(1))  # (B, S, A)
        scores = self.energy(hidden).squeeze(-1)  # (B, S)
        return weighted_sum(scores, values, mask)


class LuongAttention(nn.Module):
    """Multiplicative attention (Luong et al., 2015): score_j = s . h_j ("dot") or
    s . W_a h_j ("general").

    "dot" has no parameters and so needs query and keys of one size; "general" learns W_a,
    applied to the keys once per sentence (s . W_a h_j is the same number either way).
    """

    def __init__(self, query_dim: int, key_dim: int, kind: str = "dot"):
        super().__init__()
        if kind not in ("dot", "general"):
            raise ValueError(f"Luong attention kind must be 'dot' or 'general', not {kind!r}.")
        if kind == "dot" and query_dim != key_dim:
            raise ValueError(
                f"Luong 'dot' attention compares query and key directly, so query_dim "
                f"({query_dim}) must equal key_dim ({key_dim}); use kind='general' to learn a "
                f"projection between them.")
        self.kind = kind
        self.key_proj = nn.Linear(key_dim, query_dim, bias=False) if kind == "general" else None

    def project_keys(self, keys: Tensor) -> Tensor:
        """keys (B, S, K) -> (B, S, Q): W_a h for "general", h itself for "dot".

        Once per sentence.
        """
        return keys if self.key_proj is None else self.key_proj(keys)

    def forward(self, query: Tensor, projected_keys: Tensor, values: Tensor,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """query (B, Q); projected_keys (B, S, Q); values (B, S, K); mask (B, S).

        Returns context (B, K) and weights (B, S).
        """
        scores = torch.bmm(projected_keys, query.unsqueeze(-1)).squeeze(-1)  # (B, S, 1) -> (B, S)
        return weighted_sum(scores, values, mask)


class MultiHeadAttention(nn.Module):
    """H attentions side by side, each over its own D = E / H slice of learned projections.

    One head can follow word order while another finds the verb's subject: each head has its own
    query, key and value projections, so each learns its own notion of "relevant". The heads'
    contexts are concatenated and mixed by `out_proj`.

    The q, k and v projections are stacked in one `in_proj` (E -> 3E, q rows first), laid out
    like `nn.MultiheadAttention`'s in_proj_weight, so weights copy across in tests, and
    self-attention makes all three with one matrix multiply.

    For incremental decoding the call splits in parts: `project_kv` (once per sentence for cross-
    attention), `project_qkv` (once per new position for self-attention, whose k and v join a
    cache), `project_q`, and `attend`, which takes the projected heads.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads}), "
                             f"so that every head gets d_model / num_heads dimensions.")
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.dropout = dropout
        self.in_proj = nn.Linear(d_model, 3 * d_model)  # rows: q, then k, then v
        self.out_proj = nn.Linear(d_model, d_model)

    def _split_heads(self, x: Tensor) -> Tensor:
        B, N, _ = x.shape
        return x.view(B, N, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, N, D)

    def project_q(self, query: Tensor) -> Tensor:
        """query (B, T, E) -> q (B, H, T, D)."""
        E = self.d_model
        return self._split_heads(F.linear(query, self.in_proj.weight[:E], self.in_proj.bias[:E]))

    def project_kv(self, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """key, value (B, S, E) -> k, v (B, H, S, D), contiguous.

        Contiguous so that every later step's batched matmul reads them in place rather than
        copying them (they are made once per sentence, read at every step).
        """
        E = self.d_model
        weight, bias = self.in_proj.weight[E:], self.in_proj.bias[E:]  # (2E, E): k rows, v rows
        if key is value:  # one multiply for both
            k, v = F.linear(key, weight, bias).chunk(2, dim=-1)  # (B, S, E) each
        else:
            k, v = F.linear(key, weight[:E], bias[:E]), F.linear(value, weight[E:], bias[E:])
        return self._split_heads(k).contiguous(), self._split_heads(v).contiguous()

    def project_qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Self-attention's three projections of x (B, N, E) at once -> q, k, v (B, H, N, D)."""
        q, k, v = self.in_proj(x).chunk(3, dim=-1)  # (B, N, E) each
        return self._split_heads(q), self._split_heads(k), self._split_heads(v)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None,
               need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """Already projected q (B, H, T, D) against k, v (B, H, S, D).

        mask broadcastable to (B, H, T, S), True = may attend (e.g. `padding_mask` (B, 1, 1, S)
        or `causal_mask` (T, T)). Returns out (B, T, E) and weights (B, H, T, S) or None.
        """
        context, weights = scaled_dot_product(q, k, v, mask, self.dropout if self.training else 0.0)
        B, H, T, D = context.shape
        out = self.out_proj(context.transpose(1, 2).reshape(B, T, H * D))  # (B, T, E)
        return out, (weights if need_weights else None)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None,
                need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """query (B, T, E); key, value (B, S, E).

        Returns out (B, T, E) and weights (B, H, T, S) or None.
        """
        if query is key and key is value:
            q, k, v = self.project_qkv(query)
        else:
            q, (k, v) = self.project_q(query), self.project_kv(key, value)
        return self.attend(q, k, v, mask, need_weights)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Folders saved while q, k and v were three separate layers load into the stacked one.
        parts = [f"{prefix}{name}_proj." for name in "qkv"]
        if parts[0] + "weight" in state_dict:
            for kind in ("weight", "bias"):
                state_dict[f"{prefix}in_proj.{kind}"] = torch.cat(
                    [state_dict.pop(part + kind) for part in parts])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

"""The Transformer (Vaswani et al., 2017): attention without recurrence.

Legend: B batch, S source length, T target length, L layers, H heads, D head size,
E = H*D = d_model, F = d_ff, V vocabulary.

Where the GRU reads a sentence one piece after another, every layer here lets every position
look at every other position at once: the encoder's self-attention relates source pieces to
each other, the decoder's self-attention relates the target prefix, and cross-attention (the
GRU's one attention) looks at the source. Order, which recurrence gave for free, comes from
sinusoidal positional encodings added to the embeddings.

Layers are pre-norm (LayerNorm before each sublayer, the residual path left untouched, one
final LayerNorm): it trains stably without a long warmup, which matters for a small model.

Search decodes one position per `step`: cross-attention keys/values are projected once in
`encode`, and decoder self-attention keeps a key/value cache, so a step never recomputes the
prefix.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from models.attention import MultiHeadAttention, causal_mask, padding_mask
from models.seq2seq import Seq2Seq


def sinusoidal_positions(max_len: int, d_model: int) -> Tensor:
    """(max_len, E): sin on even, cos on odd dims, wavelengths from 2*pi to 10000*2*pi.

    Any fixed offset k is a linear map of these (a rotation per frequency), which makes
    "k pieces to the left" easy for attention to learn.
    """
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (max_len, 1)
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                     * (-math.log(10000.0) / d_model))  # (E/2,)
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq)
    return table


def source_mask(src_mask: Tensor) -> Tensor | None:
    """`padding_mask(src_mask)` (B, 1, 1, S), or None when no position is padding.

    A lone sentence (every translation the app makes) has no padding; attention then skips the
    masking it would do at every layer and step for an all-True mask, with the same result.
    """
    return None if bool(src_mask.all()) else padding_mask(src_mask)


def dropped(dropout: nn.Dropout, x: Tensor) -> Tensor:
    """dropout(x) in training; at inference dropout is the identity, so the call is skipped: a
    decoder step is dozens of tiny operations, and each call costs about as much as one."""
    return dropout(x) if dropout.training else x


class FeedForward(nn.Sequential):
    """Position-wise E -> F -> E with ReLU."""

    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(d_ff, d_model))

    def forward(self, x: Tensor) -> Tensor:
        expand, relu, dropout, project = self
        return project(dropped(dropout, relu(expand(x))))


class EncoderLayer(nn.Module):
    """x + SelfAttn(LN(x)), then x + FF(LN(x))."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ff_norm = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor,
                need_weights: bool) -> tuple[Tensor, Tensor | None]:
        """x (B, S, E); mask (B, 1, 1, S). Returns x and weights (B, H, S, S) or None."""
        h = self.self_norm(x)
        attended, weights = self.self_attn(h, h, h, mask, need_weights)
        x = x + dropped(self.dropout, attended)
        return x + dropped(self.dropout, self.ff(self.ff_norm(x))), weights


class DecoderLayer(nn.Module):
    """x + CausalSelfAttn(LN(x)), x + CrossAttn(LN(x), source), x + FF(LN(x)).

    Self-attention appends this call's keys/values to `cache` (the keys/values of earlier
    positions) and attends over the lot, so the same code serves a whole teacher-forced target
    (empty cache, causal mask) and one search step (cache of t positions, no mask needed).
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.cross_norm = nn.LayerNorm(d_model)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ff_norm = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, cache: tuple[Tensor, Tensor], self_mask: Tensor | None,
                cross_kv: tuple[Tensor, Tensor], cross_mask: Tensor | None, need_weights: bool):
        """x (B, T, E); cache k, v (B, H, t, D); self_mask (T, t + T) or None;
        cross_kv k, v (B, H, S, D); cross_mask (B, 1, 1, S) or None.

        Returns x, the new cache (B, H, t + T, D) each, self weights (B, H, T, t + T) and cross
        weights (B, H, T, S), the weights None unless asked.
        """
        q, k, v = self.self_attn.project_qkv(self.self_norm(x))  # (B, H, T, D) each
        if cache[0].size(2):
            k = torch.cat([cache[0], k], dim=2)  # (B, H, t + T, D)
            v = torch.cat([cache[1], v], dim=2)
        attended, self_weights = self.self_attn.attend(q, k, v, self_mask, need_weights)
        x = x + dropped(self.dropout, attended)
        q = self.cross_attn.project_q(self.cross_norm(x))  # (B, H, T, D)
        attended, cross_weights = self.cross_attn.attend(q, *cross_kv, cross_mask, need_weights)
        x = x + dropped(self.dropout, attended)
        x = x + dropped(self.dropout, self.ff(self.ff_norm(x)))
        return x, (k, v), self_weights, cross_weights


class Transformer(Seq2Seq):
    """Pre-norm encoder-decoder Transformer with one embedding for source, target and output."""

    def __init__(self, vocab_size: int, pad_id: int = 0, d_model: int = 256, num_heads: int = 8,
                 num_encoder_layers: int = 3, num_decoder_layers: int = 3, d_ff: int = 1024,
                 dropout: float = 0.1, max_len: int = 512):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, pad_id=pad_id, d_model=d_model,
                           num_heads=num_heads, num_encoder_layers=num_encoder_layers,
                           num_decoder_layers=num_decoder_layers, d_ff=d_ff, dropout=dropout,
                           max_len=max_len)
        self.vocab_size, self.pad_id, self.max_len = vocab_size, pad_id, max_len
        self.d_model, self.num_heads = d_model, num_heads

        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        # Embeddings are multiplied by sqrt(E) on the way in, so start them at std 1/sqrt(E):
        # inputs then have unit scale next to the positional encodings, and the tied output
        # layer starts with logits of unit scale.
        nn.init.normal_(self.embedding.weight, std=d_model ** -0.5)
        with torch.no_grad():
            self.embedding.weight[pad_id].zero_()
        self.register_buffer("positions", sinusoidal_positions(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder_layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, dropout) for _ in range(num_encoder_layers))
        self.encoder_norm = nn.LayerNorm(d_model)
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, d_ff, dropout) for _ in range(num_decoder_layers))
        self.decoder_norm = nn.LayerNorm(d_model)
        # An inference-only stand-in for scoring against the embedding (the shipped int8 path,
        # inference/int8_output.py); training always scores in full precision.
        self.output_projection: Callable[[Tensor], Tensor] | None = None

    def _embed(self, tokens: Tensor, offset: int = 0) -> Tensor:
        """tokens (B, N) at positions offset.. -> (B, N, E)."""
        end = offset + tokens.size(1)
        if end > self.max_len:
            raise ValueError(f"A sequence of {end} pieces is longer than this Transformer's "
                             f"max_len ({self.max_len}); shorten the input or the output limit.")
        x = self.embedding(tokens) * math.sqrt(self.d_model) + self.positions[offset:end]
        return dropped(self.dropout, x)

    # ---- encoder ----------------------------------------------------------------------------
    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> dict:
        """src, src_mask (B, S) -> memory dict.

        memory: "src_mask" (B, S); "cross_mask" (B, 1, 1, S) or None (see `source_mask`);
        "cross_kv", one (k, v) pair (B, H, S, D) per decoder layer, projected once here; with
        need_weights, "encoder_self" (B, L, H, S, S).
        """
        x = self._embed(src)  # (B, S, E)
        mask = source_mask(src_mask)  # (B, 1, 1, S) or None
        weights = []
        for layer in self.encoder_layers:
            x, w = layer(x, mask, need_weights)
            weights.append(w)
        x = self.encoder_norm(x)
        memory = {"src_mask": src_mask, "cross_mask": mask,
                  "cross_kv": [layer.cross_attn.project_kv(x, x) for layer in self.decoder_layers]}
        if need_weights:
            memory["encoder_self"] = torch.stack(weights, dim=1)  # (B, L, H, S, S)
        return memory

    # ---- decoder ----------------------------------------------------------------------------
    def init_state(self, memory: dict) -> dict:
        """state: "self_kv", one empty (k, v) cache (B, H, 0, D) per decoder layer."""
        k = memory["cross_kv"][0][0]
        empty = k.new_zeros(k.size(0), self.num_heads, 0, k.size(-1))
        return {"self_kv": [(empty, empty) for _ in self.decoder_layers]}

    # Why the decoder's self-attention is causal: at training time the whole target is fed at
    # once, and position t must predict piece t+1 from pieces up to t only, as it will have to at
    # translation time, when later pieces do not exist yet. Masking the keys after t keeps
    # training honest (no copying the answer from the right) and is what makes one-step-at-a-time
    # decoding with a cache compute exactly the same numbers as the teacher-forced pass.
    def _decode(self, memory: dict, caches: list, tokens: Tensor, need_weights: bool):
        """tokens (B, N) following the cached positions -> hidden (B, N, E), new caches,
        self weights per layer (B, H, N, t + N), cross weights per layer (B, H, N, S)."""
        offset, N = caches[0][0].size(2), tokens.size(1)
        x = self._embed(tokens, offset)  # (B, N, E)
        # One new position may see every cached one, so a step needs no mask.
        self_mask = causal_mask(N, tokens.device, offset) if N > 1 else None
        cross_mask = memory["cross_mask"]  # (B, 1, 1, S) or None
        new_caches, self_weights, cross_weights = [], [], []
        layers = zip(self.decoder_layers, caches, memory["cross_kv"], strict=True)
        for layer, cache, cross_kv in layers:
            x, cache, sw, cw = layer(x, cache, self_mask, cross_kv, cross_mask, need_weights)
            new_caches.append(cache)
            self_weights.append(sw)
            cross_weights.append(cw)
        return self.decoder_norm(x), new_caches, self_weights, cross_weights

    def _logits(self, x: Tensor) -> Tensor:
        """(..., E) -> (..., V), scored against the shared embedding."""
        if self.output_projection is not None and not self.training:
            return self.output_projection(x)
        return x @ self.embedding.weight.t()

    def step(self, memory: dict, state: dict, token: Tensor,
             need_weights: bool = False) -> tuple[Tensor, dict, dict[str, Tensor]]:
        """token (B,) -> logits (B, V), new state, and with need_weights
        {"cross": (B, L, H, S), "decoder_self": (B, L, H, t)}, t counting this step."""
        x, caches, sw, cw = self._decode(memory, state["self_kv"], token.unsqueeze(1), need_weights)
        weights = {}
        if need_weights:
            weights = {"cross": torch.stack(cw, dim=1)[:, :, :, 0],  # (B, L, H, S)
                       "decoder_self": torch.stack(sw, dim=1)[:, :, :, 0]}  # (B, L, H, t)
        return self._logits(x[:, 0]), {"self_kv": caches}, weights

    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor,
                need_weights: bool = False) -> tuple[Tensor, dict[str, Tensor]]:
        """Teacher-forced logits (B, T, V); with need_weights {"cross": (B, L, H, T, S),
        "decoder_self": (B, L, H, T, T), "encoder_self": (B, L, H, S, S)}."""
        memory = self.encode(src, src_mask, need_weights)
        x, _, sw, cw = self._decode(memory, self.init_state(memory)["self_kv"], tgt_in,
                                    need_weights)
        if not need_weights:
            return self._logits(x), {}
        return self._logits(x), {"cross": torch.stack(cw, dim=1),  # (B, L, H, T, S)
                                 "decoder_self": torch.stack(sw, dim=1),  # (B, L, H, T, T)
                                 "encoder_self": memory["encoder_self"]}

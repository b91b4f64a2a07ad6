"""Translators that teach how attention beats recurrence. Imports torch only.

- `attention`: the attention math (scaled dot-product, Bahdanau, Luong, multi-head).
- `seq2seq`: the face every model shows to search and training.
- `cells`: the GRU, LSTM and tanh RNN cells written out, returning their gates.
- `rnn`: recurrent encoder-decoder (GRU, LSTM or tanh RNN) with Bahdanau, Luong or no attention.
- `transformer`: the Transformer, with a key/value cache for decoding.
- `search`: greedy search, beam search and forced decoding (alignment) for any of them.
"""

from models.attention import (
    BahdanauAttention,
    LuongAttention,
    MultiHeadAttention,
    causal_mask,
    masked_softmax,
    padding_mask,
    scaled_dot_product,
    weighted_sum,
)
from models.cells import GATES
from models.rnn import ATTENTIONS, CELLS, GRUSeq2Seq, RNNSeq2Seq
from models.search import (
    Hypothesis,
    beam_search,
    forced_alignment,
    forced_decoding,
    greedy_search,
)
from models.seq2seq import Seq2Seq, select_rows
from models.transformer import Transformer

__all__ = [
    "ATTENTIONS",
    "BahdanauAttention",
    "CELLS",
    "GATES",
    "GRUSeq2Seq",
    "Hypothesis",
    "LuongAttention",
    "MultiHeadAttention",
    "RNNSeq2Seq",
    "Seq2Seq",
    "Transformer",
    "beam_search",
    "causal_mask",
    "forced_alignment",
    "forced_decoding",
    "greedy_search",
    "masked_softmax",
    "padding_mask",
    "scaled_dot_product",
    "select_rows",
    "weighted_sum",
]

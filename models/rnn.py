"""Recurrent encoder-decoder (GRU, LSTM or plain tanh RNN), with Bahdanau, Luong or no attention.

Legend: B batch, S source length, T target length, V vocabulary, M = emb_dim,
He = enc_hidden (each direction), Hd = dec_hidden, K = 2*He encoder output size, A = attn_dim.

One flag, `cell`, picks the recurrence (as in Joey NMT): "gru" (update and reset gates),
"lstm" (input, forget and output gates around a separate cell state c, the additive path that
lets gradients through long sentences) or "rnn" (a plain tanh RNN: no gates, the model whose
gradients vanish). Training uses torch's fused layers for all three; `encode_with_gates` runs
the same weights through cells written out step by step (`models.cells`), to show the gates.

The story in four decoders, sharing one encoder:
- "none" (Cho et al., 2014): the whole source is squeezed into one fixed vector c (the last
  forward and first backward encoder states); the decoder sees that same c at every step. Long
  sentences must fit through this bottleneck, which is what attention removes.
- "bahdanau" (Bahdanau et al., 2015): before step t the previous decoder state s_{t-1} scores
  every encoder state, so c_t is a fresh, per-step mix of the source; c_t feeds the GRU and the
  output. The weights are the alignment a person sees. With `query_word=True` the query is
  [s_{t-1}; emb(y_{t-1})]: s_{t-1} was computed before y_{t-1} was chosen, so on its own it
  asks where to look without knowing the word just written (the conditional GRU of Nematus,
  Sennrich et al., 2017, fixes the same gap with a second GRU). With `attend_after_step=True`
  the additive score runs on Luong's path instead (below): the cell steps first and s_t asks,
  with input feeding; TensorFlow's NMT tutorial builds "Bahdanau attention" this way. With
  `attend_eos=False` (any attention) the source's eos is read by the encoder but masked out of
  the attention: an experiment on the `</s>` sink (README, Results). With `feed_summary=True`
  the cell also reads the fixed vector c of "none" at every step, beside c_t: the whole-sentence
  summary no longer has to be fetched by attending to the state that holds it (the eos, whose
  forward half has read the whole sentence), another experiment on that sink.
- "luong_dot" / "luong_general" (Luong et al., 2015): the GRU steps first, then its new state
  s_t scores the source; the attentional vector h~_t = tanh(W_c [c_t; s_t]) gives the logits
  and is fed to the next step's input ("input feeding"), so the decoder knows what it attended.

One embedding serves source, target and output layer (the vocabulary is joint), so every
decoder ends in an M-sized vector that is scored against the embedding matrix.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from models.attention import BahdanauAttention, LuongAttention
from models.cells import run_bidirectional
from models.seq2seq import Seq2Seq

ATTENTIONS = ("bahdanau", "luong_dot", "luong_general", "none")
CELLS = {"gru": (nn.GRU, nn.GRUCell), "lstm": (nn.LSTM, nn.LSTMCell), "rnn": (nn.RNN, nn.RNNCell)}


class RNNSeq2Seq(Seq2Seq):
    """Bidirectional recurrent encoder, recurrent decoder with the attention named by `attention`.

    cell: "gru", "lstm" or "rnn" (tanh). An LSTM carries a second state, the cell c, which
    starts as the same bridge output as the hidden state (as in Joey NMT).

    attention: "bahdanau", "luong_dot", "luong_general" or "none". "luong_dot" scores s_t . h_j,
    so it needs dec_hidden == 2 * enc_hidden (the defaults); otherwise use "luong_general",
    whose W_a is exactly the projection that dot attention lacks.
    """

    def __init__(self, vocab_size: int, pad_id: int = 0, emb_dim: int = 256,
                 enc_hidden: int = 256, dec_hidden: int = 512, attention: str = "bahdanau",
                 attn_dim: int = 256, dropout: float = 0.2, cell: str = "gru",
                 query_word: bool = False, attend_after_step: bool = False,
                 attend_eos: bool = True, feed_summary: bool = False):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"Unknown cell {cell!r}; choose one of {', '.join(CELLS)}.")
        if attention not in ATTENTIONS:
            raise ValueError(f"Unknown attention {attention!r}; choose one of "
                             f"{', '.join(ATTENTIONS)}.")
        if attention == "luong_dot" and dec_hidden != 2 * enc_hidden:
            raise ValueError(
                f"attention='luong_dot' scores the decoder state against the encoder states "
                f"directly, so dec_hidden ({dec_hidden}) must equal 2 * enc_hidden "
                f"({2 * enc_hidden}); change the sizes or use attention='luong_general'.")
        self.config = dict(vocab_size=vocab_size, pad_id=pad_id, emb_dim=emb_dim,
                           enc_hidden=enc_hidden, dec_hidden=dec_hidden, attention=attention,
                           attn_dim=attn_dim, dropout=dropout, cell=cell)
        if query_word:  # only written when set, so older folders' configs stay as they were
            if attention != "bahdanau":
                raise ValueError("query_word=True is for attention='bahdanau' (Luong's query "
                                 "s_t has already read the previous word).")
            self.config["query_word"] = True
        if attend_after_step:
            if attention != "bahdanau" or query_word:
                raise ValueError("attend_after_step=True is for attention='bahdanau' without "
                                 "query_word (Luong's attention always attends after the step, "
                                 "and s_t has already read the previous word).")
            self.config["attend_after_step"] = True
        if not attend_eos:
            if attention == "none":
                raise ValueError("attend_eos=False needs attention: without it nothing attends.")
            self.config["attend_eos"] = False
        if feed_summary:
            if attention != "bahdanau" or attend_after_step:
                raise ValueError("feed_summary=True is for attention='bahdanau' without "
                                 "attend_after_step (\"none\" reads the summary already).")
            self.config["feed_summary"] = True
        self.query_word, self.attend_after_step = query_word, attend_after_step
        self.attend_eos, self.feed_summary = attend_eos, feed_summary
        self.vocab_size, self.pad_id, self.attention_kind = vocab_size, pad_id, attention
        self.cell = cell
        Layer, Cell = CELLS[cell]
        # Luong's path (step, then attend, then h~ fed to the next step), for Luong's scores
        # and for the additive score with attend_after_step.
        self.luong = attention.startswith("luong") or attend_after_step
        K = 2 * enc_hidden

        self.embedding = nn.Embedding(vocab_size, emb_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.encoder = Layer(emb_dim, enc_hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(K, dec_hidden)  # [h_fwd_last; h_bwd_first] -> s_0

        if attention == "bahdanau":  # s_{t-1} (or s_t after the step), with y_{t-1} or not
            query_dim = dec_hidden + (emb_dim if query_word else 0)
            self.attention = BahdanauAttention(query_dim, K, attn_dim)
        elif attention.startswith("luong"):
            self.attention = LuongAttention(dec_hidden, K, attention.removeprefix("luong_"))
        else:
            self.attention = None

        if self.luong:
            # Input feeding: the cell reads [emb(y_{t-1}); h~_{t-1}].
            self.decoder = Cell(emb_dim + emb_dim, dec_hidden)
            self.combine = nn.Linear(K + dec_hidden, emb_dim)  # W_c [c_t; s_t] -> h~_t
        else:
            # Bahdanau and "none": the cell reads [emb(y_{t-1}); c_t] (and the summary c with
            # feed_summary), the output sees emb, c_t and s_t.
            self.decoder = Cell(emb_dim + K + (K if feed_summary else 0), dec_hidden)
            self.combine = nn.Linear(dec_hidden + K + emb_dim, emb_dim)
        self.out_bias = nn.Parameter(torch.zeros(vocab_size))

    # ---- encoder ----------------------------------------------------------------------------
    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> dict:
        """src, src_mask (B, S) -> memory dict (the encoder has no attention to return).

        memory: "src_mask" (B, S), "init" (B, Hd) the decoder's first state, and either
        "values" (B, S, K) + "keys" (B, S, A or Hd) projected once here, or for "none"
        "summary" (B, K), the fixed context vector.
        """
        S = src.size(1)
        lengths = src_mask.sum(dim=1).cpu()
        packed = pack_padded_sequence(self.dropout(self.embedding(src)), lengths,
                                      batch_first=True, enforce_sorted=False)
        # Packing makes h_n hold the forward RNN at each sentence's last real token and the
        # backward RNN at its first, not states that have run on over padding.
        outputs, h_n = self.encoder(packed)  # h_n (2, B, He); an LSTM's is (h_n, c_n)
        if self.cell == "lstm":
            h_n = h_n[0]
        values, _ = pad_packed_sequence(outputs, batch_first=True, total_length=S)  # (B, S, K)
        return self._memory(src_mask, values, h_n)

    def _memory(self, src_mask: Tensor, values: Tensor, h_n: Tensor) -> dict:
        """Encoder states (B, S, K) and final hidden states h_n (2, B, He) -> memory dict."""
        summary = torch.cat([h_n[0], h_n[1]], dim=-1)  # (B, K)
        memory = {"src_mask": src_mask if self.attend_eos else _without_eos(src_mask),
                  "init": torch.tanh(self.bridge(summary))}
        if self.attention is None or self.feed_summary:
            memory["summary"] = summary
        if self.attention is not None:
            memory["values"] = values
            memory["keys"] = self.attention.project_keys(values)
        return memory

    def encode_with_gates(self, src: Tensor, src_mask: Tensor) -> tuple[dict, dict[str, Tensor]]:
        """`encode`, run through the written-out cells of `models.cells` so the gates come out.

        src, src_mask (B, S) -> the memory `encode` gives (equal within 1e-5) and the encoder's
        gates {name: (B, S, K)}, forward and backward halves side by side like the encoder
        states, zero on padding: "reset" r and "update" z for a GRU, "input" i, "forget" f and
        "output" o for an LSTM, all in [0, 1] (`models.cells.GATES`); also the "candidate" (the
        GRU's n, the LSTM's g, in [-1, 1]) and an LSTM's "cell" c, so that h_t = (1 - z) * n +
        z * h_{t-1} and c_t = f * c_{t-1} + i * g can be checked. A tanh RNN has none: {}.

        A Python loop over S, far slower than `encode`: for looking at the gates, not training.
        """
        embedded = self.dropout(self.embedding(src))  # (B, S, M)
        values, h_n, parts = run_bidirectional(self.encoder, embedded, src_mask)  # (B, S, K)
        if self.cell == "lstm":
            h_n = h_n[0]
        return self._memory(src_mask, values, h_n), parts

    # ---- decoder ----------------------------------------------------------------------------
    def init_state(self, memory: dict) -> dict:
        """state: "hidden" (B, Hd); an LSTM adds "cell" (B, Hd); Luong adds "feed" (B, M), the
        previous h~ (zeros at first)."""
        hidden = memory["init"]
        state = {"hidden": hidden}
        if self.cell == "lstm":
            state["cell"] = hidden
        if self.luong:
            state["feed"] = hidden.new_zeros(hidden.size(0), self.embedding.embedding_dim)
        return state

    def _recur(self, inputs: Tensor, state: dict) -> dict:
        """One step of the decoder cell: (B, in) and the old state -> {"hidden"[, "cell"]}."""
        if self.cell == "lstm":
            hidden, cell = self.decoder(inputs, (state["hidden"], state["cell"]))
            return {"hidden": hidden, "cell": cell}
        return {"hidden": self.decoder(inputs, state["hidden"])}

    def _decode_step(self, memory: dict, state: dict,
                     emb: Tensor) -> tuple[Tensor, dict, Tensor | None]:
        """One step from emb(y_{t-1}) (B, M): output (B, M), new state, weights (B, S) or None."""
        if self.luong:
            new = self._recur(torch.cat([emb, state["feed"]], dim=-1), state)
            hidden = new["hidden"]  # s_t
            context, weights = self.attention(hidden, memory["keys"], memory["values"],
                                              memory["src_mask"])
            out = torch.tanh(self.combine(torch.cat([context, hidden], dim=-1)))  # h~_t (B, M)
            return out, new | {"feed": out}, weights
        if self.attention is None:
            context, weights = memory["summary"], None  # the same c at every step
        else:  # Bahdanau: s_{t-1} asks where to look before the cell moves.
            query = torch.cat([state["hidden"], emb], dim=-1) if self.query_word \
                else state["hidden"]
            context, weights = self.attention(query, memory["keys"], memory["values"],
                                              memory["src_mask"])
        inputs = [emb, context, memory["summary"]] if self.feed_summary else [emb, context]
        new = self._recur(torch.cat(inputs, dim=-1), state)
        hidden = new["hidden"]  # s_t
        out = torch.tanh(self.combine(torch.cat([hidden, context, emb], dim=-1)))  # (B, M)
        return out, new, weights

    def _logits(self, out: Tensor) -> Tensor:
        """(..., M) -> (..., V), scored against the shared embedding."""
        return F.linear(self.dropout(out), self.embedding.weight, self.out_bias)

    def step(self, memory: dict, state: dict, token: Tensor,
             need_weights: bool = False) -> tuple[Tensor, dict, dict[str, Tensor]]:
        """token (B,) -> logits (B, V), new state, {"cross": (B, S)} ({} for "none")."""
        out, state, weights = self._decode_step(memory, state, self.dropout(self.embedding(token)))
        step_weights = {"cross": weights} if need_weights and weights is not None else {}
        return self._logits(out), state, step_weights

    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor,
                need_weights: bool = False) -> tuple[Tensor, dict[str, Tensor]]:
        """Teacher-forced logits (B, T, V) and {"cross": (B, T, S)} ({} for "none").

        The recurrence forces a loop over T, but it runs the very `_decode_step` search uses,
        and the costly vocabulary projection is done once for all positions.
        """
        memory = self.encode(src, src_mask)
        state = self.init_state(memory)
        emb = self.dropout(self.embedding(tgt_in))  # (B, T, M)
        outs, weights = [], []
        for t in range(tgt_in.size(1)):
            out, state, w = self._decode_step(memory, state, emb[:, t])
            outs.append(out)
            weights.append(w)
        logits = self._logits(torch.stack(outs, dim=1))  # (B, T, V)
        if need_weights and self.attention is not None:
            return logits, {"cross": torch.stack(weights, dim=1)}  # (B, T, S)
        return logits, {}


def _without_eos(src_mask: Tensor) -> Tensor:
    """The attention's mask (B, S) with each source's last real piece, its eos, masked out
    (kept where it is the only piece): the encoder still reads eos, attention cannot rest on it."""
    lengths = src_mask.sum(dim=1)  # (B,)
    rows = torch.nonzero(lengths > 1).squeeze(1)
    mask = src_mask.clone()
    mask[rows, lengths[rows] - 1] = False
    return mask


# Folders exported before the cell choice name `models.gru.GRUSeq2Seq`; it is this class.
GRUSeq2Seq = RNNSeq2Seq

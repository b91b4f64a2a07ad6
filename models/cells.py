"""The recurrent cells written out, so their gates can be looked at.

Legend: B batch, S sequence length, I input size, H hidden size (one direction),
G gate blocks stacked in the weights (GRU 3, LSTM 4, RNN 1).

Training runs torch's fused nn.GRU / nn.LSTM / nn.RNN (and nn.GRUCell / nn.LSTMCell / nn.RNNCell
in the decoder): one kernel per sequence, whose gates never leave it. The functions here redo
the same step from those layers' own weights, in torch's layout, and return the gates as well;
the tests hold them to the fused layers within 1e-5. They are a Python loop over positions,
far slower than the fused kernel, so they run only when someone asks to see the gates.

One step, as torch writes it (x the input, h the previous state; each W x + W h carries both
biases b_i* and b_h*; weight rows are stacked in the order given):
    GRU  (r, z, n):     r = sigmoid(W_ir x + W_hr h)          reset gate
                        z = sigmoid(W_iz x + W_hz h)          update gate
                        n = tanh(W_in x + r * (W_hn h))       candidate
                        h' = (1 - z) * n + z * h              z near 1 keeps the old state
    LSTM (i, f, g, o):  i, f, o = sigmoid(W_i* x + W_h* h)   input, forget, output gates
                        g = tanh(W_ig x + W_hg h)             candidate
                        c' = f * c + i * g                    the additive cell path
                        h' = o * tanh(c')
    RNN:                h' = tanh(W_ih x + W_hh h)            no gates
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The parts of a step that are gates, i.e. sigmoids in [0, 1]; a step also returns its
# "candidate" (tanh, in [-1, 1]) and an LSTM its "cell" c (unbounded).
GATES = {"gru": ("reset", "update"), "lstm": ("input", "forget", "output"), "rnn": ()}

State = Tensor | tuple[Tensor, Tensor]  # h (B, H), or an LSTM's (h, c)


class CellWeights(NamedTuple):
    """One direction's weights, as the fused layers store them."""

    weight_ih: Tensor  # (G*H, I)
    weight_hh: Tensor  # (G*H, H)
    bias_ih: Tensor | None  # (G*H,), None for a layer built with bias=False
    bias_hh: Tensor | None


def weights_of(module: nn.Module, suffix: str = "") -> CellWeights:
    """The weights of an nn.GRUCell / LSTMCell / RNNCell (suffix "") or of one direction of a
    one-layer nn.GRU / LSTM / RNN (suffix "_l0", or "_l0_reverse" for the backward direction)."""
    return CellWeights(*(getattr(module, name + suffix, None)
                         for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))


def gru_cell(x: Tensor, h: Tensor, w: CellWeights) -> tuple[Tensor, dict[str, Tensor]]:
    """x (B, I), h (B, H) -> h' (B, H) and {"reset", "update", "candidate"} (B, H) each."""
    x_r, x_z, x_n = F.linear(x, w.weight_ih, w.bias_ih).chunk(3, dim=-1)  # (B, H) each
    h_r, h_z, h_n = F.linear(h, w.weight_hh, w.bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)  # the reset gate scales the old state's contribution only
    return (1 - z) * n + z * h, {"reset": r, "update": z, "candidate": n}


def lstm_cell(x: Tensor, state: tuple[Tensor, Tensor],
              w: CellWeights) -> tuple[tuple[Tensor, Tensor], dict[str, Tensor]]:
    """x (B, I), (h, c) (B, H) each -> (h', c') and {"input", "forget", "output", "candidate",
    "cell"} (B, H) each, "cell" being c'."""
    h, c = state
    gates = F.linear(x, w.weight_ih, w.bias_ih) + F.linear(h, w.weight_hh, w.bias_hh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # (B, H) each
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    return (o * torch.tanh(c), c), {"input": i, "forget": f, "output": o, "candidate": g,
                                    "cell": c}


def rnn_cell(x: Tensor, h: Tensor, w: CellWeights) -> tuple[Tensor, dict[str, Tensor]]:
    """x (B, I), h (B, H) -> h' (B, H) and {} (a tanh RNN has no gates)."""
    pre = F.linear(x, w.weight_ih, w.bias_ih) + F.linear(h, w.weight_hh, w.bias_hh)  # (B, H)
    return torch.tanh(pre), {}


CELL_STEPS = {"gru": gru_cell, "lstm": lstm_cell, "rnn": rnn_cell}


def _where(keep: Tensor, new: State, old: State) -> State:
    """new where keep (B, 1) is True, else old; on h or on an LSTM's (h, c)."""
    if isinstance(new, tuple):
        return tuple(torch.where(keep, n, o) for n, o in zip(new, old, strict=True))
    return torch.where(keep, new, old)


def run_direction(cell: str, x: Tensor, mask: Tensor, w: CellWeights,
                  reverse: bool = False) -> tuple[Tensor, State, dict[str, Tensor]]:
    """Run one direction over x (B, S, I), right-padded, mask (B, S) True on real positions,
    from a zero state, as the fused layer runs a packed sequence.

    Forward, the state stops changing after each sentence's last real position. Backward
    (reverse=True, positions S-1 down to 0) it stays zero through the padding, so it starts at
    each sentence's last real position. Returns outputs (B, S, H), the final state (h (B, H),
    or (h, c) for an LSTM), and the step's parts {name: (B, S, H)}; outputs and parts are zero
    on padding, as pad_packed_sequence leaves them.
    """
    step = CELL_STEPS[cell]
    B, S, _ = x.shape
    h = x.new_zeros(B, w.weight_hh.size(1))  # (B, H)
    state = (h, h) if cell == "lstm" else h
    outputs, parts = [None] * S, [None] * S
    for t in (range(S - 1, -1, -1) if reverse else range(S)):
        keep = mask[:, t, None]  # (B, 1)
        new, parts_t = step(x[:, t], state, w)
        state = _where(keep, new, state)
        h_t = new[0] if cell == "lstm" else new
        outputs[t] = h_t * keep
        parts[t] = {name: value * keep for name, value in parts_t.items()}
    return (torch.stack(outputs, dim=1),  # (B, S, H)
            state,
            {name: torch.stack([p[name] for p in parts], dim=1) for name in parts[0]})


def cell_name(layer: nn.Module) -> str:
    """"gru", "lstm" or "rnn" for a fused layer or cell (nn.GRU or nn.GRUCell, and so on)."""
    for name, kinds in {"gru": (nn.GRU, nn.GRUCell), "lstm": (nn.LSTM, nn.LSTMCell),
                        "rnn": (nn.RNN, nn.RNNCell)}.items():
        if isinstance(layer, kinds):
            if getattr(layer, "nonlinearity", "tanh") != "tanh":
                raise ValueError(f"Only the tanh RNN is written out here, not "
                                 f"{layer.nonlinearity!r}.")
            return name
    raise ValueError(f"{type(layer).__name__} is not a GRU, LSTM or RNN layer or cell.")


def run_bidirectional(layer: nn.RNNBase, x: Tensor,
                      mask: Tensor) -> tuple[Tensor, State, dict[str, Tensor]]:
    """What a one-layer bidirectional `layer` (nn.GRU / nn.LSTM / nn.RNN with tanh) computes on
    pack_padded_sequence(x, lengths), with its gates.

    x (B, S, I); mask (B, S). Returns outputs (B, S, 2H) = [forward; backward], as
    pad_packed_sequence gives them; h_n (2, B, H), forward then backward (an LSTM's is
    (h_n, c_n)), as the fused layer returns it; and parts {name: (B, S, 2H)}, both directions
    side by side like the outputs.
    """
    if layer.num_layers != 1 or not layer.bidirectional or getattr(layer, "proj_size", 0):
        raise ValueError("run_bidirectional writes out a one-layer bidirectional recurrence "
                         "without projections; this layer is not one.")
    cell = cell_name(layer)
    forward, f_state, f_parts = run_direction(cell, x, mask, weights_of(layer, "_l0"))
    backward, b_state, b_parts = run_direction(cell, x, mask, weights_of(layer, "_l0_reverse"),
                                               reverse=True)
    if cell == "lstm":
        final = (torch.stack([f_state[0], b_state[0]]), torch.stack([f_state[1], b_state[1]]))
    else:
        final = torch.stack([f_state, b_state])  # (2, B, H)
    parts = {name: torch.cat([f_parts[name], b_parts[name]], dim=-1) for name in f_parts}
    return torch.cat([forward, backward], dim=-1), final, parts

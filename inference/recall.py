"""The recall lab: can a recurrent cell remember a symbol it saw L steps ago?

Legend: B batch, L sequence length, K symbols, H hidden units, k = T - t steps back.

    result = run_recall_lab((5, 10, 20, 35, 50), seed=0)
    result["rnn"]["accuracy"]          # one per length: the tanh RNN's share recalled

**The task.** A sequence is L symbols drawn at random from K; the first carries a mark (one
extra input bit), and after reading all L the network must say which symbol was marked. The
L - 1 symbols after it are distractors from the same K, so a cell cannot learn to ignore those
inputs: it must write the marked symbol into its state and keep it there through L - 1 steps
of interference. Guessing scores 1/K.

**Why a plain RNN fails.** h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), so

    dh_T/dh_t = prod_{s=t+1..T} diag(1 - h_s^2) W_hh

a product of T - t matrices. Each factor is at most as large as W_hh (1 - h^2 <= 1), smaller
where units saturate. When the factors shrink vectors, as they do at initialisation (PyTorch's
default W_hh, entries up to 1/sqrt(H), has a spectral radius near 0.6), the product shrinks
exponentially in T - t: the learning signal from the answer never reaches the step that saw
the symbol, and the RNN learns only what short sequences can teach it. (Where the factors grow,
gradients explode instead; clipping keeps the step sizes sane.) Nor does training simply fix
W_hh: to hold a symbol against the distractors, the state must be pulled back to where it was
after each disturbance, and that same contraction shrinks the gradient (Bengio, Simard &
Frasconi, 1994). A tanh RNN finds it hard both to remember and to be taught to remember.

**Why gates help.** The LSTM keeps a cell c_t = f_t * c_{t-1} + i_t * g_t: going back one step
along c multiplies the gradient by the forget gate f elementwise, with no W_hh and no tanh'.
With f near 1 the product of many f's stays near 1. The input gate i decides when to write (at
the marked step) and can shut the distractors out. The GRU has the same additive path,
h_t = z_t * h_{t-1} + (1 - z_t) * n_t (PyTorch's convention: the update gate z keeps).

**Initialisation.** Every weight starts from PyTorch's default for recurrent layers,
U(-1/sqrt(H), 1/sqrt(H)), drawn from the lab's own generator. The gated cells' gate biases
then follow "chrono initialisation" (Tallec & Ollivier, 2018): forget (LSTM) and update (GRU)
biases log(u), u ~ U(1, CHRONO_MAX - 1), so each unit starts out remembering for about u
steps, and the LSTM's input gate bias -log(u). A tanh RNN has no such knob: how long it
remembers is set by W_hh and tanh's saturation together.

**Training.** One small network per cell and per L, from the same initial weights for every L:
Adam (rate LR) on batches of fresh sequences, the gradient norm clipped to 1, until PATIENCE
batches in a row are each at least SOLVED right (checked before the update, so on sequences
not yet trained on) or MAX_STEPS updates. Accuracy is then measured on TEST_SEQUENCES new
sequences.

**Gradient norms.** For the longest L, at initialisation and after training, the lab measures
how much of a gradient arriving at h_T survives k steps back:

    gain(k) = ||dh_T/ds_{T-k}||_F / sqrt(H),  s_t the state after step t (the LSTM's is (h, c))

The Frobenius norm, scaled so that gain(0) = 1: the root-mean-square factor by which a
gradient's size changes on its way back k steps. It is estimated with random probes, one per
sequence: for u a random unit vector, E[u u^T] = I/H, so E ||u^T J||^2 = ||J||_F^2 / H; and one
backward pass from u . h_T gives u^T dh_T/ds_t for every t at once (the fused layer is run one
step at a time, so that each s_t is a tensor to take the gradient at). The root-mean-square
over the batch is reported, in float64 so that products down to 1e-300 do not round to zero.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from inference.errors import InputError, whole_number
from inference.lab import _threads

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}  # nn.RNN is tanh by default
DEFAULT_LENGTHS = (5, 10, 20, 35, 50)
SYMBOLS = 16  # K: chance is 1/16
HIDDEN = 32
BATCH = 64
LR = 3e-2
MAX_STEPS = 150
SOLVED, PATIENCE = 0.98, 3  # stop once PATIENCE batches in a row are each >= SOLVED right
CHRONO_MAX = 100  # gated cells start with memories of 1 to ~100 steps
TEST_SEQUENCES = 512
MIN_LENGTH, MAX_LENGTH, MAX_LENGTHS = 2, 200, 8
MAX_TOTAL = 300  # the lengths together: training time grows with their sum
MAX_SEED = 2**31 - 1
# Three independent random streams per seed: the weights then the training batches, the test
# sequences, and the sequences and probes of the gradient measurement.
WEIGHTS, TEST, PROBE = range(3)


# ---- the task -----------------------------------------------------------------------------------
def make_batch(batch: int, length: int, generator: torch.Generator
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """`batch` sequences of `length` random symbols, the first marked.

    Returns x (B, L, K + 1): one-hot symbols plus the mark bit (1 at step 0 only), and the
    target (B,): each sequence's first symbol."""
    symbols = torch.randint(0, SYMBOLS, (batch, length), generator=generator)  # (B, L)
    x = F.one_hot(symbols, SYMBOLS + 1).float()  # (B, L, K + 1); index K is never a symbol
    x[:, 0, SYMBOLS] = 1.0  # the mark
    return x, symbols[:, 0]


class Recaller(nn.Module):
    """One recurrent layer (tanh RNN, LSTM or GRU) reading the sequence, and a linear readout
    of its last state: x (B, L, K + 1) -> logits (B, K)."""

    def __init__(self, cell: str, hidden: int = HIDDEN):
        super().__init__()
        self.cell = cell
        self.layer = CELLS[cell](SYMBOLS + 1, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, SYMBOLS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.layer(x)  # (B, L, H)
        return self.readout(outputs[:, -1])  # (B, K)


def build(cell: str, generator: torch.Generator, hidden: int = HIDDEN) -> Recaller:
    """A Recaller whose every weight comes from `generator` (never torch's global random state,
    which another request may reseed meanwhile), gate biases chrono-initialised."""
    model = Recaller(cell, hidden)
    bound = 1 / math.sqrt(hidden)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.uniform_(-bound, bound, generator=generator)
        if cell != "rnn":
            # log(u), u ~ U(1, CHRONO_MAX - 1): a gate held at sigmoid(log u) = u / (1 + u)
            # keeps a memory for about u steps.
            keep = torch.empty(hidden).uniform_(1, CHRONO_MAX - 1, generator=generator).log()
            bias = model.layer.bias_ih_l0  # gates stacked: LSTM (i, f, g, o), GRU (r, z, n)
            bias[hidden:2 * hidden] += keep  # the LSTM's forget f, the GRU's update z
            if cell == "lstm":
                bias[:hidden] -= keep  # input i: write rarely to start with
    return model


# ---- training and testing -----------------------------------------------------------------------
def train(model: Recaller, length: int, generator: torch.Generator,
          max_steps: int = MAX_STEPS, lr: float = LR) -> int:
    """Train on fresh batches of `length` until solved (see the module doc); returns the
    number of updates made."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)  # one kernel: faster
    streak = 0
    for step in range(max_steps):
        x, target = make_batch(BATCH, length, generator)
        logits = model(x)  # (B, K)
        right = (logits.argmax(-1) == target).float().mean().item()
        streak = streak + 1 if right >= SOLVED else 0
        if streak == PATIENCE:
            return step
        optimizer.zero_grad()
        F.cross_entropy(logits, target).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return max_steps


@torch.no_grad()
def accuracy(model: Recaller, length: int, generator: torch.Generator) -> float:
    """The share of TEST_SEQUENCES new sequences whose marked symbol the model recalls."""
    x, target = make_batch(TEST_SEQUENCES, length, generator)
    return (model(x).argmax(-1) == target).float().mean().item()


# ---- how far back a gradient reaches ------------------------------------------------------------
def gradient_gains(model: Recaller, length: int, generator: torch.Generator) -> list[float]:
    """gain(k) = ||dh_T/ds_{T-k}||_F / sqrt(H) for k = 0 .. L - 1 (see the module doc);
    gain(0) = 1, gain(L - 1) is what reaches the state that has just read the marked symbol."""
    model = copy.deepcopy(model).double()  # float64: tiny products stay above zero
    hidden = model.layer.hidden_size
    x, _ = make_batch(BATCH, length, generator)
    x = x.double()  # (B, L, K + 1)
    probe = torch.randn(BATCH, hidden, generator=generator, dtype=torch.float64)
    probe /= probe.norm(dim=-1, keepdim=True)  # unit u, E[u u^T] = I/H: gain(0) = 1 exactly
    state, states = None, []
    for t in range(length):
        _, state = model.layer(x[:, t:t + 1], state)  # (1, B, H), or (h, c) for the LSTM
        parts = state if isinstance(state, tuple) else (state,)
        for part in parts:
            part.retain_grad()
        states.append(parts)
    h_last = states[-1][0][0]  # (B, H)
    (h_last * probe).sum().backward()
    gains = []
    for parts in reversed(states):  # k = 0, 1, ..., L - 1
        squares = sum(p.grad.pow(2).sum(-1) for p in parts if p.grad is not None)  # (1, B)
        gains.append(float(squares.mean().sqrt()))
    return gains


# ---- the lab ------------------------------------------------------------------------------------
def parse_lengths(value: str | Iterable | None) -> tuple[int, ...]:
    """Lengths from text ("5, 10, 20") or numbers, sorted and without repeats; InputError
    with one sentence saying what to type otherwise."""
    if isinstance(value, str):  # "5, 10 20;35" or "[5, 10]"
        items = [item for item in re.split(r"[\s,;\[\]()]+", value) if item]
    else:
        try:
            items = list(value)
        except TypeError:
            items = [] if value is None else [value]
    if not items:
        raise InputError(f"Give at least one sequence length, e.g. "
                         f"{', '.join(map(str, DEFAULT_LENGTHS))}.")
    lengths = []
    for item in items:
        try:
            number = float(item)
        except (TypeError, ValueError):
            number = float("nan")
        if not number.is_integer() or not MIN_LENGTH <= number <= MAX_LENGTH:
            raise InputError(f"Each length must be a whole number from {MIN_LENGTH} to "
                             f"{MAX_LENGTH}, not {str(item)[:20]!r}.")
        lengths.append(int(number))
    lengths = sorted(set(lengths))
    if len(lengths) > MAX_LENGTHS:
        raise InputError(f"Give at most {MAX_LENGTHS} lengths, not {len(lengths)}: each one "
                         "trains three networks.")
    if sum(lengths) > MAX_TOTAL:
        raise InputError(f"The lengths add up to {sum(lengths)}; keep their sum at most "
                         f"{MAX_TOTAL}, since training time grows with it.")
    return tuple(lengths)


def parse_seed(value) -> int:
    return whole_number(value, 0, MAX_SEED, "seed")


def _generator(seed: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed(3 * seed + stream)  # stream in (WEIGHTS, TEST, PROBE)


def run_recall_lab(lengths: str | Iterable = DEFAULT_LENGTHS, seed: int = 0,
                   threads: int | None = 1, max_steps: int = MAX_STEPS) -> dict:
    """Train a tanh RNN, an LSTM and a GRU on the recall task at each length; deterministic
    under `seed`. threads: torch threads (None: leave as is); one keeps it reproducible and
    fair to a shared machine.

    Returns {"rnn" | "lstm" | "gru": {"length": [L, ...], "accuracy": [share recalled, ...],
    "steps": [updates made, ...], "chance": 1/K, "gradient_length": the longest L,
    "gradient_init": [gain(k) for k = 0 .. L - 1], "gradient_trained": [...]}}.
    """
    lengths = parse_lengths(lengths)
    seed = parse_seed(seed)
    longest = lengths[-1]
    result = {}
    with _threads(threads):
        for cell in CELLS:
            row = {"length": list(lengths), "accuracy": [], "steps": [],
                   "chance": 1 / SYMBOLS, "gradient_length": longest}
            for length in lengths:
                generator = _generator(seed, WEIGHTS)  # the same start at every length
                model = build(cell, generator)
                if length == longest:
                    row["gradient_init"] = _rounded(
                        gradient_gains(model, length, _generator(seed, PROBE)))
                row["steps"].append(train(model, length, generator, max_steps))
                row["accuracy"].append(round(accuracy(model, length, _generator(seed, TEST)), 4))
                if length == longest:
                    row["gradient_trained"] = _rounded(
                        gradient_gains(model, length, _generator(seed, PROBE)))
            result[cell] = row
    return result


def _rounded(values: list[float]) -> list[float]:
    return [float(f"{v:.4g}") for v in values]

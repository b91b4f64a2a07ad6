"""The recurrent encoders' gates on one sentence: what a GRU or an LSTM decides at each piece.

Legend: S source pieces (with </s>), He hidden units per direction, K = 2 * He (forward units,
then backward units, side by side like the encoder states).

    gates = encoder_gates(Translator.load("checkpoints/gru_bahdanau"), "A dog runs.")
    gates.gates["update"]          # (S, K) numpy, in [0, 1]

The fused nn.GRU / nn.LSTM that `encode` runs keeps its gates inside one kernel, so the model
re-runs its encoder through the written-out cells of `models.cells` (`encode_with_gates`),
which equal the fused layer within 1e-5 (tests/test_gates.py rebuilds the fused outputs from
the gates returned here). Which gate keeps the old state:
    GRU   h_t = (1 - z) * n + z * h_{t-1}     update z near 1: h_{t-1} passes on unchanged
    LSTM  c_t = f * c_{t-1} + i * g           forget f near 1: c_{t-1} passes on, added to
The old state reaches the new one through a sum, not only through a squashing nonlinearity,
so the gradient can flow back along it undiminished: the path a plain tanh RNN lacks (it has
no gates, and its gradients vanish). A model's "forward" units read the sentence left to
right, so their h_{t-1} is the piece before; the "backward" units read right to left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from inference.errors import InputError
from inference.translator import Translator
from models.cells import GATES

# The gate whose value near 1 keeps the old state (the additive path), per cell.
KEEPS = {"gru": "update", "lstm": "forget"}
GATE_SYMBOLS = {"update": "z", "reset": "r", "input": "i", "forget": "f", "output": "o"}
DECIMALS = 3  # the API's values: a heatmap cannot show more, and S x K of them add up
# Units of each direction the API and the heatmaps show (of 256 in the shipped encoders): a
# page keeps its last answer per visitor, and every unit of four encoders came to 1 MB of JSON
# and 1 MB of plot data for a 15-word sentence.
UNITS_SHOWN = 48


@dataclass
class EncoderGates:
    """One recurrent model's encoder gates on one sentence.

    cell: "gru", "lstm" or "rnn". pieces: the S source pieces, "</s>" last.
    gates: {name: (S, K)} in [0, 1], in `models.cells.GATES` order; {} for a tanh RNN.
    parts: every part of the step the gates belong to, (S, K) each: the gates, "candidate"
        (the GRU's n or the LSTM's g) and an LSTM's "cell" c, enough to rebuild the states.
    """

    model: str
    label: str
    cell: str
    pieces: list[str]
    gates: dict[str, np.ndarray]
    parts: dict[str, np.ndarray]
    units_per_direction: int

    @property
    def has_gates(self) -> bool:
        return bool(self.gates)

    def shown_units(self, per_direction: int = UNITS_SHOWN) -> np.ndarray:
        """At most `per_direction` units of each direction, spread evenly over the units sorted
        by their mean gate value on this sentence (the keeping gate's; the lowest first): the
        whole range of behaviours, in a tenth of the numbers. Indices into K."""
        gate = self.gates.get(KEEPS.get(self.cell)) if self.gates else None
        if gate is None:
            return np.arange(2 * self.units_per_direction)
        He = self.units_per_direction
        chosen = []
        for half in (np.arange(0, He), np.arange(He, 2 * He)):
            ranked = half[np.argsort(gate[:, half].mean(axis=0), kind="stable")]
            picks = np.unique(np.linspace(0, len(ranked) - 1, min(per_direction, len(ranked)))
                              .round().astype(int))
            chosen.append(ranked[picks])
        return np.concatenate(chosen)

    def as_json(self) -> dict:
        """What /gates returns for this model: the gates of the shown units (S x units, each
        direction's units in order of their mean keeping gate), "units" their indices among
        the 2 * He, and each gate's mean per piece over all units."""
        units = self.shown_units()
        return {"label": self.label, "cell": self.cell, "pieces": list(self.pieces),
                "units_per_direction": len(units) // 2,
                "hidden_per_direction": self.units_per_direction,
                "units": units.tolist(), "keeps": KEEPS.get(self.cell),
                "gates": {name: _rounded(g[:, units]) for name, g in self.gates.items()},
                "mean": {name: _rounded(g.mean(axis=1)) for name, g in self.gates.items()}}


def _rounded(values: np.ndarray) -> list:
    """Nested lists of DECIMALS-digit floats (rounded in float64: a float32 0.123 would be
    written out as 0.12300000339746475)."""
    return np.round(values.astype(np.float64), DECIMALS).tolist()


def is_recurrent(translator: Translator) -> bool:
    """Whether a model has a recurrent encoder whose gates can be shown (or said to be none)."""
    return hasattr(translator.model, "encode_with_gates")


def has_gates(translator: Translator) -> bool:
    """Whether a recurrent model's cell has gates (a GRU or LSTM; a tanh RNN has none)."""
    return is_recurrent(translator) and bool(GATES.get(translator.model.cell))


@torch.inference_mode()
def encoder_gates(translator: Translator, text: str) -> EncoderGates:
    """The encoder's gates on `text` (cut to the facade's length limit, as translation is).
    InputError for text with nothing to read, or for a model that is not recurrent."""
    if not is_recurrent(translator):
        raise InputError(f"{translator.label} has no recurrent encoder, so it has no gates.")
    _, ids, _ = translator.prepare(text)
    batch = translator._batch([ids])
    _, parts = translator.model.encode_with_gates(batch.src, batch.src_mask)  # (1, S, K) each
    cell = translator.model.cell
    parts = {name: value[0].float().numpy() for name, value in parts.items()}  # (S, K)
    return EncoderGates(model=translator.name, label=translator.label, cell=cell,
                        pieces=translator._pieces(ids + [translator.tokenizer.eos_id]),
                        gates={name: parts[name] for name in GATES[cell]}, parts=parts,
                        units_per_direction=translator.model.encoder.hidden_size)


def gates_all(translators: Mapping[str, Translator], text: str) -> dict[str, EncoderGates]:
    """Every recurrent model's encoder gates on `text`, in the given order (a tanh RNN's with
    none). InputError when no recurrent model is shipped, or for unusable text."""
    recurrent = {name: t for name, t in translators.items() if is_recurrent(t)}
    if not recurrent:
        raise InputError("No recurrent model (GRU, LSTM or RNN) is shipped, so there are no "
                         "gates to show; export one into checkpoints/.")
    return {name: encoder_gates(t, text) for name, t in recurrent.items()}


def gates_json(results: Mapping[str, EncoderGates]) -> dict:
    """/gates: {model: EncoderGates.as_json()} for every model that has gates. InputError when
    none has (only tanh RNNs), naming them."""
    gated = {name: r.as_json() for name, r in results.items() if r.has_gates}
    if not gated:
        names = ", ".join(r.label for r in results.values())
        raise InputError(f"Only plain tanh RNNs are shipped ({names}): a tanh RNN has no "
                         "gates, so there is nothing to show here.")
    return gated

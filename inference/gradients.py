"""Backpropagation on the shipped models: how strongly a translation depends on each source piece.

Legend: S source pieces (with </s>), T target pieces (with </s>), M embedding size, e_j the
token embedding of source piece j (M,), y_t target piece t.

Every model is forced to write one common target (the reference model's greedy translation, or
a target the learner types), so all of them share the axes. With autograd on
(`models.search.forced_decoding(grad=True)`) the target's log-probability is backpropagated to
the source embeddings:

- gradient flow (`flow_all`, /gradient_flow): || d log p(y) / d e_j || per source piece j, where
  log p(y) = sum_t log p(y_t | y_<t, x). A recurrent encoder reaches a piece only through
  every step between it and the decoder, and each step can shrink the gradient (vanishing
  gradients); attention adds a direct path from every step of the decoder to every piece.
- saliency (`saliency_all`, /saliency): for one output piece y_t, gradient x input
  |(d log p(y_t) / d e_j) . e_j| per source piece, beside the attention row a_t that the model
  paid while writing y_t, and their Spearman rank correlation (Jain & Wallace 2019, "Attention
  is not Explanation": the two often disagree).

"The embedding" is the token embedding vector the model looks up: for a recurrent model what
its encoder reads, for the Transformer the vector before it is scaled by sqrt(d_model) and its
position encoding is added (the position part belongs to no token). It is taken by a forward
hook on the model's embedding that swaps the source lookup's output (and only that lookup:
the hook checks that its input is this call's source tensor) for a leaf tensor to
differentiate against; the models are not changed.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from inference import catalogue
from inference.compare import MAX_INPUT_CHARS
from inference.errors import InputError
from inference.translator import MAX_SOURCE_PIECES, Translator, clean_text
from models.search import Hypothesis, forced_decoding

DECIMALS = 6  # the API's values (gradients span orders of magnitude: keep small ones)


# ---- the common target ------------------------------------------------------------------------
def reference_model(translators: Mapping[str, Translator]) -> str:
    """The model whose greedy translation is every model's target: the first with the
    self-attention role (the strongest translator), else the first. InputError with none."""
    if not translators:
        raise InputError("No model is shipped: export one into checkpoints/.")
    looks = {name: catalogue.look(name, t.metadata) for name, t in translators.items()}
    return catalogue.first_with_role(looks, catalogue.SELF_ATTENTION) or next(iter(translators))


def common_target(translators: Mapping[str, Translator], text: str,
                  target: str | None = "") -> tuple[str, str | None]:
    """(the target every model is forced to write, the model that wrote it or None when the
    learner typed it). An empty `target` means the reference model's greedy translation, or,
    if it writes nothing for this sentence, the next model's that writes something."""
    typed = clean_text(_cut(target or ""))
    if typed:
        return typed, None
    first = reference_model(translators)
    for name in [first] + [n for n in translators if n != first]:
        written = translators[name].translate(_cut(text)).text
        if written.strip():
            return written, name
    raise InputError("No model wrote anything for this sentence; type a German target to use "
                     "instead.")


def _cut(text: str) -> str:
    if not isinstance(text, str):
        raise InputError("The input must be text.")
    return text[:MAX_INPUT_CHARS]


# ---- one forced, differentiable pass ----------------------------------------------------------
@dataclass
class _Pass:
    hyp: Hypothesis  # log_probs (T,) with their graph; alignments trimmed, with their graph
    embedded: torch.Tensor  # (1, S, M) the source's token embeddings, the leaf to differentiate
    pieces: list[str]  # S
    target_pieces: list[str]  # T


def _full_precision(model: torch.nn.Module) -> torch.nn.Module:
    """The model, scoring its output in fp32: autograd has no derivative for the shipped int8
    output kernel (inference.int8_output). A shallow copy that shares every weight, so the
    model other requests are using is left as it is."""
    if getattr(model, "output_projection", None) is None:
        return model
    exact = copy.copy(model)
    exact.output_projection = None
    return exact


@contextlib.contextmanager
def _source_leaf(embedding: torch.nn.Module, src: torch.Tensor):
    """While open, the embedding's lookup of exactly `src` returns a leaf that requires grad
    (the yielded list receives it); every other lookup (the target's, other requests') runs as
    it always does."""
    found: list[torch.Tensor] = []

    def hook(module, inputs, output):
        if inputs[0] is src:
            leaf = output.detach().requires_grad_(True)
            found.append(leaf)
            return leaf
        return None

    handle = embedding.register_forward_hook(hook)
    try:
        yield found
    finally:
        handle.remove()


def _forced_pass(translator: Translator, text: str, target: str) -> _Pass:
    """`translator` forced to write `target` after reading `text`, with autograd on."""
    _, src_ids, _ = translator.prepare(_cut(text))
    tgt_ids = translator.tokenizer.encode(clean_text(target))[:MAX_SOURCE_PIECES * 2]
    if not tgt_ids:
        raise InputError("The target has no pieces this model can write; type another one.")
    batch = translator._batch([src_ids], [tgt_ids])
    model = translator.model
    with _source_leaf(model.embedding, batch.src) as found:
        hyp = forced_decoding(_full_precision(model), batch.src, batch.src_mask, batch.tgt_in,
                              batch.tgt_mask, grad=True)[0]
    eos = translator.tokenizer.eos_id
    return _Pass(hyp, found[0], translator._pieces(src_ids + [eos]),
                 translator._pieces(tgt_ids + [eos]))


def _grad(output: torch.Tensor, embedded: torch.Tensor) -> torch.Tensor:
    """d output / d embedded (1, S, M) -> (S, M); only the path to the embeddings is computed."""
    return torch.autograd.grad(output, embedded)[0][0]


# ---- gradient flow ----------------------------------------------------------------------------
@dataclass
class GradientFlow:
    """|| d log p(target) / d e_j || for each source piece j of one model."""

    model: str
    label: str
    pieces: list[str]  # S
    target: str
    target_pieces: list[str]  # T
    grad_norm: np.ndarray  # (S,)
    log_prob: float  # log p(target | source), the sum that was differentiated
    reference: str | None  # the model whose translation the target is; None: typed

    def as_json(self) -> dict:
        return {"label": self.label, "pieces": list(self.pieces),
                "grad_norm": [float(f"{v:.{DECIMALS}g}") for v in self.grad_norm],
                "target": self.target, "target_pieces": list(self.target_pieces),
                "log_prob": round(self.log_prob, 4), "reference": self.reference}


def gradient_flow(translator: Translator, text: str, target: str,
                  reference: str | None = None) -> GradientFlow:
    """One model's gradient norm per source piece, for log p(target | text)."""
    run = _forced_pass(translator, text, target)
    grad = _grad(run.hyp.log_probs.sum(), run.embedded)  # (S, M)
    return GradientFlow(translator.name, translator.label, run.pieces, clean_text(target),
                        run.target_pieces, grad.norm(dim=-1).detach().numpy(),
                        float(run.hyp.score), reference)


def flow_all(translators: Mapping[str, Translator], text: str,
             target: str | None = "") -> dict[str, GradientFlow]:
    """Every model's gradient flow on one common target (see `common_target`)."""
    target, reference = common_target(translators, text, target)
    return {name: gradient_flow(t, text, target, reference) for name, t in translators.items()}


# ---- saliency beside attention ----------------------------------------------------------------
@dataclass
class Saliency:
    """Gradient x input of every source piece for one output piece, beside its attention row.

    saliency: |(d log p(y_t) / d e_j) . e_j| (S,). Attention weights are amounts, never signs,
        so the magnitudes are what is ranked against them; `signed` keeps the sign (positive:
        this piece's embedding raised the log-probability of y_t, to first order).
    attention: the row a_t (S,) the model paid while writing y_t: for a recurrent model its one
        attention; for a Transformer the last decoder layer's cross-attention, mean over heads
        (`attention_from` says which).
    spearman: the rank correlation of saliency and attention (scipy.stats.spearmanr); None
        where it is undefined (a constant vector).
    """

    model: str
    label: str
    pieces: list[str]  # S
    target: str
    target_pieces: list[str]  # T
    index: int
    saliency: np.ndarray  # (S,)
    signed: np.ndarray  # (S,)
    attention: np.ndarray  # (S,)
    spearman: float | None
    attention_from: str
    reference: str | None

    @property
    def output_piece(self) -> str:
        return self.target_pieces[self.index]

    def as_json(self) -> dict:
        def values(x: np.ndarray) -> list[float]:
            return [float(f"{v:.{DECIMALS}g}") for v in x]

        return {"label": self.label, "pieces": list(self.pieces),
                "saliency": values(self.saliency), "attention": values(self.attention),
                "spearman": None if self.spearman is None else round(self.spearman, 4),
                "signed": values(self.signed), "index": self.index,
                "output_piece": self.output_piece, "target": self.target,
                "target_pieces": list(self.target_pieces), "attention_from": self.attention_from,
                "reference": self.reference}


def spearman(a, b) -> float | None:
    """Spearman's rank correlation of two vectors; None where it is undefined."""
    rho = stats.spearmanr(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    value = float(rho.statistic)
    return None if math.isnan(value) else value


def piece_index(value, count: int) -> int:
    """The 0-based output piece asked for (an int, or text holding one); InputError naming the
    valid range otherwise."""
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer() or not 0 <= number < count:
        raise InputError(f"Pick an output piece from 0 to {count - 1} (the target has {count} "
                         f"pieces, </s> included), not {str(value)[:20]!r}.")
    return int(number)


def attention_row(alignments: Mapping[str, torch.Tensor], index: int) -> tuple[np.ndarray, str]:
    """Row `index` of a forced decoding's cross-attention (S,), and where it comes from: the
    one (T, S) matrix of a recurrent model, or a Transformer's (L, H, T, S) last layer, mean
    over heads."""
    cross = alignments["cross"].detach().float()
    if cross.dim() == 2:
        return cross[index].numpy(), "its attention"
    L, H = cross.shape[:2]
    return (cross[-1, :, index].mean(dim=0).numpy(),
            f"cross-attention, layer {L} of {L}, mean of {H} heads")


def saliency(translator: Translator, text: str, target: str, index,
             reference: str | None = None, fallback: bool = False) -> Saliency:
    """One attention model's gradient x input for output piece `index` of `target`.
    fallback: an index past the target's end picks piece 0 instead of raising (a page whose
    sentence, and so target, just changed under its picker)."""
    run = _forced_pass(translator, text, target)
    if "cross" not in run.hyp.alignments:
        raise InputError(f"{translator.label} has no attention to set beside the gradients.")
    try:
        t = piece_index(index, len(run.target_pieces))
    except InputError:
        if not fallback:
            raise
        t = 0
    grad = _grad(run.hyp.log_probs[t], run.embedded)  # (S, M)
    signed = (grad * run.embedded[0]).sum(dim=-1).detach().numpy()  # (S,)
    attention, where = attention_row(run.hyp.alignments, t)
    return Saliency(translator.name, translator.label, run.pieces, clean_text(target),
                    run.target_pieces, t, np.abs(signed), signed, attention,
                    spearman(np.abs(signed), attention), where, reference)


def has_attention(translator: Translator) -> bool:
    """Whether the model's decoder attends (the no-attention GRU does not)."""
    return getattr(translator.model, "attention", True) is not None


def saliency_all(translators: Mapping[str, Translator], text: str, index=0,
                 target: str | None = "", fallback: bool = False) -> dict[str, Saliency]:
    """Every attention model's saliency for output piece `index` of one common target (see
    `common_target`; the reference model may itself have no attention). InputError when no
    model attends, or for an output piece out of range (unless `fallback`, see `saliency`)."""
    attending = {name: t for name, t in translators.items() if has_attention(t)}
    if not attending:
        raise InputError("No shipped model has attention, so there is no attention row to set "
                         "beside the gradients.")
    target, reference = common_target(translators, text, target)
    return {name: saliency(t, text, target, index, reference, fallback)
            for name, t in attending.items()}

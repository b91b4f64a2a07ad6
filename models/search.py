"""Turning next-piece logits into translations: greedy search, beam search, forced decoding.

Legend: B batch, S source length, T output length, K beam size, V vocabulary, L layers, H heads.

Everything here talks to a model only through the shared face in `models.seq2seq` (`encode`,
`init_state`, `step`, `forward`), so it serves the GRU and the Transformer alike. Each search
encodes once, then calls `step` once per output position for the whole batch (B rows, or B*K for
beams); per-sentence Python work happens only when results are unpacked at the end.

Alignments come back per sentence, trimmed to real sizes (T = number of output tokens, S = that
sentence's source length including its eos):
    GRU:          {"cross": (T, S)}                       ({} without attention)
    Transformer:  {"cross": (L, H, T, S), "decoder_self": (L, H, T, T),
                   "encoder_self": (L, H, S, S)}
Row t of a matrix is the attention paid while choosing output token t. Which lengths a matrix's
rows and columns run over is read from its name (`_real_sizes`), so a new kind needs no table
here; the inference facade turns every matrix into one (L, H, T, S) shape for the views.

Searches run under torch.inference_mode: no graph, the fastest. Greedy search and forced
decoding take `grad=True` to run with autograd instead, so what they return can be
backpropagated (to the parameters, or to the source embeddings through a forward hook on the
model's embedding): which source pieces did this target's probability depend on?
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from models.seq2seq import Seq2Seq, select_rows


@dataclass
class Hypothesis:
    """One translation.

    tokens: output ids, without bos; ends with eos if the search finished it (otherwise it hit
        the length limit).
    score: greedy: the sum of the tokens' log-probabilities. Beam: that sum divided by
        len(tokens) ** length_penalty, the figure the beams were ranked by.
    alignments: attention matrices trimmed to this sentence (see the module docstring).
    log_probs: (len(tokens),) each token's log-probability; filled by `forced_decoding` (where,
        with grad=True, it is what to backpropagate), None from the searches.
    """

    tokens: list[int]
    score: float
    alignments: dict[str, Tensor] = field(default_factory=dict)
    log_probs: Tensor | None = None


@contextlib.contextmanager
def _autograd(grad: bool):
    """inference_mode unless the caller asks for gradients, then autograd on."""
    if not grad:
        with torch.inference_mode():
            yield
        return
    if torch.is_inference_mode_enabled():
        raise RuntimeError("grad=True needs autograd, but this call is inside "
                           "torch.inference_mode; make it outside that block.")
    with torch.enable_grad():
        yield


@contextlib.contextmanager
def _evaluating(model: Seq2Seq):
    """Dropout off while searching; the model's mode is restored afterwards.

    A model already in eval mode is left alone: walking every submodule to set a flag costs
    about as much as a decoding step, on every translation the app makes.
    """
    was_training = model.training
    if not was_training:
        yield
        return
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _max_lengths(src_mask: Tensor, max_len_a: float, max_len_b: float) -> Tensor:
    """(B,) output limit int(a * S_i + b) per sentence, S_i its real source length."""
    limits = [int(max_len_a * s + max_len_b) for s in src_mask.sum(dim=1).tolist()]
    return torch.tensor(limits, device=src_mask.device)


def _stack_steps(steps: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Per-step weights (N, ..., X_t) -> (N, ..., T, X). Self-attention rows grow by one key per
    step, so shorter rows are right-padded with zeros (the future a step could not see)."""
    if not steps or not steps[0]:
        return {}
    stacked = {}
    for key in steps[0]:
        width = max(step[key].size(-1) for step in steps)
        rows = [F.pad(step[key], (0, width - step[key].size(-1))) for step in steps]
        stacked[key] = torch.stack(rows, dim=-2)
    return stacked


def _trim(alignments: dict[str, Tensor], i: int, T: int, S: int) -> dict[str, Tensor]:
    """Sentence i's matrices (N, ..., rows, columns), each cut on its last two axes to its real
    sizes: T output tokens or S source positions, as `_real_sizes` reads from its name."""
    trimmed = {}
    for key, value in alignments.items():
        rows, cols = _real_sizes(key, T, S)
        trimmed[key] = value[i, ..., :rows, :cols].clone()
    return trimmed


def _real_sizes(key: str, T: int, S: int) -> tuple[int, int]:
    """(rows, columns) of a matrix named `key`, by the models' naming: "encoder_..." attends
    within the source (S, S), any other "..._self" within the target (T, T), and anything else
    is cross-attention from the target to the source (T, S)."""
    if key.startswith("encoder"):
        return S, S
    if key.endswith("_self"):
        return T, T
    return T, S


def greedy_search(model: Seq2Seq, src: Tensor, src_mask: Tensor, bos_id: int, eos_id: int,
                  max_len_a: float = 1.5, max_len_b: float = 10, need_weights: bool = True,
                  grad: bool = False) -> list[Hypothesis]:
    """Pick the most likely piece at every step, for a batch of sentences at once.

    src, src_mask (B, S). Sentence i stops at eos or after int(max_len_a * S_i + max_len_b)
    pieces; the batch stops when every sentence has. Score: sum of log-probabilities.

    The loop only picks pieces and watches for the end; lengths and scores are worked out once
    afterwards (a sentence that is done keeps decoding while others finish, and what it adds past
    its end is cut off), so each step costs the model's step and little else.

    grad=True: autograd on, so the alignments keep their graph (the score is a float: to
    backpropagate a translation's log-probability, re-score its tokens with `forced_decoding`).
    """
    with _autograd(grad), _evaluating(model):
        B = src.size(0)
        limits = _max_lengths(src_mask, max_len_a, max_len_b)  # (B,)
        memory = model.encode(src, src_mask, need_weights)
        state = model.init_state(memory)
        token = src.new_full((B,), bos_id)
        at_limit = limits.le(torch.arange(1, int(limits.max()) + 1, device=src.device)[:, None])
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        tokens, best, steps = [], [], []
        for t in range(int(limits.max())):
            logits, state, weights = model.step(memory, state, token, need_weights)
            log_prob, token = logits.log_softmax(dim=-1).max(dim=-1)  # (B,) each
            tokens.append(token)
            best.append(log_prob)
            steps.append(weights)
            done = done | (token == eos_id) | at_limit[t]
            if bool(done.all()):
                break
        tokens = torch.stack(tokens, dim=1)  # (B, T)
        T = tokens.size(1)
        is_eos = tokens == eos_id
        # Each sentence ends at its first eos (kept) or at its own limit, whichever comes first.
        ends = torch.where(is_eos.any(dim=1), is_eos.int().argmax(dim=1) + 1, T)
        lengths = torch.minimum(ends, limits)  # (B,)
        kept = torch.arange(T, device=src.device) < lengths[:, None]  # (B, T)
        scores = (torch.stack(best, dim=1) * kept).sum(dim=1)  # (B,)
        alignments = _stack_steps(steps)
        if need_weights and "encoder_self" in memory:
            alignments["encoder_self"] = memory["encoder_self"]
        return _unpack(tokens, lengths, scores, alignments, src_mask)


def _unpack(tokens: Tensor, lengths: Tensor, scores: Tensor, alignments: dict[str, Tensor],
            src_mask: Tensor) -> list[Hypothesis]:
    """Batched results (B, T) -> one trimmed Hypothesis per sentence."""
    src_lengths = src_mask.sum(dim=1).tolist()
    hyps = []
    rows = zip(tokens.tolist(), lengths.tolist(), scores.tolist(), strict=True)
    for i, (row, n, score) in enumerate(rows):
        hyps.append(Hypothesis(row[:n], score, _trim(alignments, i, n, src_lengths[i])))
    return hyps


@torch.inference_mode()
def beam_search(model: Seq2Seq, src: Tensor, src_mask: Tensor, bos_id: int, eos_id: int,
                beam_size: int = 5, length_penalty: float = 1.0, max_len_a: float = 1.5,
                max_len_b: float = 10, need_weights: bool = True) -> list[Hypothesis]:
    """Keep the K best partial translations of every sentence, batched as B*K rows.

    Ranking: sum of log-probabilities / len ** length_penalty (len counts eos), fairseq's simple
    penalty: 0 ranks by raw sum (which favours short outputs), 1 by mean log-probability. A
    finished hypothesis keeps its slot, competing with its final score, until something better
    displaces it; a sentence is done when all K of its slots hold finished hypotheses (or at its
    length limit, as in greedy search). With K = 1 this is exactly greedy search.

    Beams are reordered by back-pointers at each step (only the decoder state moves); tokens and
    weights are recorded per step and the winner's path is traced back once at the end.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1, not {beam_size}.")
    with _evaluating(model):
        B, K, device = src.size(0), beam_size, src.device
        V = model.vocab_size
        limits = _max_lengths(src_mask, max_len_a, max_len_b).unsqueeze(1)  # (B, 1)
        memory = model.encode(src, src_mask, need_weights)
        encoder_self = memory.pop("encoder_self", None)  # one per sentence, not per beam
        # Every sentence's memory is shared by its K beams; reordering never touches it.
        memory = select_rows(memory, torch.arange(B, device=device).repeat_interleave(K))
        state = model.init_state(memory)
        token = src.new_full((B * K,), bos_id)
        sums = torch.zeros(B, K, device=device)
        sums[:, 1:] = float("-inf")  # all beams start identical: let only beam 0 expand first
        lengths = torch.zeros(B, K, dtype=torch.long, device=device)
        finished = torch.zeros(B, K, dtype=torch.bool, device=device)
        # A finished beam's one way forward: a free pad, so it keeps its sum and its slot.
        stay = torch.full((V,), float("-inf"), device=device)
        stay[model.pad_id] = 0.0
        first_row = (torch.arange(B, device=device) * K).unsqueeze(1)  # (B, 1)
        history = []  # per step: (parent row (B*K,), token (B*K,), weights of the parents)
        for t in range(int(limits.max())):
            logits, state, weights = model.step(memory, state, token, need_weights)
            log_probs = logits.log_softmax(dim=-1).view(B, K, V)
            log_probs = torch.where(finished.unsqueeze(-1), stay, log_probs)
            candidate_sums = (sums.unsqueeze(-1) + log_probs).view(B, K * V)
            candidate_lengths = torch.where(finished, lengths, t + 1).unsqueeze(-1)  # (B, K, 1)
            ranked = (candidate_sums.view(B, K, V)
                      / candidate_lengths.float() ** length_penalty).view(B, K * V)
            _, best = ranked.topk(K, dim=-1)  # (B, K), best first
            parent, token = best // V, best % V  # (B, K) beam of origin, new piece
            sums = candidate_sums.gather(1, best)
            was_finished = finished.gather(1, parent)
            lengths = torch.where(was_finished, lengths.gather(1, parent), t + 1)
            finished = was_finished | (token == eos_id) | (t + 1 >= limits)
            parent_row = (first_row + parent).view(-1)  # (B*K,)
            token = token.view(-1)
            state = select_rows(state, parent_row)
            history.append((parent_row, token, weights))
            if bool(finished.all()):
                break

        # Trace each sentence's best slot back through the recorded back-pointers.
        final = sums / lengths.float() ** length_penalty  # (B, K)
        scores, slot = final.max(dim=1)
        row = first_row.squeeze(1) + slot  # (B,) row of the winner after the last step
        path_tokens, path_steps = [], []
        for parent_row, step_tokens, weights in reversed(history):
            path_tokens.append(step_tokens[row])
            row = parent_row[row]  # the winner's ancestor, whose step produced these weights
            path_steps.append({key: w.index_select(0, row) for key, w in weights.items()})
        alignments = _stack_steps(path_steps[::-1])
        if need_weights and encoder_self is not None:
            alignments["encoder_self"] = encoder_self
        tokens = torch.stack(path_tokens[::-1], dim=1)  # (B, T)
        return _unpack(tokens, lengths.gather(1, slot.unsqueeze(1)).squeeze(1), scores,
                       alignments, src_mask)


def _source_eos(src: Tensor, src_mask: Tensor) -> int:
    """The piece that ends every source sentence (src = pieces + eos): the model's eos."""
    ends = src.gather(1, (src_mask.sum(dim=1) - 1).unsqueeze(1)).unique()  # (1,) if all agree
    if ends.numel() != 1:
        raise ValueError(f"The source sentences end in different pieces {ends.tolist()}, so "
                         f"the eos to end the target with is unclear; pass eos_id.")
    return int(ends)


def forced_decoding(model: Seq2Seq, src: Tensor, src_mask: Tensor, tgt_in: Tensor,
                    tgt_mask: Tensor, need_weights: bool = True, eos_id: int | None = None,
                    grad: bool = False) -> list[Hypothesis]:
    """Score a given target: the Hypothesis a model makes when made to produce exactly it.

    tgt_in (B, T) = bos + pieces; tgt_mask (B, T) True on real positions. The target tokens are
    the pieces + eos (`eos_id`; by default the piece every source sentence ends with). Per
    sentence, T_i = tgt_mask[i].sum() tokens; `log_probs` (T_i,) the log-probability of each,
    `score` their sum (as greedy search scores), `alignments` trimmed as for any Hypothesis:
    row t is the attention paid while emitting token t.

    grad=True runs with autograd on instead of inference_mode, so `log_probs` and the alignments
    keep their graph and can be backpropagated.
    """
    with _autograd(grad), _evaluating(model):
        if eos_id is None:
            eos_id = _source_eos(src, src_mask)
        logits, alignments = model(src, src_mask, tgt_in, need_weights=need_weights)
        target_lengths = tgt_mask.sum(dim=1)  # (B,)
        tgt_out = torch.cat([tgt_in[:, 1:], tgt_in.new_full((tgt_in.size(0), 1), model.pad_id)],
                            dim=1)
        tgt_out = tgt_out.scatter(1, (target_lengths - 1).unsqueeze(1), eos_id)  # (B, T)
        log_probs = logits.log_softmax(dim=-1).gather(-1, tgt_out.unsqueeze(-1)).squeeze(-1)
        src_lengths = src_mask.sum(dim=1).tolist()
        hyps = []
        for i, n in enumerate(target_lengths.tolist()):
            token_log_probs = log_probs[i, :n].clone()  # (T_i,)
            hyps.append(Hypothesis(tgt_out[i, :n].tolist(), float(token_log_probs.detach().sum()),
                                   _trim(alignments, i, n, src_lengths[i]), token_log_probs))
        return hyps


def forced_alignment(model: Seq2Seq, src: Tensor, src_mask: Tensor, tgt_in: Tensor,
                     tgt_mask: Tensor, need_weights: bool = True, eos_id: int | None = None,
                     grad: bool = False) -> list[dict[str, Tensor]]:
    """`forced_decoding` in the shape its first callers read: per sentence the trimmed
    alignments plus "log_probs" (T_i,) in one dict. New code should call `forced_decoding`,
    which keeps the log-probabilities apart from the attention matrices."""
    hyps = forced_decoding(model, src, src_mask, tgt_in, tgt_mask, need_weights, eos_id, grad)
    return [hyp.alignments | {"log_probs": hyp.log_probs} for hyp in hyps]

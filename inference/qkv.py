"""Q, K, V step by step: one row of a model's attention, recomputed by hand from its weights.

Legend: S source pieces, T target pieces, R rows (the queries: T, or S for encoder
self-attention), N keys (S, or T for decoder self-attention), L layers, H heads, D = d_k the
head size, E = H*D the model size; for the recurrent models Q query size, K encoder state size
(keys and values), A Bahdanau's scoring size.

The walk, for one query (one row of an alignment a person sees):
  1. `forward`: translate greedily (or take a given target), then run the model teacher-forced
     on that output once, with forward hooks catching the input of every attention on the
     way. The models are not changed, and the weights the model itself computed come out of
     that same pass.
  2. `row`: project the caught input into the query q and the keys k_j and values v_j of one
     head, with the attention's own `in_proj` weights; scores q.k_j; divided by sqrt(D); the
     causal mask (decoder self-attention: -inf on keys after the query); softmax; the context
     sum_j w_j v_j. Then every head's context for that query, concatenated (E) and mapped by
     `out_proj`: the attention's output. Both are compared with what the model computed.
  3. The recurrent models take the same walk with their own score: Bahdanau's
     v^T tanh(W_q s + W_k h_j), Luong's s . h_j ("dot") or s . W_a h_j ("general"), unscaled.

The hand computation runs in float64, so the difference from the model's float32 row is float
rounding (about 1e-7), far inside the 1e-5 the tests ask for. `as_json` rounds for display.
Layers, heads and queries count from 0 here; messages count from 1, as the app does.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from data.batching import collate
from inference.errors import InputError
from inference.kinds import BOS_PIECE, as_stack
from inference.translation import EOS_PIECE
from inference.translator import MAX_SOURCE_PIECES, Translator, clean_text
from models.attention import BahdanauAttention, LuongAttention, causal_mask
from models.rnn import RNNSeq2Seq
from models.search import forced_decoding
from models.transformer import Transformer

KINDS = ("cross", "decoder_self", "encoder_self")
# The random-vector experiment on sqrt(d_k): head sizes, and queries drawn per size.
RANDOM_D_K = (4, 8, 16, 32, 64, 128, 256, 512)
RANDOM_TRIALS = 64
DISPLAY_DIGITS = 5  # significant digits in as_json
EXACT = ("max_abs_diff", "context_diff", "output_diff")  # checks, not display: never rounded


@dataclass
class Run:
    """One teacher-forced pass of one model over one sentence, with what the hooks caught.

    source_pieces (S) and target_pieces (T) end in "</s>"; inputs (T) are the decoder's input
    pieces, <s> then the target without its last piece. alignments: the model's own weights,
    kind -> (L, H, R, N) float64. caught: hook name -> [(args, output), ...], one per call.
    """

    translator: Translator
    source: str
    target: str
    source_pieces: list[str]
    target_pieces: list[str]
    inputs: list[str]
    alignments: dict[str, np.ndarray]
    caught: dict[str, list]

    @property
    def model(self) -> nn.Module:
        return self.translator.model

    @property
    def multi_head(self) -> bool:
        return isinstance(self.model, Transformer)


# ---- 1. one pass, catching every attention's input -----------------------------------------------
@contextlib.contextmanager
def catching(modules: dict[str, nn.Module]):
    """Forward hooks that keep each module's (args, output), call by call, for this thread only.

    The app serves a few requests at once on the same model object; a hook also fires on other
    threads' calls while it is attached, and must not keep what they compute.
    """
    me = threading.get_ident()
    caught: dict[str, list] = {name: [] for name in modules}

    def keeper(name: str):
        def hook(module, args, output):
            if threading.get_ident() == me:
                caught[name].append((args, output))
        return hook

    handles = [module.register_forward_hook(keeper(name)) for name, module in modules.items()]
    try:
        yield caught
    finally:
        for handle in handles:
            handle.remove()


def hooked_modules(model: nn.Module) -> dict[str, nn.Module]:
    """What to catch. The Transformer's layers are pre-norm, so the input of each attention is
    the output of the LayerNorm in front of it; cross-attention's keys and values are the
    encoder's output (after its final norm). A recurrent model's attention module is called
    once per target piece with (query, projected keys, values, mask)."""
    if isinstance(model, Transformer):
        modules = {"encoder_norm": model.encoder_norm}
        for i, layer in enumerate(model.encoder_layers):
            modules[f"encoder{i}.self"] = layer.self_norm
        for i, layer in enumerate(model.decoder_layers):
            modules[f"decoder{i}.self"] = layer.self_norm
            modules[f"decoder{i}.cross"] = layer.cross_norm
        return modules
    if isinstance(model, RNNSeq2Seq) and model.attention is not None:
        return {"attention": model.attention}
    return {}


def _pieces(translator: Translator, ids: list[int]) -> list[str]:
    tok = translator.tokenizer
    return [EOS_PIECE if i == tok.eos_id else tok.id_to_piece(i) for i in ids]


@torch.inference_mode()
def forward(translator: Translator, sentence: str, target: str | None = None) -> Run:
    """Translate `sentence` greedily (or take `target`), then run the model teacher-forced on
    that output, catching the inputs of its attentions. InputError for unusable input."""
    modules = hooked_modules(translator.model)
    if not modules:
        raise InputError(f"{translator.label} has no attention to take apart: it reads the "
                         "sentence into one fixed vector. Pick a model with attention.")
    source, src_ids, _ = translator.prepare(sentence)
    tok = translator.tokenizer
    if target is None or not str(target).strip():
        _, hyp = translator.search_ids(src_ids, beam=1, need_weights=False)
        tgt_ids = hyp.tokens[:-1] if hyp.tokens and hyp.tokens[-1] == tok.eos_id else hyp.tokens
    else:
        tgt_ids = tok.encode(clean_text(target))[:MAX_SOURCE_PIECES * 2]
        if not tgt_ids:
            raise InputError("The target has no characters the model can read.")
    batch = collate([(0, src_ids, list(tgt_ids))], tok.pad_id, tok.bos_id, tok.eos_id)
    with catching(modules) as caught:
        hyp = forced_decoding(translator.model, batch.src, batch.src_mask, batch.tgt_in,
                              batch.tgt_mask)[0]
    target_pieces = _pieces(translator, list(tgt_ids) + [tok.eos_id])
    return Run(translator, source, tok.decode(tgt_ids),
               _pieces(translator, src_ids + [tok.eos_id]), target_pieces,
               [BOS_PIECE] + target_pieces[:-1],
               {k: as_stack(v.double().numpy()) for k, v in hyp.alignments.items()}, caught)


# ---- what may be asked of a run ------------------------------------------------------------------
def kinds(run: Run) -> tuple[str, ...]:
    return KINDS if run.multi_head else ("cross",)


def sizes(run: Run, kind: str) -> tuple[int, int, int]:
    """(layers, heads, rows) of one kind: a recurrent model has one layer and one head."""
    rows = len(run.source_pieces) if kind == "encoder_self" else len(run.target_pieces)
    if not run.multi_head:
        return 1, 1, rows
    layers = run.model.encoder_layers if kind == "encoder_self" else run.model.decoder_layers
    return len(layers), run.model.num_heads, rows


def clamp(run: Run, kind: str, layer: int, head: int, query: int) -> tuple[str, int, int, int]:
    """The nearest choice that exists (for a page whose sentence or model just changed)."""
    kind = kind if kind in kinds(run) else "cross"
    layers, heads, rows = sizes(run, kind)
    return (kind, min(max(layer, 0), layers - 1), min(max(head, 0), heads - 1),
            min(max(query, 0), rows - 1))


def check(run: Run, kind: str, layer: int, head: int, query: int) -> None:
    """InputError, in one sentence, for a kind, layer, head or query the run does not have."""
    label = run.translator.label
    if kind not in KINDS:
        raise InputError(f"Pick the kind of attention: {', '.join(KINDS)}; not {str(kind)[:30]!r}.")
    if kind not in kinds(run):
        raise InputError(f"{label} has only cross-attention (its decoder state looks at the "
                         "English); pick kind 'cross', or the Transformer for self-attention.")
    layers, heads, rows = sizes(run, kind)
    if not run.multi_head and (layer, head) != (0, 0):
        raise InputError(f"{label} has one attention, with no layers or heads to pick: "
                         "use layer 1 and head 1.")
    if not 0 <= layer < layers:
        part = "encoder" if kind == "encoder_self" else "decoder"
        raise InputError(f"The {label}'s {part} has {layers} layer{'s' * (layers > 1)}: pick a "
                         f"layer from 1 to {layers}, not {layer + 1}.")
    if not 0 <= head < heads:
        raise InputError(f"The {label} has {heads} heads: pick a head from 1 to {heads}, "
                         f"not {head + 1}.")
    if not 0 <= query < rows:
        what = "English sentence" if kind == "encoder_self" else "translation"
        raise InputError(f"The {what} has {rows} pieces: pick a query position from 1 to "
                         f"{rows}, not {query + 1}.")


# ---- 2. the walk ---------------------------------------------------------------------------------
def softmax(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Softmax over the last axis where `mask` is True (True = may attend); exactly 0 elsewhere."""
    blocked = np.where(mask, scores, -np.inf)
    weights = np.exp(blocked - blocked.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def entropy_bits(weights: np.ndarray) -> np.ndarray:
    """Entropy of each distribution on the last axis, in bits (0 log 0 = 0)."""
    p = np.asarray(weights, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=-1)


def _double(t: Tensor) -> np.ndarray:
    return t.detach().double().numpy()


@torch.inference_mode()
def row(run: Run, kind: str = "cross", layer: int = 0, head: int = 0, query: int = 0,
        masked: bool = True) -> dict:
    """One attention row recomputed by hand; the numbers as float64 numpy arrays.

    kind "cross" (a target piece's query over the source pieces), "decoder_self" (over the
    decoder's inputs so far: causal) or "encoder_self" (a source piece over the source).
    masked=False leaves the causal mask out of the softmax, to show what it hides; the
    comparison with the model (`max_abs_diff`) is always of the masked row, the model's own.

    Returns, with N keys: "query" (D,), "keys" (N, D), "values", "scores" (N,), "scaled" (N,),
    "mask" (N,) the model's mask (True = may attend), "weights" (N,), "context", "model_row"
    (N,) and "max_abs_diff"; "pieces" (the keys), "rows" (the queries one may pick);
    "entropy" in bits of softmax(scores) and softmax(scores / sqrt(d_k)) over the keys the
    softmax sees (for a recurrent model: what scaling would do), and "random", the same for
    random vectors as d_k grows; "multi_head" (the Transformer) or "bahdanau" (its projections).
    """
    check(run, kind, layer, head, query)
    if kind == "encoder_self":
        queries = keys = inputs = run.source_pieces
    else:
        queries, inputs = run.target_pieces, run.inputs
        keys = run.inputs if kind == "decoder_self" else run.source_pieces
    where = {"model": run.translator.name, "label": run.translator.label, "kind": kind,
             "source": run.source, "target": run.target, "rows": list(queries),
             "pieces": list(keys), "query_index": query, "query_piece": queries[query],
             "query_input": inputs[query]}
    walk = _transformer_row if run.multi_head else _recurrent_row
    numbers = walk(run, kind, layer, head, query, masked)
    model_row = run.alignments[kind][layer, head, query, :len(keys)]
    numbers["model_row"] = model_row
    numbers["max_abs_diff"] = float(np.abs(numbers.pop("model_weights") - model_row).max())
    visible = numbers["mask"] if masked else np.ones_like(numbers["mask"])
    numbers["entropy"] = {
        "raw": float(entropy_bits(softmax(numbers["scores"], visible))),
        "scaled": float(entropy_bits(softmax(numbers["scores"] / math.sqrt(numbers["d_k"]),
                                             visible))),
        "uniform": math.log2(int(visible.sum()))}
    numbers["random"] = random_entropy(max(2, int(visible.sum())))
    return where | numbers


def _transformer_row(run: Run, kind: str, layer: int, head: int, query: int,
                     masked: bool) -> dict:
    model = run.model
    if kind == "encoder_self":
        attention = model.encoder_layers[layer].self_attn
        x = run.caught[f"encoder{layer}.self"][0][1][0]  # (S, E), the LayerNorm's output
        x_q = x_kv = x
    elif kind == "decoder_self":
        attention = model.decoder_layers[layer].self_attn
        x_q = x_kv = run.caught[f"decoder{layer}.self"][0][1][0]  # (T, E)
    else:
        attention = model.decoder_layers[layer].cross_attn
        x_q = run.caught[f"decoder{layer}.cross"][0][1][0]  # (T, E)
        x_kv = run.caught["encoder_norm"][0][1][0]  # (S, E), the encoder's output
    E, H, D = attention.d_model, attention.num_heads, attention.head_dim
    N = x_kv.size(0)
    W, b = _double(attention.in_proj.weight), _double(attention.in_proj.bias)  # (3E, E), (3E,)
    x = _double(x_q[query])  # (E,)
    memory = _double(x_kv)  # (N, E)
    # Rows h*D..(h+1)*D of each E-block belong to head h (`_split_heads` views E as (H, D)).
    q = (W[:E] @ x + b[:E]).reshape(H, D)  # (H, D)
    k = (memory @ W[E:2 * E].T + b[E:2 * E]).reshape(N, H, D).transpose(1, 0, 2)  # (H, N, D)
    v = (memory @ W[2 * E:].T + b[2 * E:]).reshape(N, H, D).transpose(1, 0, 2)  # (H, N, D)
    scores = np.einsum("hd,hnd->hn", q, k)  # (H, N): q . k_j
    scaled = scores / math.sqrt(D)  # (H, N)
    # Why the decoder's self-attention is causal: at translation time the pieces after the
    # query do not exist yet, so in training they must not be seen either.
    mask = np.arange(N) <= query if kind == "decoder_self" else np.ones(N, dtype=bool)  # (N,)
    model_weights = softmax(scaled, mask)  # (H, N), as the model computes them
    weights = model_weights if masked else softmax(scaled, np.ones(N, dtype=bool))
    contexts = np.einsum("hn,hnd->hd", weights, v)  # (H, D): each head's weighted sum of values
    concat = contexts.reshape(E)  # (E,): head 0's D numbers, then head 1's, ...
    W_o, b_o = _double(attention.out_proj.weight), _double(attention.out_proj.bias)  # (E, E)
    output = W_o @ concat + b_o  # (E,)
    module_output = _module_output(attention, kind, x_q, x_kv, query)  # (E,) the model's code
    return {
        "score_function": "scaled_dot_product", "layer": layer, "head": head,
        "layers": sizes(run, kind)[0], "heads": H, "d_k": D, "d_model": E,
        "scale": 1 / math.sqrt(D),
        "input": x, "query": q[head], "keys": k[head], "values": v[head],
        "scores": scores[head], "scaled": scaled[head], "mask": mask, "masked": masked,
        "weights": weights[head], "context": contexts[head],
        "model_weights": model_weights[head],
        "multi_head": {"weights": weights, "contexts": contexts, "concat": concat,
                       "output": output,
                       "module_output": module_output,
                       "output_diff": float(np.abs(output - module_output).max())
                       if masked else None},
        "shapes": {"input x": [E], "inputs (keys, values)": [N, E], "W_q, W_k, W_v (a head)":
                   [D, E], "q": [D], "K": [N, D], "V": [N, D], "scores": [N],
                   "weights": [N], "context": [D], "heads' contexts": [H, D], "concat": [E],
                   "W_o": [E, E], "output": [E]},
    }


def _module_output(attention: nn.Module, kind: str, x_q: Tensor, x_kv: Tensor,
                   query: int) -> np.ndarray:
    """The attention module's own output (E,) for one query, through the model's code."""
    if kind == "cross":
        q = attention.project_q(x_q[None])  # (1, H, T, D)
        k, v = attention.project_kv(x_kv[None], x_kv[None])  # (1, H, S, D) each
    else:
        q, k, v = attention.project_qkv(x_q[None])  # (1, H, N, D) each
    mask = causal_mask(q.size(2)) if kind == "decoder_self" else None
    out, _ = attention.attend(q, k, v, mask)  # (1, R, E)
    return _double(out[0, query])


def _recurrent_row(run: Run, kind: str, layer: int, head: int, query: int,
                   masked: bool) -> dict:
    model = run.model
    attention = model.attention
    (q_in, _, values, mask_in), (module_context, _) = run.caught["attention"][query]
    s = _double(q_in[0])  # (Q,) the decoder's query at this step
    h = _double(values[0])  # (S, K) the encoder states: the values, and what the keys come from
    mask = mask_in[0].numpy().astype(bool)  # (S,) all True for one sentence (no padding)
    extra: dict = {}
    if isinstance(attention, BahdanauAttention):
        W_q = _double(attention.query_proj.weight)  # (A, Q)
        W_k, b_k = _double(attention.key_proj.weight), _double(attention.key_proj.bias)  # (A, K)
        v_a = _double(attention.energy.weight)[0]  # (A,) v^T
        query_proj = W_q @ s  # (A,)
        key_proj = h @ W_k.T + b_k  # (S, A)
        scores = np.tanh(key_proj + query_proj) @ v_a  # (S,): v^T tanh(W_q s + W_k h_j)
        keys = h
        hidden_size = model.decoder.hidden_size
        extra = {"bahdanau": {"query_proj": query_proj, "key_proj": key_proj, "v": v_a,
                              "state": s[:hidden_size], "word": s[hidden_size:],
                              "query_word": bool(model.query_word),
                              "after_step": bool(getattr(model, "attend_after_step", False))}}
        function = "bahdanau"
    elif isinstance(attention, LuongAttention):
        # "general": s . W_a h_j; W_a is applied to the keys (the same number as s^T W_a h_j).
        keys = h if attention.key_proj is None else h @ _double(attention.key_proj.weight).T
        scores = keys @ s  # (S,)
        function = f"luong_{attention.kind}"
    else:  # pragma: no cover - hooked_modules only catches these two
        raise InputError(f"{run.translator.label}'s attention is not one this view knows.")
    weights = softmax(scores, mask)  # (S,) unscaled: the recurrent attentions do not divide
    context = weights @ h  # (K,)
    return {
        "score_function": function, "layer": 0, "head": 0, "layers": 1, "heads": 1,
        "d_k": keys.shape[1], "scale": 1.0, "query": s, "keys": keys,
        "values": h, "scores": scores, "scaled": scores,
        "mask": mask, "masked": masked, "weights": weights, "model_weights": weights,
        "context": context,
        "context_diff": float(np.abs(context - _double(module_context[0])).max()),
        "shapes": {"query": [s.size], "keys": list(keys.shape), "values": list(h.shape),
                   "scores": [h.shape[0]], "weights": [h.shape[0]], "context": [h.shape[1]]}
        | ({"W_q s": [extra["bahdanau"]["query_proj"].size],
            "W_k h_j": list(extra["bahdanau"]["key_proj"].shape)} if extra else {}),
    } | extra


# ---- why sqrt(d_k) -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=128)
def random_entropy(n_keys: int, d_ks: tuple[int, ...] = RANDOM_D_K, trials: int = RANDOM_TRIALS,
                   seed: int = 0) -> dict:
    """For random q, k with independent unit-variance components, as d_k grows: the mean
    entropy (bits) of softmax(q.k_j) and of softmax(q.k_j / sqrt(d_k)) over n_keys keys, and
    the spread (standard deviation) of the raw scores, which grows like sqrt(d_k).

    Seeded, and cached: every request with the same number of keys gets the same curve.
    """
    rng = np.random.default_rng(seed)
    raw, scaled, spread = [], [], []
    for d in d_ks:
        q = rng.standard_normal((trials, 1, d))
        k = rng.standard_normal((trials, n_keys, d))
        scores = (q * k).sum(axis=-1)  # (trials, n_keys)
        every = np.ones(n_keys, dtype=bool)
        raw.append(float(entropy_bits(softmax(scores, every)).mean()))
        scaled.append(float(entropy_bits(softmax(scores / math.sqrt(d), every)).mean()))
        spread.append(float(scores.std()))
    return {"d_k": list(d_ks), "raw": raw, "scaled": scaled, "score_std": spread,
            "keys": n_keys, "trials": trials, "seed": seed, "uniform": math.log2(n_keys)}


def steps(translator: Translator, sentence: str, kind: str = "cross", layer: int = 0,
          head: int = 0, query: int = 0, masked: bool = True, target: str | None = None) -> dict:
    """`forward` then `row`: one attention row of `translator` on `sentence`, by hand."""
    return row(forward(translator, sentence, target), kind, layer, head, query, masked)


# ---- for display ---------------------------------------------------------------------------------
def rounded(value, digits: int = DISPLAY_DIGITS):
    """Numbers (arrays, nested dicts and lists) to `digits` significant digits, as plain JSON;
    the checks named in EXACT are left as they are."""
    if isinstance(value, dict):
        return {k: v if k in EXACT else rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return value.tolist()
        a = value.astype(np.float64)
        magnitude = np.floor(np.log10(np.abs(np.where(a == 0, 1.0, a))))
        scale = 10.0 ** (digits - 1 - np.clip(magnitude, -300, 300))  # below 1e-300: 0
        return (np.round(a * scale) / scale).tolist()
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        return float(f"{float(value):.{digits}g}")
    if isinstance(value, np.integer):
        return int(value)
    return value


def as_json(numbers: dict, digits: int = DISPLAY_DIGITS) -> dict:
    """The row as the /qkv API returns it: counts from 1 (layer, head, query), numbers rounded
    for display, the differences from the model kept exact. Kept small: the layer's input and
    the module's own output are left out, and for a recurrent model (512 numbers a piece) the
    values, which are the encoder states (the keys themselves for Bahdanau and Luong "dot"),
    and Bahdanau's projected keys W_k h_j: the views draw those from the full row."""
    out = dict(numbers)
    for key in ("layer", "head", "query_index"):
        out[key] = int(out[key]) + 1
    out.pop("input", None)
    if out["score_function"] != "scaled_dot_product":
        out.pop("values")
    if "bahdanau" in out:
        out["bahdanau"] = {k: v for k, v in out["bahdanau"].items()
                           if k in ("query_proj", "v", "query_word", "after_step")}
    if "multi_head" in out:
        out["multi_head"] = {k: v for k, v in out["multi_head"].items() if k != "module_output"}
    return rounded(out, digits)

"""Our attention math against torch's references, and the mask guarantees it promises."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.attention import (
    BahdanauAttention,
    LuongAttention,
    MultiHeadAttention,
    causal_mask,
    masked_softmax,
    padding_mask,
    scaled_dot_product,
)

B, H, T, S, D = 3, 4, 5, 6, 8
E = H * D
LENGTHS = torch.tensor([6, 4, 2])  # real keys per sentence; the rest is padding


def key_mask() -> torch.Tensor:
    return torch.arange(S)[None, :] < LENGTHS[:, None]  # (B, S)


def copy_from_torch(reference: nn.MultiheadAttention) -> MultiHeadAttention:
    ours = MultiHeadAttention(E, H)
    with torch.no_grad():
        ours.in_proj.weight.copy_(reference.in_proj_weight)  # (3E, E): q, k, v rows alike
        ours.in_proj.bias.copy_(reference.in_proj_bias)
        ours.out_proj.weight.copy_(reference.out_proj.weight)
        ours.out_proj.bias.copy_(reference.out_proj.bias)
    return ours


def test_causal_mask_is_lower_triangular_and_offsets_for_a_cache():
    assert torch.equal(causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]]).bool())
    # Two new queries after 2 cached positions see keys 0..2 and 0..3.
    assert torch.equal(causal_mask(2, offset=2), torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]).bool())


@pytest.mark.parametrize("kind", ["padding", "causal"])
def test_scaled_dot_product_matches_torch(kind):
    torch.manual_seed(0)
    q = torch.randn(B, H, T, D)
    if kind == "padding":
        k, v = torch.randn(B, H, S, D), torch.randn(B, H, S, D)
        mask = padding_mask(key_mask())
    else:
        k, v = torch.randn(B, H, T, D), torch.randn(B, H, T, D)
        mask = causal_mask(T)
    context, weights = scaled_dot_product(q, k, v, mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # True = take part
    torch.testing.assert_close(context, expected, atol=1e-5, rtol=1e-5)
    reference_weights = (q @ k.transpose(-2, -1) / D ** 0.5).masked_fill(~mask, -1e9).softmax(-1)
    torch.testing.assert_close(weights, reference_weights, atol=1e-6, rtol=1e-5)


def test_masked_weights_are_exactly_zero_and_rows_sum_to_one():
    torch.manual_seed(0)
    q, k, v = torch.randn(B, H, T, D), torch.randn(B, H, T, D), torch.randn(B, H, T, D)
    _, weights = scaled_dot_product(q, k, v, causal_mask(T))
    assert torch.all(weights.triu(diagonal=1) == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, H, T))

    k, v = torch.randn(B, H, S, D), torch.randn(B, H, S, D)
    _, weights = scaled_dot_product(q, k, v, padding_mask(key_mask()))
    pads = ~key_mask()[:, None, None, :].expand_as(weights)
    assert torch.all(weights[pads] == 0)
    assert torch.all(weights[~pads] > 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, H, T))


def test_fully_masked_row_gives_zero_weights_not_nan():
    scores = torch.randn(2, 4)
    mask = torch.tensor([[True, True, False, False], [False, False, False, False]])
    weights = masked_softmax(scores, mask)
    assert not torch.isnan(weights).any()
    assert torch.all(weights[1] == 0)
    torch.testing.assert_close(weights[0].sum(), torch.tensor(1.0))


def test_dropout_leaves_returned_weights_a_distribution():
    torch.manual_seed(0)
    q, k, v = torch.randn(B, H, T, D), torch.randn(B, H, S, D), torch.randn(B, H, S, D)
    context, weights = scaled_dot_product(q, k, v, padding_mask(key_mask()), dropout_p=0.5)
    context_eval, weights_eval = scaled_dot_product(q, k, v, padding_mask(key_mask()))
    torch.testing.assert_close(weights, weights_eval)  # weights are pre-dropout
    assert not torch.allclose(context, context_eval)  # but the context saw dropout


@pytest.mark.parametrize("kind", ["cross_padding", "self_causal"])
def test_multi_head_attention_matches_torch(kind):
    torch.manual_seed(0)
    reference = nn.MultiheadAttention(E, H, batch_first=True).eval()
    ours = copy_from_torch(reference).eval()
    query = torch.randn(B, T, E)
    if kind == "cross_padding":
        memory = torch.randn(B, S, E)
        expected, expected_w = reference(query, memory, memory, key_padding_mask=~key_mask(),
                                         average_attn_weights=False)  # torch: True = ignore
        out, weights = ours(query, memory, memory, padding_mask(key_mask()), need_weights=True)
    else:
        expected, expected_w = reference(query, query, query, attn_mask=~causal_mask(T),
                                         average_attn_weights=False)
        out, weights = ours(query, query, query, causal_mask(T), need_weights=True)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights, expected_w, atol=1e-5, rtol=1e-5)  # (B, H, T, S)


def test_multi_head_attention_weights_only_when_asked_and_cache_matches_full():
    torch.manual_seed(0)
    mha = MultiHeadAttention(E, H).eval()
    x = torch.randn(B, T, E)
    full, none = mha(x, x, x, causal_mask(T))
    assert none is None
    # One position at a time against a growing cache of keys/values = the causal full pass.
    k, v = mha.project_kv(x, x)  # (B, H, T, D)
    q_all, k_all, v_all = mha.project_qkv(x)  # the same k and v, from one fused multiply
    torch.testing.assert_close(k_all, k)
    torch.testing.assert_close(v_all, v)
    for t in range(T):
        q = mha.project_q(x[:, t:t + 1])  # (B, H, 1, D)
        torch.testing.assert_close(q, q_all[:, :, t:t + 1])
        row, weights = mha.attend(q, k[:, :, :t + 1], v[:, :, :t + 1], need_weights=True)
        torch.testing.assert_close(row[:, 0], full[:, t], atol=1e-5, rtol=1e-5)
        assert weights.shape == (B, H, 1, t + 1)


def test_multi_head_attention_loads_weights_saved_as_separate_projections():
    torch.manual_seed(0)
    mha = MultiHeadAttention(E, H).eval()
    x = torch.randn(B, T, E)
    expected, _ = mha(x, x, x)
    state = mha.state_dict()
    old = {"out_proj.weight": state["out_proj.weight"], "out_proj.bias": state["out_proj.bias"]}
    for name, w, b in zip("qkv", state["in_proj.weight"].chunk(3), state["in_proj.bias"].chunk(3)):
        old[f"{name}_proj.weight"], old[f"{name}_proj.bias"] = w, b
    loaded = MultiHeadAttention(E, H).eval()
    loaded.load_state_dict(old)
    torch.testing.assert_close(loaded(x, x, x)[0], expected)


def test_multi_head_attention_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 4)


def recurrent_attentions():
    return {"bahdanau": BahdanauAttention(12, 2 * D, 7),
            "luong_dot": LuongAttention(2 * D, 2 * D, "dot"),
            "luong_general": LuongAttention(12, 2 * D, "general")}


@pytest.mark.parametrize("name", ["bahdanau", "luong_dot", "luong_general"])
def test_recurrent_attention_masks_padding_and_normalises(name):
    torch.manual_seed(0)
    attention = recurrent_attentions()[name]
    query_dim = 2 * D if name == "luong_dot" else 12
    keys = torch.randn(B, S, 2 * D)
    context, weights = attention(torch.randn(B, query_dim), attention.project_keys(keys), keys,
                                 key_mask())
    assert context.shape == (B, 2 * D) and weights.shape == (B, S)
    assert torch.all(weights[~key_mask()] == 0)
    assert torch.all(weights[key_mask()] > 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B))
    torch.testing.assert_close(context, torch.einsum("bs,bsk->bk", weights, keys))


def test_bahdanau_and_luong_scores_follow_their_formulas():
    torch.manual_seed(0)
    attentions = recurrent_attentions()
    keys, mask = torch.randn(B, S, 2 * D), key_mask()

    bahdanau, query = attentions["bahdanau"], torch.randn(B, 12)
    scores = bahdanau.energy(torch.tanh(bahdanau.query_proj(query)[:, None]
                                        + bahdanau.key_proj(keys))).squeeze(-1)
    expected = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    _, weights = bahdanau(query, bahdanau.project_keys(keys), keys, mask)
    torch.testing.assert_close(weights, expected)

    general = attentions["luong_general"]
    scores = torch.einsum("bq,qk,bsk->bs", query, general.key_proj.weight, keys)  # s . W_a h
    expected = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    _, weights = general(query, general.project_keys(keys), keys, mask)
    torch.testing.assert_close(weights, expected)

    dot, query = attentions["luong_dot"], torch.randn(B, 2 * D)
    assert dot.project_keys(keys) is keys  # nothing to learn, nothing to compute
    expected = torch.einsum("bk,bsk->bs", query, keys).masked_fill(~mask, float("-inf")).softmax(-1)
    torch.testing.assert_close(dot(query, keys, keys, mask)[1], expected)


def test_luong_rejects_bad_kind_and_dot_with_unequal_sizes():
    with pytest.raises(ValueError, match="query_dim"):
        LuongAttention(12, 16, "dot")
    with pytest.raises(ValueError, match="'dot' or 'general'"):
        LuongAttention(16, 16, "concat")

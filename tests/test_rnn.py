"""The recurrent seq2seq: its four decoders and three cells, step-by-step = teacher-forced, it
can learn, and the written-out cells (models.cells) equal torch's fused ones, gates and all."""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from models.cells import (
    CELL_STEPS,
    GATES,
    CellWeights,
    cell_name,
    run_bidirectional,
    weights_of,
)
from models.gru import ATTENTIONS, GRUSeq2Seq
from models.rnn import CELLS, RNNSeq2Seq
from tests.toy import PAD, V, overfit, random_batch

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(attention: str, **kwargs) -> GRUSeq2Seq:
    sizes = dict(emb_dim=16, enc_hidden=12, dec_hidden=24, attn_dim=10, dropout=0.0)
    return GRUSeq2Seq(V, PAD, attention=attention, **(sizes | kwargs)).eval()


def test_unknown_attention_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown attention 'luong_concat'"):
        GRUSeq2Seq(V, attention="luong_concat")


def test_luong_dot_needs_matching_sizes():
    with pytest.raises(ValueError, match="2 \\* enc_hidden"):
        GRUSeq2Seq(V, enc_hidden=8, dec_hidden=24, attention="luong_dot")
    GRUSeq2Seq(V, enc_hidden=12, dec_hidden=24, attention="luong_dot")  # 24 == 2 * 12: fine


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_forward_shapes_and_alignment_rows(attention):
    torch.manual_seed(0)
    model = tiny(attention)
    src, src_mask, tgt_in, _ = random_batch()
    logits, alignments = model(src, src_mask, tgt_in, need_weights=True)
    assert logits.shape == (3, 6, V)
    assert model(src, src_mask, tgt_in)[1] == {}  # nothing unless asked
    if attention == "none":
        assert alignments == {}  # one fixed vector: nothing to align
        return
    cross = alignments["cross"]  # (B, T, S)
    assert cross.shape == (3, 6, 7)
    pads = ~src_mask[:, None, :].expand_as(cross)
    assert torch.all(cross[pads] == 0)
    torch.testing.assert_close(cross.sum(-1), torch.ones(3, 6))


# The Bahdanau variants: the query also reads y_{t-1}, or the additive score on Luong's path.
VARIANTS = [(a, {}) for a in ATTENTIONS] + [("bahdanau", {"query_word": True}),
                                            ("bahdanau", {"attend_after_step": True}),
                                            ("bahdanau", {"query_word": True,
                                                          "attend_eos": False}),
                                            ("bahdanau", {"query_word": True,
                                                          "feed_summary": True})]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("attention,variant", VARIANTS)
def test_step_by_step_equals_teacher_forced(attention, variant, cell):
    torch.manual_seed(0)
    model = tiny(attention, cell=cell, **variant)
    src, src_mask, tgt_in, _ = random_batch()
    logits, alignments = model(src, src_mask, tgt_in, need_weights=True)
    memory = model.encode(src, src_mask)
    state = model.init_state(memory)
    for t in range(tgt_in.size(1)):
        step_logits, state, weights = model.step(memory, state, tgt_in[:, t], need_weights=True)
        torch.testing.assert_close(step_logits, logits[:, t], atol=1e-5, rtol=1e-5)
        if attention == "none":
            assert weights == {}
        else:
            torch.testing.assert_close(weights["cross"], alignments["cross"][:, t])
    # State tensors keep the batch on dim 0, so search can reorder them generically.
    assert all(value.size(0) == 3 for value in state.values())
    assert state.keys() >= ({"hidden", "cell"} if cell == "lstm" else {"hidden"})


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("attention", ["bahdanau", "none"])
def test_padding_does_not_change_a_sentence(attention, cell):
    torch.manual_seed(0)
    model = tiny(attention, cell=cell)
    src, src_mask, tgt_in, _ = random_batch()
    logits, _ = model(src, src_mask, tgt_in)
    alone, _ = model(src[2:, :2], src_mask[2:, :2], tgt_in[2:])  # 2 real source pieces
    torch.testing.assert_close(alone[0], logits[2], atol=1e-5, rtol=1e-5)


def test_output_layer_is_tied_to_the_embedding_and_config_rebuilds():
    model = tiny("bahdanau")
    with torch.no_grad():
        model.embedding.weight[7].zero_()  # the output row of piece 7 is its embedding
        model.out_bias[7] = 1.5
    src, src_mask, tgt_in, _ = random_batch()
    assert torch.all(model(src, src_mask, tgt_in)[0][..., 7] == 1.5)
    rebuilt = GRUSeq2Seq(**model.config)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())
    assert model.vocab_size == V and model.pad_id == PAD


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_overfits_a_toy_translation_task(attention):
    torch.manual_seed(0)
    sizes = dict(emb_dim=32, enc_hidden=32, dec_hidden=64, attn_dim=32)
    assert overfit(tiny(attention, **sizes))


def test_old_module_name_still_builds_the_same_class():
    assert GRUSeq2Seq is RNNSeq2Seq  # folders exported as models.gru.GRUSeq2Seq still load


# ---- the written-out cells -------------------------------------------------------------------
def packed_run(layer, x, mask):
    """The fused layer on a packed batch, as `RNNSeq2Seq.encode` runs it."""
    packed = pack_padded_sequence(x, mask.sum(1), batch_first=True, enforce_sorted=False)
    outputs, final = layer(packed)
    return pad_packed_sequence(outputs, batch_first=True, total_length=x.size(1))[0], final


@pytest.mark.parametrize("cell", CELLS)
def test_written_out_encoder_equals_the_fused_layer(cell):
    """Outputs and final states of both directions, with padding in the batch (lengths 7, 4, 2):
    the backward direction must start at each sentence's last real token, as packing makes it."""
    torch.manual_seed(0)
    layer = CELLS[cell][0](5, 6, batch_first=True, bidirectional=True)
    _, mask, _, _ = random_batch()
    x = torch.randn(3, 7, 5)
    outputs, final = packed_run(layer, x, mask)
    ours, our_final, parts = run_bidirectional(layer, x, mask)
    torch.testing.assert_close(ours, outputs, atol=1e-5, rtol=1e-5)
    if cell == "lstm":
        torch.testing.assert_close(our_final[0], final[0], atol=1e-5, rtol=1e-5)  # h_n
        torch.testing.assert_close(our_final[1], final[1], atol=1e-5, rtol=1e-5)  # c_n
    else:
        torch.testing.assert_close(our_final, final, atol=1e-5, rtol=1e-5)
    assert ours[~mask].abs().sum() == 0  # zero on padding, as pad_packed_sequence leaves it
    extra = {"gru": ["candidate"], "lstm": ["candidate", "cell"], "rnn": []}[cell]
    assert sorted(parts) == sorted([*GATES[cell], *extra])
    for value in parts.values():
        assert value.shape == (3, 7, 12)
        assert value[~mask].abs().sum() == 0


@pytest.mark.parametrize("cell", CELLS)
def test_written_out_decoder_cell_equals_the_fused_cell(cell):
    torch.manual_seed(0)
    fused = CELLS[cell][1](5, 6)
    assert cell_name(fused) == cell
    x, h, c = torch.randn(4, 5), torch.randn(4, 6), torch.randn(4, 6)
    if cell == "lstm":
        (ours_h, ours_c), parts = CELL_STEPS[cell](x, (h, c), weights_of(fused))
        fused_h, fused_c = fused(x, (h, c))
        torch.testing.assert_close(ours_c, fused_c, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(parts["cell"], fused_c, atol=1e-5, rtol=1e-5)
    else:
        ours_h, parts = CELL_STEPS[cell](x, h, weights_of(fused))
        fused_h = fused(x, h)
    torch.testing.assert_close(ours_h, fused_h, atol=1e-5, rtol=1e-5)
    for name in GATES[cell]:
        assert parts[name].shape == (4, 6)


def test_a_cell_without_biases_and_a_relu_rnn():
    torch.manual_seed(0)
    fused = torch.nn.GRUCell(5, 6, bias=False)
    x, h = torch.randn(2, 5), torch.randn(2, 6)
    assert weights_of(fused) == CellWeights(fused.weight_ih, fused.weight_hh, None, None)
    torch.testing.assert_close(CELL_STEPS["gru"](x, h, weights_of(fused))[0], fused(x, h),
                               atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="tanh"):
        cell_name(torch.nn.RNN(5, 6, nonlinearity="relu"))


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
@pytest.mark.parametrize("cell", CELLS)
def test_encode_with_gates_gives_encodes_memory_and_the_gates(cell, attention):
    torch.manual_seed(0)
    model = tiny(attention, cell=cell)
    src, src_mask, _, _ = random_batch()
    memory = model.encode(src, src_mask)
    ours, gates = model.encode_with_gates(src, src_mask)
    assert ours.keys() == memory.keys()
    for key in memory:
        torch.testing.assert_close(ours[key], memory[key], atol=1e-5, rtol=1e-5, msg=key)
    if cell == "rnn":
        assert gates == {}
        return
    for name in GATES[cell]:
        assert gates[name].shape == (3, 7, 24)  # (B, S, K)
        assert gates[name].min() >= 0 and gates[name].max() <= 1
        assert gates[name][src_mask].min() > 0  # a real sigmoid, not a zeroed pad
    # Each direction's previous state: the forward one's left neighbour, the backward one's
    # right neighbour, zero at each start (padding holds zeros, so the backward one starts at
    # the last real token).
    def previous(x):  # (B, S, K) -> (B, S, K)
        He = x.size(-1) // 2
        forward = torch.nn.functional.pad(x[:, :-1, :He], (0, 0, 1, 0))
        backward = torch.nn.functional.pad(x[:, 1:, He:], (0, 0, 0, 1))
        return torch.cat([forward, backward], dim=-1)

    h = packed_run(model.encoder, model.embedding(src), src_mask)[0]  # the fused states
    if cell == "gru":  # torch's convention: z near 1 keeps the old state
        z, n = gates["update"], gates["candidate"]
        torch.testing.assert_close(h, (1 - z) * n + z * previous(h), atol=1e-5, rtol=1e-5)
    else:
        i, f, g, o, c = (gates[k] for k in ("input", "forget", "candidate", "output", "cell"))
        torch.testing.assert_close(c, f * previous(c) + i * g, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(h, o * torch.tanh(c), atol=1e-5, rtol=1e-5)



@pytest.mark.parametrize("variant", [{"query_word": True}, {"attend_after_step": True},
                                     {"feed_summary": True}])
def test_bahdanau_variants_are_written_to_the_config_and_rebuild(variant):
    model = tiny("bahdanau", **variant)
    assert all(model.config[key] is True for key in variant)
    plain = tiny("bahdanau").config  # older folders' configs stay as they were
    assert not {"query_word", "attend_after_step", "feed_summary"} & set(plain)
    rebuilt = GRUSeq2Seq(**model.config)
    rebuilt.load_state_dict(model.state_dict())


@pytest.mark.parametrize("attention,variant", [
    ("luong_general", {"query_word": True}), ("luong_dot", {"attend_after_step": True}),
    ("bahdanau", {"query_word": True, "attend_after_step": True}),
    ("luong_general", {"feed_summary": True}), ("none", {"feed_summary": True}),
    ("bahdanau", {"feed_summary": True, "attend_after_step": True})])
def test_a_bahdanau_variant_on_another_model_is_a_clear_error(attention, variant):
    with pytest.raises(ValueError, match="is for attention='bahdanau'"):
        tiny(attention, **variant)


def test_attend_eos_false_puts_no_weight_on_the_source_eos():
    torch.manual_seed(0)
    model = tiny("bahdanau", query_word=True, attend_eos=False)
    src, src_mask, tgt_in, _ = random_batch()
    _, alignments = model(src, src_mask, tgt_in, need_weights=True)
    last = src_mask.sum(dim=1) - 1  # each source's eos
    cross = alignments["cross"]  # (B, T, S)
    for b in range(src.size(0)):
        assert torch.all(cross[b, :, last[b]] == 0)
        torch.testing.assert_close(cross[b].sum(-1), torch.ones(cross.size(1)))
    assert model.config["attend_eos"] is False and "attend_eos" not in tiny("bahdanau").config


def test_feed_summary_gives_the_cell_the_fixed_vector_at_every_step():
    torch.manual_seed(0)
    model = tiny("bahdanau", feed_summary=True)
    src, src_mask, tgt_in, _ = random_batch()
    memory = model.encode(src, src_mask)
    assert memory["summary"].shape == (src.size(0), 2 * model.encoder.hidden_size)
    assert model.decoder.input_size == model.embedding.embedding_dim + 4 * model.encoder.hidden_size
    logits, _ = model(src, src_mask, tgt_in)
    changed = {**memory, "summary": torch.zeros_like(memory["summary"])}  # the summary is read
    state = model.init_state(memory)
    token = tgt_in[:, 0]
    assert not torch.allclose(model.step(memory, state, token)[0],
                              model.step(changed, state, token)[0])
    torch.testing.assert_close(model.step(memory, state, token)[0], logits[:, 0])

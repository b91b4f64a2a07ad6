"""The GRU seq2seq: its four decoders, step-by-step = teacher-forced, and it can learn."""

import pytest
import torch

from models.gru import ATTENTIONS, GRUSeq2Seq
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


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_step_by_step_equals_teacher_forced(attention):
    torch.manual_seed(0)
    model = tiny(attention)
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


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
def test_padding_does_not_change_a_sentence(attention):
    torch.manual_seed(0)
    model = tiny(attention)
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

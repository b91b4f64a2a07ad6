"""The Transformer: attention shapes and masks, cached decoding = teacher forcing, it can learn."""

import pytest
import torch

from models.transformer import Transformer
from tests.toy import PAD, V, overfit, random_batch

L, H = 2, 4
pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kwargs) -> Transformer:
    sizes = dict(d_model=16, num_heads=H, num_encoder_layers=L, num_decoder_layers=L, d_ff=32,
                 dropout=0.0, max_len=64)
    return Transformer(V, PAD, **(sizes | kwargs)).eval()


def test_forward_shapes_and_weights_only_when_asked():
    torch.manual_seed(0)
    model = tiny()
    src, src_mask, tgt_in, _ = random_batch()
    logits, alignments = model(src, src_mask, tgt_in)
    assert logits.shape == (3, 6, V) and alignments == {}
    _, alignments = model(src, src_mask, tgt_in, need_weights=True)
    assert alignments["cross"].shape == (3, L, H, 6, 7)
    assert alignments["decoder_self"].shape == (3, L, H, 6, 6)
    assert alignments["encoder_self"].shape == (3, L, H, 7, 7)
    assert "encoder_self" not in model.encode(src, src_mask)


def test_attention_masks_padding_and_future_exactly():
    torch.manual_seed(0)
    model = tiny()
    src, src_mask, tgt_in, _ = random_batch()
    _, alignments = model(src, src_mask, tgt_in, need_weights=True)
    for name in ("cross", "encoder_self"):
        weights = alignments[name]  # (B, L, H, T or S, S)
        pads = ~src_mask[:, None, None, None, :].expand_as(weights)
        assert torch.all(weights[pads] == 0), name
        assert torch.all(weights[~pads] > 0), name
    future = alignments["decoder_self"].triu(diagonal=1)
    assert torch.all(future == 0)
    for name, weights in alignments.items():
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]), msg=name)


def test_cached_steps_equal_teacher_forced():
    torch.manual_seed(0)
    model = tiny()
    src, src_mask, tgt_in, _ = random_batch()
    logits, alignments = model(src, src_mask, tgt_in, need_weights=True)
    memory = model.encode(src, src_mask, need_weights=True)
    torch.testing.assert_close(memory["encoder_self"], alignments["encoder_self"])
    state = model.init_state(memory)
    for t in range(tgt_in.size(1)):
        step_logits, state, weights = model.step(memory, state, tgt_in[:, t], need_weights=True)
        torch.testing.assert_close(step_logits, logits[:, t], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(weights["cross"], alignments["cross"][:, :, :, t],
                                   atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(weights["decoder_self"],
                                   alignments["decoder_self"][:, :, :, t, :t + 1],
                                   atol=1e-6, rtol=1e-5)
        assert state["self_kv"][0][0].shape == (3, H, t + 1, 16 // H)  # one cached row per step
    _, _, weights = model.step(memory, state, tgt_in[:, 0])
    assert weights == {}


def test_padding_does_not_change_a_sentence():
    torch.manual_seed(0)
    model = tiny()
    src, src_mask, tgt_in, _ = random_batch()
    logits, _ = model(src, src_mask, tgt_in)
    alone, _ = model(src[2:, :2], src_mask[2:, :2], tgt_in[2:])  # 2 real source pieces
    torch.testing.assert_close(alone[0], logits[2], atol=1e-5, rtol=1e-5)
    # The lone sentence took the unmasked path (nothing to mask), the batch the masked one.
    assert model.encode(src[2:, :2], src_mask[2:, :2])["cross_mask"] is None
    assert model.encode(src, src_mask)["cross_mask"].shape == (src.size(0), 1, 1, src.size(1))


def test_future_target_pieces_do_not_change_earlier_logits():
    torch.manual_seed(0)
    model = tiny()
    src, src_mask, tgt_in, _ = random_batch()
    logits, _ = model(src, src_mask, tgt_in)
    changed = tgt_in.clone()
    changed[:, 3:] = 7
    logits_changed, _ = model(src, src_mask, changed)
    torch.testing.assert_close(logits_changed[:, :3], logits[:, :3])
    assert not torch.allclose(logits_changed[:, 4:], logits[:, 4:])


def test_config_rebuilds_and_clear_errors():
    model = tiny()
    rebuilt = Transformer(**model.config)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="divisible"):
        tiny(num_heads=5)
    src = torch.full((1, 65), 5)
    with pytest.raises(ValueError, match="max_len"):
        model.encode(src, src != PAD)


def test_overfits_a_toy_translation_task():
    torch.manual_seed(0)
    assert overfit(tiny(d_model=32, d_ff=64), lr=3e-3)


def test_dropout_acts_in_training_only():
    torch.manual_seed(0)
    model = tiny(dropout=0.5)
    src, src_mask, tgt_in, _ = random_batch()
    first, _ = model(src, src_mask, tgt_in)
    assert torch.equal(first, model(src, src_mask, tgt_in)[0])  # eval: dropout is the identity
    model.train()
    assert not torch.equal(model(src, src_mask, tgt_in)[0], model(src, src_mask, tgt_in)[0])

"""Greedy search, beam search and forced decoding (alignment), for both model families."""

import functools
import itertools

import pytest
import torch
import torch.nn.functional as F

from models.gru import GRUSeq2Seq
from models.rnn import RNNSeq2Seq
from models.search import (
    Hypothesis,
    _trim,
    beam_search,
    forced_alignment,
    forced_decoding,
    greedy_search,
)
from models.transformer import Transformer

PAD, BOS, EOS = 0, 2, 3
V = 12


pytestmark = pytest.mark.usefixtures("one_thread")


def make(name: str, vocab_size: int = V):
    torch.manual_seed(0)
    if name == "transformer":
        return Transformer(vocab_size, PAD, d_model=16, num_heads=2, num_encoder_layers=2,
                           num_decoder_layers=2, d_ff=32, dropout=0.0, max_len=64).eval()
    return GRUSeq2Seq(vocab_size, PAD, emb_dim=16, enc_hidden=12, dec_hidden=24,
                      attention=name, attn_dim=10, dropout=0.0).eval()


def make_src(vocab_size: int = V, lengths=(6, 3, 1)):
    """(B, S) sources with the given lengths including eos."""
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor(lengths)
    src_mask = torch.arange(int(lengths.max()))[None] < lengths[:, None]
    src = torch.randint(4, vocab_size, src_mask.shape, generator=g).masked_fill(~src_mask, PAD)
    src[torch.arange(len(lengths)), lengths - 1] = EOS
    return src, src_mask


@functools.cache
def trained(name: str):
    """A model after 20 Adam steps on a copy-and-shift task: unsure enough that beams disagree
    with greedy and outputs vary in length (a random model repeats one piece forever)."""
    model = make(name)
    g = torch.Generator().manual_seed(2)
    src, src_mask = make_src(lengths=(7, 6, 5, 4, 3, 3, 2, 2))
    src = torch.randint(4, V, src.shape, generator=g).masked_fill(~src_mask, PAD)
    src[torch.arange(8), src_mask.sum(1) - 1] = EOS
    tgt_out = torch.where(src >= 4, 4 + (src - 4 + 1) % (V - 4), src)  # every piece + 1
    tgt_in = torch.cat([torch.full((8, 1), BOS), tgt_out[:, :-1].masked_fill(
        tgt_out[:, :-1] == EOS, PAD)], dim=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        logits, _ = model(src, src_mask, tgt_in)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def expected_shapes(name: str, T: int, S: int) -> dict:
    if name == "transformer":
        return {"cross": (2, 2, T, S), "decoder_self": (2, 2, T, T), "encoder_self": (2, 2, S, S)}
    return {} if name == "none" else {"cross": (T, S)}


def forced_check(model, src, src_mask, hyp: Hypothesis, i: int, length_penalty: float):
    """Re-score sentence i's hypothesis teacher-forced; compare score and alignments."""
    tokens = hyp.tokens[:-1] if hyp.tokens[-1] == EOS else hyp.tokens
    tgt_in = torch.tensor([[BOS] + tokens])
    forced = forced_alignment(model, src[i:i + 1], src_mask[i:i + 1], tgt_in,
                              torch.ones_like(tgt_in, dtype=torch.bool), eos_id=EOS)[0]
    n = len(hyp.tokens)  # the first n rows are exactly the hypothesis' tokens
    score = forced["log_probs"][:n].sum() / n ** length_penalty
    assert hyp.score == pytest.approx(score.item(), rel=1e-4, abs=1e-4)
    for key, weights in hyp.alignments.items():
        torch.testing.assert_close(weights, forced[key][..., :n, :] if key == "cross" else
                                   forced[key][..., :n, :n] if key == "decoder_self" else
                                   forced[key], atol=1e-5, rtol=1e-4, msg=key)


MODELS = ["bahdanau", "luong_general", "none", "transformer"]


@pytest.mark.parametrize("name", MODELS)
def test_alignment_shapes_from_every_search(name):
    model = trained(name)
    src, src_mask = make_src()
    S = src_mask.sum(1).tolist()
    for hyps in (greedy_search(model, src, src_mask, BOS, EOS),
                 beam_search(model, src, src_mask, BOS, EOS, beam_size=3)):
        assert len(hyps) == 3
        for i, hyp in enumerate(hyps):
            shapes = {key: tuple(w.shape) for key, w in hyp.alignments.items()}
            assert shapes == expected_shapes(name, len(hyp.tokens), S[i])
            assert EOS not in hyp.tokens[:-1]
    tgt_in = torch.tensor([[BOS, 5, 6, 7], [BOS, 8, PAD, PAD], [BOS, 4, 4, PAD]])
    forced = forced_alignment(model, src, src_mask, tgt_in, tgt_in != PAD)
    for i, (aligned, T) in enumerate(zip(forced, [4, 2, 3], strict=True)):
        assert aligned["log_probs"].shape == (T,)
        assert {k: tuple(w.shape) for k, w in aligned.items() if k != "log_probs"} == \
            expected_shapes(name, T, S[i])
    assert forced_alignment(model, src, src_mask, tgt_in, tgt_in != PAD,
                            need_weights=False)[0].keys() == {"log_probs"}


@pytest.mark.parametrize("name", MODELS)
def test_beam_of_one_is_greedy(name):
    model = trained(name)
    src, src_mask = make_src()
    greedy = greedy_search(model, src, src_mask, BOS, EOS)
    beam = beam_search(model, src, src_mask, BOS, EOS, beam_size=1, length_penalty=1.0)
    for g, b in zip(greedy, beam, strict=True):
        assert b.tokens == g.tokens
        assert b.score * len(b.tokens) == pytest.approx(g.score, rel=1e-5)  # mean vs sum
        assert b.alignments.keys() == g.alignments.keys()
        for key in g.alignments:
            torch.testing.assert_close(b.alignments[key], g.alignments[key])


@pytest.mark.parametrize("name", MODELS)
def test_search_results_agree_with_forced_alignment(name):
    """Scores and alignments tracked through beam reordering match a teacher-forced re-run."""
    model = trained(name)
    src, src_mask = make_src()
    for i, hyp in enumerate(greedy_search(model, src, src_mask, BOS, EOS)):
        forced_check(model, src, src_mask, hyp, i, length_penalty=0.0)
    for i, hyp in enumerate(beam_search(model, src, src_mask, BOS, EOS, beam_size=4,
                                        length_penalty=0.7)):
        forced_check(model, src, src_mask, hyp, i, length_penalty=0.7)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_finds_the_exhaustive_best(length_penalty):
    """With 6 pieces, 3 output steps and K = 36 >= every live prefix, beam search is exhaustive."""
    vocab, limit = 6, 3
    model = make("bahdanau", vocab)
    src, src_mask = make_src(vocab, lengths=(4,))
    candidates = [list(seq[:n]) for n in range(1, limit + 1)
                  for seq in itertools.product(range(vocab), repeat=n)
                  if EOS not in seq[:n - 1] and (seq[-1] == EOS or n == limit)]
    best, best_score = None, float("-inf")
    with torch.no_grad():
        for seq in candidates:
            tgt_in = torch.tensor([[BOS] + seq[:-1]])
            log_probs = model(src, src_mask, tgt_in)[0].log_softmax(-1)[0]  # (n, V)
            score = log_probs[torch.arange(len(seq)), seq].sum().item() / len(seq) ** length_penalty
            if score > best_score:
                best, best_score = seq, score
    hyp = beam_search(model, src, src_mask, BOS, EOS, beam_size=36, max_len_a=0.0,
                      max_len_b=limit, length_penalty=length_penalty)[0]
    assert hyp.tokens == best
    assert hyp.score == pytest.approx(best_score, rel=1e-5)


def test_length_limit_per_sentence():
    model = make("bahdanau")
    with torch.no_grad():
        model.out_bias[EOS] = -1e4  # never finish: every sentence runs to its own limit
    src, src_mask = make_src()
    for search in (greedy_search, beam_search):
        hyps = search(model, src, src_mask, BOS, EOS, max_len_a=1.5, max_len_b=2)
        assert [len(h.tokens) for h in hyps] == [int(1.5 * s + 2) for s in (6, 3, 1)]
        assert all(EOS not in h.tokens for h in hyps)


def test_search_turns_dropout_off_and_restores_the_mode():
    model = GRUSeq2Seq(V, PAD, emb_dim=16, enc_hidden=12, dec_hidden=24, dropout=0.5)
    src, src_mask = make_src()
    reference = greedy_search(model.eval(), src, src_mask, BOS, EOS)
    model.train()
    again = greedy_search(model, src, src_mask, BOS, EOS)
    assert model.training
    assert [h.tokens for h in again] == [h.tokens for h in reference]


@pytest.mark.parametrize("name", MODELS)
def test_forced_decoding_is_forced_alignment_kept_apart(name):
    """The Hypothesis form holds what the old dict mixed: tokens, log_probs, score, alignments."""
    model = trained(name)
    src, src_mask = make_src()
    tgt_in = torch.tensor([[BOS, 5, 6, 7], [BOS, 8, PAD, PAD], [BOS, 4, 4, PAD]])
    hyps = forced_decoding(model, src, src_mask, tgt_in, tgt_in != PAD)
    old = forced_alignment(model, src, src_mask, tgt_in, tgt_in != PAD, eos_id=EOS)
    assert [h.tokens for h in hyps] == [[5, 6, 7, EOS], [8, EOS], [4, 4, EOS]]
    for hyp, aligned in zip(hyps, old, strict=True):
        assert torch.equal(hyp.log_probs, aligned["log_probs"])
        assert hyp.score == pytest.approx(hyp.log_probs.sum().item())
        assert hyp.alignments.keys() | {"log_probs"} == aligned.keys()
        for key, weights in hyp.alignments.items():
            assert torch.equal(weights, aligned[key])


def test_forced_decoding_reads_eos_from_the_source():
    """eos is the piece every source ends with; sources that disagree must name it."""
    model = trained("bahdanau")
    src, src_mask = make_src()
    tgt_in = torch.tensor([[BOS, 5], [BOS, 8], [BOS, 4]])
    hyps = forced_decoding(model, src, src_mask, tgt_in, tgt_in != PAD)
    assert [h.tokens[-1] for h in hyps] == [EOS] * 3
    src[1, 2] = 11  # sentence 1 now ends in piece 11
    with pytest.raises(ValueError, match="pass eos_id"):
        forced_decoding(model, src, src_mask, tgt_in, tgt_in != PAD)
    explicit = forced_decoding(model, src, src_mask, tgt_in, tgt_in != PAD, eos_id=EOS)
    assert [h.tokens[-1] for h in explicit] == [EOS] * 3


def make_gradient_model(name: str):
    torch.manual_seed(0)
    if name == "transformer":
        return make("transformer")
    return RNNSeq2Seq(V, PAD, emb_dim=16, enc_hidden=12, dec_hidden=24, attention="bahdanau",
                      attn_dim=10, dropout=0.0, cell=name).eval()


@pytest.mark.parametrize("name", ["gru", "lstm", "rnn", "transformer"])
def test_forced_decoding_backpropagates_to_every_source_position(name):
    """With grad=True the target's log-probability reaches each real source embedding (through a
    forward hook on the embedding, whose first call embeds the source) and never a pad."""
    model = make_gradient_model(name)
    src, src_mask = make_src()
    tgt_in = torch.tensor([[BOS, 5, 6, 7], [BOS, 8, PAD, PAD], [BOS, 4, 4, PAD]])
    embedded = []
    hook = model.embedding.register_forward_hook(lambda module, args, out: embedded.append(out))
    try:
        hyps = forced_decoding(model, src, src_mask, tgt_in, tgt_in != PAD, grad=True)
    finally:
        hook.remove()
    source = embedded[0]  # (B, S, M)
    assert source.shape[:2] == src.shape
    source.retain_grad()
    sum(hyp.log_probs.sum() for hyp in hyps).backward()
    per_position = source.grad.norm(dim=-1)  # (B, S)
    assert bool(per_position[src_mask].gt(0).all())
    assert bool(per_position[~src_mask].eq(0).all())
    # Autograd on changes nothing the search computes.
    plain = forced_decoding(model, src, src_mask, tgt_in, tgt_in != PAD)
    for with_grad, without in zip(hyps, plain, strict=True):
        torch.testing.assert_close(with_grad.log_probs.detach(), without.log_probs)
        assert not without.log_probs.requires_grad and torch.is_inference(without.log_probs)


@pytest.mark.parametrize("name", ["gru", "transformer"])
def test_greedy_search_with_grad_keeps_the_alignments_graph(name):
    model = make_gradient_model(name)
    src, src_mask = make_src()
    plain = greedy_search(model, src, src_mask, BOS, EOS, max_len_b=3)
    hyps = greedy_search(model, src, src_mask, BOS, EOS, max_len_b=3, grad=True)
    assert [h.tokens for h in hyps] == [h.tokens for h in plain]
    assert [h.score for h in hyps] == pytest.approx([h.score for h in plain])
    cross = hyps[0].alignments["cross"]
    assert cross.requires_grad and not plain[0].alignments["cross"].requires_grad
    cross[..., 0].sum().backward()  # how much the output looked at the first source piece
    assert model.embedding.weight.grad.abs().sum() > 0


def test_grad_inside_inference_mode_is_a_clear_error():
    model = make_gradient_model("gru")
    src, src_mask = make_src()
    tgt_in = torch.tensor([[BOS, 5], [BOS, 8], [BOS, 4]])
    with torch.inference_mode(), pytest.raises(RuntimeError, match="outside"):
        forced_decoding(model, src, src_mask, tgt_in, tgt_in != PAD, grad=True)


def test_trim_cuts_any_kind_by_its_name_without_a_table():
    B, L, H, T_pad, S_pad = 2, 1, 2, 6, 5
    alignments = {"cross": torch.rand(B, L, H, T_pad, S_pad),
                  "decoder_self": torch.rand(B, L, H, T_pad, T_pad),
                  "encoder_self": torch.rand(B, L, H, S_pad, S_pad),
                  "copy_attention": torch.rand(B, T_pad, S_pad)}  # a kind no table declares
    trimmed = _trim(alignments, 1, 4, 3)
    assert {k: tuple(v.shape[-2:]) for k, v in trimmed.items()} == {
        "cross": (4, 3), "decoder_self": (4, 4), "encoder_self": (3, 3), "copy_attention": (4, 3)}
    assert torch.equal(trimmed["cross"], alignments["cross"][1, :, :, :4, :3])

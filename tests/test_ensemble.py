"""Several models searched as one (`models.ensemble`), through the facade and the command line."""

import json
import shutil

import pytest
import torch

from data import Tokenizer
from inference import CheckpointError, Translator
from models.ensemble import Ensemble
from models.search import beam_search, forced_decoding, greedy_search
from tests.app_fixtures import _sentences, build_checkpoints
from tests.test_search import BOS, EOS, V, make, make_src, trained
from training.translate import main as translate_main

pytestmark = pytest.mark.usefixtures("one_thread")


def first_step(model, src, src_mask) -> torch.Tensor:
    """Next-piece log-probabilities after bos: (B, V)."""
    memory = model.encode(src, src_mask)
    token = torch.full((src.size(0),), BOS)
    logits, _, _ = model.step(memory, model.init_state(memory), token)
    return logits.log_softmax(dim=-1)


@pytest.mark.parametrize("name", ["bahdanau", "transformer"])
def test_a_model_twice_is_that_model(name):
    model = trained(name)
    twice = Ensemble([model, model]).eval()
    src, src_mask = make_src(lengths=(7, 4, 2))
    with torch.inference_mode():
        assert torch.allclose(first_step(twice, src, src_mask), first_step(model, src, src_mask),
                              atol=1e-5)
        for search, kwargs in ((greedy_search, {}), (beam_search, {"beam_size": 3})):
            alone = search(model, src, src_mask, BOS, EOS, need_weights=False, **kwargs)
            both = search(twice, src, src_mask, BOS, EOS, need_weights=False, **kwargs)
            assert [h.tokens for h in both] == [h.tokens for h in alone]
            assert all(h.alignments == {} for h in both)  # an ensemble has no one alignment


def test_each_step_is_the_log_of_the_mean_probability():
    members = [trained("bahdanau"), trained("luong_general"), trained("transformer")]
    ensemble = Ensemble(members).eval()
    src, src_mask = make_src(lengths=(7, 4, 2))
    with torch.inference_mode():
        mean = torch.stack([first_step(m, src, src_mask).exp() for m in members]).mean(0)
        assert torch.allclose(first_step(ensemble, src, src_mask), mean.log(), atol=1e-5)
        assert torch.allclose(mean.sum(-1), torch.ones(3), atol=1e-5)


def test_beam_search_follows_each_members_state():
    """A GRU's hidden state and a Transformer's key/value cache are reordered together: every
    hypothesis's beam score is what teacher forcing gives its tokens."""
    ensemble = Ensemble([trained("bahdanau"), trained("transformer")]).eval()
    src, src_mask = make_src(lengths=(7, 6, 5, 3))
    hyps = beam_search(ensemble, src, src_mask, BOS, EOS, beam_size=4, length_penalty=1.0,
                       need_weights=False)
    assert len({tuple(h.tokens) for h in hyps}) > 1
    for i, hyp in enumerate(hyps):
        tokens = hyp.tokens[:-1] if hyp.tokens[-1] == EOS else hyp.tokens
        tgt_in = torch.tensor([[BOS] + tokens])
        forced, = forced_decoding(ensemble, src[i:i + 1], src_mask[i:i + 1], tgt_in,
                                  torch.ones_like(tgt_in, dtype=torch.bool), need_weights=False,
                                  eos_id=EOS)
        total = float(forced.log_probs.sum())
        if hyp.tokens[-1] != EOS:
            total -= float(forced.log_probs[-1])  # forced decoding appends an eos to score
        assert hyp.score == pytest.approx(total / len(hyp.tokens), abs=1e-4)


def test_members_must_share_a_vocabulary():
    with pytest.raises(ValueError, match="at least two models"):
        Ensemble([make("bahdanau")])
    with pytest.raises(ValueError, match="one shared vocabulary"):
        Ensemble([make("bahdanau"), make("transformer", vocab_size=V + 1)])


def test_translator_ensemble_and_the_command_line(tmp_path, capsys):
    root = build_checkpoints(tmp_path / "checkpoints")
    folders = [root / "gru_bahdanau", root / "transformer"]
    ensemble = Translator.ensemble(folders)
    assert ensemble.name == "gru_bahdanau+transformer"
    lines = ["A man is running.", "", "Two dogs play in the snow."]
    hyps = ensemble.translate_batch(lines, beam=3)
    assert len(hyps) == 3 and hyps[1] == ""  # untrained fixtures: any text, line for line

    src = tmp_path / "src.en"
    src.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "hyp.de"
    assert translate_main(["--model", *map(str, folders), "--input", str(src), "--output",
                           str(out), "--beam", "3"]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == hyps

    # A member's own length penalty (chosen for it alone) does not pass to the ensemble.
    config = root / "transformer" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "length_penalty": 1.4}))
    assert Translator.load(root / "transformer").length_penalty == 1.4
    assert Translator.ensemble([root / "transformer", root / "gru_bahdanau"]).length_penalty == 1.0

    # Another vocabulary of the same size: the models would load, but their pieces differ.
    stranger = tmp_path / "stranger"
    shutil.copytree(root / "transformer", stranger)
    size = Translator.load(stranger).tokenizer.vocab_size
    other = Tokenizer.train([s[::-1] for s in _sentences()], vocab_size=size)
    (stranger / "spm.model").write_bytes(other.model_proto)
    with pytest.raises(CheckpointError, match="different spm.model"):
        Translator.ensemble([root / "gru_bahdanau", stranger])
    assert translate_main(["--model", str(root / "gru_bahdanau"), str(stranger), "--input",
                           str(src), "--output", str(tmp_path / "no.de")]) == 2
    assert "an ensemble needs one shared vocabulary" in capsys.readouterr().err
    assert not (tmp_path / "no.de").exists()

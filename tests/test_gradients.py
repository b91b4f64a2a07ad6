"""Gradients on the fixture models (inference.gradients, views.gradients, /gradient_flow and
/saliency): the norms and gradient x input equal an independent check (central differences in
float64), the Spearman value is scipy's, the attention row is the forced alignment's."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from gradio_client.exceptions import AppError
from scipy import stats

from inference import InputError, Translator, clean_text
from inference import gradients as grads
from models.search import forced_decoding
from tests.app_fixtures import build_checkpoints
from views import gradients as gradient_views

SENTENCE = "A dog runs on the beach."
TARGET = "Ein Hund rennt am Strand."
MODELS = ["gru_noattn", "gru_bahdanau", "lstm_bahdanau", "gru_luong", "transformer"]
ATTENDING = MODELS[1:]


@pytest.fixture(scope="module")
def translators(tmp_path_factory, one_thread) -> dict[str, Translator]:
    root = build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints")
    return {name: Translator.load(root / name) for name in MODELS}


def in_float64(translator: Translator) -> Translator:
    """The same model in float64, for a finite-difference check with little rounding."""
    return Translator(translator.name, copy.deepcopy(translator.model).double(),
                      translator.tokenizer, translator.config, translator.metadata, [])


def log_prob(translator: Translator, text: str, target: str, piece: int,
             shift: torch.Tensor | None = None, token: int | None = None) -> float:
    """log p(target) (or of target token `token` only) with the source embedding of `piece`
    moved by `shift`: computed without autograd, and without inference.gradients."""
    _, src_ids, _ = translator.prepare(text)
    batch = translator._batch([src_ids], [translator.tokenizer.encode(target)])

    def hook(module, inputs, output):
        if inputs[0] is batch.src and shift is not None:
            output = output.clone()
            output[0, piece] += shift
            return output
        return None

    handle = translator.model.embedding.register_forward_hook(hook)
    try:
        hyp = forced_decoding(translator.model, batch.src, batch.src_mask, batch.tgt_in,
                              batch.tgt_mask)[0]
    finally:
        handle.remove()
    return float(hyp.log_probs.sum() if token is None else hyp.log_probs[token])


def source_embedding(translator: Translator, text: str, piece: int) -> torch.Tensor:
    _, src_ids, _ = translator.prepare(text)
    ids = src_ids + [translator.tokenizer.eos_id]
    return translator.model.embedding.weight[ids[piece]].detach()


@pytest.mark.parametrize("name", MODELS)
def test_the_gradient_norm_equals_central_differences(translators, name):
    """Along the gradient's own direction u, (f(e + eps u) - f(e - eps u)) / 2 eps = ||g||."""
    translator = in_float64(translators[name])
    flow = grads.gradient_flow(translator, SENTENCE, TARGET)
    piece, eps = 1, 1e-5
    # The direction: the gradient at this piece, recomputed from the float64 run.
    run = grads._forced_pass(translator, SENTENCE, TARGET)
    g = grads._grad(run.hyp.log_probs.sum(), run.embedded)[piece].detach()
    u = g / g.norm()
    slope = (log_prob(translator, SENTENCE, TARGET, piece, eps * u)
             - log_prob(translator, SENTENCE, TARGET, piece, -eps * u)) / (2 * eps)
    assert math.isclose(slope, flow.grad_norm[piece], rel_tol=1e-5)
    assert math.isclose(flow.log_prob, log_prob(translator, SENTENCE, TARGET, piece),
                        rel_tol=1e-9)


def test_every_model_gets_one_positive_norm_per_piece_on_one_target(translators):
    flows = grads.flow_all(translators, SENTENCE)
    assert list(flows) == MODELS
    # The reference is the Transformer; the untrained fixture one writes nothing, so the
    # first model that writes something stands in for it.
    writer = next(n for n in ["transformer"] + MODELS[:-1]
                  if translators[n].translate(SENTENCE).text.strip())
    assert grads.reference_model(translators) == "transformer"
    for flow in flows.values():
        assert flow.target == clean_text(translators[writer].translate(SENTENCE).text)
        assert flow.reference == writer
        assert len(flow.grad_norm) == len(flow.pieces) and flow.pieces[-1] == "</s>"
        assert (flow.grad_norm > 0).all()
    typed = grads.flow_all(translators, SENTENCE, TARGET)
    assert {f.target for f in typed.values()} == {TARGET}
    assert all(f.reference is None for f in typed.values())


@pytest.mark.parametrize("name", ["gru_bahdanau", "transformer"])
def test_gradient_x_input_equals_central_differences(translators, name):
    """(d log p(y_t) / d e_j) . e_j is the slope of log p(y_t) along e_j itself."""
    translator = in_float64(translators[name])
    t, piece, eps = 2, 0, 1e-6
    result = grads.saliency(translator, SENTENCE, TARGET, t)
    e = source_embedding(translator, SENTENCE, piece)
    slope = (log_prob(translator, SENTENCE, TARGET, piece, eps * e, token=t)
             - log_prob(translator, SENTENCE, TARGET, piece, -eps * e, token=t)) / (2 * eps)
    assert math.isclose(slope, result.signed[piece], rel_tol=1e-4, abs_tol=1e-9)
    assert result.saliency[piece] == abs(result.signed[piece])


def test_saliency_sits_beside_the_forced_alignment_row_with_scipys_spearman(translators):
    t = 1
    results = grads.saliency_all(translators, SENTENCE, t, TARGET)
    assert list(results) == ATTENDING  # the no-attention GRU has no row to compare
    for name, result in results.items():
        stack = translators[name].align(SENTENCE, TARGET).alignments["cross"]  # (L, H, T, S)
        expected = stack[-1, :, t].mean(axis=0)  # the last layer, mean of the heads
        np.testing.assert_allclose(result.attention, expected, atol=1e-6)
        assert (result.saliency >= 0).all() and len(result.saliency) == len(result.pieces)
        rho = stats.spearmanr(result.saliency, result.attention).statistic
        assert math.isclose(result.spearman, rho, abs_tol=1e-12)
        entry = result.as_json()  # the API's rounded numbers give the same rho
        assert math.isclose(entry["spearman"],
                            stats.spearmanr(entry["saliency"], entry["attention"]).statistic,
                            abs_tol=1e-3)
        assert entry["output_piece"] == result.target_pieces[t]
    assert "mean of 4 heads" in results["transformer"].attention_from


def test_bad_input_is_one_clear_sentence(translators):
    with pytest.raises(InputError, match="empty"):
        grads.flow_all(translators, "")
    count = len(grads.saliency(translators["gru_luong"], SENTENCE, TARGET, 0).target_pieces)
    for bad in (count, -1, 1.5, "abc", None):
        with pytest.raises(InputError, match=f"from 0 to {count - 1}"):
            grads.saliency_all(translators, SENTENCE, bad, TARGET)
    assert grads.saliency_all(translators, SENTENCE, "2", TARGET)["gru_luong"].index == 2
    fallback = grads.saliency_all(translators, SENTENCE, count, TARGET, fallback=True)
    assert {r.index for r in fallback.values()} == {0}
    with pytest.raises(InputError, match="No shipped model has attention"):
        grads.saliency_all({"gru_noattn": translators["gru_noattn"]}, SENTENCE)
    with pytest.raises(InputError, match="No model is shipped"):
        grads.flow_all({}, SENTENCE)


def test_views_draw_and_caption_the_api_numbers(translators):
    flow = {n: r.as_json() for n, r in grads.flow_all(translators, SENTENCE, TARGET).items()}
    figure = gradient_views.flow_figure(flow, {"transformer": "#123456"})
    assert [t.legendgroup for t in figure.data] == MODELS
    assert figure.layout.yaxis.type == "log" and figure.data[-1].line.color == "#123456"
    assert "&lt;/s&gt;" in figure.layout.xaxis.ticktext
    norms = np.asarray(flow["gru_noattn"]["grad_norm"])
    text = gradient_views.flow_caption(flow)
    assert f"{norms.max() / norms.min():.1f}× apart" in text
    assert "typed above" in gradient_views.target_note(flow)

    answer = {n: r.as_json() for n, r in grads.saliency_all(translators, SENTENCE, 0).items()}
    entry = answer["gru_bahdanau"]
    figure = gradient_views.saliency_figure(entry)
    assert f"ρ = {entry['spearman']:.2f}" in figure.layout.title.text
    assert math.isclose(sum(figure.data[0].y), 1, abs_tol=1e-3)  # attention as shares
    caption = gradient_views.saliency_caption(answer)
    agree = sum(int(np.argmax(e["attention"]) == np.argmax(e["saliency"]))
                for e in answer.values())
    assert f"ρ = {entry['spearman']:.2f}" in caption
    assert f"peak at the same piece in {agree} of {len(answer)}" in caption
    assert gradient_views.piece_choices(["▁Ein", "</s>"]) == [("0: ▁Ein", 0), ("1: </s>", 1)]


def test_gradient_flow_api_answers_the_contract(app_client):
    out = app_client.predict(SENTENCE, api_name="/gradient_flow")
    answer = out[0]
    assert list(answer) == MODELS
    for entry in answer.values():
        assert len(entry["grad_norm"]) == len(entry["pieces"])
        assert all(v > 0 for v in entry["grad_norm"])
    assert len({entry["target"] for entry in answer.values()}) == 1
    typed = app_client.predict(SENTENCE, TARGET, api_name="/gradient_flow")[0]
    assert {entry["target"] for entry in typed.values()} == {TARGET}


def test_saliency_api_answers_the_contract(app_client):
    answer = app_client.predict(SENTENCE, api_name="/saliency")[0]
    assert list(answer) == ATTENDING
    for entry in answer.values():
        S = len(entry["pieces"])
        assert len(entry["saliency"]) == len(entry["attention"]) == S
        assert entry["index"] == 0 and isinstance(entry["spearman"], float)
    picked = app_client.predict(SENTENCE, 2, TARGET, api_name="/saliency")[0]
    assert {entry["index"] for entry in picked.values()} == {2}


def test_the_apis_say_what_is_wrong(app_client):
    with pytest.raises(AppError) as err:
        app_client.predict(SENTENCE, 999, api_name="/saliency")
    assert "Pick an output piece from 0 to" in str(err.value)
    with pytest.raises(AppError) as err:
        app_client.predict("   ", api_name="/gradient_flow")
    assert "empty" in str(err.value) and "Traceback" not in str(err.value)

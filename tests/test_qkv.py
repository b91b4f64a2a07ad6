"""Q, K, V step by step (inference.qkv, views.qkv, tabs.qkv): one attention row recomputed by
hand from a model's weights equals the row the model computed, on the tiny fixture models
(a Transformer with 3 encoder layers, 2 decoder layers and 4 heads; the recurrent models)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError

from inference import InputError, qkv
from inference.translator import Translator
from models.rnn import RNNSeq2Seq
from tests.app_fixtures import ENCODER_LAYERS, HEADS, LAYERS, build_checkpoints
from views import qkv as views

pytestmark = pytest.mark.usefixtures("one_thread")

SENTENCE = "A dog runs on the beach."
TOLERANCE = 1e-5
CONTRACT = {"d_k", "query", "keys", "scores", "scaled", "weights"}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints")


@pytest.fixture(scope="module")
def translators(checkpoints) -> dict[str, Translator]:
    names = ("gru_noattn", "gru_bahdanau", "lstm_bahdanau", "gru_luong", "transformer")
    return {name: Translator.load(checkpoints / name) for name in names}


@pytest.fixture(scope="module")
def transformer(translators) -> qkv.Run:
    return qkv.forward(translators["transformer"], SENTENCE)


def spots(rows: int) -> list[int]:
    return sorted({0, rows // 2, rows - 1})


# ---- the Transformer: every kind, layer and head -------------------------------------------------
@pytest.mark.parametrize("kind", qkv.KINDS)
def test_recomputed_rows_equal_the_models_own(transformer, kind):
    layers, heads, rows = qkv.sizes(transformer, kind)
    assert (layers, heads) == (ENCODER_LAYERS if kind == "encoder_self" else LAYERS, HEADS)
    for layer in range(layers):
        for head in range(heads):
            for query in spots(rows):
                row = qkv.row(transformer, kind, layer, head, query)
                model_row = transformer.alignments[kind][layer, head, query]
                np.testing.assert_allclose(row["weights"], model_row[:len(row["pieces"])],
                                           atol=TOLERANCE, rtol=0)
                assert row["max_abs_diff"] <= TOLERANCE
                # The steps are what they say: q.k_j, then / sqrt(d_k), then softmax.
                np.testing.assert_allclose(row["scores"], row["keys"] @ row["query"], atol=1e-9)
                np.testing.assert_allclose(row["scaled"], row["scores"] / math.sqrt(row["d_k"]))
                np.testing.assert_allclose(row["context"], row["weights"] @ row["values"])
                assert row["weights"].sum() == pytest.approx(1.0, abs=1e-12)
                assert row["d_k"] * HEADS == row["d_model"]


def test_the_comparison_can_fail(transformer):
    """A head's row against its neighbour's is far apart: agreement above is not trivial."""
    row = qkv.row(transformer, "cross", 0, 0, 2)
    assert np.abs(row["weights"] - transformer.alignments["cross"][0, 1, 2]).max() > 1e-3
    assert np.abs(row["weights"] - 1 / len(row["weights"])).max() > 1e-3  # not uniform


def test_decoder_self_attention_is_causal(transformer):
    _, _, rows = qkv.sizes(transformer, "decoder_self")
    for query in range(rows):
        row = qkv.row(transformer, "decoder_self", 1, 2, query)
        future = np.arange(rows) > query
        np.testing.assert_array_equal(row["mask"], ~future)
        assert np.all(row["weights"][future] == 0.0)  # exactly, not nearly
        assert np.all(row["weights"][~future] > 0)
        assert row["weights"].sum() == pytest.approx(1.0, abs=1e-12)


def test_without_the_mask_only_the_future_changes(transformer):
    query = 2
    masked = qkv.row(transformer, "decoder_self", 0, 1, query)
    free = qkv.row(transformer, "decoder_self", 0, 1, query, masked=False)
    future = ~masked["mask"]
    assert future.any() and not free["masked"]
    np.testing.assert_array_equal(free["scores"], masked["scores"])  # the same scores
    np.testing.assert_array_equal(free["mask"], masked["mask"])  # the mask it left out
    assert np.all(free["weights"][future] > 0) and np.all(masked["weights"][future] == 0)
    # Renormalised over the past, the free row is the masked one: the mask only removes the
    # future keys from the softmax.
    past = free["weights"][~future]
    np.testing.assert_allclose(past / past.sum(), masked["weights"][~future], atol=1e-12)
    assert free["max_abs_diff"] <= TOLERANCE  # still compared with the model's masked row
    assert free["multi_head"]["output_diff"] is None
    last = qkv.row(transformer, "decoder_self", 0, 1, len(masked["pieces"]) - 1, masked=False)
    assert last["mask"].all() and last["max_abs_diff"] <= TOLERANCE  # nothing to hide


@pytest.mark.parametrize("kind", qkv.KINDS)
def test_heads_concatenate_and_project_to_the_modules_output(transformer, kind):
    row = qkv.row(transformer, kind, 1, 3, 1)
    multi = row["multi_head"]
    E, D = row["d_model"], row["d_k"]
    assert multi["contexts"].shape == (HEADS, D) and multi["concat"].shape == (HEADS * D,) == (E,)
    np.testing.assert_array_equal(multi["concat"][3 * D:4 * D], row["context"])  # head 4's slot
    assert multi["output"].shape == (E,)
    assert multi["output_diff"] <= TOLERANCE
    np.testing.assert_allclose(multi["output"], multi["module_output"], atol=TOLERANCE)


# ---- why sqrt(d_k) -------------------------------------------------------------------------------
def test_scaling_keeps_random_softmaxes_soft():
    curve = qkv.random_entropy(12)
    raw, scaled = np.array(curve["raw"]), np.array(curve["scaled"])
    assert curve["d_k"][0] <= 4 and curve["d_k"][-1] >= 512
    assert np.all(scaled >= raw)
    assert np.all(np.diff(raw) < 0)  # unscaled: the softmax sharpens as d_k grows
    assert np.all(np.diff(scaled - raw) > 0)  # so scaling matters more and more
    assert scaled.max() - scaled.min() < 0.3  # scaled: about the same at every d_k
    ratio = np.array(curve["score_std"]) / np.sqrt(curve["d_k"])
    assert np.all(np.abs(ratio - 1) < 0.2)  # the raw scores spread as sqrt(d_k)
    assert qkv.random_entropy(12) is curve  # seeded and cached: the same every request


def test_scaled_entropy_is_at_least_the_raw_one(transformer):
    for kind in qkv.KINDS:
        row = qkv.row(transformer, kind, 0, 0, 1)
        seen = row["mask"]
        assert row["entropy"]["scaled"] >= row["entropy"]["raw"]
        assert row["entropy"]["uniform"] == pytest.approx(math.log2(seen.sum()))
        assert row["entropy"]["scaled"] == pytest.approx(
            float(qkv.entropy_bits(row["weights"])), abs=1e-9)  # the model's softmax is scaled


# ---- the recurrent models ------------------------------------------------------------------------
def recurrent(translators, attention: str, cell: str = "gru", query_word: bool = False,
              after_step: bool = False, feed_summary: bool = False):
    """A fixture-sized recurrent model on the fixtures' vocabulary (seeded, untrained)."""
    torch.manual_seed(1)
    tokenizer = translators["gru_luong"].tokenizer
    model = RNNSeq2Seq(tokenizer.vocab_size, attention=attention, cell=cell,
                       query_word=query_word, attend_after_step=after_step,
                       feed_summary=feed_summary, emb_dim=16, enc_hidden=16, dec_hidden=32,
                       attn_dim=12).eval()
    return Translator(f"{cell}_{attention}", model, tokenizer, {}, {}, [])


@pytest.mark.parametrize("name, attention, cell, query_word", [
    ("gru_bahdanau", "bahdanau", "gru", True),  # the fixture: query [s; emb(y)]
    ("lstm_bahdanau", "bahdanau", "lstm", False),
    (None, "bahdanau", "gru", False),
    (None, "bahdanau", "lstm", True),
    (None, "bahdanau", "gru", "after_step"),  # the additive score on Luong's path
    (None, "bahdanau", "gru", "feed_summary"),  # query [s; emb(y)], the cell also reads c
    ("gru_luong", "luong_general", "gru", False),
    (None, "luong_dot", "gru", False),
])
def test_recurrent_rows_equal_the_models_own(translators, name, attention, cell, query_word):
    after_step, feed_summary = query_word == "after_step", query_word == "feed_summary"
    query_word = query_word is True or feed_summary
    translator = translators[name] if name else recurrent(translators, attention, cell,
                                                          query_word, after_step, feed_summary)
    model = translator.model
    assert (model.attention_kind, model.cell, model.query_word) == (attention, cell, query_word)
    assert (model.attend_after_step, model.feed_summary) == (after_step, feed_summary)
    run = qkv.forward(translator, SENTENCE)
    assert qkv.kinds(run) == ("cross",)
    rows = qkv.sizes(run, "cross")[2]
    for query in range(rows):
        row = qkv.row(run, "cross", 0, 0, query)
        assert row["score_function"] == attention
        assert row["max_abs_diff"] <= TOLERANCE and row["context_diff"] <= TOLERANCE
        assert row["weights"].sum() == pytest.approx(1.0, abs=1e-12)
        assert row["scale"] == 1.0 and np.array_equal(row["scaled"], row["scores"])
        np.testing.assert_allclose(row["context"], row["weights"] @ row["values"])
        hidden = model.decoder.hidden_size
        if attention == "bahdanau":
            extra = row["bahdanau"]
            width = hidden + (model.embedding.embedding_dim if query_word else 0)
            assert row["query"].shape == (width,) and extra["state"].shape == (hidden,)
            np.testing.assert_allclose(
                row["scores"], np.tanh(extra["key_proj"] + extra["query_proj"]) @ extra["v"])
        else:
            np.testing.assert_allclose(row["scores"], row["keys"] @ row["query"])


def test_a_recurrent_row_has_its_own_neighbours(translators):
    run = qkv.forward(translators["gru_luong"], SENTENCE)
    first, second = qkv.row(run, "cross", 0, 0, 0), qkv.row(run, "cross", 0, 0, 1)
    assert np.abs(first["weights"] - run.alignments["cross"][0, 0, 1]).max() > 1e-4
    assert second["max_abs_diff"] <= TOLERANCE


# ---- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, kind, layer, head, query, message", [
    ("transformer", "cross", LAYERS, 0, 0, f"pick a layer from 1 to {LAYERS}, not {LAYERS + 1}"),
    ("transformer", "encoder_self", ENCODER_LAYERS, 0, 0, "encoder has 3 layers"),
    ("transformer", "cross", 0, HEADS, 0, f"pick a head from 1 to {HEADS}"),
    ("transformer", "cross", 0, 0, 500, "pick a query position from 1 to"),
    ("transformer", "cross", 0, 0, -1, "not 0"),
    ("transformer", "sideways", 0, 0, 0, "Pick the kind of attention"),
    ("gru_bahdanau", "decoder_self", 0, 0, 0, "has only cross-attention"),
    ("gru_bahdanau", "cross", 1, 0, 0, "no layers or heads"),
])
def test_bad_choices_are_one_sentence(translators, name, kind, layer, head, query, message):
    with pytest.raises(InputError, match=message) as err:
        qkv.steps(translators[name], SENTENCE, kind, layer, head, query)
    assert "\n" not in str(err.value)


def test_no_attention_and_no_sentence_are_one_sentence(translators):
    with pytest.raises(InputError, match="no attention to take apart"):
        qkv.steps(translators["gru_noattn"], SENTENCE)
    with pytest.raises(InputError, match="empty"):
        qkv.steps(translators["transformer"], "   ")


def test_a_given_target_is_used(translators):
    row = qkv.steps(translators["transformer"], SENTENCE, "cross", target="Ein Hund rennt.")
    assert row["target"] == "Ein Hund rennt." and row["rows"][-1] == "</s>"
    assert row["max_abs_diff"] <= TOLERANCE


# ---- for display ---------------------------------------------------------------------------------
def test_the_json_keeps_the_contract(transformer, translators):
    for row in (qkv.row(transformer, "decoder_self", 1, 0, 3),
                qkv.steps(translators["gru_bahdanau"], SENTENCE, query=1)):
        out = qkv.as_json(row)
        text = json.dumps(out, allow_nan=False)  # no NaN or infinity: plain JSON
        assert CONTRACT <= set(out) and isinstance(out["d_k"], int)
        assert len(out["keys"]) == len(out["scores"]) == len(out["weights"]) == len(out["pieces"])
        assert len(out["keys"][0]) == out["d_k"]
        if out["score_function"] == "scaled_dot_product":  # Bahdanau projects both first
            assert len(out["query"]) == out["d_k"]
        assert sum(out["weights"]) == pytest.approx(1.0, abs=1e-4)
        assert out["max_abs_diff"] == row["max_abs_diff"]  # kept exact, not rounded
        assert out["query_index"] == row["query_index"] + 1  # counted from 1, as the app does
        assert len(text) < 60_000


def test_views_draw_every_kind_with_captions_from_their_numbers(transformer, translators):
    rows = [qkv.row(transformer, kind, 0, 1, 2) for kind in qkv.KINDS]
    rows += [qkv.row(transformer, "decoder_self", 0, 1, 2, masked=False),
             qkv.steps(translators["gru_bahdanau"], SENTENCE, query=1),
             qkv.steps(translators["gru_luong"], SENTENCE, query=1)]
    for row in rows:
        steps = views.steps_figure(row)
        panels = 3 if row["score_function"] == "scaled_dot_product" else 2
        assert len({trace.yaxis for trace in steps.data}) == panels
        assert steps.layout.meta["min_width"] > 0
        labels = list(steps.data[0].x)  # "</s>" and "<s>" show, not swallowed as tags
        assert any("&lt;" in label for label in labels) and not any("<" in x for x in labels)
        top = int(np.argmax(row["weights"]))
        caption = views.steps_caption(row)
        assert f"{row['weights'][top]:.1%}" in caption and "</s>" not in caption
        assert views.vectors_figure(row).layout.meta["min_width"] > 0
        assert views.entropy_figure(row).layout.meta["min_width"] > 0
        assert f"{row['random']['raw'][0]:.2f}" in views.entropy_caption(row)
        assert views.summary(row).count("\n| ") >= 5  # the shapes table
        assert views.heads_markdown(row)
    cross, decoder_self, _, free = rows[:4]
    assert views.mask_figure(cross) is None and "No mask" in views.mask_caption(cross)
    assert views.mask_figure(decoder_self) is not None
    hidden = int((~decoder_self["mask"]).sum())
    assert f"{hidden} later" in views.mask_caption(decoder_self)
    texts = [t.text for t in views.steps_figure(decoder_self).data if t.type == "scatter"]
    assert texts == [(views.MINUS_INF,) * hidden]  # on the scaled scores the mask blocked
    table = views.row_table(decoder_self).splitlines()
    assert len(table) == 2 + len(decoder_self["pieces"])
    assert sum(views.MINUS_INF in line for line in table) == hidden
    assert sum("past the mask" in line for line in views.row_table(free).splitlines()) == hidden
    leaked = float(free["weights"][~free["mask"]].sum())
    assert f"{leaked:.1%}" in views.mask_caption(free)
    assert f"head {HEADS}" in views.heads_markdown(cross)


# ---- through the app -----------------------------------------------------------------------------
def test_qkv_api(app_url):
    client = Client(app_url, verbose=False)
    out = client.predict("A dog runs.", api_name="/qkv")
    numbers = out[0]
    assert CONTRACT <= set(numbers)
    assert numbers["model"] == "transformer" and numbers["kind"] == "cross"
    assert numbers["d_k"] == 32 // HEADS and len(numbers["query"]) == numbers["d_k"]
    assert sum(numbers["weights"]) == pytest.approx(1.0, abs=1e-4)
    assert numbers["max_abs_diff"] <= TOLERANCE
    assert (numbers["layer"], numbers["head"], numbers["query_index"]) == (1, 1, 1)
    for args, message in [((LAYERS + 1,), f"from 1 to {LAYERS}"), ((1, "abc"), "whole number"),
                          ((1, 1, 99), "query position"), ((1, 1, 1, "maybe"), "true or false")]:
        with pytest.raises(AppError, match=message) as err:
            client.predict("A dog runs.", "transformer", "cross", *args, api_name="/qkv")
        assert "Traceback" not in str(err.value)
    with pytest.raises(AppError, match="only cross-attention"):
        client.predict("A dog runs.", "gru_bahdanau", "decoder_self", api_name="/qkv")
    with pytest.raises(AppError, match="empty"):
        client.predict("", api_name="/qkv")

"""The encoder gates view (inference.gates, views.gates, /gates) on the tiny fixture models: the
gates rebuild the fused encoder's outputs, stay in [0, 1], and a tanh RNN says it has none."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gradio_client.exceptions import AppError
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from inference import InputError, Translator
from inference import gates as gating
from models import RNNSeq2Seq
from tests.app_fixtures import build_checkpoints
from views import gates as gate_views

SENTENCE = "A dog runs on the beach."
RECURRENT = ["gru_noattn", "gru_bahdanau", "lstm_bahdanau", "gru_luong"]


@pytest.fixture(scope="module")
def translators(tmp_path_factory, one_thread) -> dict[str, Translator]:
    root = build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints")
    return {name: Translator.load(root / name) for name in RECURRENT + ["transformer"]}


def fused_outputs(translator: Translator, text: str) -> torch.Tensor:
    """What the fused nn.GRU / nn.LSTM of `encode` gives per source piece: (S, K)."""
    model = translator.model
    _, ids, _ = translator.prepare(text)
    batch = translator._batch([ids])
    with torch.inference_mode():
        packed = pack_padded_sequence(model.embedding(batch.src), batch.src_mask.sum(1),
                                      batch_first=True, enforce_sorted=False)
        outputs, _ = pad_packed_sequence(model.encoder(packed)[0], batch_first=True)
    return outputs[0]


def rebuild(gates: gating.EncoderGates) -> np.ndarray:
    """The encoder states (S, K) run again from the returned gates alone: forward units left to
    right, backward units right to left, each from a zero state."""
    parts, He = gates.parts, gates.units_per_direction
    S, K = parts["candidate"].shape
    states = np.zeros((S, K))
    for half, steps in ((slice(0, He), range(S)), (slice(He, K), range(S - 1, -1, -1))):
        h = np.zeros(He)
        c = np.zeros(He)
        for t in steps:
            if gates.cell == "gru":  # h = (1 - z) * n + z * h_prev
                z, n = parts["update"][t, half], parts["candidate"][t, half]
                h = (1 - z) * n + z * h
            else:  # c = f * c_prev + i * g; h = o * tanh(c)
                i, f, g, o = (parts[k][t, half] for k in ("input", "forget", "candidate",
                                                         "output"))
                c = f * c + i * g
                h = o * np.tanh(c)
            states[t, half] = h
    return states


@pytest.mark.parametrize("name", RECURRENT)
def test_gates_are_in_0_1_one_row_per_piece_one_column_per_unit(translators, name):
    translator = translators[name]
    result = gating.encoder_gates(translator, SENTENCE)
    _, ids, _ = translator.prepare(SENTENCE)
    K = 2 * translator.model.config["enc_hidden"]
    assert result.pieces[-1] == "</s>" and len(result.pieces) == len(ids) + 1
    expected = ("update", "reset") if result.cell == "gru" else ("input", "forget", "output")
    assert set(result.gates) == set(expected)
    for gate in result.gates.values():
        assert gate.shape == (len(result.pieces), K)
        assert gate.min() >= 0 and gate.max() <= 1
        assert gate.std() > 0  # a real sigmoid of each piece, not a constant


@pytest.mark.parametrize("name", ["gru_bahdanau", "lstm_bahdanau", "gru_noattn"])
def test_the_gates_rebuild_the_fused_encoder_outputs(translators, name):
    """The recurrence driven by the returned gates (z, or f and i) equals the fused layer that
    `encode` runs, to 1e-5: the gates are the ones the model uses."""
    result = gating.encoder_gates(translators[name], SENTENCE)
    fused = fused_outputs(translators[name], SENTENCE).numpy()
    np.testing.assert_allclose(rebuild(result), fused, atol=1e-5, rtol=0)


def test_the_api_json_holds_the_gates_and_their_means(translators):
    results = gating.gates_all(translators, SENTENCE)
    assert list(results) == RECURRENT  # the Transformer has no recurrent encoder
    answer = gating.gates_json(results)
    entry = answer["lstm_bahdanau"]
    forget = results["lstm_bahdanau"].gates["forget"]
    assert sorted(entry["units"]) == list(range(forget.shape[1]))  # 2 x 16 units: all shown
    np.testing.assert_allclose(entry["gates"]["forget"], forget[:, entry["units"]], atol=5e-4)
    np.testing.assert_allclose(entry["mean"]["forget"], forget.mean(axis=1), atol=5e-4)
    assert entry["keeps"] == "forget" and answer["gru_luong"]["keeps"] == "update"


def test_a_wide_encoder_shows_units_spread_over_its_range(translators):
    result = gating.gates_all(translators, SENTENCE)["gru_bahdanau"]
    He = result.units_per_direction
    units = result.shown_units(per_direction=4)  # as the 48 of 256 in the shipped models
    assert len(units) == 8 and all(u < He for u in units[:4]) and all(u >= He for u in units[4:])
    means = result.gates["update"].mean(axis=0)
    for half, picked in ((slice(0, He), units[:4]), (slice(He, 2 * He), units[4:])):
        assert list(means[picked]) == sorted(means[picked])  # lowest first
        assert means[picked[0]] == means[half].min() and means[picked[-1]] == means[half].max()


def test_a_tanh_rnn_has_no_gates_and_says_so(translators):
    fixture = translators["gru_bahdanau"]
    torch.manual_seed(0)
    model = RNNSeq2Seq(fixture.tokenizer.vocab_size, cell="rnn", attention="bahdanau",
                       emb_dim=16, enc_hidden=16, dec_hidden=32, attn_dim=16).eval()
    rnn = Translator("rnn", model, fixture.tokenizer, {}, {"label": "Tanh RNN"}, [])
    assert gating.is_recurrent(rnn) and not gating.has_gates(rnn)
    result = gating.encoder_gates(rnn, SENTENCE)
    assert result.gates == {} and not result.has_gates
    with pytest.raises(InputError, match="tanh RNN has no gates"):
        gating.gates_json({"rnn": result})
    # Beside a GRU, the RNN is simply left out of the API's answer.
    mixed = gating.gates_json(gating.gates_all({"rnn": rnn, "gru": fixture}, SENTENCE))
    assert list(mixed) == ["gru"]
    assert "no gates" in gate_views.no_gates_note("Tanh RNN")


def test_bad_input_is_one_clear_sentence(translators):
    with pytest.raises(InputError, match="empty"):
        gating.gates_all(translators, "   ")
    with pytest.raises(InputError, match="No recurrent model"):
        gating.gates_all({"transformer": translators["transformer"]}, SENTENCE)
    with pytest.raises(InputError, match="no recurrent encoder"):
        gating.encoder_gates(translators["transformer"], SENTENCE)


def test_units_are_sorted_within_each_direction():
    values = np.array([[0.9, 0.1, 0.5, 0.2, 0.8, 0.3]])  # 1 piece, 3 units per direction
    assert gate_views.unit_order(values, 3).tolist() == [1, 2, 0, 3, 5, 4]


def test_figure_and_caption_show_the_api_numbers(translators):
    answer = gating.gates_json(gating.gates_all(translators, SENTENCE))
    entry = answer["gru_bahdanau"]
    figure = gate_views.gates_figure(entry)
    heatmaps = [t for t in figure.data if t.type == "heatmap"]
    lines = [t for t in figure.data if t.type == "scatter"]
    assert len(heatmaps) == len(lines) == 2  # update and reset, and their means
    z = np.asarray(heatmaps[0].z)
    assert z.shape == (len(entry["pieces"]), 64) and 0 <= z.min() and z.max() <= 1
    assert "&lt;/s&gt;" in list(heatmaps[0].y)  # pieces are escaped labels
    assert figure.layout.meta["min_width"] > 300
    text = gate_views.gates_caption(answer)
    update = np.asarray(entry["gates"]["update"])
    assert f"update z averages {update.mean():.2f}" in text
    assert f"{(update > gate_views.KEEP).mean():.0%} of its values are above" in text
    assert text.count("**") >= 2 * len(answer)  # a line per model


def test_gates_api_answers_the_contract(app_client):
    out = app_client.predict(SENTENCE, api_name="/gates")
    answer = out[0]
    assert list(answer) == RECURRENT
    for entry in answer.values():
        S = len(entry["pieces"])
        assert entry["pieces"][-1] == "</s>"
        for name, values in entry["gates"].items():
            values = np.asarray(values)
            assert values.shape == (S, 64) and values.min() >= 0 and values.max() <= 1
            assert len(entry["mean"][name]) == S
    assert "averages" in out[1]  # the caption
    assert all(p["type"] == "plotly" for p in out[2:]) and len(out[2:]) == len(RECURRENT)


def test_gates_api_says_what_is_wrong_with_an_empty_sentence(app_client):
    with pytest.raises(AppError) as err:
        app_client.predict("", api_name="/gates")
    assert "empty" in str(err.value) and "Traceback" not in str(err.value)

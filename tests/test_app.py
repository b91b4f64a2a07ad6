"""The app through its API (gradio_client), on tiny fixture models, launched in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

import app
from inference import aligner
from tests.app_fixtures import ROOT, build_checkpoints
from tests.util import free_port

MODELS = ["gru_noattn", "gru_bahdanau", "lstm_bahdanau", "gru_luong", "transformer"]


def launch(demo):
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                ssr_mode=False, **app.LAUNCH_OPTIONS)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> Path:
    return build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints")


@pytest.fixture(scope="module")
def client(checkpoints):
    demo = app.build_demo(checkpoints)
    try:
        yield Client(launch(demo), verbose=False)
    finally:
        demo.close()


def translate(client, *args):
    """/translate's outputs by name: the JSON first, then the notice, texts and plots."""
    out = client.predict(*args, api_name="/translate")
    n = len(MODELS)
    return {"json": out[0], "notice": out[1], "texts": list(out[2:2 + n]),
            "plots": list(out[2 + n:])}


def test_translate_with_only_the_sentence_returns_every_model(client):
    out = translate(client, "A dog runs on the beach.")
    assert list(out["json"]) == MODELS
    assert all(isinstance(v, str) for v in out["json"].values())
    assert out["texts"] == list(out["json"].values())
    assert out["notice"] == ""
    assert len(out["plots"]) == 4  # every model with attention; the bottleneck GRU has none
    assert all(p["type"] == "plotly" and '"heatmap"' in p["plot"] for p in out["plots"])


def test_translate_with_beam_and_words(client):
    out = translate(client, "Two men play soccer.", 3, True)
    assert list(out["json"]) == MODELS and "words" in out["plots"][0]["plot"]


SENTENCE_APIS = ["/translate", "/gates", "/gradient_flow", "/saliency", "/qkv"]


def test_only_the_documented_endpoints_are_public_and_take_the_sentence_first(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {*SENTENCE_APIS, "/align", "/recall_lab"}
    for name in SENTENCE_APIS:  # the sentence first, every other input with a default
        first, *rest = endpoints[name]["parameters"]
        assert first["component"] == "Textbox", name
        assert all(p["parameter_has_default"] for p in rest), name
    assert all(p["parameter_has_default"] for p in endpoints["/recall_lab"]["parameters"])


@pytest.mark.parametrize("text", ["", "    ", "\x00\x01\x1b\u200b"])
def test_empty_input_gives_one_clear_sentence(client, text):
    with pytest.raises(AppError) as err:
        client.predict(text, api_name="/translate")
    assert "empty" in str(err.value) and "Traceback" not in str(err.value)


@pytest.mark.parametrize("text", [
    "🐶🐕 runs 🏃‍♂️", "Собака бежит по пляжу. 一只狗", "<script>alert(1)</script> A dog.",
    "<img src=x onerror=window.__xss=1> **bold** [x](javascript:alert(1))",
    "A\x00 dog\x1b[31m runs\r\n\ton\x7f the beach.", "\u202eevil\u202c text",
])
def test_odd_input_is_translated_not_crashed(client, text):
    out = translate(client, text)
    assert list(out["json"]) == MODELS
    assert "<" not in out["notice"]


def test_long_input_is_translated_truncated_with_a_notice(client):
    out = translate(client, "A dog runs on the beach. " * 200)  # 5,000 characters
    assert "only the first 100" in out["notice"]
    assert list(out["json"]) == MODELS


def test_align_puts_every_model_on_one_target(client):
    out = client.predict("A dog runs.", "__own__", "Ein Hund rennt.", "gru_bahdanau", False,
                         api_name="/align")
    info, plots, summary, table = out[0], out[1:5], out[5], out[6]
    assert "Ein Hund rennt" in info
    assert all(p["type"] == "plotly" for p in plots)
    assert "Closest to" in summary
    assert len(table["data"]) == 2 + 2 * (4 + 1)  # LSTM, Luong GRU, every head, layer means
    # Then the downloads, and last the statistical aligner's matrix and what it says.
    downloads, eflomal, said = out[-4:-2], out[-2], out[-1]
    assert Path(downloads[0]).suffix == ".json" and Path(downloads[1]).suffix == ".csv"
    if not aligner.available():
        assert eflomal is None and "eflomal is not installed" in said
        return
    assert eflomal["type"] == "plotly" and "statistical aligner" in eflomal["plot"]
    assert "What a statistical aligner says" in said and "Closest to the aligner" in said
    # one score per model with attention (four), and the download holds the aligner's links too
    assert said.count("**0.") + said.count("**1.") >= 4
    views = json.loads(Path(downloads[0]).read_text(encoding="utf-8"))["views"]
    assert [v["model"] for v in views][-1] == "eflomal"
    assert views[-1]["rows"] == ["Ein", "Hund", "rennt."]


def test_align_to_an_empty_own_target_says_what_to_do(client):
    with pytest.raises(AppError, match="German sentence"):
        client.predict("A dog runs.", "__own__", "  ", "gru_bahdanau", False, api_name="/align")


def test_many_people_at_once_all_get_answers(client):
    def one(i):
        return translate(client, f"A dog number {i} runs.")["json"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, range(12)))
    assert len(answers) == 12 and all(list(a) == MODELS for a in answers)


def test_app_without_models_starts_and_says_so(tmp_path):
    demo = app.build_demo(tmp_path / "empty")
    try:
        url = launch(demo)
        config = urllib.request.urlopen(url + "config", timeout=30).read().decode()
        assert "No model is shipped" in config and "training.export" in config
        client = Client(url, verbose=False)
        with pytest.raises(AppError, match="No model is shipped"):
            client.predict("A dog.", api_name="/translate")
        # The recall lab needs no shipped model: it trains its own small cells.
        lab = client.predict("5, 8", api_name="/recall_lab")[0]
        assert lab["rnn"]["length"] == [5, 8] and set(lab) >= {"rnn", "lstm", "gru"}
    finally:
        demo.close()


def test_any_subset_of_models_works(checkpoints, tmp_path):
    """Only a Transformer shipped: no bottleneck GRU, no GRU to rank the heads against."""
    (tmp_path / "transformer").symlink_to(checkpoints / "transformer")
    demo = app.build_demo(tmp_path)
    try:
        client = Client(launch(demo), verbose=False)
        out = client.predict("A dog runs.", api_name="/translate")
        assert list(out[0]) == ["transformer"]
        aligned = client.predict("A dog runs.", "__own__", "Ein Hund rennt.", None,
                                 api_name="/align")
        assert "Ship a GRU with attention" in aligned[2]
    finally:
        demo.close()


def test_python_app_py_reads_the_server_environment(checkpoints):
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "CHECKPOINTS_DIR": str(checkpoints), "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("python app.py did not answer within 90 s")
        out = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            "A dog.", api_name="/translate")
        assert list(out[0]) == MODELS
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_page_keeps_every_tab_in_sight_and_fits_plots_to_their_labels(client):
    config = urllib.request.urlopen(client.src.rstrip("/") + "/config", timeout=30).read().decode()
    assert '"overflow_behavior":"wrap"' in config.replace(" ", "")  # tabs wrap, no menu
    assert "min_width" in app.FIT_PLOTS and "Plots.resize" in app.FIT_PLOTS
    assert app.LAUNCH_OPTIONS["js"] == app.FIT_PLOTS


def test_examples_are_short_buttons_and_the_long_one_says_how_long():
    labels = [app.example_label(e) for e in app.EXAMPLES]
    assert all(len(label) <= 40 for label in labels)
    assert labels[-1].endswith("(30 words)") and len(app.EXAMPLES[-1].split()) == 30
    assert app.example_label("A dog runs.") == "A dog runs."

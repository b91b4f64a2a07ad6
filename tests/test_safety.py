"""A public Space under load and under bad input: bounded memory and disk, one-line errors.

The app runs as a real server process (`python app.py` on the fixture models), so its memory,
its temporary files and its log are measured from outside, as a Space's would be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError

import app
from bench.app_memory import LONG, rss_mb
from inference.recent import Recent
from tests.app_fixtures import ROOT, build_checkpoints
from tests.util import free_port


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` on the fixture models, with its own temp folder and log."""
    base = tmp_path_factory.mktemp("space")
    checkpoints = build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints")
    tmp = base / "tmp"
    tmp.mkdir()
    port = free_port()
    env = dict(os.environ, CHECKPOINTS_DIR=str(checkpoints), GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_SERVER_PORT=str(port), TMPDIR=str(tmp),
               GRADIO_TEMP_DIR=str(tmp / "gradio"), GRADIO_ANALYTICS_ENABLED="False",
               OMP_NUM_THREADS="1", APP_SESSIONS="20")
    log_path = base / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("the app exited:\n" + log_path.read_text()[-2000:])
                time.sleep(0.2)
        yield {"url": url, "pid": process.pid, "tmp": tmp, "log": log_path}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_memory_and_temporary_files_stay_bounded_under_many_new_sessions(server):
    """300 /translate and 50 /align calls, each as a new session (as API callers are), after
    a warm-up that fills the server's session store (APP_SESSIONS=20 here, 64 by default)."""
    client = Client(server["url"], verbose=False)

    def one(i: int) -> None:
        client.reset_session()
        client.predict(LONG.format(i=i), 1, api_name="/translate")

    for i in range(30):  # warm-up: caches, allocator pools, the session store filling
        one(i)
    before = rss_mb(server["pid"])
    for i in range(30, 330):
        one(i)
    for i in range(50):
        client.reset_session()
        out = client.predict(LONG.format(i=i), "__own__", f"Ein Mann wartet {i} .",
                             api_name="/align")
        assert out[-4] and out[-3]  # both downloads offered (then the aligner's two)
    growth = rss_mb(server["pid"]) - before
    assert growth < 50, f"the server grew by {growth:.0f} MB over 350 requests"
    files = files_under(server["tmp"])
    size = sum(p.stat().st_size for p in files)
    assert len(files) <= 60 and size < 80 * 2**20, (len(files), size)


def test_bad_api_values_get_one_sentence_and_no_traceback_in_the_log(server):
    client = Client(server["url"], verbose=False)
    for beam in ("abc", None, 0, 11, 2.5):
        with pytest.raises(AppError, match="beam size must be a whole number from 1 to 10"):
            client.predict("A dog runs.", beam, api_name="/translate")
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict("A dog runs.", 1, False, "9", "mean", api_name="/translate")
    assert client.predict("A dog runs.", 1, False, "0", "1", api_name="/translate")[0]
    # A raw call with too few values: a one-line error, and the input is not echoed to the log.
    request = urllib.request.Request(
        server["url"] + "gradio_api/call/translate",
        data=json.dumps({"data": ["x" * 10_000]}).encode(),
        headers={"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(request, timeout=10).read())["event_id"]
    answer = urllib.request.urlopen(server["url"] + f"gradio_api/call/translate/{event}",
                                    timeout=30).read().decode()
    assert "sent 1 of the 5 inputs" in answer
    log = server["log"].read_text()
    assert "Traceback" not in log
    assert "x" * 100 not in log


def test_import_app_leaves_no_temporary_folder(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    assert list(tmp_path.iterdir()) == []
    assert not (ROOT / "app.pyi").exists()


# ---- bad model folders: the app lists them and keeps running ---------------------------------
def _edit_json(name: str, change):
    def edit(folder: Path) -> None:
        path = folder / name
        data = json.loads(path.read_text()) if path.exists() else None
        path.write_text(json.dumps(change(data)))
    return edit


def _nan_weights(folder: Path) -> None:
    state = torch.load(folder / "model.pt", weights_only=True)
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first] = torch.full_like(state[first], float("nan"))
    torch.save(state, folder / "model.pt")


def _init_arg(key, value):
    def change(config):
        config["model"]["init_args"][key] = value
        return config
    return _edit_json("config.json", change)


BAD_FOLDERS = {
    "metadata is a list": _edit_json("metadata.json", lambda m: []),
    "snapshots is a dict": _edit_json("snapshots.json", lambda s: {"a": 1}),
    "snapshot cross misfits": _edit_json("snapshots.json", lambda s: [
        {"epoch": 0, "sentences": [{"source": "a", "source_pieces": ["a"],
                                    "target_pieces": ["b"], "cross": [[1, 2], [3, 4]]}]}]),
    "curves is text": _edit_json("metadata.json", lambda m: {**m, "curves": "oops"}),
    "label is a number": _edit_json("metadata.json", lambda m: {**m, "label": 7}),
    "negative emb_dim": _init_arg("emb_dim", -1),
    "max_len_a is text": _edit_json("config.json", lambda c: {**c, "max_len_a": "abc"}),
    "length_penalty < 0": _edit_json("config.json", lambda c: {**c, "length_penalty": -1}),
    "weights are NaN": _nan_weights,
}


@pytest.mark.parametrize("breakage", list(BAD_FOLDERS))
def test_a_bad_folder_is_listed_and_the_app_keeps_running(tmp_path, breakage):
    root = tmp_path / "checkpoints"
    shutil.copytree(build_checkpoints(tmp_path.parent / "app_checkpoints_safety"), root)
    BAD_FOLDERS[breakage](root / "gru_bahdanau")
    shipped = app.Shipped(root)
    assert "gru_bahdanau" not in shipped.names
    assert {"gru_noattn", "transformer"} <= set(shipped.names)
    assert len(shipped.problems) == 1 and "gru_bahdanau" in shipped.problems[0]
    assert str(tmp_path) not in shipped.problems[0]  # no server paths shown to visitors
    app.build_demo(root)  # builds every tab without raising


def test_a_bad_eval_file_is_ignored(tmp_path):
    root = tmp_path / "checkpoints"
    shutil.copytree(build_checkpoints(tmp_path.parent / "app_checkpoints_safety"), root)
    path = next((root / "gru_bahdanau" / "eval").glob("*.json"))
    result = json.loads(path.read_text())
    result["by_length"] = [{"bucket": 1, "bleu": "high"}]
    path.write_text(json.dumps(result))
    app.build_demo(root)
    from inference.lab import load_eval
    assert load_eval(root / "gru_bahdanau") is None
    assert load_eval(root / "transformer") is not None


# ---- the store that bounds memory ------------------------------------------------------------
def test_recent_keeps_only_the_newest_results_and_recomputes_evicted_ones():
    calls = []
    recent = Recent(lambda x: calls.append(x) or x * 2, size=2)
    assert [recent(1), recent(2), recent(1), recent(3)] == [2, 4, 2, 6]
    assert calls == [1, 2, 3] and len(recent) == 2
    assert recent(2) == 4 and calls == [1, 2, 3, 2]  # 2 was evicted (1 was used more lately)


def test_long_requests_run_one_at_a_time_and_short_ones_are_not_held_up(monkeypatch, tmp_path):
    shipped = app.Shipped(build_checkpoints(tmp_path.parent / "app_checkpoints_safety"))
    monkeypatch.setattr(app, "HEAVY_WAIT_S", 0.1)
    long_sentence = "A dog runs on the beach. " * 20  # over HEAVY_CHARS
    assert len(long_sentence) >= app.HEAVY_CHARS
    assert app.HEAVY.acquire(timeout=1)  # a long request is running
    try:
        with pytest.raises(app.InputError, match="Another long translation is running"):
            shipped.translate(long_sentence, 1)
        with pytest.raises(app.InputError, match="Another long translation is running"):
            shipped.translate("A dog runs.", app.HEAVY_BEAM)
        results, _ = shipped.translate("A dog runs.", 1)  # short work is served meanwhile
        assert set(results) == set(shipped.names)
    finally:
        app.HEAVY.release()
    assert shipped.translate(long_sentence, 1)[0]  # and the long one runs once it is free

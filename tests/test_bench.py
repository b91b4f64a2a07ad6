"""The latency benchmark runs end to end and writes its table; it never judges the times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from inference import InputError, Translator
from tests.app_fixtures import build_checkpoints

ROOT = Path(__file__).resolve().parent.parent


def test_latency_bench_writes_every_model_and_greedys_two_parts(tmp_path):
    checkpoints = build_checkpoints(tmp_path / "checkpoints")
    output = tmp_path / "latency.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "latency.py"), "--checkpoints",
                          str(checkpoints), "--runs", "2", "--threads", "1", "--output",
                          str(output)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "ms/step" in run.stdout
    rows = json.loads(output.read_text())["rows"]
    names = ["gru_noattn", "gru_bahdanau", "lstm_bahdanau", "gru_luong", "transformer"]
    assert [(r["model"], r["beam"]) for r in rows] == [(n, b) for n in names for b in (1, 5)]
    for row in rows:
        assert row["weights"] == "shipped" and row["median_ms"] > 0
        assert row["meets_target"] == (row["median_ms"] <= row["target_ms"])
        if row["beam"] == 1:
            assert row["encode_ms"] > 0 and row["step_ms"] > 0
    transformer = next(r for r in rows if r["model"] == "transformer")
    assert set(transformer["alignments"]) == {"cross", "decoder_self", "encoder_self"}


def test_search_ids_is_the_search_translate_runs(tmp_path):
    """bench/latency.py times the search through this public call, not the private parts."""
    translator = Translator.load(build_checkpoints(tmp_path / "checkpoints") / "transformer")
    _, ids, _ = translator.prepare("A dog runs on the beach.")
    for beam in (1, 3):
        batch, hyp = translator.search_ids(ids, beam=beam)
        assert batch.src[0].tolist() == ids + [translator.tokenizer.eos_id]
        translation = translator.translate("A dog runs on the beach.", beam=beam)
        assert translator.tokenizer.decode(hyp.tokens) == translation.text
        assert set(hyp.alignments) == set(translation.alignments)
    with pytest.raises(InputError, match="beam size"):
        translator.search_ids(ids, beam=0)


def test_chapter_latency_bench_times_every_chapter_endpoint(tmp_path):
    checkpoints = build_checkpoints(tmp_path / "checkpoints")
    output = tmp_path / "chapter.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "chapter_latency.py"),
                          "--checkpoints", str(checkpoints), "--calls", "1", "--recall-calls",
                          "1", "--output", str(output)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "median s" in run.stdout
    rows = {row["endpoint"]: row for row in json.loads(output.read_text())["rows"]}
    assert set(rows) == {"/gates", "/gradient_flow", "/saliency", "/qkv", "/recall_lab"}
    assert rows["/recall_lab"]["keys"] == ["gru", "lstm", "rnn"]
    assert "gru_bahdanau" in rows["/gates"]["keys"] and "d_k" in rows["/qkv"]["keys"]
    for row in rows.values():
        assert row["median_s"] > 0 and row["meets_target"] == (row["max_s"] <= row["target_s"])

"""The benchmarks run end to end and write their tables; they never judge the times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench.train_throughput import step_data_args
from inference import InputError, Translator
from tests.app_fixtures import build_checkpoints
from tests.test_cli_errors import write_corpus
from training.datamodule import Multi30kDataModule

ROOT = Path(__file__).resolve().parent.parent


def toy_corpus(folder: Path, n: int, seed: int) -> Path:
    """A Multi30K-shaped folder whose train and val splits are the same `n` toy en-de pairs."""
    from tests.app_fixtures import toy_pairs

    folder.mkdir()
    pairs = toy_pairs(n, seed=seed)
    for split in ("train", "val"):
        for lang, i in (("en", 0), ("de", 1)):
            (folder / f"{split}.{lang}").write_text("".join(p[i] + "\n" for p in pairs))
    return folder


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


def test_attention_sink_bench_asks_each_recurrent_model_three_ways(tmp_path):
    """bench/attention_sink.py on the fixture models and a toy val split (no corpus needed):
    one row per recurrent model with attention; its own-query share is the model's own
    attention, and a zero query leaves only the keys: softmax_j(v . tanh(W_k h_j + b))."""
    import torch

    from data.batching import collate
    from inference.checkpoint import load_folder
    from tests.app_fixtures import toy_pairs

    checkpoints = build_checkpoints(tmp_path / "checkpoints")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pairs = toy_pairs(12, seed=3)
    (corpus / "val.en").write_text("".join(en + "\n" for en, _ in pairs))
    (corpus / "val.de").write_text("".join(de + "\n" for _, de in pairs))
    output = tmp_path / "sink.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "attention_sink.py"),
                          "--checkpoints", str(checkpoints), "--corpus", str(corpus),
                          "--sentences", "10", "--output", str(output)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "zero query" in run.stdout
    rows = {row["model"]: row for row in json.loads(output.read_text())}
    assert list(rows) == ["gru_bahdanau", "lstm_bahdanau", "gru_luong"]
    assert rows["gru_luong"]["zero_eos"] is None  # s . W h_j with s = 0: uniform
    for row in rows.values():
        assert row["sentences"] == 10
        for key in ("own_eos", "own_before", "rolled_eos", "rolled_before"):
            assert 0 < row[key] < 1

    model, tokenizer, _, _, _ = load_folder(checkpoints / "gru_bahdanau")
    items = [(i, tokenizer.encode(en), tokenizer.encode(de))
             for i, (en, de) in enumerate(pairs[:10])]
    batch = collate(items, tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id)
    with torch.no_grad():
        _, alignments = model(batch.src, batch.src_mask, batch.tgt_in, need_weights=True)
        memory = model.encode(batch.src, batch.src_mask)
    last = batch.src_mask.sum(dim=1) - 1
    own, blank = [], []
    for b in range(10):
        pieces = int(batch.tgt_mask[b].sum()) - 1  # the German pieces, not the final </s>
        own.append(alignments["cross"][b, :pieces, last[b]])
        keys = memory["keys"][b, : last[b] + 1]  # (S_b, A): W_k h_j + b
        blank.append(torch.softmax(model.attention.energy(torch.tanh(keys)).squeeze(-1), 0)[-1])
    assert rows["gru_bahdanau"]["own_eos"] == pytest.approx(torch.cat(own).mean().item(), abs=1e-6)
    assert rows["gru_bahdanau"]["zero_eos"] == pytest.approx(torch.stack(blank).mean().item(),
                                                             abs=1e-6)


def test_length_penalty_bench_sweeps_val_for_each_model(tmp_path):
    """bench/length_penalty.py on the fixture models and a toy val split: a row per model and
    penalty, each value's BLEU what `training.evaluate` gives with that penalty."""
    from training.evaluate import evaluate

    checkpoints = build_checkpoints(tmp_path / "checkpoints")
    corpus = toy_corpus(tmp_path / "corpus", 8, seed=4)
    output = tmp_path / "lp.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "length_penalty.py"),
                          "--checkpoints", str(checkpoints), "--corpus", str(corpus),
                          "--models", "gru_luong", "transformer", "--penalties", "0", "2",
                          "--beam", "3", "--threads", "1", "--out", str(output)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| length penalty | BLEU |" in run.stdout
    result = json.loads(output.read_text())["models"]
    assert list(result) == ["gru_luong", "transformer"]
    translator = Translator.load(checkpoints / "transformer")
    for row in result["transformer"]["rows"]:
        translator.length_penalty = row["length_penalty"]
        again = evaluate(translator, "val", 3, str(corpus))
        assert (row["bleu"], row["length_ratio"]) == (again["bleu"], again["length_ratio"])
    assert [r["length_penalty"] for r in result["gru_luong"]["rows"]] == [0.0, 2.0]
    assert result["gru_luong"]["own"] == 1.0


@pytest.mark.parametrize("config", sorted((ROOT / "training" / "configs").glob("*.yaml")),
                         ids=lambda path: path.stem)
def test_train_throughput_bench_builds_every_configs_data_without_its_teacher(config, tmp_path):
    """The bench times a step of each shipped config on the corpus's own targets: a config that
    names a teacher's file (not made here) or keeps the references beside it must still load."""
    args = step_data_args(yaml.safe_load(config.read_text()))
    assert "train_targets" not in args and "keep_references" not in args
    module = Multi30kDataModule(corpus=str(write_corpus(tmp_path / "corpus")),
                                **{**args, "vocab_size": 100,
                                   "tokenizer_dir": str(tmp_path / "tok")})
    assert len(module.encoded["train"]) == 150


def test_significance_bench_pairs_each_system_with_the_baseline(tmp_path):
    """bench/significance.py on the fixture models and a toy val split: the baseline's row, then
    each system's scores (those `training.evaluate` gives), its difference and a p in [0, 1];
    a folder compared with a copy of itself differs by nothing, p = 1."""
    import shutil

    from training.evaluate import evaluate

    checkpoints = build_checkpoints(tmp_path / "checkpoints")
    shutil.copytree(checkpoints / "gru_luong", tmp_path / "copy" / "gru_luong")
    corpus = toy_corpus(tmp_path / "corpus", 12, seed=5)
    output = tmp_path / "significance.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "significance.py"),
                          "--baseline", str(checkpoints / "gru_luong"), "--systems",
                          str(checkpoints / "transformer"), str(tmp_path / "copy" / "gru_luong"),
                          "--corpus", str(corpus), "--beam", "2", "--resamples", "50",
                          "--threads", "1", "--out", str(output)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| split | system | BLEU | Δ BLEU | p |" in run.stdout
    rows = json.loads(output.read_text())["splits"]["val"]
    assert [Path(r["system"]).parent.name for r in rows] == ["checkpoints", "checkpoints", "copy"]
    assert rows[0]["bleu_p"] is None and rows[0]["chrf_p"] is None
    for row, name in zip(rows, ("gru_luong", "transformer")):
        again = evaluate(Translator.load(checkpoints / name), "val", 2, str(corpus))
        assert (row["bleu"], row["chrf"]) == (again["bleu"], again["chrf"])
    assert 0.0 <= rows[1]["bleu_p"] <= 1.0 and 0.0 <= rows[1]["chrf_p"] <= 1.0
    assert (rows[2]["bleu"], rows[2]["chrf"]) == (rows[0]["bleu"], rows[0]["chrf"])
    assert rows[2]["bleu_p"] == 1.0


def test_significance_bench_refuses_a_folder_twice(tmp_path):
    checkpoints = build_checkpoints(tmp_path / "checkpoints")
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "significance.py"),
                          "--baseline", str(checkpoints / "gru_luong"), "--systems",
                          str(checkpoints / "gru_luong")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and "each folder once" in run.stderr

"""A run killed part-way and resumed with --ckpt_path loses nothing (a shipped config's callbacks).

The shipped configs keep two checkpoints: the best by val BLEU, and `latest.ckpt`, rewritten
every 100 training steps. Here a real config (gru_bahdanau.yaml, its callbacks as shipped, but
the latest one every 2 steps and a tiny model on a tiny synthetic corpus) is killed after a
checkpoint, resumed from `latest.ckpt`, and compared with the same run left alone.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from tests.test_cli_errors import write_corpus
from training.cli import main as cli_main
from training.datamodule import TEACHER_OPTIONS

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "training" / "configs" / "gru_bahdanau.yaml"
KILL_AT = 7  # global step; latest.ckpt was written at step 6


class Killer(Callback):
    """Stops the process's training abruptly (as a kill would) after `at_step` steps."""

    def __init__(self, at_step: int):
        self.at_step = at_step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.at_step:
            raise KeyboardInterrupt  # Lightning stops at once and saves nothing more


@pytest.fixture(autouse=True)
def no_pytest_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", sys.argv[:1])


def config(tmp: Path, corpus: Path, save_dir: Path, kill: bool) -> Path:
    cfg = yaml.safe_load(CONFIG.read_text())
    checkpoints = [c for c in cfg["trainer"]["callbacks"] if c["class_path"].endswith(
        "ModelCheckpoint")]
    assert len(checkpoints) == 2, "the shipped configs keep the best and the latest checkpoint"
    latest = next(c for c in checkpoints if "every_n_train_steps" in c["init_args"])
    latest["init_args"]["every_n_train_steps"] = 2  # 100 in the shipped config
    if kill:
        cfg["trainer"]["callbacks"].append({"class_path": "tests.test_resume.Killer",
                                            "init_args": {"at_step": KILL_AT}})
    cfg["trainer"].update(max_epochs=3, max_time=None, limit_val_batches=1,
                          enable_progress_bar=False, enable_model_summary=False)
    cfg["trainer"]["logger"]["init_args"]["save_dir"] = str(save_dir)
    cfg["model"]["model"]["init_args"].update(emb_dim=16, enc_hidden=16, dec_hidden=32,
                                              attn_dim=16, dropout=0.1)
    cfg["model"]["warmup_steps"] = 2
    cfg["data"].update(corpus=str(corpus), vocab_size=100, max_tokens=250,
                       tokenizer_dir=str(tmp / "tok"), snapshot_count=1)
    for key in TEACHER_OPTIONS:  # the shipped recipe's distilled data: not the toy's
        cfg["data"].pop(key, None)
    path = save_dir.with_suffix(".yaml")
    path.write_text(yaml.safe_dump(cfg))
    return path


def val_rows(version: Path) -> list[dict]:
    with open(version / "metrics.csv") as f:
        return [r for r in csv.DictReader(f) if r.get("val_bleu")]


def best_callback(trainer) -> ModelCheckpoint:
    return next(c for c in trainer.callbacks
                if isinstance(c, ModelCheckpoint) and c.monitor == "val_bleu")


def test_killed_run_resumed_from_latest_loses_nothing(tmp_path):
    torch.set_num_threads(1)
    corpus = write_corpus(tmp_path / "corpus")

    whole = cli_main(["fit", "--config", str(config(tmp_path, corpus, tmp_path / "whole", False))])
    steps = whole.trainer.global_step
    assert steps > KILL_AT + 2  # the kill falls well inside the run

    cut = tmp_path / "cut"
    with pytest.raises((KeyboardInterrupt, SystemExit)):
        cli_main(["fit", "--config", str(config(tmp_path, corpus, cut, True))])
    version = cut / "gru_bahdanau" / "version_0"
    latest = version / "checkpoints" / "latest.ckpt"
    saved_at = torch.load(latest, weights_only=True, map_location="cpu")["global_step"]
    assert saved_at == KILL_AT - 1  # the newest step, not a copy of the best checkpoint

    resumed = cli_main(["fit", "--config", str(config(tmp_path, corpus, cut, False)),
                        "--ckpt_path", str(latest)])
    assert resumed.trainer.global_step == steps  # every step done, none twice-counted
    assert resumed.trainer.current_epoch == whole.trainer.current_epoch
    # The resumed run logged on into the same folder: one curve, one set of checkpoints.
    assert [p.name for p in (cut / "gru_bahdanau").iterdir()] == ["version_0"]
    assert len(val_rows(version)) == len(val_rows(Path(whole.trainer.logger.log_dir)))
    # The best checkpoint is the best over the whole run, before and after the resume.
    best = best_callback(resumed.trainer)
    scores = [float(r["val_bleu"]) for r in val_rows(version)]
    assert float(best.best_model_score) == pytest.approx(max(scores))
    assert Path(best.best_model_path).parent == version / "checkpoints"
    assert Path(best.best_model_path).is_file()

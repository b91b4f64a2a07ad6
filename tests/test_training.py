"""The Lightning CLI, the training recipe, export, and the translate/evaluate commands."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch.callbacks import Timer

from data.corpus import read_lines
from inference import CheckpointError, Translator
from inference.checkpoint import eval_path, load_folder, pack_weights, read_eval, unpack_weights
from models import GRUSeq2Seq
from training.cli import main as cli_main
from training.export import export, load_lightning_checkpoint
from training.module import TranslationModule, lr_factor

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "training" / "configs"
SENTENCES = ["A man in a blue shirt is standing on a ladder.", "Two dogs play in the snow.",
             "A little girl climbs into a wooden playhouse."]


def run_cli(args: list[str]):
    return cli_main(args=args, run=True)


def common_args(tmp: Path) -> list[str]:
    return ["--data.tokenizer_dir", str(tmp / "tok"), "--trainer.logger.init_args.save_dir",
            str(tmp / "runs"), "--trainer.default_root_dir", str(tmp / "root"),
            "--trainer.enable_progress_bar", "false"]


# ---- the learning-rate schedule -----------------------------------------------------------
def test_warmup_rises_linearly_to_the_peak():
    rising = [lr_factor(step, 10, 100) for step in range(10)]
    assert rising == pytest.approx([(step + 1) / 10 for step in range(10)])  # from 0 before step 0
    assert lr_factor(10, 10, 100, "cosine") == pytest.approx(1.0)


def test_cosine_falls_from_the_peak_to_min_lr_ratio_at_the_last_step():
    factors = [lr_factor(step, 10, 110, "cosine", 0.05) for step in range(10, 130)]
    assert factors[0] == pytest.approx(1.0)
    assert factors[50] == pytest.approx(0.05 + 0.95 / 2)  # half way: half way down
    assert factors[100] == pytest.approx(0.05)  # step 110, the last
    assert factors[100:] == pytest.approx([0.05] * 20)  # and there it stays
    assert all(a >= b for a, b in zip(factors, factors[1:]))


def test_inverse_sqrt_and_constant_schedules():
    assert lr_factor(9, 10, 100, "inverse_sqrt") == pytest.approx(1.0)
    assert lr_factor(39, 10, 100, "inverse_sqrt") == pytest.approx(0.5)  # 4x the steps
    assert lr_factor(399, 10, 100, "inverse_sqrt") == pytest.approx(math.sqrt(10 / 400))
    assert [lr_factor(s, 10, 100, "constant") for s in (10, 100, 10_000)] == [1.0, 1.0, 1.0]


def test_cosine_follows_the_clock_when_max_time_runs_out_first():
    assert lr_factor(10, 10, 1000, "cosine", 0.1, time_used=0.5) == pytest.approx(0.55)
    assert lr_factor(10, 10, 1000, "cosine", 0.1, time_used=1.0) == pytest.approx(0.1)
    # steps further along than the clock: the steps decide
    assert lr_factor(1000, 10, 1000, "cosine", 0.1, time_used=0.2) == pytest.approx(0.1)
    assert lr_factor(5, 10, 1000, "cosine", 0.1, time_used=1.0) == pytest.approx(0.6)  # warmup


class SetClock(Timer):
    """A Timer whose elapsed training time the test sets."""

    elapsed = 0.0

    def time_elapsed(self, stage="train") -> float:
        return self.elapsed


@pytest.mark.parametrize("schedule", ["cosine", "inverse_sqrt", "constant"])
def test_configure_optimizers_steps_the_rate_by_lr_factor(schedule):
    model = GRUSeq2Seq(vocab_size=20, emb_dim=4, enc_hidden=4, dec_hidden=8, attn_dim=4)
    module = TranslationModule(model, lr=1e-3, warmup_steps=4, schedule=schedule,
                               min_lr_ratio=0.1)
    clock = SetClock(duration="00:00:01:40")  # 100 s of max_time
    module.trainer = SimpleNamespace(estimated_stepping_batches=24, callbacks=[clock])
    configured = module.configure_optimizers()
    optimizer, scheduler = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    assert configured["lr_scheduler"]["interval"] == "step"
    for step in range(30):
        if step:
            optimizer.step()
            clock.elapsed = 2.0 * step  # the clock runs out at step 50, after the steps do
            scheduler.step()  # the rate for `step`, read from the clock now
        expected = 1e-3 * lr_factor(step, 4, 24, schedule, 0.1, clock.elapsed / 100)
        assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([expected] * 2)
    if schedule == "cosine":
        clock.elapsed = 100.0  # max_time spent: the floor, whatever the step
        assert scheduler.lr_lambdas[0](5) == pytest.approx(0.1)


@pytest.mark.parametrize("config", sorted(p.stem for p in CONFIGS.glob("*.yaml")))
def test_fast_dev_run_every_config(multi30k_dir, tmp_path, config):
    extra = []
    if "train_targets" in (CONFIGS / f"{config}.yaml").read_text():
        # A distilled config names a teacher's translations, made beforehand (README); any file
        # with one German line per train pair stands in for them here.
        teacher = tmp_path / "teacher.de"
        teacher.write_bytes((multi30k_dir / "train.de").read_bytes())
        extra = ["--data.train_targets", str(teacher)]
    cli = run_cli(["fit", "--config", str(CONFIGS / f"{config}.yaml"), "--trainer.fast_dev_run",
                   "1", "--data.eval_batch_size", "4", "--data.corpus", str(multi30k_dir),
                   *extra, *common_args(tmp_path)])
    assert cli.trainer.state.finished
    assert cli.model.model.vocab_size == cli.datamodule.vocab_size  # linked, not typed twice
    assert cli.trainer.global_step == 1


@pytest.fixture(scope="module")
def tiny_run(multi30k_dir, tmp_path_factory):
    """One short tiny-config run, shared by the tests below: (cli, tmp folder, checkpoint)."""
    tmp = tmp_path_factory.mktemp("tiny")
    losses: list[float] = []

    cli = cli_main(args=["--config", str(CONFIGS / "tiny.yaml"), "--data.corpus",
                         str(multi30k_dir), "--trainer.limit_train_batches", "40",
                         "--trainer.max_epochs", "2", *common_args(tmp)], run=False)
    module = cli.model
    original = module.training_step

    def recording_step(batch, batch_idx):
        loss = original(batch, batch_idx)
        losses.append(loss.item())
        return loss

    module.training_step = recording_step
    cli.trainer.fit(module, datamodule=cli.datamodule)
    saver = cli.trainer.checkpoint_callback
    ckpt = saver.best_model_path or saver.last_model_path
    return cli, tmp, Path(ckpt), losses


def test_tiny_run_loss_falls(tiny_run):
    _, _, _, losses = tiny_run
    assert len(losses) == 80
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < first - 1.0, (first, last)


def test_snapshots_and_training_time_are_recorded(tiny_run):
    cli, _, ckpt, _ = tiny_run
    snapshots = cli.model.snapshots
    assert [s["epoch"] for s in snapshots] == [0, 1]
    sentence = snapshots[-1]["sentences"][0]
    cross = torch.tensor(sentence["cross"])  # (L, T, S) for the Transformer, heads averaged
    assert cross.shape[-2:] == (len(sentence["target_pieces"]), len(sentence["source_pieces"]))
    assert torch.allclose(cross.sum(-1), torch.ones(cross.shape[:-1]), atol=1e-2)
    raw = torch.load(ckpt, map_location="cpu", weights_only=False)
    assert raw["train_seconds"] > 0 and raw["snapshots"] and raw["tokenizer_model"]


def test_resume_with_ckpt_path(tiny_run, multi30k_dir):
    cli, tmp, ckpt, _ = tiny_run
    resumed = run_cli(["fit", "--config", str(CONFIGS / "tiny.yaml"), "--data.corpus",
                       str(multi30k_dir), "--trainer.limit_train_batches", "40",
                       "--trainer.max_epochs", "3", "--ckpt_path", str(ckpt), *common_args(tmp)])
    assert resumed.trainer.current_epoch == 3
    assert resumed.trainer.global_step == 120  # 80 restored + 40 new
    assert len(resumed.model.snapshots) == 3


def test_export_load_translate_identical(tiny_run, tmp_path):
    _, _, ckpt, _ = tiny_run
    model, tokenizer, raw = load_lightning_checkpoint(ckpt)
    before = Translator("tiny", model, tokenizer, {"language_pair": ["en", "de"]}, {}, [])
    folder = export(ckpt, "tiny", tmp_path, weights="fp32")
    after = Translator.load(folder)
    for sentence in SENTENCES:
        a, b = before.translate(sentence, beam=1), after.translate(sentence, beam=1)
        assert a.text == b.text and a.target_pieces == b.target_pieces
        for name in ("cross", "decoder_self", "encoder_self"):
            assert (a.alignments[name] == b.alignments[name]).all()
        assert before.translate(sentence, beam=3).text == after.translate(sentence, beam=3).text
    config = json.loads((folder / "config.json").read_text())
    metadata = json.loads((folder / "metadata.json").read_text())
    assert config["model"]["class_path"] == "models.transformer.Transformer"
    assert metadata["parameters"] == model.num_parameters() and metadata["train_seconds"] >= 0
    assert (folder / "snapshots.json").exists()


def test_export_averages_checkpoints_of_one_run(tiny_run, tmp_path):
    _, _, ckpt, _ = tiny_run
    model, _, raw = load_lightning_checkpoint(ckpt)
    shifted = {k: v + 1.0 if v.is_floating_point() else v for k, v in raw["state_dict"].items()}
    other = tmp_path / "other.ckpt"
    torch.save({**raw, "state_dict": shifted, "epoch": 7}, other)
    folder = export(ckpt, "tiny", tmp_path, weights="fp32", average=[other])
    loaded, *_ = load_folder(folder)
    for name, w in model.state_dict().items():
        if w.is_floating_point():
            torch.testing.assert_close(loaded.state_dict()[name], w + 0.5)
    assert json.loads((folder / "metadata.json").read_text())["averaged_with_epochs"] == [7]
    sizes = raw["model_spec"]["init_args"]
    wider = {**raw, "model_spec": {**raw["model_spec"],
                                   "init_args": {**sizes, "d_model": 2 * sizes["d_model"]}}}
    torch.save(wider, tmp_path / "wider.ckpt")
    with pytest.raises(CheckpointError, match="different model"):
        export(ckpt, "tiny", tmp_path, average=[tmp_path / "wider.ckpt"])


@pytest.mark.parametrize("weights", ["fp16", "int8"])
def test_compact_weights_stay_close(tiny_run, tmp_path, weights):
    _, _, ckpt, _ = tiny_run
    model, _, _ = load_lightning_checkpoint(ckpt)
    folder = export(ckpt, "tiny", tmp_path, weights=weights)
    loaded, *_ = load_folder(folder)
    for name, w in model.state_dict().items():
        tol = 1e-3 if weights == "fp16" else w.abs().max().item() / 127
        assert torch.allclose(loaded.state_dict()[name], w, atol=tol), name
    assert (folder / "model.pt").stat().st_size < sum(
        w.numel() * 4 for w in model.state_dict().values())


def test_int8_packing_round_trip_error_is_half_a_step():
    torch.manual_seed(0)
    w = torch.randn(16, 32)
    restored = unpack_weights(pack_weights({"w": w}, "int8"))["w"]
    step = w.abs().amax(dim=1, keepdim=True) / 127
    assert ((restored - w).abs() <= step / 2 + 1e-7).all()


def test_broken_folders_give_one_clear_sentence(tiny_run, tmp_path):
    _, _, ckpt, _ = tiny_run
    folder = export(ckpt, "tiny", tmp_path, weights="fp16")

    with pytest.raises(CheckpointError, match="No model folder"):
        Translator.load(tmp_path / "nothing-here")

    (folder / "model.pt").write_bytes((folder / "model.pt").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        Translator.load(folder)

    folder = export(ckpt, "tiny", tmp_path, weights="fp16")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        Translator.load(folder)

    folder = export(ckpt, "tiny", tmp_path, weights="fp16")
    config = json.loads((folder / "config.json").read_text())
    config["model"]["init_args"]["vocab_size"] += 1
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not belong together"):
        Translator.load(folder)

    config["model"]["init_args"]["vocab_size"] -= 1
    config["model"]["init_args"]["d_model"] = 64
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not fit the model"):
        Translator.load(folder)

    config["model"]["class_path"] = "os.system"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="not one of ours"):
        Translator.load(folder)

    folder = export(ckpt, "tiny", tmp_path, weights="fp16")
    (folder / "spm.model").unlink()
    with pytest.raises(CheckpointError, match="lacks spm.model"):
        Translator.load(folder)


def test_translate_command_keeps_every_line(tiny_run, tmp_path):
    from training.translate import main as translate_main

    _, _, ckpt, _ = tiny_run
    folder = export(ckpt, "tiny", tmp_path)
    src = tmp_path / "src.txt"
    src.write_text(f"{SENTENCES[0]}\n\n{SENTENCES[1]}\n   \n{SENTENCES[2]}\n", encoding="utf-8")
    out = tmp_path / "hyp.txt"
    assert translate_main(["--model", str(folder), "--input", str(src), "--output", str(out),
                           "--beam", "2", "--batch-size", "2"]) == 0
    lines = read_lines(out)
    assert len(lines) == 5
    assert lines[1] == "" and lines[3] == ""
    assert all(lines[i] for i in (0, 2, 4))
    single = Translator.load(folder).translate(SENTENCES[1], beam=2).text
    assert lines[2] == single  # batching and sorting do not change a translation


def test_translate_command_reports_a_missing_model(tmp_path, capsys):
    from training.translate import main as translate_main

    assert translate_main(["--model", str(tmp_path / "none"), "--input", "x", "--output",
                           str(tmp_path / "y")]) == 2
    assert "No model folder" in capsys.readouterr().err


def test_evaluate_command_writes_scores_and_length_buckets(tiny_run, tmp_path, multi30k_dir,
                                                         capsys):
    from training.evaluate import main as evaluate_main

    _, _, ckpt, _ = tiny_run
    folder = export(ckpt, "tiny", tmp_path)
    assert evaluate_main(["--model", str(folder), "--split", "val", "--beam", "1", "--limit",
                          "40", "--corpus", str(multi30k_dir), "--no-alignment"]) == 0
    printed = capsys.readouterr().out
    assert "BLEU" in printed and "chrF" in printed and "nrefs:1|case:mixed" in printed
    result = json.loads((folder / "eval" / "val-beam1.json").read_text())
    assert result["sentences"] == 40 and len(result["hypotheses"]) == 40
    assert sum(row["sentences"] for row in result["by_length"]) == 40
    assert 0 <= result["bleu"] <= 100 and "bleu_lowercase" in result


def test_export_evaluate_writes_each_split_without_its_hypotheses(tiny_run, tmp_path,
                                                                  monkeypatch):
    import training.export as export_module

    _, _, ckpt, _ = tiny_run

    def scored(translator, split, beam, corpus):  # evaluate's result, without translating
        return {"model": translator.name, "split": split, "beam": beam, "bleu": 1.0,
                "bleu_lowercase": 1.5, "chrf": 2.0, "bleu_signature": "b", "chrf_signature": "c",
                "sentences": 1, "by_length": [{"bucket": "1-8", "sentences": 1, "bleu": 1.0}],
                "hypotheses": ["Ein Hund."]}

    monkeypatch.setattr(export_module, "evaluate", scored)
    assert export_module.main(["--ckpt", str(ckpt), "--name", "tiny", "--out", str(tmp_path),
                               "--evaluate", "--beam", "2"]) == 0
    folder = tmp_path / "tiny"
    for split in ("val", "test_2016_flickr"):
        written = json.loads(eval_path(folder, split, 2).read_text())
        assert written["split"] == split and "hypotheses" not in written
    assert read_eval(folder)["split"] == "test_2016_flickr"
    assert json.loads((folder / "metadata.json").read_text())["val"]["bleu"] == 1.0


def run_module(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_print_config_shows_the_linked_model():
    result = run_module("training", "fit", "--config", str(CONFIGS / "transformer.yaml"),
                        "--print_config")
    assert result.returncode == 0, result.stderr
    assert "class_path: models.Transformer" in result.stdout
    assert "max_tokens: 2500" in result.stdout


@pytest.mark.parametrize("override,message", [
    (["--model.lrr", "1"], "unrecognized arguments: --model.lrr"),
    (["--model.model.init_args.d_modell", "8"], "d_modell"),
    (["--data.src_lang", "xx"], "data.src_lang"),
])
def test_wrong_config_key_or_value_is_a_clear_error(override, message):
    result = run_module("training", "fit", "--config", str(CONFIGS / "tiny.yaml"), *override)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_corpus_scores_give_the_output_length_against_the_references():
    """What a length penalty moves: sacreBLEU's token counts (13a), output over reference."""
    from training.scoring import corpus_scores

    scores = corpus_scores(["Ein Hund", "Zwei Katzen spielen."], ["Ein Hund rennt", "Zwei Katzen."])
    assert scores["length_ratio"] == pytest.approx(6 / 6)
    short = corpus_scores(["Ein", "Zwei"], ["Ein Hund rennt", "Zwei Katzen."])
    assert short["length_ratio"] == pytest.approx(2 / 6, abs=1e-4)
    assert short["bleu"] < scores["bleu"]


def test_bf16_mixed_precision_trains_on_cpu(tmp_path, monkeypatch):
    """`--trainer.precision bf16-mixed` (README, Training): the steps run under CPU autocast to
    bfloat16, the weights and the checkpoint stay fp32, the losses track 32-true's, and the
    checkpoint records the precision so that the exported command reproduces the run."""
    from tests.test_cli_errors import fit_args, write_corpus

    monkeypatch.setattr(sys, "argv", sys.argv[:1])
    corpus = write_corpus(tmp_path / "corpus")
    runs = {}
    for precision in ("32-true", "bf16-mixed"):
        work = tmp_path / precision
        cli = cli_main(args=fit_args(corpus, work, "--trainer.precision", precision,
                                     "--trainer.limit_train_batches", "4"), run=False)
        module, seen = cli.model, []
        original = module.loss

        def recording_loss(batch, original=original, seen=seen, model=module.model):
            logits, _ = model(batch.src, batch.src_mask, batch.tgt_in)
            seen.append(logits.dtype)
            return original(batch)

        module.loss = recording_loss
        cli.trainer.fit(module, datamodule=cli.datamodule)
        ckpt = torch.load(cli.trainer.checkpoint_callback.last_model_path or
                          cli.trainer.checkpoint_callback.best_model_path,
                          map_location="cpu", weights_only=False)
        assert {v.dtype for v in ckpt["state_dict"].values() if v.is_floating_point()} == \
            {torch.float32}
        assert ckpt["precision"] == precision
        runs[precision] = (seen, float(cli.trainer.logged_metrics["train_loss"]))
    assert set(runs["32-true"][0]) == {torch.float32}
    assert set(runs["bf16-mixed"][0]) == {torch.bfloat16}
    assert runs["bf16-mixed"][1] == pytest.approx(runs["32-true"][1], abs=0.1)


@pytest.mark.parametrize("precision,tail", [
    ("bf16-mixed", " --trainer.precision bf16-mixed"), ("32-true", ""), ("", ""),
])
def test_exported_command_names_the_precision_a_run_overrode(precision, tail):
    from training.export import fit_command
    assert fit_command("training/configs/transformer.yaml", precision) == \
        "python -m training fit --config training/configs/transformer.yaml" + tail
    assert fit_command(None, precision) == ""

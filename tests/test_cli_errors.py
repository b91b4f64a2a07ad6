"""Mistakes a user can make on the command line get one sentence and exit status 2.

`python -m training fit`, `training.export`, `training.translate` and `training.evaluate`: a bad
file, option or checkpoint must name what is wrong and what to do, print no stack trace, run no
code from a checkpoint and write nothing where it does not belong. Most cases run in-process
(seconds for the whole table); a few run the real command to show what reaches the terminal.

Everything runs on a small synthetic corpus in a temporary folder, so no download and no
Multi30K copy is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from data import CorpusError, Tokenizer
from data.corpus import read_lines
from inference import CheckpointError, Translator
from models import Transformer, beam_search
from training.cli import ConfigError
from training.cli import main as cli_main
from training.datamodule import Multi30kDataModule
from training.evaluate import evaluate
from training.evaluate import main as evaluate_main
from training.export import export, read_lightning_checkpoint
from training.export import main as export_main
from training.translate import main as translate_main

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "training" / "configs" / "tiny.yaml"

SUBJECTS = [("A man", "Ein Mann"), ("A woman", "Eine Frau"), ("Two dogs", "Zwei Hunde"),
            ("A little girl", "Ein kleines Mädchen"), ("The boy", "Der Junge"),
            ("Three children", "Drei Kinder")]
VERBS = [("is running", "läuft"), ("is sitting", "sitzt"), ("is playing", "spielt"),
         ("is standing", "steht"), ("is jumping", "springt")]
PLACES = [("in the park", "im Park"), ("on the beach", "am Strand"),
          ("near a wall", "an einer Mauer"), ("in the snow", "im Schnee"),
          ("on a ladder", "auf einer Leiter"), ("by the river", "am Fluss")]
PAIRS = [(f"{s} {v} {p}.", f"{sd} {vd} {pd}.")
         for s, sd in SUBJECTS for v, vd in VERBS for p, pd in PLACES]  # 180 pairs


def write_corpus(folder: Path) -> Path:
    """train 150, val 15, test_2016_flickr 15 pairs, en-de, one sentence a line."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (("train", PAIRS[:150]), ("val", PAIRS[150:165]),
                        ("test_2016_flickr", PAIRS[165:])):
        for lang, side in (("en", 0), ("de", 1)):
            (folder / f"{split}.{lang}").write_text("".join(r[side] + "\n" for r in rows),
                                                    encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def no_pytest_argv(monkeypatch):
    """LightningCLI(args=...) warns when sys.argv holds arguments too (pytest's own)."""
    monkeypatch.setattr(sys, "argv", sys.argv[:1])


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli_errors")


@pytest.fixture(scope="module")
def corpus(work) -> Path:
    return write_corpus(work / "corpus")


def fit_args(corpus: Path, work: Path, *extra: str) -> list[str]:
    return ["--config", str(TINY), "--data.corpus", str(corpus), "--data.vocab_size", "100",
            "--data.tokenizer_dir", str(work / "tok"), "--trainer.enable_progress_bar", "false",
            "--trainer.logger.init_args.save_dir", str(work / "runs"), *extra]


# ---- python -m training fit -----------------------------------------------------------------
def break_corpus(folder: Path, how: str) -> None:
    if how == "empty":
        (folder / "train.en").write_text("")
        (folder / "train.de").write_text("")
    elif how == "blank":
        (folder / "train.en").write_text("  \n\n\t\n" * 50)
        (folder / "train.de").write_text("  \n\n\t\n" * 50)
    elif how == "latin-1":
        lines = (folder / "train.de").read_text(encoding="utf-8")
        (folder / "train.de").write_bytes(lines.encode("latin-1"))
    elif how == "no val":
        (folder / "val.en").unlink()
        (folder / "val.de").unlink()


@pytest.mark.parametrize("how,error,message", [
    ("empty", CorpusError, r"train\.en is empty or holds only blank lines"),
    ("blank", CorpusError, r"train\.en is empty or holds only blank lines"),
    ("latin-1", CorpusError, r"train\.de is not UTF-8 text \(byte 0xe4 on line 1\)"),
    ("no val", CorpusError, r"has no val split .*add val\.en and val\.de"),
])
def test_bad_corpus_files_are_named(tmp_path, work, how, error, message):
    folder = write_corpus(tmp_path / "corpus")
    break_corpus(folder, how)
    with pytest.raises(error, match=message):
        cli_main(fit_args(folder, work), run=False)


@pytest.mark.parametrize("extra,message", [
    (["--data.vocab_size", "10"], r"vocab_size 10 is too small.*raise vocab_size"),
    (["--data.vocab_size", "0"], r"data\.vocab_size must be a whole number >= 1, not 0"),
    (["--data.vocab_size=-5"], r"data\.vocab_size must be a whole number >= 1, not -5"),
    (["--data.vocab_size", "10000000"], r"vocab_size 10000000 is more pieces .*lower vocab_size"),
    (["--data.max_len", "0"], r"data\.max_len must be a whole number >= 1, not 0"),
    (["--data.max_tokens", "1"], r"data\.max_tokens=1 is less than the longest training pair"),
    (["--trainer.max_epochs=-5"], r"trainer\.max_epochs must be -1 \(no limit\) or"),
    (["--model.model.init_args.d_model", "30", "--model.model.init_args.num_heads", "4"],
     r"d_model \(30\) must be divisible by num_heads \(4\)"),
    (["--model.lr=-1"], r"model\.lr must be a number above 0"),
    (["--model.label_smoothing", "1.5"], r"model\.label_smoothing must be a number >= 0"),
])
def test_values_training_cannot_use_are_one_sentence(corpus, work, extra, message):
    with pytest.raises(ConfigError, match=message) as caught:
        cli_main(fit_args(corpus, work, *extra), run=False)
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_accelerator_without_a_gpu(corpus, work):
    with pytest.raises(ConfigError, match=r"trainer\.accelerator is 'gpu' but .*cpu"):
        cli_main(fit_args(corpus, work, "--trainer.accelerator", "gpu"), run=False)


def test_unreadable_ckpt_path_is_refused_before_anything_runs(corpus, work, tmp_path):
    good = tmp_path / "good.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}, "epoch": 0}, good)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good.read_bytes()[:600])
    for path, message in ((truncated, r"truncated, corrupt or not a \.ckpt"),
                          (tmp_path / "none.ckpt", r"none\.ckpt is not a file")):
        with pytest.raises(ConfigError, match=r"--ckpt_path: .*" + message):
            cli_main(["fit", *fit_args(corpus, work), "--ckpt_path", str(path)])


def run_module(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def assert_one_sentence(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("case", ["latin-1 file", "truncated ckpt", "negative lr"])
def test_fit_command_prints_one_sentence_and_writes_nothing(tmp_path, work, case):
    cwd = tmp_path / "cwd"  # stands in for the repository root
    cwd.mkdir()
    folder = write_corpus(tmp_path / "corpus")
    extra, words = [], []
    if case == "latin-1 file":
        break_corpus(folder, "latin-1")
        words = [str(folder / "train.de"), "UTF-8"]
    elif case == "truncated ckpt":
        ckpt = tmp_path / "last.ckpt"
        torch.save({"state_dict": {"w": torch.zeros(1000)}}, ckpt)
        ckpt.write_bytes(ckpt.read_bytes()[:600])
        extra, words = ["--ckpt_path", str(ckpt)], ["--ckpt_path", str(ckpt), "truncated"]
    else:
        extra, words = ["--model.lr=-1"], ["model.lr"]
    result = run_module(cwd, "training", "fit", *fit_args(folder, tmp_path, *extra))
    assert_one_sentence(result, *words)
    assert list(cwd.iterdir()) == []


def test_fit_without_a_logger_writes_under_runs(tmp_path, corpus):
    cwd = tmp_path / "cwd"  # stands in for the repository root, where checkpoints/ is shipped
    cwd.mkdir()
    args = fit_args(corpus, tmp_path, "--trainer.logger", "false")
    args.remove("--trainer.logger.init_args.save_dir")
    args.remove(str(tmp_path / "runs"))
    result = run_module(cwd, "training", "fit", *args)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in cwd.iterdir()) == ["runs"]
    assert list((cwd / "runs" / "checkpoints").glob("*.ckpt"))
    assert (cwd / "runs" / "config.yaml").exists()


# ---- a small model: checkpoint and shipped folder, built without training -------------------
@pytest.fixture(scope="module")
def lightning_ckpt(work) -> Path:
    """A checkpoint shaped like our training's (what export reads), of an untrained model."""
    torch.manual_seed(0)
    tokenizer = Tokenizer.train([s for pair in PAIRS[:150] for s in pair], vocab_size=100)
    model = Transformer(vocab_size=tokenizer.vocab_size, d_model=16, num_heads=2,
                        num_encoder_layers=1, num_decoder_layers=1, d_ff=32, dropout=0.0)
    path = work / "model.ckpt"
    torch.save({
        "epoch": 0, "global_step": 0,
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        "hyper_parameters": {"lr": 1e-3, "max_len_a": 1.5, "max_len_b": 10},
        "model_spec": {"class_path": "models.transformer.Transformer",
                       "init_args": dict(model.config)},
        "tokenizer_model": tokenizer.model_proto, "language_pair": ["en", "de"],
        "snapshots": [], "train_seconds": 0.0, "hardware": "CPU",
    }, path)
    return path


@pytest.fixture(scope="module")
def model_folder(lightning_ckpt, work) -> Path:
    return export(lightning_ckpt, "tiny", work / "models", weights="fp32")


# ---- training.export: a checkpoint is read as data, never as code ---------------------------
class Booby:
    """Unpickling this opens (creates) `marker`: any code could run in its place."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def booby_trapped(path: Path, marker: Path) -> Path:
    torch.save({"state_dict": {"w": torch.zeros(2)}, "hyper_parameters": Booby(marker)}, path)
    return path


@pytest.mark.parametrize("where", ["--ckpt", "--average"])
def test_export_runs_no_code_from_a_checkpoint(tmp_path, lightning_ckpt, capsys, where):
    marker = tmp_path / "marker"
    trap = booby_trapped(tmp_path / "trap.ckpt", marker)
    first, average = (trap, []) if where == "--ckpt" else (lightning_ckpt, ["--average", str(trap)])
    code = export_main(["--ckpt", str(first), "--name", "x", "--out", str(tmp_path / "out"),
                        *average])
    err = capsys.readouterr().err
    assert code == 2
    assert not marker.exists()
    assert not (tmp_path / "out").exists()
    assert f"{trap} holds Python objects (such as io.open)" in err and "not loaded" in err
    assert err.count("\n") == 1
    # The trap is real: an unrestricted load runs it.
    torch.load(trap, weights_only=False)
    assert marker.exists()


def test_export_command_refuses_a_trap_with_one_sentence(tmp_path):
    marker = tmp_path / "marker"
    trap = booby_trapped(tmp_path / "trap.ckpt", marker)
    result = run_module(tmp_path, "training.export", "--ckpt", str(trap), "--name", "x",
                        "--out", str(tmp_path / "out"))
    assert_one_sentence(result, str(trap), "not loaded")
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_export_reads_our_checkpoints_and_names_a_broken_one(tmp_path, lightning_ckpt):
    assert read_lightning_checkpoint(lightning_ckpt)["model_spec"]["init_args"]["d_model"] == 16
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(lightning_ckpt.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="truncated.ckpt cannot be read as a checkpoint"):
        read_lightning_checkpoint(truncated)


# ---- training.translate and training.evaluate ------------------------------------------------
@pytest.mark.parametrize("command,args,message", [
    ("translate", ["--batch-size", "-1"], "argument --batch-size: must be at least 1, not -1"),
    ("translate", ["--batch-size", "0"], "argument --batch-size: must be at least 1, not 0"),
    ("translate", ["--beam", "0"], "argument --beam: must be at least 1, not 0"),
    ("translate", ["--beam", "-1"], "argument --beam: must be at least 1, not -1"),
    ("translate", ["--beam", "1000"], "argument --beam: must be at most 10"),
    ("translate", ["--beam", "two"], "argument --beam: 'two' is not a whole number"),
    ("translate", ["--threads", "-2"], "argument --threads: must be at least 1, not -2"),
    ("evaluate", ["--limit", "-1014"], "argument --limit: must be at least 1, not -1014"),
    ("evaluate", ["--limit", "-3"], "argument --limit: must be at least 1, not -3"),
    ("evaluate", ["--limit", "0"], "argument --limit: must be at least 1, not 0"),
    ("evaluate", ["--batch-size", "-1"], "argument --batch-size: must be at least 1, not -1"),
    ("evaluate", ["--beam", "1000"], "argument --beam: must be at most 10"),
    ("export", ["--beam", "0"], "argument --beam: must be at least 1, not 0"),
    ("translate", ["--length-penalty", "-1"],
     "argument --length-penalty: must be between 0 and 3, not -1"),
    ("evaluate", ["--length-penalty", "long"], "argument --length-penalty: 'long' is not a number"),
    ("export", ["--length-penalty", "nan"], "argument --length-penalty: must be between 0 and 3"),
])
def test_bad_numbers_are_argparse_errors(tmp_path, capsys, command, args, message):
    main, required = {
        "translate": (translate_main, ["--model", "m", "--input", "i", "--output", "o"]),
        "evaluate": (evaluate_main, ["--model", "m"]),
        "export": (export_main, ["--ckpt", "c", "--name", "n"]),
    }[command]
    with pytest.raises(SystemExit) as exited:
        main([*required, *args])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_translate_checks_the_output_folder_before_translating(tmp_path, model_folder, capsys,
                                                               monkeypatch):
    src = tmp_path / "src.txt"
    src.write_text("A man is running.\n", encoding="utf-8")
    monkeypatch.setattr(Translator, "translate_batch",
                        lambda *a, **k: pytest.fail("translated before checking --output"))
    out = tmp_path / "missing" / "hyp.txt"
    assert translate_main(["--model", str(model_folder), "--input", str(src), "--output",
                           str(out), "--beam", "1"]) == 2
    err = capsys.readouterr().err
    assert f"the folder {out.parent} does not exist" in err and err.count("\n") == 1
    assert not out.parent.exists()
    assert translate_main(["--model", str(model_folder), "--input", str(src), "--output",
                           str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_translate_names_a_file_that_is_not_utf8(tmp_path, model_folder, capsys):
    src = tmp_path / "latin.txt"
    src.write_bytes("Ein Mann.\nEin Mädchen.\n".encode("latin-1"))
    assert translate_main(["--model", str(model_folder), "--input", str(src), "--output",
                           str(tmp_path / "hyp.txt")]) == 2
    err = capsys.readouterr().err
    assert f"{src} is not UTF-8 text (byte 0xe4 on line 2)" in err
    assert not (tmp_path / "hyp.txt").exists()


def test_translate_warns_about_lines_it_cuts(tmp_path, model_folder, capsys):
    long = " ".join(["zebra"] * 150)
    src = tmp_path / "src.txt"
    src.write_text(f"A man is running.\n{long}\n\n{long}\nTwo dogs.\n", encoding="utf-8")
    out = tmp_path / "hyp.txt"
    assert translate_main(["--model", str(model_folder), "--input", str(src), "--output",
                           str(out), "--beam", "1"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith("warning:")]
    assert warnings == [f"warning: lines 2, 4 of {src} are longer than 100 subword pieces; "
                        "only the first 100 pieces are translated."]
    assert len(read_lines(out)) == 5


def test_evaluate_refuses_limits_that_would_drop_lines(model_folder, corpus):
    translator = Translator.load(model_folder)
    for limit in (-1014, -3, 0):
        with pytest.raises(ValueError, match=f"limit must be a whole number >= 1, not {limit}"):
            evaluate(translator, "val", beam=1, corpus=str(corpus), limit=limit)
    with pytest.raises(ValueError, match="beam must be"):
        evaluate(translator, "val", beam=1000, corpus=str(corpus))
    result = evaluate(translator, "val", beam=1, corpus=str(corpus), limit=4)
    assert len(result["hypotheses"]) == 4


def test_evaluate_checks_its_output_before_translating(tmp_path, model_folder, corpus, capsys,
                                                      monkeypatch):
    monkeypatch.setattr(Translator, "translate_batch",
                        lambda *a, **k: pytest.fail("translated before checking --output"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / "sub" / "val.json"  # a folder cannot be made inside a file
    assert evaluate_main(["--model", str(model_folder), "--corpus", str(corpus), "--beam", "1",
                          "--output", str(out)]) == 2
    assert f"the folder {out.parent} cannot be made" in capsys.readouterr().err


def test_the_length_penalty_is_kept_in_config_and_reaches_beam_search(tmp_path, lightning_ckpt,
                                                                      corpus, capsys, monkeypatch):
    folder = export(lightning_ckpt, "tiny", tmp_path, weights="fp32", length_penalty=1.3)
    assert json.loads((folder / "config.json").read_text())["length_penalty"] == 1.3
    translator = Translator.load(folder)
    assert translator.length_penalty == 1.3
    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["length_penalty"])
        return beam_search(*args, **kwargs)

    monkeypatch.setattr("inference.translator.beam_search", spy)
    translator.translate("A man is running.", beam=3)
    assert seen == [1.3]
    # A sweep on val must not overwrite the folder's own eval files: it names its output.
    assert evaluate_main(["--model", str(folder), "--corpus", str(corpus), "--limit", "2",
                          "--length-penalty", "0.8"]) == 2
    assert "with --length-penalty give --output too" in capsys.readouterr().err
    out = tmp_path / "lp.json"
    assert evaluate_main(["--model", str(folder), "--corpus", str(corpus), "--limit", "2",
                          "--no-alignment", "--beam", "2", "--length-penalty", "0.8",
                          "--output", str(out)]) == 0
    assert json.loads(out.read_text())["length_penalty"] == 0.8 and seen[-1] == 0.8
    assert not (folder / "eval").exists()


@pytest.mark.parametrize("name", ["../outside", "a/b", "", ".hidden", "x" * 80])
def test_export_name_stays_one_folder_under_out(name, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        export_main(["--ckpt", str(tmp_path / "x.ckpt"), "--name", name,
                     "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "is not a model folder name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "outside").exists()


def test_translate_batch_refuses_what_would_drop_lines(tmp_path):
    from tests.app_fixtures import build_checkpoints
    translator = Translator.load(build_checkpoints(tmp_path / "ck") / "gru_bahdanau")
    for kwargs in ({"batch_size": 0}, {"batch_size": -1}, {"beam": 0}, {"beam": 11}):
        with pytest.raises(ValueError):
            translator.translate_batch(["A dog runs."], **kwargs)


# ---- sequence-level distillation: a teacher's translations as the train targets ---------------
def taught_and_plain(tmp_path, work, corpus, **options):
    """A data module taught by a "teacher" whose German has its words in reverse order (in the
    vocabulary, yet different), the plain one, and the teacher's lines."""
    teacher = tmp_path / "train.teacher.de"
    lines = [" ".join(reversed(de.split())) for _, de in PAIRS[:150]]
    teacher.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    plain = Multi30kDataModule("en", "de", corpus=str(corpus), vocab_size=100,
                               tokenizer_dir=str(work / "tok"))
    taught = Multi30kDataModule("en", "de", corpus=str(corpus), vocab_size=100,
                                tokenizer_dir=str(work / "tok"), train_targets=str(teacher),
                                **options)
    return taught, plain, lines


def test_train_targets_replace_the_train_references_and_keep_the_vocabulary(tmp_path, work,
                                                                            corpus):
    taught, plain, lines = taught_and_plain(tmp_path, work, corpus)
    assert taught.tokenizer.sp.serialized_model_proto() == \
        plain.tokenizer.sp.serialized_model_proto()
    train = taught.encoded["train"]
    assert [taught.tokenizer.decode(ids) for ids in train.tgt] == lines
    assert train.src == plain.encoded["train"].src  # the sources are the corpus's
    assert taught.references("val") == plain.references("val")  # scored on human references


def test_keep_references_trains_on_the_references_and_the_teacher(tmp_path, work, corpus):
    both, plain, lines = taught_and_plain(tmp_path, work, corpus, keep_references=True)
    train, ref = both.encoded["train"], plain.encoded["train"]
    assert train.src == ref.src + ref.src  # every source twice
    assert [both.tokenizer.decode(ids) for ids in train.tgt] == \
        [plain.tokenizer.decode(ids) for ids in ref.tgt] + lines
    assert both.references("val") == plain.references("val")
    with pytest.raises(ValueError, match=r"data\.keep_references .* needs data\.train_targets"):
        Multi30kDataModule("en", "de", corpus=str(corpus), vocab_size=100,
                           tokenizer_dir=str(work / "tok"), keep_references=True)


@pytest.mark.parametrize("lines,message", [
    (None, r"data\.train_targets: no file .*training\.translate"),
    (149, r"has 149 lines but the train split has 150 pairs"),
])
def test_a_missing_or_short_train_targets_file_is_named(tmp_path, work, corpus, lines, message):
    teacher = tmp_path / "teacher.de"
    if lines is not None:
        teacher.write_text("Ein Hund.\n" * lines, encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        Multi30kDataModule("en", "de", corpus=str(corpus), vocab_size=100,
                           tokenizer_dir=str(work / "tok"), train_targets=str(teacher))

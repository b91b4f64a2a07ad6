"""Turn a Lightning checkpoint into a shipped model folder the app and the tools load.

    python -m training.export --ckpt runs/transformer/version_0/checkpoints/best-*.ckpt \
        --name transformer [--weights int8] [--evaluate --beam 5]

With --average CKPT ... the weights of --ckpt and of the other checkpoints of the same run are
averaged (Vaswani et al., 2017, averaged their last 5 or 20 checkpoints): a free ensemble of
nearby points on the training path, which often scores a little higher. Choose it by val.

With --evaluate it translates val and test_2016_flickr (beam 5 by default), stores BLEU/chrF
with their sacreBLEU signatures in metadata.json and the full results (BLEU by source length
too) under eval/, where the app's chapter lab reads them.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
from pathlib import Path

import torch

from data.corpus import CorpusError
from data.tokenizer import Tokenizer
from inference import catalogue
from inference.checkpoint import (
    CheckpointError,
    build_model,
    eval_path,
    folder_size,
    save_folder,
    write_eval,
)
from inference.translator import MAX_BEAM, Translator
from training.evaluate import evaluate
from training.translate import beam_size, length_penalty

SIZE_LIMIT = 10 * 1024 * 1024  # a Space needs no large-file storage below this
FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def folder_name(name: str) -> str:
    """argparse type for --name: one folder under --out, never a path out of it."""
    if not FOLDER_NAME.fullmatch(name) or ".." in name:
        raise argparse.ArgumentTypeError(
            f"{name!r} is not a model folder name: use letters, digits, '_', '-' or '.', "
            "e.g. gru_bahdanau (the folder is created under --out).")
    return name


def load_checkpoint_file(path: str | Path, mmap: bool = False) -> dict:
    """The dict in a .ckpt, read as tensors and plain values only (`weights_only=True`).

    A .ckpt is a pickle, and unpickling arbitrary objects can run arbitrary code: a file
    downloaded from elsewhere must not be able to do that. Everything our training writes
    (hyperparameters, snapshots, the tokenizer's bytes, optimizer state) is plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file; give a .ckpt that training wrote, e.g. "
                              "runs/NAME/version_0/checkpoints/latest.ckpt.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        what = f" (such as {found.group(1)})" if found else ""
        raise CheckpointError(
            f"{path} holds Python objects{what} besides tensors and plain values; it was not "
            "loaded, because unpickling them could run code: use a .ckpt our training wrote."
        ) from err
    except Exception as err:  # truncated, corrupt, or not a torch file at all
        raise CheckpointError(f"{path} cannot be read as a checkpoint: it is truncated, corrupt "
                              "or not a .ckpt that training wrote.") from err
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (it has no state_dict).")
    return ckpt


def read_lightning_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict of our training, its "model_spec" filled in."""
    ckpt = load_checkpoint_file(path)
    spec = ckpt.get("model_spec") or ckpt.get("hyper_parameters", {}).get("model_spec")
    if spec is None or "tokenizer_model" not in ckpt:
        raise CheckpointError(f"{path} was not written by training.module.TranslationModule.")
    ckpt["model_spec"] = spec
    return ckpt


def model_state(ckpt: dict) -> dict[str, torch.Tensor]:
    """The model's own state dict out of the LightningModule's."""
    return {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}


def load_lightning_checkpoint(path: str | Path) -> tuple[torch.nn.Module, Tokenizer, dict]:
    """The model (fp32, eval mode), its tokenizer and the raw checkpoint dict."""
    ckpt = read_lightning_checkpoint(path)
    model = build_model(ckpt["model_spec"])
    model.load_state_dict(model_state(ckpt))
    return model.eval(), Tokenizer(ckpt["tokenizer_model"]), ckpt


def average_weights(model: torch.nn.Module, spec: dict, others: list[str | Path]) -> list[int]:
    """Replace `model`'s weights by their mean with those of `others` (checkpoints of the same
    architecture); returns the epochs of `others`."""
    states = [model.state_dict()]
    epochs = []
    for path in others:
        raw = read_lightning_checkpoint(path)
        if raw["model_spec"] != spec:
            raise CheckpointError(f"{path} holds a different model than the checkpoint it is to "
                                  f"be averaged with; average checkpoints of one run only.")
        states.append(model_state(raw))
        epochs.append(raw.get("epoch", 0))
    mean = {key: torch.stack([s[key].float() for s in states]).mean(dim=0).to(value.dtype)
            if value.is_floating_point() else value for key, value in states[0].items()}
    model.load_state_dict(mean)
    return epochs


def fit_command(config_file: str | None, precision: str = "") -> str:
    """The `training fit` line that reproduces a run: its YAML, and its precision where the
    run overrode the 32-true default (a flag, not a YAML field, so the configs stay portable)."""
    if not config_file:
        return ""
    command = f"python -m training fit --config {config_file}"
    if precision and precision not in ("32-true", "32"):
        command += f" --trainer.precision {precision}"
    return command


def export(ckpt_path: str | Path, name: str, out: str | Path = "checkpoints",
           weights: str = "fp16", config_file: str | None = None, note: str = "",
           average: list[str | Path] | None = None, length_penalty: float = 1.0) -> Path:
    model, tokenizer, ckpt = load_lightning_checkpoint(ckpt_path)
    averaged = average_weights(model, ckpt["model_spec"], average) if average else []
    hp = ckpt["hyper_parameters"]
    snapshots = ckpt.get("snapshots", [])
    config = {
        "model": ckpt["model_spec"], "language_pair": ckpt.get("language_pair", ["en", "de"]),
        "pad_id": tokenizer.pad_id, "bos_id": tokenizer.bos_id, "eos_id": tokenizer.eos_id,
        "max_len_a": hp.get("max_len_a", 1.5), "max_len_b": hp.get("max_len_b", 10),
        "length_penalty": length_penalty,
    }
    best = max((s["val_bleu"] for s in snapshots), default=None)
    precision = ckpt.get("precision", "")  # absent in checkpoints saved before it was recorded
    metadata = {
        # The look the app draws it with (label, order, colour, role): the folder carries it.
        "name": name, **catalogue.look(name).as_metadata(),
        "language_pair": "-".join(config["language_pair"]),
        "parameters": model.num_parameters(),
        "train_seconds": round(ckpt.get("train_seconds", 0.0)),
        "hardware": ckpt.get("hardware", ""),
        "epochs": ckpt.get("epoch", 0) + 1, "steps": ckpt.get("global_step", 0),
        "best_val_bleu_greedy": best, "weights": weights, "note": note,
        "averaged_with_epochs": averaged,
        "precision": precision, "command": fit_command(config_file, precision),
        "curves": [{k: s.get(k) for k in ("epoch", "step", "train_loss", "val_loss", "val_bleu",
                                          "val_chrf")} for s in snapshots],
    }
    folder = save_folder(Path(out) / name, model, tokenizer, config, metadata, snapshots, weights)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", required=True, help="a Lightning .ckpt from training")
    parser.add_argument("--name", required=True, type=folder_name,
                        help="folder name under --out, e.g. transformer")
    parser.add_argument("--out", default="checkpoints")
    parser.add_argument("--weights", default="fp16", choices=("fp32", "fp16", "int8"))
    parser.add_argument("--config", default=None, help="the YAML it was trained with (recorded)")
    parser.add_argument("--evaluate", action="store_true", help="score val and test_2016_flickr")
    parser.add_argument("--beam", type=beam_size, default=5,
                        help=f"beam for --evaluate, 1 = greedy, at most {MAX_BEAM} (default 5)")
    parser.add_argument("--corpus", default="auto")
    parser.add_argument("--note", default="", help="free text for metadata, e.g. how it was run")
    parser.add_argument("--average", nargs="+", default=[], metavar="CKPT",
                        help="more checkpoints of the same run to average the weights with")
    parser.add_argument("--length-penalty", type=length_penalty, default=1.0,
                        help="beam search's length penalty, kept in config.json: choose it on val "
                             "with `python bench/length_penalty.py` (default 1.0)")
    args = parser.parse_args(argv)
    try:
        folder = export(args.ckpt, args.name, args.out, args.weights, args.config, args.note,
                        args.average, args.length_penalty)
        if args.evaluate:
            translator = Translator.load(folder)
            meta_path = folder / "metadata.json"
            metadata = json.loads(meta_path.read_text())
            for split in ("val", "test_2016_flickr"):
                result = evaluate(translator, split, args.beam, args.corpus)
                write_eval(eval_path(folder, split, args.beam), result, hypotheses=False)
                metadata[split] = {k: result[k] for k in (
                    "bleu", "bleu_lowercase", "chrf", "bleu_signature", "chrf_signature",
                    "beam")}
                print(f"{args.name} {split} beam {args.beam}: BLEU {result['bleu']:.2f} "
                      f"chrF {result['chrf']:.2f}")
            metadata["folder_bytes"] = folder_size(folder)
            meta_path.write_text(json.dumps(metadata, indent=2, ensure_ascii=False))
    except (CheckpointError, CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    size = folder_size(folder)
    print(f"Exported {folder}: {size / 1e6:.2f} MB ({size / 2**20:.2f} MiB)")
    if size > SIZE_LIMIT:
        print(f"warning: {folder} is over 10 MiB; try --weights int8", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

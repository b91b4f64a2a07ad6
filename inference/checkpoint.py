"""Shipped model folders: everything needed to translate, in one small folder.

    checkpoints/NAME/
      config.json     model class and constructor arguments, special ids, language pair
      model.pt        weights: fp32, fp16, or int8 with one fp32 scale per row
      spm.model       the joint sentencepiece vocabulary
      metadata.json   parameters, training time and hardware, BLEU/chrF with signatures
      snapshots.json  alignments of fixed val sentences, epoch by epoch (optional)
      eval/SPLIT-beamN.json  evaluation results, e.g. BLEU by source length (optional)

Nothing is looked up elsewhere at run time, so a folder copied to a Space just works. Loading
checks each piece and raises `CheckpointError` with one sentence saying what is wrong.

Why int8: a Space should need no large-file storage, so a folder stays under 10 MB. Storing each
weight row as int8 with its own scale (max |w| / 127) keeps 4x less than fp32 at a rounding
error of at most half a step per weight; BLEU before and after is reported in the README.
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from data.tokenizer import Tokenizer
from inference import int8_output

FILES = ("config.json", "model.pt", "spm.model", "metadata.json")
WEIGHT_FORMATS = ("fp32", "fp16", "int8")
SCALE_SUFFIX = ".__int8_scale"


class CheckpointError(RuntimeError):
    """A model folder is missing, incomplete, corrupt or does not fit its config."""


def pack_weights(state: dict[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    """Convert a float state dict for storage as fp32, fp16 or per-row int8."""
    if fmt not in WEIGHT_FORMATS:
        raise ValueError(f"weights must be one of {WEIGHT_FORMATS}, not {fmt!r}.")
    packed: dict[str, torch.Tensor] = {}
    for name, w in state.items():
        w = w.detach().cpu()
        if not w.is_floating_point() or fmt == "fp32":
            packed[name] = w.clone()
        elif fmt == "fp16" or w.dim() < 2:
            packed[name] = w.half() if fmt == "fp16" else w.float()
        else:
            rows = w.float().flatten(1)  # (rows, rest)
            scale = rows.abs().amax(dim=1).clamp_min(1e-12) / 127.0
            packed[name] = torch.round(rows / scale[:, None]).to(torch.int8).view_as(w)
            packed[name + SCALE_SUFFIX] = scale
    return packed


def unpack_weights(packed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float32 state dict back from `pack_weights`' output."""
    state = {}
    for name, w in packed.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        scale = packed.get(name + SCALE_SUFFIX)
        if scale is not None:
            state[name] = (w.float().flatten(1) * scale[:, None]).view_as(w)
        else:
            state[name] = w.float() if w.is_floating_point() else w
    return state


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Rebuild a model from {"class_path": "models.X", "init_args": {...}}.

    Only classes from our `models` package are accepted: a folder downloaded from elsewhere
    must not be able to make us import arbitrary code.
    """
    class_path = spec.get("class_path", "")
    module_name, _, class_name = class_path.rpartition(".")
    if not (module_name == "models" or module_name.startswith("models.")):
        raise CheckpointError(f"The model class {class_path!r} is not one of ours (models.*).")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls(**spec.get("init_args", {}))
    except (ImportError, AttributeError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"Cannot build {class_path} from its config: {err}") from err


def save_folder(folder: str | Path, model: nn.Module, tokenizer: Tokenizer, config: dict,
                metadata: dict, snapshots: list | None = None, weights: str = "fp16") -> Path:
    """Write a shipped model folder; returns its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(pack_weights(model.state_dict(), weights), folder / "model.pt")
    tokenizer.save(folder / "spm.model")
    (folder / "config.json").write_text(json.dumps({**config, "weights": weights}, indent=2))
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False))
    if snapshots:
        (folder / "snapshots.json").write_text(json.dumps(snapshots, ensure_ascii=False,
                                                          separators=(",", ":")))
    return folder


def folder_size(folder: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path.parent.name}/{path.name} is not valid JSON ({err}); "
                              "re-export the model.") from err


# ---- what each JSON file must look like -------------------------------------------------------
# The app draws these files at startup; a file that parses but has the wrong shape must make its
# folder one line in the "could not be loaded" note, not crash the app.
def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and math.isfinite(x))


def _where(folder: Path, name: str) -> str:
    return f"{folder.name}/{name}"  # never the server's absolute path


def check_config(config: Any, folder: Path) -> dict:
    """config.json: a dict naming the model, with sane decoding limits and special ids."""
    where = _where(folder, "config.json")
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{where} does not say which model to build; re-export the model.")
    if not isinstance(config["model"].get("init_args", {}), dict):
        raise CheckpointError(f"{where}: model.init_args must be an object.")
    for key, low in (("max_len_a", 0.0), ("max_len_b", 0), ("length_penalty", 0.0)):
        if key in config and not (_is_number(config[key]) and config[key] >= low):
            raise CheckpointError(f"{where}: {key} must be a number >= {low}, "
                                  f"not {config[key]!r}.")
    for key in ("pad_id", "bos_id", "eos_id"):
        if key in config and not (isinstance(config[key], int) and config[key] >= 0):
            raise CheckpointError(f"{where}: {key} must be a whole number >= 0.")
    return config


def check_metadata(metadata: Any, folder: Path) -> dict:
    """metadata.json: a dict; the parts the app draws (label, curves) of the right type."""
    where = _where(folder, "metadata.json")
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{where} must be a JSON object; re-export the model.")
    if "label" in metadata and not isinstance(metadata["label"], str):
        raise CheckpointError(f"{where}: label must be text.")
    curves = metadata.get("curves", [])
    if not isinstance(curves, list) or not all(
            isinstance(p, dict) and all(v is None or _is_number(v) for v in p.values())
            for p in curves):
        raise CheckpointError(f"{where}: curves must be a list of {{name: number}} records.")
    for key in ("val", "test_2016_flickr", "test_2017_flickr"):
        if key in metadata and not isinstance(metadata[key], dict):
            raise CheckpointError(f"{where}: {key} must be an object of scores.")
    return metadata


def check_snapshots(snapshots: Any, folder: Path) -> list:
    """snapshots.json: a list of epochs, each with sentences whose cross matrix fits its pieces."""
    where = _where(folder, "snapshots.json")
    if not isinstance(snapshots, list):
        raise CheckpointError(f"{where} must be a list of epoch records; re-export the model.")
    for i, record in enumerate(snapshots):
        if not isinstance(record, dict) or not isinstance(record.get("sentences", []), list):
            raise CheckpointError(f"{where}: record {i} must be an object with a sentences list.")
        if not isinstance(record.get("epoch", 0), int) or (
                "val_bleu" in record and not _is_number(record["val_bleu"])):
            raise CheckpointError(f"{where}: record {i} has a bad epoch or val_bleu.")
        for sentence in record.get("sentences", []):
            _check_snapshot_sentence(sentence, f"{where}, record {i}")
    return snapshots


def _check_snapshot_sentence(sentence: Any, where: str) -> None:
    if not isinstance(sentence, dict) or not all(
            isinstance(sentence.get(k, []), list) and all(isinstance(p, str) for p in
                                                          sentence.get(k, []))
            for k in ("source_pieces", "target_pieces")) or not all(
            isinstance(sentence.get(k, ""), str) for k in ("source", "reference", "hypothesis")):
        raise CheckpointError(f"{where}: a sentence lacks its text or pieces.")
    cross = sentence.get("cross")
    if cross is None:
        return
    try:
        matrix = np.asarray(cross, dtype=np.float64)
    except (TypeError, ValueError):
        matrix = np.zeros(0)
    rows, columns = len(sentence.get("target_pieces", [])), len(sentence.get("source_pieces", []))
    # On disk (T, S) for a GRU, (L, T, S) heads averaged for a Transformer; views read it as an
    # (L, H, T, S) stack through `inference.translation.snapshot_translation`.
    if matrix.ndim not in (2, 3) or matrix.shape[-2:] != (rows, columns) \
            or not np.isfinite(matrix).all():
        raise CheckpointError(f"{where}: a cross matrix does not fit its "
                              f"{rows} x {columns} pieces.")


def check_eval(result: Any) -> bool:
    """eval/*.json (see `write_eval`): scores and BLEU by source length."""
    if not isinstance(result, dict) or not isinstance(result.get("by_length"), list):
        return False
    return all(isinstance(r, dict) and isinstance(r.get("bucket"), str)
               and _is_number(r.get("bleu")) and isinstance(r.get("sentences", 0), int)
               for r in result["by_length"]) and all(
        k not in result or _is_number(result[k]) for k in ("bleu", "chrf", "bleu_lowercase"))


# ---- evaluation results -------------------------------------------------------------------------
# `training.evaluate` and `training.export --evaluate` write them; the app's chapter lab and
# bench/results_table.py read them. One file per split and beam: eval/SPLIT-beamN.json.
EVAL_READ_ORDER = ("test_2016_flickr", "test_2017_flickr", "val")  # the test sets first


def eval_path(folder: str | Path, split: str, beam: int) -> Path:
    """Where a model folder keeps its evaluation on `split` with beam size `beam`."""
    return Path(folder) / "eval" / f"{split}-beam{beam}.json"


def write_eval(path: str | Path, result: dict, hypotheses: bool = True) -> Path:
    """Write an evaluation result (from `training.evaluate.evaluate`) as JSON to `path`,
    usually `eval_path(folder, split, beam)`; `hypotheses=False` leaves the translations out."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not hypotheses:
        result = {k: v for k, v in result.items() if k != "hypotheses"}
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def read_eval(folder: str | Path, splits: tuple[str, ...] = EVAL_READ_ORDER) -> dict | None:
    """The first usable evaluation a model folder ships, trying `splits` in order (within a
    split, file names in reverse order: beam5 before beam1); None if it has none, or none that
    reads as one."""
    for split in splits:
        for path in sorted((Path(folder) / "eval").glob(f"{split}-beam*.json"), reverse=True):
            try:
                result = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if check_eval(result):
                return result
    return None


def load_folder(folder: str | Path) -> tuple[nn.Module, Tokenizer, dict, dict, list]:
    """Load (model in eval mode, tokenizer, config, metadata, snapshots) from a model folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"No model folder at {folder}: export one with "
                              "`python -m training.export`.")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"The model folder {folder.name} lacks {', '.join(missing)}; "
                              "re-export it with `python -m training.export`.")
    config = check_config(_read_json(folder / "config.json"), folder)
    metadata = check_metadata(_read_json(folder / "metadata.json"), folder)
    try:
        tokenizer = Tokenizer.load(folder / "spm.model")
    except Exception as err:  # sentencepiece raises RuntimeError/OSError on a bad proto
        raise CheckpointError(f"{_where(folder, 'spm.model')} is not a usable sentencepiece "
                              f"model ({err}).") from err
    try:
        model = build_model(config["model"])
    except CheckpointError as err:
        raise CheckpointError(f"{_where(folder, 'config.json')}: {err}") from err
    if getattr(model, "vocab_size", tokenizer.vocab_size) != tokenizer.vocab_size:
        raise CheckpointError(f"The model in {folder.name} expects {model.vocab_size} pieces but "
                              f"its spm.model has {tokenizer.vocab_size}: they do not belong "
                              "together.")
    try:
        packed = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{_where(folder, 'model.pt')} cannot be read "
                              f"({type(err).__name__}); the file is corrupt or truncated: "
                              "re-export it.") from err
    if not isinstance(packed, dict) or not all(isinstance(w, torch.Tensor)
                                               for w in packed.values()):
        raise CheckpointError(f"{_where(folder, 'model.pt')} does not hold a weight dictionary.")
    if not all(torch.isfinite(w).all() for w in packed.values() if w.is_floating_point()):
        raise CheckpointError(f"{_where(folder, 'model.pt')} has NaN or infinite weights: the "
                              "training diverged; export an earlier checkpoint.")
    try:
        model.load_state_dict(unpack_weights(packed))
    except (RuntimeError, AttributeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"The weights in {_where(folder, 'model.pt')} do not fit the model "
                              f"its config.json describes ({first}).") from err
    int8_output.attach(model, packed, SCALE_SUFFIX)
    snapshots = []
    if (folder / "snapshots.json").is_file():
        snapshots = check_snapshots(_read_json(folder / "snapshots.json"), folder)
    return model.eval(), tokenizer, config, metadata, snapshots

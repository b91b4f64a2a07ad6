"""Shipped model folders: everything needed to translate, in one small folder.

    checkpoints/NAME/
      config.json     model class and constructor arguments, special ids, language pair
      model.pt        weights: fp32, fp16, or int8 with one fp32 scale per row
      spm.model       the joint sentencepiece vocabulary
      metadata.json   parameters, training time and hardware, BLEU/chrF with signatures
      snapshots.json  alignments of fixed val sentences, epoch by epoch (optional)
      eval/*.json     evaluation results, e.g. BLEU by source length (optional)

Nothing is looked up elsewhere at run time, so a folder copied to a Space just works. Loading
checks each piece and raises `CheckpointError` with one sentence saying what is wrong.

Why int8: a Space should need no large-file storage, so a folder stays under 10 MB. Storing each
weight row as int8 with its own scale (max |w| / 127) keeps 4x less than fp32 at a rounding
error of at most half a step per weight; BLEU before and after is reported in the README.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

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
    except (ImportError, AttributeError, TypeError, ValueError) as err:
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
        raise CheckpointError(f"{path} is not valid JSON ({err}); re-export the model.") from err


def load_folder(folder: str | Path) -> tuple[nn.Module, Tokenizer, dict, dict, list]:
    """Load (model in eval mode, tokenizer, config, metadata, snapshots) from a model folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"No model folder at {folder}: export one with "
                              "`python -m training.export`.")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"The model folder {folder} lacks {', '.join(missing)}; "
                              "re-export it with `python -m training.export`.")
    config = _read_json(folder / "config.json")
    metadata = _read_json(folder / "metadata.json")
    if not isinstance(config, dict) or "model" not in config:
        raise CheckpointError(f"{folder / 'config.json'} does not say which model to build.")
    try:
        tokenizer = Tokenizer.load(folder / "spm.model")
    except Exception as err:  # sentencepiece raises RuntimeError/OSError on a bad proto
        raise CheckpointError(f"{folder / 'spm.model'} is not a usable sentencepiece model "
                              f"({err}).") from err
    model = build_model(config["model"])
    if getattr(model, "vocab_size", tokenizer.vocab_size) != tokenizer.vocab_size:
        raise CheckpointError(f"The model in {folder} expects {model.vocab_size} pieces but its "
                              f"spm.model has {tokenizer.vocab_size}: they do not belong together.")
    try:
        packed = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{folder / 'model.pt'} cannot be read ({type(err).__name__}); "
                              "the file is corrupt or truncated: re-export it.") from err
    try:
        model.load_state_dict(unpack_weights(packed))
    except (RuntimeError, AttributeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"The weights in {folder / 'model.pt'} do not fit the model its "
                              f"config.json describes ({first}).") from err
    int8_output.attach(model, packed, SCALE_SUFFIX)
    snapshots = []
    if (folder / "snapshots.json").is_file():
        snapshots = _read_json(folder / "snapshots.json")
    return model.eval(), tokenizer, config, metadata, snapshots

"""The Lightning CLI: `python -m training fit --config training/configs/NAME.yaml`.

LightningCLI turns the typed `__init__` arguments of `TranslationModule`, `Multi30kDataModule`
and the model classes into a YAML schema, so a wrong key or value is reported by jsonargparse
before anything runs. The vocabulary size and the special ids are computed by the data module
(from the tokenizer it trains) and linked into the model's config, never typed twice.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch.cli import LightningCLI

from training.datamodule import Multi30kDataModule
from training.module import TranslationModule


class TranslationCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.vocab_size", "model.model.init_args.vocab_size",
                              apply_on="instantiate")
        parser.link_arguments("data.pad_id", "model.model.init_args.pad_id", apply_on="instantiate")
        for name in ("pad_id", "bos_id", "eos_id"):
            parser.link_arguments(f"data.{name}", f"model.{name}", apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        resume_in_same_version(self.config.get(self.subcommand) if self.subcommand else self.config)


def resume_in_same_version(config) -> None:
    """`--ckpt_path runs/NAME/version_N/checkpoints/X.ckpt`: log on into version_N.

    Lightning would open a new version_N+1, and ModelCheckpoint only restores which checkpoint
    is the best when its folder is unchanged: in a new folder a resumed run would forget the
    best val BLEU so far and the curves would be split in two.
    """
    ckpt_path = config.get("ckpt_path") if config is not None else None
    logger = config.get("trainer", {}).get("logger") if ckpt_path else None
    if not ckpt_path or not hasattr(logger, "get") or not logger.get("init_args"):
        return
    ckpt = Path(str(ckpt_path))
    if ckpt.parent.name == "checkpoints" and ckpt.parent.parent.name.startswith("version_"):
        version = ckpt.parent.parent.name.removeprefix("version_")
        if version.isdigit() and logger["init_args"].get("version") is None:
            logger["init_args"]["version"] = int(version)


def main(args: list[str] | None = None, run: bool = True) -> TranslationCLI:
    # Matrix multiplies on recent CPUs and GPUs may use TF32/bf16-friendly kernels.
    torch.set_float32_matmul_precision("high")
    return TranslationCLI(
        TranslationModule, Multi30kDataModule, args=args, run=run,
        save_config_kwargs={"overwrite": True},
    )

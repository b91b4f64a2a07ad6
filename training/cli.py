"""The Lightning CLI: `python -m training fit --config training/configs/NAME.yaml`.

LightningCLI turns the typed `__init__` arguments of `TranslationModule`, `Multi30kDataModule`
and the model classes into a YAML schema, so a wrong key or value is reported by jsonargparse
before anything runs. The vocabulary size and the special ids are computed by the data module
(from the tokenizer it trains) and linked into the model's config, never typed twice.

A value the classes refuse (lr -1, d_model not divisible by num_heads, a vocabulary the text
cannot fill), an unreadable --ckpt_path or a missing GPU becomes a `ConfigError`: one sentence
naming the option, which `python -m training` prints without a stack trace (exit status 2).
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator
from lightning.pytorch.cli import LightningCLI

from data import CorpusError
from inference.checkpoint import CheckpointError
from training.datamodule import Multi30kDataModule
from training.export import load_checkpoint_file
from training.module import RECIPE_RANGES, TranslationModule, check_recipe

# Lightning's own names for a checkpoint it finds itself; everything else is a path.
LIGHTNING_CKPT_NAMES = ("last", "best", "hpc", "registry")


class ConfigError(ValueError):
    """A config value or command-line option training cannot use; the message names it and
    says what to do. `python -m training` prints it as one line and exits with status 2."""


class TranslationCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.vocab_size", "model.model.init_args.vocab_size",
                              apply_on="instantiate")
        parser.link_arguments("data.pad_id", "model.model.init_args.pad_id", apply_on="instantiate")
        for name in ("pad_id", "bos_id", "eos_id"):
            parser.link_arguments(f"data.{name}", f"model.{name}", apply_on="instantiate")
        # Without a logger Lightning writes checkpoints and config.yaml under the working
        # directory: in the repository that is beside (or into) the shipped checkpoints/.
        parser.set_defaults({"trainer.default_root_dir": "runs"})

    def parse_arguments(self, parser, args) -> None:
        super().parse_arguments(parser, args)
        # Lightning reads --ckpt_path's hyperparameters right after parsing, before any hook.
        subcommand = self.config.get("subcommand")
        check_ckpt_path((self.config.get(subcommand) if subcommand else self.config)
                        .get("ckpt_path"))

    def before_instantiate_classes(self) -> None:
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        check_trainer(config.get("trainer") or {})
        # The module checks these too, but only after the corpus is read and the tokenizer
        # trained: here a wrong number fails at once.
        model = config.get("model") or {}
        try:
            check_recipe(**{k: model.get(k) for k in RECIPE_RANGES if model.get(k) is not None})
        except ValueError as err:
            raise ConfigError(str(err)) from err
        resume_in_same_version(config)

    def instantiate_classes(self) -> None:
        # A class that refuses its arguments (d_model not divisible by num_heads, lr <= 0, a
        # vocabulary the text cannot fill, max_epochs -5) is a config mistake, not a crash.
        try:
            super().instantiate_classes()
        except CorpusError:
            raise
        except (ValueError, MisconfigurationException) as err:
            raise ConfigError(str(err).strip()) from err


def check_ckpt_path(ckpt_path) -> None:
    """ConfigError unless `--ckpt_path` is a checkpoint torch reads without running code."""
    if not ckpt_path or str(ckpt_path) in LIGHTNING_CKPT_NAMES or "://" in str(ckpt_path) \
            or str(ckpt_path).startswith("registry:"):
        return
    try:
        load_checkpoint_file(str(ckpt_path), mmap=True)  # mmap: the tensors stay on disk
    except CheckpointError as err:
        raise ConfigError(f"--ckpt_path: {err}") from err


def check_trainer(trainer) -> None:
    """ConfigError for trainer settings Lightning would only refuse with a stack trace."""
    max_epochs = trainer.get("max_epochs")
    if max_epochs is not None and (isinstance(max_epochs, bool) or max_epochs < -1):
        raise ConfigError(f"trainer.max_epochs must be -1 (no limit) or a whole number >= 0, "
                          f"not {max_epochs!r}.")
    accelerator = trainer.get("accelerator")
    if isinstance(accelerator, str):
        wanted = accelerator.lower()
        missing = (wanted == "cuda" and not CUDAAccelerator.is_available()) or \
            (wanted == "mps" and not MPSAccelerator.is_available()) or \
            (wanted == "gpu" and not (CUDAAccelerator.is_available()
                                      or MPSAccelerator.is_available()))
        if missing:
            raise ConfigError(f"trainer.accelerator is {accelerator!r} but torch finds no such "
                              "device on this machine: use --trainer.accelerator cpu (or auto).")


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

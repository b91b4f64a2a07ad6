"""The Lightning CLI: `python -m training fit --config training/configs/NAME.yaml`.

LightningCLI turns the typed `__init__` arguments of `TranslationModule`, `Multi30kDataModule`
and the model classes into a YAML schema, so a wrong key or value is reported by jsonargparse
before anything runs. The vocabulary size and the special ids are computed by the data module
(from the tokenizer it trains) and linked into the model's config, never typed twice.
"""

from __future__ import annotations

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


def main(args: list[str] | None = None, run: bool = True) -> TranslationCLI:
    # Matrix multiplies on recent CPUs and GPUs may use TF32/bf16-friendly kernels.
    torch.set_float32_matmul_precision("high")
    return TranslationCLI(
        TranslationModule, Multi30kDataModule, args=args, run=run,
        save_config_kwargs={"overwrite": True},
    )

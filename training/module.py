"""The LightningModule: how any of our translators is trained and validated.

The model (`models.GRUSeq2Seq`, `models.Transformer`, ...) is built from the YAML config and
injected; this module owns only the training recipe: label-smoothed cross-entropy that ignores
padding, AdamW with a linear warmup then decay, gradient clipping (set on the Trainer), and a
validation pass that translates the val split greedily and scores it with sacreBLEU.

At every validation it also records the attention of a few fixed val sentences (teacher-forced
on their references, so the axes stay the same from epoch to epoch): the app replays them to
show alignments emerging during training.
"""

from __future__ import annotations

import math
import os
import time
from typing import Literal

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Timer

from data import Batch, collate
from models.search import forced_alignment, greedy_search
from models.seq2seq import Seq2Seq
from training.scoring import corpus_scores


class TranslationModule(L.LightningModule):
    """Trains an injected sequence-to-sequence model.

    Args:
        model: any model with our shared face (`forward`, `encode`, `step`).
        lr: peak learning rate, reached after `warmup_steps`.
        weight_decay: AdamW decoupled weight decay.
        warmup_steps: linear warmup from 0.
        schedule: "cosine" (to `min_lr_ratio` * lr at the last step), "inverse_sqrt", "constant".
        label_smoothing: mass spread over the vocabulary; padding is ignored.
        pad_id, bos_id, eos_id: linked from the data module.
        max_len_a, max_len_b: greedy validation stops at a * source length + b pieces.
    """

    def __init__(self, model: Seq2Seq, lr: float = 5e-4, weight_decay: float = 0.01,
                 warmup_steps: int = 1000,
                 schedule: Literal["cosine", "inverse_sqrt", "constant"] = "cosine",
                 min_lr_ratio: float = 0.05,
                 label_smoothing: float = 0.1, pad_id: int = 0, bos_id: int = 2, eos_id: int = 3,
                 max_len_a: float = 1.5, max_len_b: int = 10):
        super().__init__()
        check_recipe(lr=lr, weight_decay=weight_decay, warmup_steps=warmup_steps,
                     min_lr_ratio=min_lr_ratio, label_smoothing=label_smoothing,
                     max_len_a=max_len_a, max_len_b=max_len_b)
        self.model = model
        self.save_hyperparameters(ignore=["model"])
        self.snapshots: list[dict] = []
        self._val_outputs: list[tuple[torch.Tensor, list[str]]] = []
        self._step_start = 0.0
        self._epoch_train_loss: list[float] = []
        self.train_seconds = 0.0  # wall time spent in fit, summed over resumed runs
        self._fit_start: float | None = None

    # ---- training ---------------------------------------------------------------------------
    def loss(self, batch: Batch) -> tuple[torch.Tensor, int]:
        logits, _ = self.model(batch.src, batch.src_mask, batch.tgt_in)  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(),
                               ignore_index=self.hparams.pad_id,
                               label_smoothing=self.hparams.label_smoothing)
        return loss, int(batch.tgt_mask.sum())

    def on_train_batch_start(self, batch: Batch, batch_idx: int) -> None:
        self._step_start = time.perf_counter()

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss, _ = self.loss(batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch))
        self._epoch_train_loss.append(loss.item())
        return loss

    def on_train_batch_end(self, outputs, batch: Batch, batch_idx: int) -> None:
        elapsed = time.perf_counter() - self._step_start
        tokens = int(batch.tgt_mask.sum()) * self.trainer.world_size
        self.log("tokens_per_s", tokens / max(elapsed, 1e-9), prog_bar=True, batch_size=len(batch))
        # The one record of the rate: both parameter groups share it, so no LearningRateMonitor.
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], batch_size=len(batch))

    def configure_optimizers(self):
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            (no_decay if p.ndim < 2 or "norm" in name else decay).append(p)
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.hparams.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}], lr=self.hparams.lr, betas=(0.9, 0.98))
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup, schedule, floor = (self.hparams.warmup_steps, self.hparams.schedule,
                                   self.hparams.min_lr_ratio)
        # With `trainer.max_time` the run may stop before max_epochs; the cosine then follows
        # whichever budget runs out first, so the rate has decayed when the clock stops us.
        timer = next((c for c in self.trainer.callbacks if isinstance(c, Timer)), None)
        duration = timer.time_remaining() + timer.time_elapsed() if timer and \
            timer.time_remaining() is not None else None

        def factor(step: int) -> float:  # a function, so LambdaLR keeps it out of checkpoints
            time_used = timer.time_elapsed() / duration if duration else 0.0
            return lr_factor(step, warmup, total, schedule, floor, time_used)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # ---- validation -------------------------------------------------------------------------
    def _translate(self, batch: Batch) -> list[str]:
        tokenizer = self.trainer.datamodule.tokenizer
        hyps = greedy_search(self.model, batch.src, batch.src_mask, self.hparams.bos_id,
                             self.hparams.eos_id, self.hparams.max_len_a, self.hparams.max_len_b,
                             need_weights=False)
        return [tokenizer.decode(h.tokens) for h in hyps]

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        loss, _ = self.loss(batch)
        self.log("val_loss", loss, prog_bar=True, batch_size=len(batch), sync_dist=True)
        self._val_outputs.append((batch.index.cpu(), self._translate(batch)))

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        loss, _ = self.loss(batch)
        self.log("test_loss", loss, batch_size=len(batch), sync_dist=True)
        self._val_outputs.append((batch.index.cpu(), self._translate(batch)))

    def _score(self, split: str, prefix: str) -> dict:
        dm = self.trainer.datamodule
        refs = dm.references(split)
        hyps: dict[int, str] = {}
        for index, texts in self._val_outputs:
            hyps.update(zip(index.tolist(), texts))
        self._val_outputs.clear()
        if len(hyps) < len(refs):  # fast_dev_run or limit_val_batches: score what was seen
            refs = [refs[i] for i in sorted(hyps)]
        scores = corpus_scores([hyps[i] for i in sorted(hyps)], refs)
        # The eval loader is not sharded (use_distributed_sampler: false), so under DDP every
        # rank translates the whole split and rank 0's corpus BLEU is the full-split figure.
        self.log(f"{prefix}_bleu", scores["bleu"], prog_bar=True, rank_zero_only=True)
        self.log(f"{prefix}_chrf", scores["chrf"], rank_zero_only=True)
        return scores

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self._val_outputs.clear()
            return
        scores = self._score(self.trainer.datamodule.eval_split, "val")
        self._record_snapshot(scores)

    def on_test_epoch_end(self) -> None:
        self._score("test_2016_flickr", "test")

    def on_train_epoch_start(self) -> None:
        self._epoch_train_loss = []

    # ---- alignment snapshots ----------------------------------------------------------------
    @torch.no_grad()
    def _record_snapshot(self, scores: dict) -> None:
        dm = self.trainer.datamodule
        pairs = dm.snapshot_sentences()
        tok = dm.tokenizer
        record = {
            "epoch": self.current_epoch, "step": self.global_step,
            "val_bleu": scores["bleu"], "val_chrf": scores["chrf"],
            "val_loss": float(self.trainer.callback_metrics.get("val_loss", float("nan"))),
            "train_loss": (sum(self._epoch_train_loss) / len(self._epoch_train_loss)
                           if self._epoch_train_loss else None),
            "sentences": [],
        }
        if pairs:
            items = [(i, tok.encode(s), tok.encode(t)) for i, (s, t) in enumerate(pairs)]
            batch = collate(items, tok.pad_id, tok.bos_id, tok.eos_id)
            batch = self.transfer_batch_to_device(batch, self.device, 0)
            aligned = forced_alignment(self.model, batch.src, batch.src_mask, batch.tgt_in,
                                       batch.tgt_mask)
            hyps = self._translate(batch)
            for (src, ref), (_, src_ids, ref_ids), hyp, a in zip(pairs, items, hyps, aligned):
                cross = a.get("cross")
                if cross is not None and cross.dim() == 4:  # (L, H, T, S): keep layers, mean heads
                    cross = cross.mean(dim=1)
                record["sentences"].append({
                    "source": src, "reference": ref, "hypothesis": hyp,
                    "source_pieces": [tok.id_to_piece(i) for i in src_ids] + ["</s>"],
                    "target_pieces": [tok.id_to_piece(i) for i in ref_ids] + ["</s>"],
                    "cross": None if cross is None else
                    torch.round(cross.float().cpu(), decimals=3).tolist(),
                })
        self.snapshots.append(record)

    def on_fit_start(self) -> None:
        self._fit_start = time.perf_counter()

    def _elapsed(self) -> float:
        if self._fit_start is None:
            return self.train_seconds
        return self.train_seconds + time.perf_counter() - self._fit_start

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["snapshots"] = self.snapshots
        # What export needs to rebuild the model without the YAML. Kept out of hparams, which
        # LightningCLI re-parses against the config schema when a run is resumed.
        checkpoint["model_spec"] = {
            "class_path": f"{type(self.model).__module__}.{type(self.model).__name__}",
            "init_args": dict(self.model.config),
        }
        checkpoint["train_seconds"] = self._elapsed()
        checkpoint["hardware"] = hardware_description(self.trainer) if self._trainer else ""
        # The trainer's precision ("32-true", "bf16-mixed"): the command that reproduces a run
        # needs it, and the checkpoint is the one place export looks.
        checkpoint["precision"] = str(self.trainer.precision) if self._trainer else ""
        dm = self.trainer.datamodule if self._trainer is not None else None
        if dm is not None and hasattr(dm, "tokenizer"):
            checkpoint["tokenizer_model"] = dm.tokenizer.model_proto
            checkpoint["language_pair"] = [dm.src_lang, dm.tgt_lang]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.snapshots = checkpoint.get("snapshots", [])
        self.train_seconds = checkpoint.get("train_seconds", 0.0)


def lr_factor(step: int, warmup_steps: int, total_steps: int,
              schedule: Literal["cosine", "inverse_sqrt", "constant"] = "cosine",
              min_lr_ratio: float = 0.05, time_used: float = 0.0) -> float:
    """The learning rate at optimizer step `step` (0-based), as a fraction of the peak.

    Linear warmup from 1/warmup_steps to 1 over the first `warmup_steps` steps, then
    "constant": 1; "inverse_sqrt": sqrt(warmup_steps / (step + 1)); "cosine": from 1 down to
    `min_lr_ratio` at step `total_steps`, or sooner when `time_used` (the fraction of
    `trainer.max_time` spent) is further along than the steps are.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule == "inverse_sqrt":
        return math.sqrt(warmup_steps / (step + 1))
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    progress = min(1.0, max(progress, time_used))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


# The recipe's numbers and the values they may take: (lowest, highest, lowest itself allowed).
RECIPE_RANGES = {
    "lr": (0.0, math.inf, False), "weight_decay": (0.0, math.inf, True),
    "warmup_steps": (0, math.inf, True), "min_lr_ratio": (0.0, 1.0, True),
    "label_smoothing": (0.0, 1.0, True), "max_len_a": (0.0, math.inf, True),
    "max_len_b": (0, math.inf, True),
}


def check_recipe(**values: float) -> None:
    """ValueError, naming the setting, for a recipe number training cannot use (lr -1 would
    otherwise fail only when the optimizer is built, a label smoothing of 1.5 not at all)."""
    for name, value in values.items():
        low, high, closed = RECIPE_RANGES[name]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value > high or value < low or (
                value == low and not closed):
            span = f"{'>=' if closed else 'above'} {low}" + (
                f" and <= {high}" if math.isfinite(high) else "")
            raise ValueError(f"model.{name} must be a number {span}, not {value!r}.")


def hardware_description(trainer: L.Trainer) -> str:
    """'CPU, 2 cores, 1 thread' or '1 x NVIDIA H100 80GB HBM3': what a results table says."""
    if torch.cuda.is_available() and trainer.strategy.root_device.type == "cuda":
        return f"{trainer.world_size} x {torch.cuda.get_device_name(trainer.strategy.root_device)}"
    processes = f"{trainer.world_size} processes x " if trainer.world_size > 1 else ""
    return f"CPU, {os.cpu_count()} cores, {processes}{torch.get_num_threads()} thread(s)"

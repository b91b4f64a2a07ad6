"""Tiny shipped-model folders for the app's tests: untrained models, well-formed extras.

`build_checkpoints(root)` writes checkpoints/{gru_noattn, gru_bahdanau, gru_luong, transformer}
the way `training.export` does: a tiny sentencepiece vocabulary, untrained tiny models, and
fake-but-well-formed metadata (curves), snapshots and eval JSON, so every view has something to
draw. gru_luong is shipped bare (no snapshots, no eval) so the "not available" paths run too.

    python tests/app_fixtures.py /tmp/fixture_checkpoints   # then CHECKPOINTS_DIR=... app.py
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data.tokenizer import Tokenizer  # noqa: E402
from inference.checkpoint import save_folder  # noqa: E402
from models import GRUSeq2Seq, Transformer  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "multi30k"
LABELS = {"gru_noattn": "GRU, no attention", "gru_bahdanau": "GRU + Bahdanau attention",
          "gru_luong": "GRU + Luong attention", "transformer": "Transformer"}
SNAPSHOT_PAIRS = [("A dog runs on the beach.", "Ein Hund rennt am Strand."),
                  ("Two children play soccer in the park.", "Zwei Kinder spielen Fußball im Park.")]
LAYERS, HEADS = 2, 4  # decoder layers (the cross-attention's), heads
ENCODER_LAYERS = 3  # deeper than the decoder, as in the shipped Transformer

_built: dict[str, Path] = {}


def _sentences() -> list[str]:
    if (CORPUS / "train.en").exists() and (CORPUS / "train.de").exists():
        lines = []
        for lang in ("en", "de"):
            with open(CORPUS / f"train.{lang}", encoding="utf-8") as f:
                lines += [next(f).strip() for _ in range(400)]
        return lines
    rng = random.Random(0)
    en = "a the dog man woman child runs plays street ball in on with red blue green".split()
    de = "ein der hund mann frau kind rennt spielt straße ball im auf mit rot blau grün".split()
    return [" ".join(rng.choice(words) for _ in range(8)) for words in (en, de)
            for _ in range(400)]


def _models(vocab_size: int) -> dict[str, torch.nn.Module]:
    gru = dict(emb_dim=32, enc_hidden=32, dec_hidden=64, attn_dim=32)
    return {
        "gru_noattn": GRUSeq2Seq(vocab_size, attention="none", **gru),
        "gru_bahdanau": GRUSeq2Seq(vocab_size, attention="bahdanau", **gru),
        "gru_luong": GRUSeq2Seq(vocab_size, attention="luong_general", **gru),
        "transformer": Transformer(vocab_size, d_model=32, num_heads=HEADS,
                                   num_encoder_layers=ENCODER_LAYERS, num_decoder_layers=LAYERS,
                                   d_ff=64),
    }


def _peaked(rng: np.random.Generator, T: int, S: int, sharpness: float) -> np.ndarray:
    """A (T, S) alignment that sharpens towards the diagonal as `sharpness` grows."""
    rows = np.arange(T)[:, None] * (S - 1) / max(T - 1, 1)
    scores = -sharpness * (np.arange(S)[None, :] - rows) ** 2 + rng.normal(0, 0.3, (T, S))
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def _snapshots(name: str, tokenizer: Tokenizer, epochs: int = 3) -> list[dict]:
    rng = np.random.default_rng(0)
    records = []
    for epoch in range(epochs):
        sentences = []
        for source, reference in SNAPSHOT_PAIRS:
            src = [tokenizer.id_to_piece(i) for i in tokenizer.encode(source)] + ["</s>"]
            tgt = [tokenizer.id_to_piece(i) for i in tokenizer.encode(reference)] + ["</s>"]
            cross = None
            if name != "gru_noattn":
                cross = _peaked(rng, len(tgt), len(src), 0.05 + epoch)
                if name == "transformer":
                    cross = np.stack([_peaked(rng, len(tgt), len(src), 0.05 + epoch * layer)
                                      for layer in range(LAYERS)])  # (L, T, S)
                cross = np.round(cross, 3).tolist()
            sentences.append({"source": source, "reference": reference,
                              "hypothesis": f"<b>epoch {epoch}</b> Ein Hund",
                              "source_pieces": src, "target_pieces": tgt, "cross": cross})
        records.append({"epoch": epoch, "step": 100 * (epoch + 1), "val_bleu": 5.0 + 6 * epoch,
                        "val_chrf": 20.0 + 8 * epoch, "val_loss": 5.0 - epoch,
                        "train_loss": 5.5 - epoch, "sentences": sentences})
    return records


def _eval(name: str) -> dict:
    drop = {"gru_noattn": 4.0, "gru_bahdanau": 1.5, "transformer": 0.5}.get(name, 1.0)
    buckets = [("1-10", 1, 10), ("11-15", 11, 15), ("16-20", 16, 20), ("21+", 21, 1000)]
    return {"model": name, "split": "test_2016_flickr", "beam": 5, "bleu": 30.0, "chrf": 55.0,
            "by_length": [{"bucket": b, "min_words": lo, "max_words": hi, "sentences": 100 - 20 * i,
                           "bleu": round(max(35.0 - drop * 3 * i, 0.5), 2)}
                          for i, (b, lo, hi) in enumerate(buckets)]}


def build_checkpoints(root: str | Path) -> Path:
    """Write the four fixture folders under `root` (once per process); returns `root`."""
    root = Path(root)
    if str(root) in _built:
        return _built[str(root)]
    torch.manual_seed(0)
    tokenizer = Tokenizer.train(_sentences(), vocab_size=300)
    for name, model in _models(tokenizer.vocab_size).items():
        class_path = f"{type(model).__module__}.{type(model).__name__}"
        config = {"model": {"class_path": class_path, "init_args": model.config},
                  "language_pair": ["en", "de"], "max_len_a": 1.5, "max_len_b": 10}
        bare = name == "gru_luong"
        snapshots = [] if bare else _snapshots(name, tokenizer)
        metadata = {
            "name": name, "label": LABELS[name], "language_pair": "en-de",
            "parameters": model.num_parameters(), "train_seconds": 60, "hardware": "test CPU",
            "epochs": 3, "best_val_bleu_greedy": 17.0,
            "curves": [{k: s[k] for k in ("epoch", "step", "train_loss", "val_loss", "val_bleu",
                                          "val_chrf")} for s in snapshots],
        }
        if not bare:
            metadata["test_2016_flickr"] = {"bleu": 30.0, "bleu_lowercase": 31.0, "chrf": 55.0,
                                            "bleu_signature": "nrefs:1|case:mixed|tok:13a",
                                            "beam": 5}
        folder = save_folder(root / name, model.eval(), tokenizer, config, metadata, snapshots,
                             weights="fp32")
        if not bare:
            (folder / "eval").mkdir(exist_ok=True)
            (folder / "eval" / "test_2016_flickr-beam5.json").write_text(json.dumps(_eval(name)))
    _built[str(root)] = root
    return root


if __name__ == "__main__":
    print(build_checkpoints(sys.argv[1] if len(sys.argv) > 1 else "/tmp/fixture_checkpoints"))

"""Tiny shipped-model folders for the app's tests: untrained models, well-formed extras.

`build_checkpoints(root)` writes checkpoints/{gru_noattn, gru_bahdanau, lstm_bahdanau, gru_luong,
transformer}
the way `training.export` does: a tiny sentencepiece vocabulary, untrained tiny models, and
fake-but-well-formed metadata (curves), snapshots and eval JSON (with an "alignment" result on
the test set only, so the defaults stay those of the roles), so every view has something to
draw. gru_luong is shipped bare (no snapshots, no eval) so the "not available" paths run too.
Beside the folders, the statistical aligner's priors (`aligner-priors.txt.gz`): a copy of the
shipped file, else learnt on the toy set, else (no eflomal) none.
The vocabulary is trained on the first Multi30K lines where the corpus is at hand ($MULTI30K_DIR,
else ../shared/data/multi30k, as in conftest.py), else on a built-in toy en-de set, so the app's
tests run on a bare clone too.

    python tests/app_fixtures.py /tmp/fixture_checkpoints   # then CHECKPOINTS_DIR=... app.py
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data.tokenizer import Tokenizer  # noqa: E402
from inference import aligner  # noqa: E402
from inference.checkpoint import save_folder  # noqa: E402
from inference.reference import PRIORS  # noqa: E402
from models import GRUSeq2Seq, RNNSeq2Seq, Transformer  # noqa: E402

# Where conftest.py looks: $MULTI30K_DIR (an empty folder hides the corpus), else ../shared.
CORPUS = Path(os.environ.get("MULTI30K_DIR") or ROOT.parent / "shared" / "data" / "multi30k")
LABELS = {"gru_noattn": "GRU, no attention", "gru_bahdanau": "GRU + Bahdanau attention",
          "lstm_bahdanau": "LSTM + Bahdanau attention", "gru_luong": "GRU + Luong attention",
          "transformer": "Transformer"}
SNAPSHOT_PAIRS = [("A dog runs on the beach.", "Ein Hund rennt am Strand."),
                  ("Two children play soccer in the park.", "Zwei Kinder spielen Fußball im Park.")]
LAYERS, HEADS = 2, 4  # decoder layers (the cross-attention's), heads
ENCODER_LAYERS = 3  # deeper than the decoder, as in the shipped Transformer

_built: dict[str, Path] = {}


# A toy en-de set in Multi30K's style for a bare clone: subject + verb + place, each side a
# real translation of the other, rich enough for the fixtures' 300-piece vocabulary.
# (English, German, plural?)
TOY_SUBJECTS = [
    ("A dog", "Ein Hund", False), ("A brown dog", "Ein brauner Hund", False),
    ("A man", "Ein Mann", False), ("An old man", "Ein alter Mann", False),
    ("A woman", "Eine Frau", False), ("A young woman", "Eine junge Frau", False),
    ("A little girl", "Ein kleines Mädchen", False), ("A boy", "Ein Junge", False),
    ("A group of friends", "Eine Gruppe von Freunden", False),
    ("Two children", "Zwei Kinder", True), ("Two men", "Zwei Männer", True),
    ("Three women", "Drei Frauen", True), ("Several people", "Mehrere Leute", True),
    ("Four dogs", "Vier Hunde", True),
]
# (English singular, English plural, German singular, German plural)
TOY_VERBS = [
    ("runs", "run", "rennt", "rennen"), ("sits", "sit", "sitzt", "sitzen"),
    ("stands", "stand", "steht", "stehen"), ("walks", "walk", "geht", "gehen"),
    ("jumps", "jump", "springt", "springen"), ("waits", "wait", "wartet", "warten"),
    ("smiles", "smile", "lächelt", "lächeln"), ("sings", "sing", "singt", "singen"),
    ("is climbing", "are climbing", "klettert", "klettern"),
    ("is sleeping", "are sleeping", "schläft", "schlafen"),
    ("plays soccer", "play soccer", "spielt Fußball", "spielen Fußball"),
    ("is eating bread", "are eating bread", "isst Brot", "essen Brot"),
    ("is reading a book", "are reading a book", "liest ein Buch", "lesen ein Buch"),
]
TOY_PLACES = [
    ("on the beach", "am Strand"), ("in the park", "im Park"), ("in the city", "in der Stadt"),
    ("on the street", "auf der Straße"), ("in the snow", "im Schnee"),
    ("near the water", "in der Nähe des Wassers"), ("in front of a building", "vor einem Gebäude"),
    ("on a red bench", "auf einer roten Bank"), ("in the green grass", "im grünen Gras"),
    ("at the market", "auf dem Markt"), ("under a blue umbrella", "unter einem blauen Schirm"),
    ("in the kitchen", "in der Küche"), ("on a wooden bridge", "auf einer Holzbrücke"),
    ("next to a yellow car", "neben einem gelben Auto"),
]


def toy_pairs(n: int = 400, seed: int = 0) -> list[tuple[str, str]]:
    """`n` seeded (English, German) sentence pairs from the toy set above."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        (subject_en, subject_de, plural), verb, (place_en, place_de) = (
            rng.choice(TOY_SUBJECTS), rng.choice(TOY_VERBS), rng.choice(TOY_PLACES))
        verb_en, verb_de = (verb[1], verb[3]) if plural else (verb[0], verb[2])
        pairs.append((f"{subject_en} {verb_en} {place_en}.", f"{subject_de} {verb_de} {place_de}."))
    return pairs


def _sentences(corpus: Path = CORPUS) -> list[str]:
    """400 English then 400 German sentences: Multi30K's first lines, else the toy set."""
    if (corpus / "train.en").exists() and (corpus / "train.de").exists():
        lines = []
        for lang in ("en", "de"):
            with open(corpus / f"train.{lang}", encoding="utf-8") as f:
                lines += [next(f).strip() for _ in range(400)]
        return lines
    pairs = toy_pairs(400)
    return [en for en, _ in pairs] + [de for _, de in pairs]


def _models(vocab_size: int) -> dict[str, torch.nn.Module]:
    gru = dict(emb_dim=32, enc_hidden=32, dec_hidden=64, attn_dim=32)
    return {
        "gru_noattn": GRUSeq2Seq(vocab_size, attention="none", **gru),
        "gru_bahdanau": GRUSeq2Seq(vocab_size, attention="bahdanau", query_word=True, **gru),
        "lstm_bahdanau": RNNSeq2Seq(vocab_size, attention="bahdanau", cell="lstm", **gru),
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


# A fake "alignment" result (training.evaluate.alignment_quality's keys) per attention model.
AER = {"gru_bahdanau": 0.3, "lstm_bahdanau": 0.35, "transformer": 0.45}


def alignment_result(aer: float, heads: bool = False) -> dict:
    """A well-formed "alignment" result with this AER (a multi-head model's has a best head)."""
    result = {"reference": "eflomal (fixture)", "sentences": 100, "skipped": 0,
              "attention": "mean of all heads" if heads else "the attention", "aer": aer,
              "precision": round(1 - aer, 4), "recall": round(1 - aer, 4), "links": 900,
              "eos_share": 0.125, "full_stop_share": 0.05}
    if heads:
        result["best_head"] = {"layer": 2, "head": 3, "chosen_on": "test_2016_flickr",
                               "aer": round(aer - 0.1, 4)}
    return result


def _eval(name: str) -> dict:
    drop = {"gru_noattn": 4.0, "gru_bahdanau": 1.5, "transformer": 0.5}.get(name, 1.0)
    buckets = [("1-10", 1, 10), ("11-15", 11, 15), ("16-20", 16, 20), ("21+", 21, 1000)]
    result = {"model": name, "split": "test_2016_flickr", "beam": 5, "bleu": 30.0, "chrf": 55.0,
              "by_length": [{"bucket": b, "min_words": lo, "max_words": hi,
                             "sentences": 100 - 20 * i,
                             "bleu": round(max(35.0 - drop * 3 * i, 0.5), 2)}
                            for i, (b, lo, hi) in enumerate(buckets)]}
    if name in AER:
        result["alignment"] = alignment_result(AER[name], heads=name == "transformer")
    return result


def write_priors(root: Path) -> Path | None:
    """The aligner's priors beside the fixture folders: the shipped file's copy, else learnt on
    the toy set (a second or two), else None where eflomal is not installed."""
    shipped, path = ROOT / "checkpoints" / PRIORS, root / PRIORS
    if shipped.is_file():
        shutil.copyfile(shipped, path)
        return path
    if not aligner.available():
        return None
    pairs = toy_pairs(400)
    with tempfile.TemporaryDirectory() as tmp:  # not under root: a folder there is a model
        run = aligner.align_corpus({"train": ([en for en, _ in pairs], [de for _, de in pairs])},
                                   cache_dir=tmp, rel_iterations=0.2)
        shutil.copyfile(run.priors_path, path)
    return path


def build_checkpoints(root: str | Path) -> Path:
    """Write the five fixture folders under `root` (once per process); returns `root`."""
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
    write_priors(root)
    _built[str(root)] = root
    return root


if __name__ == "__main__":
    print(build_checkpoints(sys.argv[1] if len(sys.argv) > 1 else "/tmp/fixture_checkpoints"))

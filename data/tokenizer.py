"""One joint sentencepiece vocabulary for both languages of a pair.

Joint means the source and target share one set of subword pieces, so the models can share one
embedding matrix (and names, numbers and cognates like "Hund"/"hound" start from shared pieces).
The model is trained on the train split only and cached under a key made from the training text
and the options, so a second run with the same inputs reuses it instead of retraining.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import time
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

log = logging.getLogger(__name__)

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class Tokenizer:
    """A thin face over a sentencepiece model with fixed ids: pad 0, unk 1, bos 2, eos 3."""

    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        if (self.sp.pad_id(), self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id()) != (
            PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise ValueError("This sentencepiece model does not use pad=0, unk=1, bos=2, eos=3.")

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        return cls(Path(path).read_bytes())

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.model_proto)

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Ids of the pieces, without bos/eos."""
        return self.sp.encode(text)

    def encode_pieces(self, text: str) -> tuple[list[int], list[str]]:
        """Ids and their pieces ("▁the", "▁Hund", "e"), the labels a heatmap shows."""
        ids = self.sp.encode(text)
        return ids, [self.sp.id_to_piece(i) for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        """Text from ids; special ids (pad, bos, eos) are left out."""
        return self.sp.decode([i for i in ids if i not in (PAD_ID, BOS_ID, EOS_ID)])

    def id_to_piece(self, i: int) -> str:
        return self.sp.id_to_piece(i)

    @staticmethod
    def train(sentences: Iterable[str], vocab_size: int = 8000, model_type: str = "bpe",
              character_coverage: float = 1.0) -> Tokenizer:
        """Train in memory on `sentences` (both languages' train split)."""
        if model_type not in ("bpe", "unigram"):
            raise ValueError(f"model_type must be 'bpe' or 'unigram', not {model_type!r}.")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive number of pieces, e.g. 8000, "
                             f"not {vocab_size!r}.")
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences), model_writer=model, vocab_size=vocab_size,
                model_type=model_type, character_coverage=character_coverage,
                pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID,
                num_threads=2, minloglevel=2,
            )
        except RuntimeError as err:  # sentencepiece's checks arrive as "INTERNAL: file(line) ..."
            raise ValueError(_training_failure(str(err), vocab_size)) from err
        return Tokenizer(model.getvalue())


def _training_failure(message: str, vocab_size: int) -> str:
    """One sentence for a failed sentencepiece training: what was wrong and what to change."""
    if match := re.search(r"smaller than required_chars\. (\d+) vs (\d+)", message):
        return (f"vocab_size {vocab_size} is too small: the training text needs at least "
                f"{match.group(2)} pieces (one per character and the 4 special ones); "
                "raise vocab_size.")
    if match := re.search(r"Vocabulary size too high.*<= (\d+)", message):
        return (f"vocab_size {vocab_size} is more pieces than the training text can give "
                f"(at most {match.group(1)}); lower vocab_size.")
    if "sentences_.empty()" in message or "all_chars_count" in message:
        return "There is no text to train the tokenizer on: every training sentence is empty."
    return f"sentencepiece could not train a {vocab_size}-piece vocabulary ({message.strip()})."


def train_or_load(sentences: list[str], cache_dir: str | Path, vocab_size: int = 8000,
                  model_type: str = "bpe", character_coverage: float = 1.0) -> Tokenizer:
    """Reuse the cached model trained on exactly these sentences and options, else train one."""
    options = {"vocab_size": vocab_size, "model_type": model_type,
               "character_coverage": character_coverage, "sentencepiece": spm.__version__}
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    for sentence in sentences:
        digest.update(sentence.encode("utf-8"))
        digest.update(b"\n")
    path = Path(cache_dir) / f"spm-{model_type}{vocab_size}-{digest.hexdigest()[:16]}.model"
    if path.exists():
        log.info("Reusing tokenizer %s", path)
        return Tokenizer.load(path)
    start = time.perf_counter()
    tokenizer = Tokenizer.train(sentences, vocab_size, model_type, character_coverage)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tokenizer.save(tmp)
    tmp.replace(path)  # atomic: a crash mid-write never leaves a half model under the real name
    log.info("Trained a %d-piece %s tokenizer on %s sentences in %.1f s: %s",
             tokenizer.vocab_size, model_type, f"{len(sentences):,}",
             time.perf_counter() - start, path)
    return tokenizer

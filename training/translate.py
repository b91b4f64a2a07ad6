"""Translate a file, one sentence a line: `python -m training.translate --model checkpoints/NAME
--input SRC.txt --output HYP.txt [--beam N] [--batch-size N]`.

Several `--model` folders (sharing one spm.model) translate as an ensemble: at every step the
mean of their probabilities, a stronger teacher for distillation than any one of them.

Line N of the output translates line N of the input; an empty line gives an empty line. A line
longer than the model's limit (100 subword pieces) is cut there, and a warning names it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from data.corpus import CorpusError, read_lines
from inference import CheckpointError, Translator, clean_text
from inference.translator import MAX_BEAM, MAX_SOURCE_PIECES


# ---- argument checks shared with training.evaluate and training.export ----------------------
# argparse calls these on the text of an option and prints their message as its one-line error.
def positive_int(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def beam_size(text: str) -> int:
    """A beam of 1 (greedy) to MAX_BEAM, the app's limit: wider beams rarely score higher and
    their memory grows with the beam, so a typo like 1000 would run the machine out of memory."""
    value = positive_int(text)
    if value > MAX_BEAM:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_BEAM} (wider beams rarely help "
                                         f"and can run out of memory), not {value}")
    return value


def length_penalty(text: str) -> float:
    """Beam search's length penalty, a number from 0 (rank by the raw sum of log-probabilities,
    which favours short output) to 3 (far past where it stops helping)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 3.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3, not {text}")
    return value


def output_problem(path: Path, make_folders: bool = False) -> str | None:
    """Why `--output path` cannot be written, found before any work is done; None if it can.
    With `make_folders` missing folders will be created, so the nearest existing one counts."""
    if path.is_dir():
        return f"--output {path} is a folder: give a file name."
    folder = path.parent
    while make_folders and not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        missing = "cannot be made" if make_folders else "does not exist"
        return (f"--output {path}: the folder {path.parent} {missing}; create it first or "
                "pick another path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"--output {path}: the folder {folder} is not writable; pick another path."
    return None


def warn_long_lines(translator: Translator, lines: Sequence[str], where: str) -> list[int]:
    """Warn on stderr about the lines that will be cut to MAX_SOURCE_PIECES; returns their
    numbers (from 1)."""
    ids = translator.tokenizer.sp.encode([clean_text(line) for line in lines])
    numbers = [n for n, pieces in enumerate(ids, start=1) if len(pieces) > MAX_SOURCE_PIECES]
    if numbers:
        shown = ", ".join(str(n) for n in numbers[:20])
        more = f" and {len(numbers) - 20} more" if len(numbers) > 20 else ""
        lines_are = "line" if len(numbers) == 1 else "lines"
        is_are = "is" if len(numbers) == 1 else "are"
        print(f"warning: {lines_are} {shown}{more} of {where} {is_are} longer than "
              f"{MAX_SOURCE_PIECES} subword pieces; only the first {MAX_SOURCE_PIECES} pieces "
              "are translated.", file=sys.stderr)
    return numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.translate",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, nargs="+", metavar="FOLDER",
                        help="a shipped model folder (several: their ensemble)")
    parser.add_argument("--input", required=True, help="source sentences, one a line")
    parser.add_argument("--output", required=True, help="where the translations go")
    parser.add_argument("--beam", type=beam_size, default=5,
                        help=f"beam size, 1 = greedy, at most {MAX_BEAM} (default 5)")
    parser.add_argument("--length-penalty", type=length_penalty, default=None,
                        help="beam search's length penalty (default: the model's config.json, "
                             "else 1.0; an ensemble: 1.0)")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads for torch")
    args = parser.parse_args(argv)
    problem = output_problem(Path(args.output))
    if problem:  # before the model is loaded and the whole file translated
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        translator = (Translator.load(args.model[0]) if len(args.model) == 1
                      else Translator.ensemble(args.model))
        lines = read_lines(args.input)
    except (CheckpointError, CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot read --input {args.input} ({err.strerror}).", file=sys.stderr)
        return 2
    if args.length_penalty is not None:
        translator.length_penalty = args.length_penalty
    warn_long_lines(translator, lines, args.input)
    with tqdm(total=len(lines), unit="sent", desc=f"{translator.name} beam {args.beam}") as bar:
        hyps = translator.translate_batch(lines, beam=args.beam, batch_size=args.batch_size,
                                          progress=bar.update)
    try:
        Path(args.output).write_text("".join(h + "\n" for h in hyps), encoding="utf-8")
    except OSError as err:
        print(f"error: cannot write --output {args.output} ({err.strerror}).", file=sys.stderr)
        return 2
    print(f"{len(hyps)} lines written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

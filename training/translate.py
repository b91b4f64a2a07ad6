"""Translate a file, one sentence a line: `python -m training.translate --model checkpoints/NAME
--input SRC.txt --output HYP.txt [--beam N] [--batch-size N]`.

Line N of the output translates line N of the input; an empty line gives an empty line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from inference import CheckpointError, Translator


def read_lines(path: str | Path) -> list[str]:
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\r\n") for line in f]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a shipped model folder")
    parser.add_argument("--input", required=True, help="source sentences, one a line")
    parser.add_argument("--output", required=True, help="where the translations go")
    parser.add_argument("--beam", type=int, default=5, help="beam size; 1 = greedy (default 5)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        translator = Translator.load(args.model)
        lines = read_lines(args.input)
    except (CheckpointError, OSError, UnicodeDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with tqdm(total=len(lines), unit="sent", desc=f"{translator.name} beam {args.beam}") as bar:
        hyps = translator.translate_batch(lines, beam=args.beam, batch_size=args.batch_size,
                                          progress=bar.update)
    Path(args.output).write_text("".join(h + "\n" for h in hyps), encoding="utf-8")
    print(f"{len(hyps)} lines written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

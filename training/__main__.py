"""`python -m training fit|validate|test|predict --config training/configs/NAME.yaml`."""

import logging
import sys

from data import CorpusError
from inference.checkpoint import CheckpointError
from training.cli import ConfigError, main

sys.argv[0] = "python -m training"
# Our own progress lines (corpus sizes, pairs dropped, tokenizer trained or reused) on stderr.
handler = logging.StreamHandler()
handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
for name in ("data", "training"):
    logging.getLogger(name).addHandler(handler)
    logging.getLogger(name).setLevel(logging.INFO)
try:
    main()
except (ConfigError, CorpusError, CheckpointError, FileNotFoundError) as err:
    # Errors a user causes (a wrong corpus path, a bad language pair, a value training cannot
    # use, a truncated --ckpt_path) get one sentence, no stack trace.
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)

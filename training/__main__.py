"""`python -m training fit|validate|test|predict --config training/configs/NAME.yaml`."""

import sys

from data import CorpusError
from inference.checkpoint import CheckpointError
from training.cli import main

sys.argv[0] = "python -m training"
try:
    main()
except (CorpusError, CheckpointError, FileNotFoundError) as err:
    # Errors a user causes (a wrong corpus path, a bad language pair) get one sentence.
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)

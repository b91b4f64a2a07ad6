"""The inference facade: shipped model folders in, `Translation` objects out.

Names are imported on first use (PEP 562), so `inference.translation` and `inference.metrics`,
which views draw from, load without torch; `Translator` and friends bring torch when asked for.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "CheckpointError": "inference.checkpoint", "load_folder": "inference.checkpoint",
    "save_folder": "inference.checkpoint",
    "InputError": "inference.errors",
    "Translation": "inference.translation", "merge_to_words": "inference.translation",
    "word_groups": "inference.translation", "word_labels": "inference.translation",
    "Translator": "inference.translator", "clean_text": "inference.translation",
    "load_all": "inference.translator", "serve_threads": "inference.translator",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'inference' has no attribute {name!r}")

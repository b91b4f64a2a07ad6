"""The shipped model folders: they load, fit a Space, carry their results, and translate."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import Translator
from inference.checkpoint import folder_size

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p for p in (ROOT / "checkpoints").iterdir() if p.is_dir()) \
    if (ROOT / "checkpoints").is_dir() else []


@pytest.mark.skipif(not SHIPPED, reason="no model folder in checkpoints/")
@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_folder_loads_translates_and_fits_a_space(folder):
    assert folder_size(folder) <= 10 * 2**20
    translator = Translator.load(folder)
    meta = translator.metadata
    assert meta["language_pair"] == "en-de"
    for split in ("val", "test_2016_flickr"):
        assert 0 < meta[split]["bleu"] <= 100 and meta[split]["beam"] == 5
        assert meta[split]["bleu_signature"].startswith("nrefs:1|case:mixed")
    assert (folder / "eval" / "test_2016_flickr-beam5.json").is_file()
    result = translator.translate("A dog runs on the beach.", beam=1)
    assert result.target_pieces[-1] == "</s>" and len(result.text.split()) >= 3
    assert ("cross" in result.alignments) == (folder.name != "gru_noattn")
    assert translator.snapshots and translator.snapshots[-1]["sentences"]

"""The catalogue: the one place a known model's name, label, place in the chapter, colour and
role are written down.

    look = catalogue.look("gru_bahdanau", metadata)   # -> Look(label, order, color, role)

A model folder's metadata.json wins (`training.export` copies the catalogue's entry into it,
so a shipped folder carries its own look); then the entry below; then a generic look (the
folder's name as label, after the chapter's models, no colour of its own). So a new folder
whose metadata names its label, order, colour and role needs no change to the code.

Roles say what part a model plays in the chapter's story. The app picks its defaults by the
numbers where it has them (the lowest validation AER, `inference.reference.cleanest`), else by
role (`reference` here: the first model with additive attention), never by name.
Torch-free: views and the app read it without loading a model.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

BOTTLENECK = "bottleneck"
ADDITIVE = "additive attention"
MULTIPLICATIVE = "multiplicative attention"
SELF_ATTENTION = "self-attention"
ROLES = (BOTTLENECK, ADDITIVE, MULTIPLICATIVE, SELF_ATTENTION)
# The chapter's reference alignment: Bahdanau's additive attention, the first to align.
REFERENCE_ROLE = ADDITIVE
UNLISTED = 1000  # the order of a model neither its metadata nor the catalogue places
KEYS = ("label", "order", "color", "role")  # what export writes into metadata.json
# A colour from a file must be one plotly and CSS both read the same: #RGB or #RRGGBB.
COLOR = re.compile(r"#[0-9A-Fa-f]{3}(?:[0-9A-Fa-f]{3})?")


@dataclass(frozen=True)
class Look:
    label: str
    order: float
    color: str | None  # None: the views give it the next free colour
    role: str | None

    def as_metadata(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


# The order the chapter tells the story in: the bottleneck, then attention, then Transformer.
CATALOGUE: dict[str, Look] = {
    "gru_noattn": Look("GRU, no attention", 0, "#9E9E9E", BOTTLENECK),
    "gru_bahdanau": Look("GRU + Bahdanau attention", 1, "#1F77B4", ADDITIVE),
    "lstm_bahdanau": Look("LSTM + Bahdanau attention", 2, "#9467BD", ADDITIVE),
    "gru_luong": Look("GRU + Luong attention", 3, "#2CA02C", MULTIPLICATIVE),
    "transformer": Look("Transformer", 4, "#D62728", SELF_ATTENTION),
}


def look(name: str, metadata: dict | None = None) -> Look:
    """A model's look: each of label, order, colour and role from its metadata when it gives
    one of the right type, else from the catalogue, else generic."""
    metadata = metadata if isinstance(metadata, dict) else {}
    known = CATALOGUE.get(name, Look(name, UNLISTED, None, None))

    def pick(key: str, kinds: tuple[type, ...]):
        value = metadata.get(key)
        ok = isinstance(value, kinds) and not isinstance(value, bool) and value != ""
        if ok and key == "color":
            ok = bool(COLOR.fullmatch(value))
        if ok and key == "order":
            ok = value == value and abs(value) != float("inf")  # not NaN, finite
        return value if ok else getattr(known, key)

    return Look(pick("label", (str,)), pick("order", (int, float)), pick("color", (str,)),
                pick("role", (str,)))


def order_key(name: str, metadata: dict | None = None) -> tuple[float, str]:
    """Sort key putting models in the chapter's order (ties, and unplaced models, by name)."""
    return (look(name, metadata).order, name)


def folder_metadata(folder: str | Path) -> dict:
    """A folder's metadata.json, or {} when it is missing or unreadable (loading the folder
    is what reports that; ordering only needs a best guess)."""
    try:
        metadata = json.loads((Path(folder) / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def folder_key(folder: str | Path) -> tuple[float, str]:
    """`order_key` for a model folder, from its name and its metadata.json."""
    return order_key(Path(folder).name, folder_metadata(folder))


def first_with_role(looks: dict[str, Look], role: str, among: list[str] | None = None
                    ) -> str | None:
    """The first model (in `among`'s order, default the dict's) playing `role`, or None."""
    names = list(looks) if among is None else among
    return next((n for n in names if n in looks and looks[n].role == role), None)


def reference(looks: dict[str, Look], among: list[str]) -> str | None:
    """The model whose alignment others are ranked against: the first in `among` with the
    reference role, else the first in `among` (None when `among` is empty)."""
    return first_with_role(looks, REFERENCE_ROLE, among) or next(iter(among), None)

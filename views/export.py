"""The matrices on screen as files a learner can download: JSON (nested) and CSV (long)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
import uuid
from pathlib import Path

from views.heatmaps import AlignmentView


def to_json(views: list[AlignmentView], source: str = "") -> str:
    """{"source", "views": [{model, label, kind, view, rows, columns, weights}]}: rows and
    columns are the raw pieces (or words), weights[r][c] the weight row r pays column c."""
    return json.dumps({
        "source": source,
        "views": [{"model": v.model, "label": v.label, "kind": v.kind, "view": v.detail,
                   "rows": list(v.rows), "columns": list(v.columns),
                   "weights": [[round(float(w), 5) for w in row] for row in v.matrix]}
                  for v in views],
    }, ensure_ascii=False, indent=1)


def unit(views: list[AlignmentView]) -> str:
    """"word" when the views merged pieces into words, else "piece": names the CSV's columns."""
    return "word" if views and all(v.detail.endswith("words") for v in views) else "piece"


def to_csv(views: list[AlignmentView]) -> str:
    """One line per cell: model, view, row index, row piece (or word), column index, column
    piece (or word), weight. Starts with a UTF-8 byte-order mark so spreadsheets read ä and ß."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    name = unit(views)
    writer.writerow(["model", "view", "row", f"row_{name}", "column", f"column_{name}", "weight"])
    for v in views:
        for r, row_piece in enumerate(v.rows):
            for c, column_piece in enumerate(v.columns):
                writer.writerow([v.model, v.detail, r, row_piece, c, column_piece,
                                 f"{float(v.matrix[r, c]):.5f}"])
    return out.getvalue()


KEEP_FILES = 40  # the newest downloads kept: a page only offers the files of its last view
KEEP_BYTES = 64 * 2**20


def prune(folder: str | Path, keep_files: int = KEEP_FILES, keep_bytes: int = KEEP_BYTES,
          max_age_s: float = 3600) -> None:
    """Keep only the newest downloads (at most `keep_files` files and `keep_bytes` bytes, none
    older than `max_age_s`), so a public app's disk use stays bounded however many ask."""
    files = []
    for path in Path(folder).glob("*.*"):
        try:
            stat = path.stat()
            files.append((stat.st_mtime, stat.st_size, path))
        except OSError:  # another request removed it first
            pass
    cutoff, total = time.time() - max_age_s, 0
    for rank, (mtime, size, path) in enumerate(sorted(files, reverse=True)):
        total += size
        if rank >= keep_files or total > keep_bytes or mtime < cutoff:
            with contextlib.suppress(OSError):
                path.unlink()


def write_downloads(views: list[AlignmentView], source: str, folder: str | Path,
                    stem: str = "alignments") -> tuple[str, str] | tuple[None, None]:
    """Write both files under `folder` with a fresh name; (json_path, csv_path), or Nones if
    there is nothing to download."""
    if not views:
        return None, None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prune(folder)
    name = f"{stem}-{uuid.uuid4().hex[:8]}"
    json_path, csv_path = folder / f"{name}.json", folder / f"{name}.csv"
    json_path.write_text(to_json(views, source), encoding="utf-8")
    csv_path.write_text(to_csv(views), encoding="utf-8")
    prune(folder)
    return str(json_path), str(csv_path)

"""The matrices on screen as files a learner can download: JSON (nested) and CSV (long)."""

from __future__ import annotations

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


def to_csv(views: list[AlignmentView]) -> str:
    """One line per cell: model, view, row index, row piece, column index, column piece, weight."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["model", "view", "row", "row_piece", "column", "column_piece", "weight"])
    for v in views:
        for r, row_piece in enumerate(v.rows):
            for c, column_piece in enumerate(v.columns):
                writer.writerow([v.model, v.detail, r, row_piece, c, column_piece,
                                 f"{float(v.matrix[r, c]):.5f}"])
    return out.getvalue()


def prune(folder: str | Path, max_age_s: float = 3600) -> None:
    """Delete downloads older than `max_age_s`, so a long-running app does not fill its disk."""
    cutoff = time.time() - max_age_s
    for path in Path(folder).glob("*.*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:  # another request removed it first
            pass


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
    return str(json_path), str(csv_path)

"""The README's results table, read from the shipped model folders' metadata.

    python bench/results_table.py [--checkpoints checkpoints]

Prints a Markdown table (parameters, folder size, training wall time and hardware, val and
test_2016_flickr BLEU/chrF with the beam used, and the command that reproduces each row) next
to published figures, and a by-length BLEU table from each folder's eval JSON. Writes
bench/results/results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference import catalogue  # noqa: E402
from inference.checkpoint import folder_size, read_eval  # noqa: E402

PUBLISHED = [
    ("bentrevett/pytorch-seq2seq, GRU + Bahdanau (de→en)", "28.3"),
    ("bentrevett/pytorch-seq2seq, Transformer (de→en)", "36.5"),
    ("Wu et al. 2021, Transformer-tiny (en→de)", "41.0"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    args = parser.parse_args()
    root = Path(args.checkpoints)
    names = [p.name for p in sorted((p for p in root.iterdir() if (p / "metadata.json").exists()),
                                    key=catalogue.folder_key)]
    rows = []
    for name in names:
        meta = json.loads((root / name / "metadata.json").read_text())
        rows.append({**meta, "folder_bytes": folder_size(root / name)})
    print("| model | parameters | size | training to the shipped checkpoint | how | "
          "val BLEU / chrF | "
          "test_2016 BLEU / chrF | test_2016 BLEU (lowercased) | reproduce |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |")
    for r in rows:
        val, test = r.get("val", {}), r.get("test_2016_flickr", {})
        beam = test.get("beam", val.get("beam", "?"))
        print(f"| {r['label']} | {r['parameters'] / 1e6:.2f} M | "
              f"{r['folder_bytes'] / 2**20:.1f} MiB ({r.get('weights')}) | "
              f"{r.get('train_seconds', 0) / 60:.0f} min, {r.get('epochs')} epochs | "
              f"{r.get('note') or r.get('hardware', '')} | "
              f"{val.get('bleu', float('nan')):.1f} / {val.get('chrf', float('nan')):.1f} | "
              f"**{test.get('bleu', float('nan')):.1f}** / {test.get('chrf', float('nan')):.1f} | "
              f"{test.get('bleu_lowercase', float('nan')):.1f} | `{r.get('command', '')}` "
              f"(beam {beam}) |")
    for label, bleu in PUBLISHED:
        print(f"| {label} | | | | | | {bleu} (published) | | |")
    if rows:
        signature = rows[0].get("test_2016_flickr", {}).get("bleu_signature", "")
        print(f"\nsacreBLEU signature: `{signature}`")
    print("\nBLEU by source length (test_2016_flickr, beam 5):\n")
    by_length = {}
    for name in names:
        result = read_eval(root / name, splits=("test_2016_flickr",))
        if result:
            by_length[name] = result["by_length"]
    if by_length:
        buckets = [row["bucket"] for row in next(iter(by_length.values()))]
        print("| words | " + " | ".join(buckets) + " |")
        print("| --- |" + " ---: |" * len(buckets))
        counts = [str(row["sentences"]) for row in next(iter(by_length.values()))]
        print("| sentences | " + " | ".join(counts) + " |")
        for name, buckets_rows in by_length.items():
            label = next(r["label"] for r in rows if r["name"] == name)
            print(f"| {label} | " + " | ".join(f"{b['bleu']:.1f}" for b in buckets_rows) + " |")
    out = ROOT / "bench" / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"models": rows, "by_length": by_length}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

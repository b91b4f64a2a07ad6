"""The chapter's live views through the API, as a person's browser calls them.

    python bench/chapter_latency.py [--checkpoints checkpoints] [--calls 5]

Launches `python app.py` on the shipped models (as bench/app_latency.py does), then times one
gradio_client call per endpoint on 15-word sentences: /gates, /gradient_flow, /saliency and
/qkv (each with its defaults: every model, the reference translation as the common target),
and /recall_lab (the live recall experiment, no sentence). Each figure is the round trip,
model work and plot JSON included; median and worst over --calls calls after one warm-up.
Targets (issue #10): each sentence endpoint <= 1 s, the recall lab <= 15 s.

Prints a table and writes bench/results/chapter_latency.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from app_latency import launch, write_result  # noqa: E402 (bench scripts stand alone)

# Three 15-word caption-like sentences.
SENTENCES = [
    "A man in a red jacket walks his two dogs along the beach at sunset.",
    "Two young girls in blue dresses are playing with a ball in the green park.",
    "An old woman sits on a wooden bench and feeds the birds near the fountain.",
]
assert all(len(s.split()) == 15 for s in SENTENCES)
ENDPOINTS = {"/gates": 1.0, "/gradient_flow": 1.0, "/saliency": 1.0, "/qkv": 1.0,
             "/recall_lab": 15.0}  # target seconds


def time_endpoint(client, api_name: str, calls: int) -> dict:
    """Median and worst seconds of `calls` calls after one warm-up; what the first output
    (the JSON object) held, to show the call did its work."""
    def call(i: int):
        if api_name == "/recall_lab":
            return client.predict(api_name=api_name)
        return client.predict(SENTENCES[i % len(SENTENCES)], api_name=api_name)

    first = call(0)
    times = []
    for i in range(calls):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    answer = first[0] if isinstance(first, (list, tuple)) else first
    return {"calls": calls, "median_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3), "keys": sorted(answer)[:8]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--recall-calls", type=int, default=2)
    parser.add_argument("--output",
                        default=str(ROOT / "bench" / "results" / "chapter_latency.json"))
    args = parser.parse_args(argv)

    from gradio_client import Client

    checkpoints = Path(args.checkpoints).resolve()
    process, url, _ = launch(checkpoints)
    rows = []
    try:
        client = Client(url, verbose=False)
        for api_name, target in ENDPOINTS.items():
            calls = args.recall_calls if api_name == "/recall_lab" else args.calls
            row = {"endpoint": api_name, "target_s": target,
                   **time_endpoint(client, api_name, calls)}
            row["meets_target"] = row["max_s"] <= target
            rows.append(row)
    finally:
        process.terminate()
        process.wait(timeout=30)

    print(f"Chapter views through the API ({checkpoints}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}; 15-word sentences)")
    print(f"{'endpoint':<16}{'calls':>6}{'median s':>10}{'worst s':>10}{'target s':>10}  met")
    for row in rows:
        print(f"{row['endpoint']:<16}{row['calls']:>6}{row['median_s']:>10.3f}"
              f"{row['max_s']:>10.3f}{row['target_s']:>10.1f}  "
              f"{'yes' if row['meets_target'] else 'NO'}")
    result = {"checkpoints": str(checkpoints), "sentences": SENTENCES, "rows": rows,
              "machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "load_average": os.getloadavg()},
              "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_result(result, Path(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The app's memory under traffic from many new sessions, as a public Space sees it.

    python bench/app_memory.py [--checkpoints checkpoints] [--requests 400] [--sessions 64]

Starts `python app.py` on the model folders, then sends --requests calls, each from a new
session (as every API caller is): /translate of a long, distinct sentence, and every seventh an
/align to a given German target. Prints the server's resident memory (RSS) after the first
request and every 50 after it, and writes bench/results/app_memory.json. Target: less than
50 MB of growth over 300 requests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gradio_client import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.app_latency import free_port  # noqa: E402

LONG = ("A man in a blue jacket and a woman with a small child are waiting at the bus stop next "
        "to a market where people are selling fruit and flowers while two dogs play {i} .")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--sessions", type=int, default=64, help="APP_SESSIONS for the server")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "app_memory.json"))
    args = parser.parse_args()

    port = free_port()
    env = {**os.environ, "CHECKPOINTS_DIR": args.checkpoints, "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
           "APP_SESSIONS": str(args.sessions)}
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    points = []
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        client = Client(url, verbose=False)
        for i in range(args.requests):
            client.reset_session()
            if i % 7 == 0:
                client.predict(LONG.format(i=i), "__own__", f"Ein Mann wartet {i} .",
                               api_name="/align")
            else:
                client.predict(LONG.format(i=i), 1, api_name="/translate")
            if i % 50 == 0 or i == args.requests - 1:
                points.append({"requests": i + 1, "rss_mb": round(rss_mb(process.pid), 1)})
    finally:
        process.terminate()
        process.wait(timeout=30)

    print(f"{'requests':>10}{'RSS MB':>10}{'growth MB':>12}")
    for p in points:
        print(f"{p['requests']:>10}{p['rss_mb']:>10.1f}{p['rss_mb'] - points[0]['rss_mb']:>12.1f}")
    at_300 = next((p for p in points if p["requests"] >= 301), points[-1])
    growth = at_300["rss_mb"] - points[0]["rss_mb"]
    print(f"growth from the first request to {at_300['requests']}: {growth:.1f} MB (target < 50)")
    Path(args.output).write_text(json.dumps({"checkpoints": args.checkpoints,
                                             "sessions": args.sessions, "points": points},
                                            indent=2))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

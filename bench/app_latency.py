"""The app as a person meets it: time to ready, one translation through the API, a crowd.

    python bench/app_latency.py [--checkpoints checkpoints] [--calls 30] [--clients 20]

1. Launch to ready: `python app.py` in a subprocess on a free port, timed from start until
   its page answers HTTP 200 (imports, model loading and the app's build included).
2. Round trip: `gradio_client.Client(url).predict(sentence, api_name="/translate")`, every
   shipped model with its heatmap, median and p95 over --calls calls (after two warm-ups),
   cycling through a few caption-like sentences.
3. Crowd: --clients clients at once, --requests each; how many got an answer, and the wall time.

Prints a table and writes bench/results/app_latency.json. Targets: ready <= 8 s, round trip
<= 300 ms median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = [
    "A brown dog runs through the snow.",
    "Two men are playing soccer on a green field.",
    "A woman with a red umbrella walks down a busy street.",
    "A young boy in a blue shirt jumps into the lake.",
]
TARGETS = {"ready_s": 8.0, "round_trip_median_ms": 300.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(checkpoints: Path, timeout: float = 120.0) -> tuple[subprocess.Popen, str, float]:
    """Start `python app.py`; return the process, its URL and the seconds until HTTP 200."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "CHECKPOINTS_DIR": str(checkpoints), "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError("app.py exited:\n" + process.stderr.read().decode()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return process, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"app.py did not answer within {timeout:.0f} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def round_trips(url: str, calls: int) -> dict:
    from gradio_client import Client

    client = Client(url, verbose=False)
    first = client.predict(SENTENCES[0], api_name="/translate")
    client.predict(SENTENCES[1], api_name="/translate")
    times = []
    for i in range(calls):
        start = time.perf_counter()
        client.predict(SENTENCES[i % len(SENTENCES)], api_name="/translate")
        times.append((time.perf_counter() - start) * 1000)
    return {"calls": calls, "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1), "models": list(first[0]),
            "plots": sum(isinstance(o, dict) and o.get("type") == "plotly" for o in first)}


def crowd(url: str, clients: int, requests: int) -> dict:
    from gradio_client import Client

    def person(i: int) -> tuple[int, list[str]]:
        answered, errors = 0, []
        try:
            client = Client(url, verbose=False)
        except Exception as err:  # counted, not raised: the point is how many get answers
            return 0, [f"connect: {type(err).__name__}: {err}"]
        for j in range(requests):
            try:
                out = client.predict(SENTENCES[(i + j) % len(SENTENCES)], api_name="/translate")
                answered += bool(out[0])
            except Exception as err:
                errors.append(f"{type(err).__name__}: {err}")
        return answered, errors

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(person, range(clients)))
    errors = [e for _, errs in results for e in errs]
    return {"clients": clients, "requests_each": requests, "sent": clients * requests,
            "answered": sum(a for a, _ in results), "errors": errors[:5],
            "wall_s": round(time.perf_counter() - start, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "app_latency.json"))
    args = parser.parse_args(argv)

    checkpoints = Path(args.checkpoints).resolve()
    process, url, ready_s = launch(checkpoints)
    try:
        try:
            trips = round_trips(url, args.calls)
        except Exception as err:  # e.g. no model shipped: report it, still time the launch
            trips = {"error": f"{type(err).__name__}: {err}"}
        people = crowd(url, args.clients, args.requests) if "error" not in trips else {}
    finally:
        process.terminate()
        process.wait(timeout=30)

    result = {
        "checkpoints": str(checkpoints), "ready_s": round(ready_s, 2), "round_trip": trips,
        "crowd": people, "targets": TARGETS,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(f"App latency ({checkpoints}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f})")
    print(f"{'measure':<34}{'value':>14}{'target':>12}")
    print(f"{'launch to ready (s)':<34}{ready_s:>14.2f}{'<= 8':>12}")
    if "error" in trips:
        print(f"round trip: {trips['error']}")
    else:
        print(f"{'models / heatmaps per call':<34}{len(trips['models']):>10} / {trips['plots']:<2}")
        print(f"{'translate round trip median (ms)':<34}{trips['median_ms']:>14.1f}{'<= 300':>12}")
        print(f"{'translate round trip p95 (ms)':<34}{trips['p95_ms']:>14.1f}")
        print(f"{'crowd answered':<34}{people['answered']:>8} of {people['sent']:<4}"
              f"{'all':>12}")
        print(f"{'crowd wall time (s)':<34}{people['wall_s']:>14.2f}")
    write_result(result, Path(args.output))
    return 0


def write_result(result: dict, output: Path) -> None:
    """The measurements as JSON, with the folder made if need be; says where."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1))
    print(f"written to {output}")


if __name__ == "__main__":
    sys.exit(main())

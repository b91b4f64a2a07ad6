"""The chapter's lab: BLEU by sentence length, and the O(n^2) cost of self-attention.

Each figure comes with a caption computed from the same numbers, so the text never claims more
than the bars and lines show.
"""

from __future__ import annotations

import plotly.graph_objects as go

from inference import catalogue
from views.style import (
    BOTTOM_LEGEND,
    axis,
    base_layout,
    escape,
    md_escape,
    model_color,
    role_color,
)

SCALING_HEADERS = ["n", "attention ms", "GRU ms", "weights MB", "attention MB", "GRU MB"]
MIN_BUCKET = 20  # a length bucket with fewer sentences is too noisy to quote in a caption
MB = 1 / 2**20


# ---- BLEU by sentence length --------------------------------------------------------------------
def _usable(evals: dict[str, tuple[str, dict]]) -> dict[str, tuple[str, dict]]:
    return {name: e for name, e in evals.items() if e[1] and e[1].get("by_length")}


def bucket_label(row: dict) -> str:
    """An x-axis label with the bucket's size printed under it (not only on hover)."""
    size = row.get("sentences")
    return escape(str(row["bucket"])) + (f"<br>n={size}" if isinstance(size, int) else "")


def bleu_by_length_figure(evals: dict[str, tuple[str, dict]],
                          colors: dict[str, str] | None = None) -> go.Figure | None:
    """Grouped bars: BLEU per source-length bucket, one colour per model; each bucket's number
    of sentences under its label.

    evals: name -> (label, eval JSON with "by_length": [{bucket, sentences, bleu}, ...]);
    colors: name -> colour (default `model_color`). None when no model has results by length.
    """
    evals = _usable(evals)
    if not evals:
        return None
    figure = go.Figure()
    for i, (name, (label, result)) in enumerate(evals.items()):
        rows = result["by_length"]
        figure.add_trace(go.Bar(
            x=[bucket_label(r) for r in rows], y=[r["bleu"] for r in rows],
            name=escape(label), marker_color=(colors or {}).get(name) or model_color(name, i),
            customdata=[r.get("sentences", "") for r in rows],
            hovertemplate=(f"{escape(label)}<br>%{{x}} words: BLEU %{{y:.1f}}"
                           "<br>%{customdata} sentences<extra></extra>")))
    first = next(iter(evals.values()))[1]
    split = escape(f"{first.get('split', 'test')}, beam {first.get('beam', '?')}")
    figure.update_layout(**base_layout(
        barmode="group", height=460, margin=dict(l=50, r=20, t=50, b=40),
        title=dict(text=f"BLEU by source length<br><sup>{split}</sup>", x=0, xanchor="left"),
        legend=BOTTOM_LEGEND))
    figure.update_xaxes(**axis(title_text="words per sentence (n = sentences)",
                               showgrid=False, autotickangles=[0, -90]))
    figure.update_yaxes(**axis(title_text="BLEU", rangemode="tozero"))
    return figure


def bleu_by_length_summary(evals: dict[str, tuple[str, dict]]) -> str:
    """How much of its short-sentence BLEU each model keeps on long sentences, in Markdown.

    Compares the first bucket with the longest one holding at least MIN_BUCKET sentences, and
    names the buckets too small to quote."""
    evals = _usable(evals)
    if not evals:
        return ""
    buckets = next(iter(evals.values()))[1]["by_length"]
    sizes = [r.get("sentences") if isinstance(r.get("sentences"), int) else 0 for r in buckets]
    long = max((i for i in range(1, len(buckets)) if sizes[i] >= MIN_BUCKET), default=None)
    if long is None:
        return "*Too few long sentences in the test set to compare lengths.*"
    short = buckets[0]
    drops = []
    for label, result in evals.values():
        rows = {r["bucket"]: r for r in result["by_length"]}
        a, b = rows.get(short["bucket"]), rows.get(buckets[long]["bucket"])
        if a and b and a["bleu"] > 0:
            drops.append((1 - b["bleu"] / a["bleu"], label, a["bleu"], b["bleu"]))
    if not drops:
        return ""
    drops.sort(key=lambda d: -d[0])

    def change(drop: float) -> str:
        return f"loses {drop:.0%}" if drop >= 0 else f"gains {-drop:.0%}"

    parts = [f"**{md_escape(label)}** {change(d)}" + (" of its short-sentence BLEU" if i == 0
                                                     else "") + f" ({a:.1f} → {b:.1f})"
             for i, (d, label, a, b) in enumerate(drops)]
    text = (f"From {md_escape(short['bucket'])} words ({sizes[0]} sentences) to "
            f"{md_escape(buckets[long]['bucket'])} words ({sizes[long]} sentences): "
            + "; ".join(parts) + ".")
    if len(drops) > 1:
        text += (f" Largest loss: {md_escape(drops[0][1])}; smallest: "
                 f"{md_escape(drops[-1][1])}.")
    small = [f"{md_escape(r['bucket'])} ({sizes[i]})" for i, r in enumerate(buckets)
             if sizes[i] < MIN_BUCKET]
    if small:
        text += (f" Not quoted, under {MIN_BUCKET} sentences each: {', '.join(small)}; "
                 "their bars swing widely from one sentence to the next.")
    return text


# ---- the O(n^2) lab ---------------------------------------------------------------------------
def scaling_lengths(longest: int, shortest: int = 16) -> list[int]:
    """The lengths to measure: doubling from `shortest` up to `longest`, which is always last."""
    longest = max(int(longest), 2)
    lengths = []
    n = min(shortest, longest)
    while n < longest:
        lengths.append(n)
        n *= 2
    return lengths + [longest]


def weights_bytes(n: int, batch: int = 1, heads: int = 8) -> int:
    """The float32 (B, H, n, n) attention weights of one layer."""
    return int(batch) * int(heads) * int(n) ** 2 * 4


def _guide(ns: list[int], anchor_n: int, anchor_value: float, power: int) -> list[float]:
    """A c * n^power line through one measured point: the growth rate to compare against."""
    return [anchor_value * (n / anchor_n) ** power for n in ns]


# Each series takes the colour of the shipped model playing its part (see views.style.role_color).
SERIES = (("self-attention", catalogue.SELF_ATTENTION, "attention_ms", "attention_bytes"),
          ("GRU", catalogue.ADDITIVE, "gru_ms", "gru_bytes"))


def _panel(rows: list[dict], which: int, title: str, y_title: str,
           looks: dict[str, catalogue.Look] | None = None) -> go.Figure:
    """One panel (which 2: time, 3: memory) with both series and their n and n^2 guides."""
    ns = [r["n"] for r in rows]
    scale = 1.0 if which == 2 else MB
    figure = go.Figure()
    for name, role, *keys in SERIES:
        key = keys[which - 2]
        figure.add_trace(go.Scatter(
            x=ns, y=[r[key] * scale for r in rows], name=name, mode="lines+markers",
            line=dict(color=role_color(role, looks)),
            hovertemplate=f"{name}<br>n %{{x}}<br>%{{y:.3g}}<extra></extra>"))
    if which == 3:
        figure.add_trace(go.Scatter(
            x=ns, y=[r["attention_weights_bytes"] * MB for r in rows],
            name="attention weights alone (B·H·n·n·4 bytes)", mode="lines+markers",
            line=dict(color=role_color(catalogue.SELF_ATTENTION, looks), dash="dot")))
    # Guides through the last point of each series: the slope n or n^2 would have.
    for power, (name, _, *keys) in ((2, SERIES[0]), (1, SERIES[1])):
        key = keys[which - 2]
        last = rows[-1]
        figure.add_trace(go.Scatter(
            x=ns, y=[v * scale for v in _guide(ns, last["n"], last[key], power)],
            name=f"∝ n{'²' if power == 2 else ''} (through {name}'s last point)",
            mode="lines", line=dict(color="#888", dash="dash" if power == 2 else "dot",
                                    width=1), hoverinfo="skip"))
    figure.update_xaxes(**axis(type="log", title_text="sequence length n", tickvals=ns,
                               autotickangles=[0, -90]))
    figure.update_yaxes(**axis(type="log", dtick=1, title_text=y_title,
                               minor=dict(showgrid=True, gridcolor="#F3F5F8")))
    figure.update_layout(**base_layout(
        height=460, title=dict(text=title, x=0, xanchor="left", font=dict(size=14)),
        margin=dict(l=60, r=30, t=50, b=40),
        legend=BOTTOM_LEGEND))
    return figure


def scaling_figures(rows: list[dict], statistic: str = "min of 5 runs",
                    looks: dict[str, catalogue.Look] | None = None
                    ) -> tuple[go.Figure, go.Figure] | tuple[None, None]:
    """Two log-log panels against n, each with dashed n² and dotted n guides: time of one
    pass (measured) and memory of one pass (counted from tensor sizes). Series take the
    colours of the models in `looks` that play their part (default: the catalogue's)."""
    if not rows:
        return None, None
    return (_panel(rows, 2, f"Time of one pass ({escape(statistic)})", "milliseconds", looks),
            _panel(rows, 3, "Memory of one pass (counted)", "MB", looks))


def scaling_rows(rows: list[dict]) -> list[list]:
    return [[r["n"], round(r["attention_ms"], 2), round(r["gru_ms"], 2),
             round(r["attention_weights_bytes"] * MB, 3), round(r["attention_bytes"] * MB, 3),
             round(r["gru_bytes"] * MB, 3)] for r in rows]


def crossover(rows: list[dict], a: str, b: str) -> int | None:
    """The first n from which `a` stays above `b` to the end (None: never, or from the start)."""
    above = [r[a] > r[b] for r in rows]
    if not any(above) or all(above):
        return None
    last_below = max(i for i, x in enumerate(above) if not x)
    return rows[last_below + 1]["n"] if last_below + 1 < len(rows) else None


def scaling_summary(rows: list[dict], memory_note: str = "") -> str:
    """What the measurements say, in Markdown: how each grew from the shortest to the longest
    n, which was faster where, and where the n² term took over; `memory_note` says how memory
    was obtained."""
    if len(rows) < 2:
        return ""
    a, b = rows[0], rows[-1]
    k = b["n"] / a["n"]

    def grew(key: str) -> str:
        return f"×{b[key] / a[key]:.0f}" if a[key] > 0 else "n/a"

    text = (f"From n = {a['n']} to n = {b['n']} (×{k:.0f} longer): attention memory grew "
            f"{grew('attention_bytes')} (n² alone would be ×{k * k:.0f}), GRU memory "
            f"{grew('gru_bytes')} (n alone: ×{k:.0f}); time grew {grew('attention_ms')} for "
            f"attention and {grew('gru_ms')} for the GRU.")
    faster = [r["n"] for r in rows if r["attention_ms"] < r["gru_ms"]]
    slower = [r["n"] for r in rows if r["attention_ms"] >= r["gru_ms"]]
    turn = crossover(rows, "attention_ms", "gru_ms")
    if not slower:
        text += (f" Attention was faster at every n measured (at n = {b['n']}: "
                 f"{b['attention_ms']:.1f} ms against {b['gru_ms']:.1f} ms): its n² work is "
                 "a few large matrix products, while the GRU's n steps wait for each other. "
                 "Measure longer n to see the n² term overtake.")
    elif not faster:
        text += (f" Attention was slower at every n measured (at n = {a['n']}: "
                 f"{a['attention_ms']:.2f} ms against {a['gru_ms']:.2f} ms).")
    elif turn is not None and any(x < turn for x in faster):
        text += (f" Attention was faster up to n = {max(x for x in faster if x < turn)} and "
                 f"slower from n = {turn} on (at n = {b['n']}: {b['attention_ms']:.1f} ms "
                 f"against {b['gru_ms']:.1f} ms): there the n² work outgrows the cost of "
                 "running n steps one after another.")
    else:
        text += (f" Faster at n = {', '.join(map(str, faster))}, slower at "
                 f"n = {', '.join(map(str, slower))}: the timings cross back and forth (a "
                 "shared machine is noisy; measure again).")
    if memory_note:
        text += f"  \n<small>{escape(memory_note[:1].upper() + memory_note[1:])}.</small>"
    return text

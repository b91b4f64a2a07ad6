"""The recall lab's figures: accuracy against the distance L, and how much gradient reaches k
steps back, with a caption computed from the same numbers.

Drawn from what /recall_lab returns (`inference.recall.run_recall_lab`): {"rnn" | "lstm" |
"gru": {"length", "accuracy", "steps", "chance", "gradient_length", "gradient_init",
"gradient_trained"}}, so the figures show exactly the API's numbers.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from views.style import BOTTOM_LEGEND, EXTRA_COLORS, NEUTRAL, axis, base_layout, model_color
from views.text import CELL_NAMES

# The gated cells take the colour of the shipped model built on them; the tanh RNN one of its own.
CELL_COLORS = {"rnn": EXTRA_COLORS[0], "lstm": model_color("lstm_bahdanau"),
               "gru": model_color("gru_bahdanau")}
MARKERS = {"rnn": "circle", "lstm": "square", "gru": "diamond"}  # apart where lines overlap
ORDER = ("rnn", "lstm", "gru")  # the chapter's order: no gate, then the two gated cells
RECALLED = 0.9  # a cell "recalls" the symbol at L when at least this share is right


def intro(symbols: int, hidden: int) -> str:
    """The lab's caption: the task and what to look for."""
    return (
        "**The recall lab: can a recurrent cell remember a symbol it saw L steps ago?** Each "
        f"sequence is L random symbols out of {symbols}; the first is marked, and after the "
        f"last one the network must name it (guessing gets 1/{symbols}). A tanh RNN, an LSTM "
        f"and a GRU ({hidden} units each) are trained live for each L, from the same start, in "
        "a few seconds on one CPU thread. **What to look for:** the L at which each cell stops "
        "recalling, and on the right how much of the gradient at the last step still reaches "
        "the marked one. Each step back multiplies the tanh RNN's gradient by W_hhᵀ·diag(1 − "
        "h²), so it shrinks exponentially; the LSTM's cell c = f·c₋₁ + i·g and the GRU's "
        "state h = z·h₋₁ + (1 − z)·n pass it back through a sum, scaled only by a gate that "
        "can sit near 1.")


def _pct(share: float) -> str:
    return f"{share:.0%}"


def _num(value: float) -> str:
    """A gradient gain in two significant digits ("0.19", "1.8e-13")."""
    return "0" if value == 0 else f"{value:.2g}"


def _cells(result: dict) -> list[str]:
    return [cell for cell in ORDER if cell in result] + [
        cell for cell in result if cell not in ORDER]


def _label(cell: str) -> str:
    return CELL_NAMES.get(cell, cell)


# ---- accuracy against L -------------------------------------------------------------------------
def accuracy_figure(result: dict) -> go.Figure | None:
    """Share recalled against L, a line per cell, with chance and the RECALLED bar marked."""
    cells = _cells(result)
    if not cells:
        return None
    figure = go.Figure()
    for i, cell in enumerate(cells):
        row = result[cell]
        figure.add_trace(go.Scatter(
            x=row["length"], y=row["accuracy"], name=_label(cell), mode="lines+markers",
            legendgroup=cell, line=dict(color=CELL_COLORS.get(cell, EXTRA_COLORS[i]), width=2.5),
            marker=dict(size=9, symbol=MARKERS.get(cell, "circle")), customdata=row.get("steps"),
            hovertemplate=(f"{_label(cell)}<br>L = %{{x}}: %{{y:.0%}} recalled"
                           + ("<br>%{customdata} updates" if row.get("steps") else "")
                           + "<extra></extra>")))
    first = result[cells[0]]
    chance = first.get("chance")
    if chance:
        figure.add_hline(y=chance, line=dict(color=NEUTRAL, dash="dash", width=1),
                         annotation_text=f"chance ({_pct(chance)})",
                         annotation_position="top left")
    figure.add_hline(y=RECALLED, line=dict(color=NEUTRAL, dash="dot", width=1),
                     annotation_text=f"{_pct(RECALLED)}: counted as recalled",
                     annotation_position="bottom left")
    figure.update_xaxes(**axis(title_text="L: steps from the marked symbol to the answer",
                               tickvals=first["length"]))
    figure.update_yaxes(**axis(title_text="share recalled (test sequences)", tickformat=".0%",
                               range=[0, 1.05]))
    figure.update_layout(**base_layout(
        height=440, margin=dict(l=60, r=20, t=50, b=40), legend=BOTTOM_LEGEND,
        title=dict(text="Recall against distance", x=0, xanchor="left", font=dict(size=14))))
    return figure


# ---- the gradient k steps back ------------------------------------------------------------------
def gradient_figure(result: dict) -> go.Figure | None:
    """gain(k) = ||dh_T/ds_{T-k}||_F / sqrt(H) against k on a log axis, for the longest L:
    dashed at initialisation, solid after training, a colour per cell."""
    cells = [c for c in _cells(result) if result[c].get("gradient_trained")]
    if not cells:
        return None
    figure = go.Figure()
    for i, cell in enumerate(cells):
        row = result[cell]
        color = CELL_COLORS.get(cell, EXTRA_COLORS[i])
        for key, when, dash, width in (("gradient_init", "at initialisation", "dash", 1.5),
                                       ("gradient_trained", "trained", "solid", 2.5)):
            gains = row.get(key) or []
            # A log axis cannot show 0: leave a gap where a gradient underflowed.
            figure.add_trace(go.Scatter(
                x=list(range(len(gains))), y=[g if g > 0 else None for g in gains],
                name=f"{_label(cell)}, {when}", mode="lines", legendgroup=cell,
                line=dict(color=color, dash=dash, width=width),
                hovertemplate=(f"{_label(cell)}, {when}<br>k = %{{x}} steps back: "
                               "%{y:.2g}<extra></extra>")))
    length = result[cells[0]]["gradient_length"]
    figure.add_vline(x=length - 1, line=dict(color=NEUTRAL, dash="dot", width=1),
                     annotation_text="the marked step", annotation_position="top left")
    figure.update_xaxes(**axis(title_text="k = T − t: steps back from the last state"))
    figure.update_yaxes(**axis(type="log", exponentformat="power",
                               title_text="‖∂h_T / ∂s_(T−k)‖ / √H"))
    figure.update_layout(**base_layout(
        height=440, margin=dict(l=70, r=20, t=50, b=40), legend=BOTTOM_LEGEND,
        title=dict(text=f"How much gradient reaches k steps back (L = {length})", x=0,
                   xanchor="left", font=dict(size=14))))
    return figure


# ---- the caption --------------------------------------------------------------------------------
def first_failure(lengths: list[int], accuracy: list[float]) -> int | None:
    """The first L at which fewer than RECALLED are recalled (None: recalled at every L)."""
    return next((L for L, a in zip(lengths, accuracy) if a < RECALLED), None)


def _accuracy_phrase(cell: str, row: dict) -> str:
    lengths, accuracy = row["length"], row["accuracy"]
    label = f"**{_label(cell)}**"
    failed = first_failure(lengths, accuracy)
    if failed is None:
        low, high = _pct(min(accuracy)), _pct(max(accuracy))
        span = low if low == high else f"{low} to {high}"
        return f"{label} recalls it at every L up to {lengths[-1]} ({span})"
    i = lengths.index(failed)
    if i == 0:
        return f"{label} recalls it at no L from {lengths[0]} on: " + ", ".join(
            f"{_pct(a)} at L = {L}" for L, a in zip(lengths, accuracy))
    text = (f"{label} recalls it up to L = {lengths[i - 1]} ({_pct(accuracy[i - 1])}), then "
            f"{_pct(accuracy[i])} at L = {failed}")
    if i < len(lengths) - 1:
        text += f" and {_pct(accuracy[-1])} at L = {lengths[-1]}"
    return text


def _who_fails_first(result: dict, cells: list[str]) -> str:
    failures = {c: first_failure(result[c]["length"], result[c]["accuracy"]) for c in cells}
    failing = {c: L for c, L in failures.items() if L is not None}
    longest = result[cells[0]]["length"][-1]
    below = f"below {_pct(RECALLED)}"
    if not failing:
        return f"No cell falls {below} up to L = {longest}: try longer sequences."
    earliest = min(failing.values())
    first = [c for c, L in failing.items() if L == earliest]
    if len(first) == 1:
        text = f"**The {_label(first[0])} fails first** ({below} from L = {earliest})"
    else:
        text = f"The {' and the '.join(map(_label, first))} fall {below} first, from L = {earliest}"
    later = [f"the {_label(c)} from L = {failing[c]}" for c in failing if c not in first]
    holding = [c for c in cells if c not in failing]
    if later:
        text += f"; {below}: " + ", ".join(later)
    if holding:
        names = " and the ".join(map(_label, holding))
        verb = "stays" if len(holding) == 1 else "stay"
        text += f"; the {names} {verb} at or above {_pct(RECALLED)} up to L = {longest}"
    return text + "."


def _gradient_sentence(result: dict, cells: list[str]) -> str:
    cells = [c for c in cells if result[c].get("gradient_trained")]
    if not cells:
        return ""
    length = result[cells[0]]["gradient_length"]
    back = length - 1
    if back < 1:
        return ""
    parts = [f"{_label(c)} {_num(result[c]['gradient_init'][back])} at initialisation, "
             f"{_num(result[c]['gradient_trained'][back])} trained" for c in cells]
    text = (f"**Gradient reaching the marked step**, {back} steps back at L = {length} (1 at "
            "the last step): " + "; ".join(parts) + ".")
    if "rnn" in cells and len(cells) > 1:
        rnn = result["rnn"]["gradient_trained"][back]
        gated = {c: result[c]["gradient_trained"][back] for c in cells if c != "rnn"}
        weakest = min(gated, key=gated.get)
        if rnn == 0 < gated[weakest]:
            text += (f" After training the tanh RNN's underflowed to 0 even in float64, while "
                     f"the {_label(weakest)}'s is {_num(gated[weakest])}.")
        elif rnn > 0 and gated[weakest] / rnn >= 10:
            orders = math.floor(math.log10(gated[weakest] / rnn))
            text += (f" After training the tanh RNN's is more than 10<sup>{orders}</sup> times "
                     f"smaller than the {_label(weakest)}'s, the smallest of the gated cells'.")
        elif rnn >= 1:
            row = result["rnn"]
            text += (f" After training the tanh RNN's is {_num(rnn)} "
                     f"({_num(row['gradient_init'][back])} at initialisation), no smaller than "
                     "at the last step")
            recalled = dict(zip(row["length"], row["accuracy"])).get(length)
            if recalled is not None and recalled < RECALLED:
                text += f"; yet it recalls {_pct(recalled)} at L = {length}"
            text += "."
        else:
            text += (" After training the tanh RNN's is not 10 times smaller than every gated "
                     "cell's here.")
    return text


def caption(result: dict) -> str:
    """What the run shows, in Markdown, every number taken from `result`."""
    cells = _cells(result)
    if not cells:
        return ""
    chance = result[cells[0]].get("chance")
    recall = (f"**Recall** (chance {_pct(chance)}): " if chance else "**Recall**: ") + \
        "; ".join(_accuracy_phrase(c, result[c]) for c in cells) + "."
    lines = [recall, _who_fails_first(result, cells), _gradient_sentence(result, cells)]
    return "  \n".join(line for line in lines if line)

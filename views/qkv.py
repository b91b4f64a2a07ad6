"""Q, K, V step by step, drawn: one attention row's numbers as figures, tables and captions.

Legend: N keys, D = d_k numbers per query and key, H heads, E = H*D.

Everything here reads the numbers `inference.qkv.row` computed (numpy arrays or lists; layer,
head and query counted from 0) and never calls a model. Each figure comes with a caption
computed from the same numbers, so the text claims only what the bars and lines show. Figures
carry the least width their labels need (layout.meta["min_width"], as in `views.heatmaps`), so
a long sentence scrolls sideways on a phone instead of piling its labels up.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from views.heatmaps import KINDS, cell_size, label_extent, tick_font
from views.style import BOTTOM_LEGEND, axis, axis_labels, base_layout, escape, md_escape

VISIBLE = "#2563EB"  # a key the query may see
HIDDEN = "#9CA3AF"  # a key the causal mask hides (score -inf, weight 0)
LEAKED = "#F97316"  # a hidden key's weight, shown with the mask left out
RAW, SCALED = "#DC2626", "#2563EB"  # the entropy curves: scores as they are, divided by sqrt(d_k)
MINUS_INF = "−∞"
INTRO = (
    "**One row of attention, by hand.** Pick a model, an attention, a layer, a head and a query "
    "piece. The numbers below are recomputed from the model's own weights: the query q, the "
    "keys k_j, their dot products, the division by √d_k, the causal mask, the softmax and the "
    "weighted sum of the values, then every head concatenated and projected; each step is "
    "checked against what the model itself computed. The recurrent models show their own "
    "scores instead: Bahdanau's additive vᵀ tanh(W_q s + W_k h_j), Luong's multiplicative "
    "s · h_j or s · W_a h_j.")
SCORES = {  # how each model scores key j against the query
    "scaled_dot_product": "q · k_j",
    "bahdanau": "vᵀ tanh(W_q s + W_k h_j)",
    "luong_dot": "s · h_j",
    "luong_general": "s · W_a h_j",
}
SHAPES = {  # what each array in `shapes` is
    "input x": "the layer's normalised input at the query position",
    "inputs (keys, values)": "what the keys and values are made from, one row a piece",
    "W_q, W_k, W_v (a head)": "one head's rows of the stacked projection `in_proj`",
    "q": "the query", "K": "the keys, one row a piece", "V": "the values, one row a piece",
    "scores": "one number a key", "weights": "the softmax: sums to 1",
    "context": "this head's weighted sum of the values",
    "heads' contexts": "every head's context for this query",
    "concat": "the heads' contexts side by side", "W_o": "the output projection `out_proj`",
    "output": "the attention's output for this piece",
    "query": "the decoder's query", "keys": "what the query is scored against",
    "values": "the encoder states, mixed by the weights",
    "W_q s": "the query projected to the scoring size",
    "W_k h_j": "every key projected to the scoring size",
}


def _pieces(names) -> str:
    """Pieces for a caption: bold, Markdown-escaped (so "</s>" shows), comma-separated."""
    return ", ".join(f"**{md_escape(p)}**" for p in names)


def _bits(x: float) -> str:
    """An entropy for a caption: two decimals, or three significant digits below 0.1."""
    return f"{x:.2f}" if x >= 0.1 or x == 0 else f"{x:.2g}"


def _visible(numbers: dict) -> np.ndarray:
    """The keys the softmax ran over: the mask's, or all of them with the mask left out."""
    mask = np.asarray(numbers["mask"], dtype=bool)
    return mask if numbers["masked"] else np.ones_like(mask)


def _is_dot(numbers: dict) -> bool:
    return numbers["score_function"] == "scaled_dot_product"


# ---- the header and the shapes -------------------------------------------------------------------
def summary(numbers: dict) -> str:
    """What row this is (model, kind, layer, head, query) and the shapes of every step."""
    kind, i = numbers["kind"], numbers["query_index"]
    where = [f"**{md_escape(numbers['label'])}**", KINDS[kind]]
    if _is_dot(numbers):
        where += [f"layer {numbers['layer'] + 1} of {numbers['layers']}",
                  f"head {numbers['head'] + 1} of {numbers['heads']}"]
    piece, given = md_escape(numbers["query_piece"]), md_escape(numbers["query_input"])
    if kind == "encoder_self":
        query = f"query {i + 1}: the English piece **{piece}**"
    elif numbers["score_function"] == "bahdanau" and numbers["bahdanau"].get("after_step"):
        query = (f"query {i + 1}: writing **{piece}**; the query is s, the decoder state just "
                 f"after reading **{given}** (the additive score on Luong's path)")
    elif numbers["score_function"] == "bahdanau":
        word = (f", joined with the embedding of **{given}**"
                if numbers["bahdanau"]["query_word"] else "")
        query = (f"query {i + 1}: writing **{piece}**; the query is s, the decoder state "
                 f"before writing it{word}")
    elif numbers["score_function"].startswith("luong"):
        query = (f"query {i + 1}: writing **{piece}**; the query is s, the decoder state just "
                 f"after reading **{given}**")
    else:
        query = f"query {i + 1}: writing **{piece}** (the decoder's input here: **{given}**)"
    head = (" · ".join(where) + f" · {query} · {len(numbers['pieces'])} keys · "
            f"d_k = {numbers['d_k']}")
    rows = "\n".join(f"| {md_escape(name)} | {' × '.join(str(n) for n in shape)} | "
                     f"{SHAPES.get(name, '')} |" for name, shape in numbers["shapes"].items())
    return f"{head}\n\n| array | shape | what it is |\n| --- | --- | --- |\n{rows}"


# ---- scores -> scaled -> mask -> softmax ---------------------------------------------------------
def steps_figure(numbers: dict) -> go.Figure:
    """Bars per key, top to bottom: the raw scores, the scores divided by sqrt(d_k) with the
    causal mask's -inf (the Transformer only: the recurrent attentions do not scale), and the
    softmax weights. Hidden keys are grey (or orange, with their weight, without the mask)."""
    pieces = numbers["pieces"]
    N = len(pieces)
    mask = np.asarray(numbers["mask"], dtype=bool)
    masked = bool(numbers["masked"])
    colors = [VISIBLE if m else HIDDEN if masked else LEAKED for m in mask]
    scores = np.asarray(numbers["scores"], dtype=float)
    panels = [(f"score = {SCORES[numbers['score_function']]}", scores)]
    if _is_dot(numbers):
        panels.append((f"scaled = score ÷ √{numbers['d_k']} (÷ {math.sqrt(numbers['d_k']):.2f})",
                       scores * numbers["scale"]))
    note = "" if mask.all() else f" ({MINUS_INF} → 0)" if masked else " (orange: past the mask)"
    panels.append((f"weights = softmax{note}", np.asarray(numbers["weights"], dtype=float)))
    font = tick_font(N)
    x = axis_labels(pieces)
    figure = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.09,
                           subplot_titles=[escape(title) for title, _ in panels])
    blocked = np.flatnonzero(~mask) if masked else np.array([], dtype=int)  # scaled: -inf
    for row, (title, values) in enumerate(panels, start=1):
        shown = values.astype(object)
        scaled = title.startswith("scaled")
        if scaled:
            shown[blocked] = None  # -inf: no bar, a label instead
        figure.add_trace(go.Bar(
            x=x, y=shown.tolist(), marker_color=colors, showlegend=False,
            hovertemplate=f"<b>%{{x}}</b><br>{escape(title.split(' =')[0])}: %{{y:.4g}}"
                          "<extra></extra>"), row=row, col=1)
        if scaled and blocked.size:
            figure.add_trace(go.Scatter(
                x=[x[j] for j in blocked], y=[0] * blocked.size, mode="text",
                text=[MINUS_INF] * blocked.size, textposition="top center",
                textfont=dict(color=HIDDEN, size=12), showlegend=False, hoverinfo="skip"),
                row=row, col=1)
    bottom = label_extent(pieces, font) + 40
    height = 60 + 150 * len(panels) + bottom
    figure.update_layout(**base_layout(
        height=height, margin=dict(l=60, r=20, t=40, b=bottom), bargap=0.25,
        meta=dict(min_width=80 + N * max(cell_size(font), 16))))
    figure.update_annotations(font=dict(size=12), x=0, xanchor="left")  # the panel titles
    figure.update_xaxes(**axis(type="category", showgrid=False, tickfont=dict(size=font),
                               dtick=1, autotickangles=[0, -90]))
    figure.update_yaxes(**axis(zeroline=True, zerolinecolor="#C9D1DC"))
    figure.update_yaxes(range=[0, 1.05], row=len(panels), col=1)
    return figure


def steps_caption(numbers: dict) -> str:
    """What the three steps did to this row, in numbers."""
    pieces = np.asarray(numbers["pieces"], dtype=object)
    seen = _visible(numbers)
    scores = np.asarray(numbers["scores"], dtype=float)
    weights = np.asarray(numbers["weights"], dtype=float)
    lo, hi = int(np.flatnonzero(seen)[np.argmin(scores[seen])]), \
        int(np.flatnonzero(seen)[np.argmax(scores[seen])])
    name = SCORES[numbers["score_function"]]
    text = (f"**Scores → softmax.** Over the {int(seen.sum())} keys the softmax sees, "
            f"{name} runs from {scores[lo]:.3g} ({_pieces([pieces[lo]])}) to {scores[hi]:.3g} "
            f"({_pieces([pieces[hi]])})")
    if _is_dot(numbers):
        scale = numbers["scale"]
        text += (f"; divided by √{numbers['d_k']} = {1 / scale:.2f}, from "
                 f"{scores[lo] * scale:.3g} to {scores[hi] * scale:.3g}.")
    else:
        text += "; a recurrent attention does not scale its scores."
    top = np.argsort(-weights, kind="stable")[:3]
    text += f" The softmax gives {_pieces([pieces[top[0]]])} the most weight, {weights[top[0]]:.1%}"
    if int(seen.sum()) > 3:
        text += f"; the three largest weights sum to {weights[top].sum():.1%}"
    text += "."
    hidden = ~np.asarray(numbers["mask"], dtype=bool)
    n = int(hidden.sum())
    if n and numbers["masked"]:
        text += (f" The causal mask sets the scores of the {n} later piece{'s' * (n > 1)} to "
                 f"{MINUS_INF}, so their weight is exactly 0.")
    elif n:
        text += (f" With the mask left out, the {n} later piece{'s' * (n > 1)} take "
                 f"{weights[hidden].sum():.1%} of the weight.")
    text += (f" Recomputed by hand from the model's weights, this row differs from the "
             f"model's own by at most {numbers['max_abs_diff']:.1e}"
             + (" (the model's row has the mask)." if hidden.any() and not numbers["masked"]
                else "."))
    return text


def row_table(numbers: dict) -> str:
    """The row as numbers, one line a key: its score, scaled score (or the mask's -inf) and
    weight, as Markdown."""
    dot = _is_dot(numbers)
    mask = np.asarray(numbers["mask"], dtype=bool)
    header = ["#", "key", SCORES[numbers["score_function"]]]
    header += [f"÷ √{numbers['d_k']}"] if dot else []
    header += ["weight"]
    lines = []
    for j, piece in enumerate(numbers["pieces"]):
        cells = [str(j + 1), md_escape(piece), f"{numbers['scores'][j]:.4g}"]
        if dot:
            hidden = not mask[j] and numbers["masked"]
            cells.append(MINUS_INF if hidden else f"{numbers['scaled'][j]:.4g}")
        weight = f"{numbers['weights'][j]:.4f}"
        cells.append(weight if mask[j] else f"{weight} (past the mask)")
        lines.append("| " + " | ".join(cells) + " |")
    return ("| " + " | ".join(header) + " |\n|" + " --- |" * len(header) + "\n"
            + "\n".join(lines))


# ---- the vectors ---------------------------------------------------------------------------------
def vectors_figure(numbers: dict) -> go.Figure:
    """The numbers behind the scores, one row a vector, one column a dimension, on a scale
    centred at 0: the query and every key (dot-product scores), or for Bahdanau each key's
    tanh(W_q s + W_k h_j), which v weighs into its score."""
    if numbers["score_function"] == "bahdanau":
        extra = numbers["bahdanau"]
        z = np.tanh(np.asarray(extra["key_proj"]) + np.asarray(extra["query_proj"]))  # (N, A)
        rows = list(numbers["pieces"])
        title = "tanh(W_q s + W_k h_j), a row a piece"
        zrange = 1.0
    else:
        query = "q (query)" if _is_dot(numbers) else "s (query)"
        z = np.vstack([np.asarray(numbers["query"])[None], np.asarray(numbers["keys"])])
        rows = [query] + [f"k: {p}" for p in numbers["pieces"]]
        title = ("the query q and the keys k_j" if _is_dot(numbers) else
                 "the query s and the keys " + ("h_j" if numbers["score_function"] == "luong_dot"
                                               else "W_a h_j"))
        zrange = float(np.abs(z).max()) or 1.0
    R, D = z.shape
    font = tick_font(R)
    left = label_extent(rows, font) + 30
    trace = go.Heatmap(
        z=np.round(z, 3), x=list(range(1, D + 1)), y=axis_labels(rows), colorscale="RdBu",
        reversescale=True, zmid=0, zmin=-zrange, zmax=zrange, xgap=0.5 if D <= 64 else 0,
        colorbar=dict(thickness=10, len=0.8),
        hovertemplate="<b>%{y}</b><br>dimension %{x}: %{z:.4g}<extra></extra>")
    layout = base_layout(
        title=dict(text=escape(title), font=dict(size=13), x=0, xanchor="left"),
        height=110 + R * cell_size(font), margin=dict(l=left, r=20, t=50, b=50),
        meta=dict(min_width=left + 90 + min(D, 96) * 3),
        xaxis=axis(title=dict(text=f"dimension (1 to {D})"), showgrid=False),
        yaxis=axis(type="category", showgrid=False, showline=False, tickfont=dict(size=font),
                   dtick=1, autorange="reversed"))
    return go.Figure(data=[trace], layout=layout)


def vectors_caption(numbers: dict) -> str:
    pieces = numbers["pieces"]
    seen = _visible(numbers)
    scores = np.asarray(numbers["scores"], dtype=float)
    best = int(np.flatnonzero(seen)[np.argmax(scores[seen])])
    if numbers["score_function"] == "bahdanau":
        size = len(numbers["bahdanau"]["query_proj"])
        word = " (the previous piece's embedding joined on)" if numbers["bahdanau"]["query_word"] \
            else ""
        return (f"**Bahdanau's score, additive.** The query s{word} ({len(numbers['query'])} "
                f"numbers) and each encoder state h_j ({numbers['d_k']} numbers) are projected "
                f"to {size} numbers and added; tanh squashes each sum into −1..1 (a row above), "
                f"and v, {size} learned numbers, weighs a row into one score. The highest score "
                f"is {_pieces([pieces[best]])}'s, {scores[best]:.3g}.")
    products = np.asarray(numbers["keys"], dtype=float)[best] * np.asarray(numbers["query"])
    if _is_dot(numbers):
        start = (f"**Dot products.** q and each k_j are head {numbers['head'] + 1}'s "
                 f"{numbers['d_k']} numbers of W_q x and W_k x_j (x: the layer's input at a "
                 "piece); a score adds up their products, dimension by dimension.")
    else:
        start = (f"**Luong's score, multiplicative.** A score adds up s times the key, "
                 f"dimension by dimension ({numbers['d_k']} of them), with no scaling.")
    up, down = products[products > 0], products[products < 0]
    return (start + f" The highest is {_pieces([pieces[best]])}'s: its {up.size} positive "
            f"products add to {up.sum():.3g}, its {down.size} negative ones to "
            f"{down.sum():.3g}, so the score is {scores[best]:.3g}.")


# ---- the causal mask -----------------------------------------------------------------------------
def mask_figure(numbers: dict) -> go.Figure | None:
    """Decoder self-attention's mask as a T x T grid: a row writes one piece, a column is one of
    the decoder's inputs; the cells above the diagonal are -inf (hidden), the chosen row is
    outlined. None for the other kinds, which have no mask."""
    if numbers["kind"] != "decoder_self":
        return None
    rows, columns = numbers["rows"], numbers["pieces"]
    T = len(rows)
    allowed = np.tril(np.ones((T, T)))  # (T, T) 1 = may attend
    font = tick_font(T)
    left = label_extent(rows, font) + 45
    bottom = label_extent(columns, font) + 50
    trace = go.Heatmap(
        z=allowed, x=axis_labels(columns), y=axis_labels(rows), zmin=0, zmax=1,
        colorscale=[[0, "#F3F4F6"], [1, "#BFDBFE"]], showscale=False, xgap=1, ygap=1,
        text=np.where(allowed > 0, "", MINUS_INF), texttemplate="%{text}" if T <= 30 else "",
        textfont=dict(color=HIDDEN, size=max(font - 2, 8)),
        customdata=np.where(allowed > 0, "may attend", f"hidden: score {MINUS_INF}, weight 0"),
        hovertemplate="writing <b>%{y}</b><br>input <b>%{x}</b>: %{customdata}<extra></extra>")
    query = numbers["query_index"]
    outline = dict(type="rect", xref="x domain", yref="y", x0=0, x1=1, y0=query - 0.5,
                   y1=query + 0.5, line=dict(color=LEAKED if not numbers["masked"] else VISIBLE,
                                             width=2))
    layout = base_layout(
        title=dict(text=escape("the causal mask (outlined: this query's row)"),
                   font=dict(size=13), x=0, xanchor="left"),
        height=60 + bottom + T * cell_size(font), margin=dict(l=left, r=20, t=40, b=50),
        meta=dict(min_width=left + 40 + T * cell_size(font)), shapes=[outline],
        xaxis=axis(type="category", showgrid=False, showline=False, tickfont=dict(size=font),
                   dtick=1, autotickangles=[0, -90],
                   title=dict(text="decoder input (keys)")),
        yaxis=axis(type="category", showgrid=False, showline=False, tickfont=dict(size=font),
                   dtick=1, autorange="reversed", title=dict(text="writing (queries)")))
    return go.Figure(data=[trace], layout=layout)


def mask_caption(numbers: dict) -> str:
    kind = numbers["kind"]
    if kind == "cross":
        return ("**No mask here.** Cross-attention looks at the English, which is known "
                "entirely before the first German piece is written, so every source piece is "
                "visible to every query.")
    if kind == "encoder_self":
        return ("**No mask here.** Encoder self-attention reads the whole English sentence at "
                "once: every piece may look at every other, before and after it.")
    mask = np.asarray(numbers["mask"], dtype=bool)
    pieces = np.asarray(numbers["pieces"], dtype=object)
    piece = md_escape(numbers["query_piece"])
    seen = int(mask.sum())
    text = (f"**The causal mask.** Writing **{piece}**, the decoder may look at its first "
            f"{seen} input{'s' * (seen > 1)} ({_pieces(pieces[mask])}).")
    hidden = pieces[~mask]
    if not len(hidden):
        return text + (" This is the last row: nothing comes after it, so the mask hides "
                       "nothing here.")
    shown = _pieces(hidden[:6]) + (f" and {len(hidden) - 6} more" if len(hidden) > 6 else "")
    text += (f" The mask sets the scores of the {len(hidden)} later "
             f"input{'s' * (len(hidden) > 1)} ({shown}) to {MINUS_INF}: at translation time "
             "they are not written yet, so in training they must not be seen either.")
    if not numbers["masked"]:
        weights = np.asarray(numbers["weights"], dtype=float)
        text += (f" **Mask left out:** those pieces would take {weights[~mask].sum():.1%} of "
                 "this row's weight, and the model would be reading ahead.")
    return text


# ---- why sqrt(d_k) -------------------------------------------------------------------------------
def entropy_figure(numbers: dict) -> go.Figure:
    """Entropy (bits) of the softmax against d_k for random unit-variance vectors, with and
    without dividing by sqrt(d_k), the uniform ceiling, and this row's own two values (for
    dot-product scores)."""
    random = numbers["random"]
    d_ks = random["d_k"]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=d_ks, y=random["raw"], mode="lines+markers", name="random: softmax(q·k)",
        line=dict(color=RAW), hovertemplate="d_k %{x}: %{y:.2f} bits<extra></extra>"))
    figure.add_trace(go.Scatter(
        x=d_ks, y=random["scaled"], mode="lines+markers", name="random: softmax(q·k / √d_k)",
        line=dict(color=SCALED), hovertemplate="d_k %{x}: %{y:.2f} bits<extra></extra>"))
    figure.add_trace(go.Scatter(
        x=[d_ks[0], d_ks[-1]], y=[random["uniform"]] * 2, mode="lines",
        name=f"uniform over {random['keys']} keys", line=dict(color="#6B7280", dash="dot"),
        hoverinfo="skip"))
    if numbers["score_function"] != "bahdanau":
        entropy = numbers["entropy"]
        for key, color, symbol, label in (("raw", RAW, "x", "this row, unscaled"),
                                          ("scaled", SCALED, "circle", "this row, scaled")):
            figure.add_trace(go.Scatter(
                x=[numbers["d_k"]], y=[entropy[key]], mode="markers", name=label,
                marker=dict(color=color, symbol=symbol, size=12, line=dict(width=1)),
                hovertemplate=f"{label}: %{{y:.2f}} bits<extra></extra>"))
    figure.update_layout(**base_layout(
        height=420, margin=dict(l=60, r=20, t=50, b=110), legend=BOTTOM_LEGEND,
        title=dict(text=f"why divide by √d_k: entropy of the softmax ({random['keys']} keys)",
                   font=dict(size=13), x=0, xanchor="left"),
        meta=dict(min_width=340)))
    figure.update_xaxes(**axis(type="log", title_text="d_k (numbers per query and key)",
                               tickvals=d_ks, ticktext=[str(d) for d in d_ks]))
    figure.update_yaxes(**axis(title_text="entropy (bits)", rangemode="tozero"))
    return figure


def entropy_caption(numbers: dict) -> str:
    random, entropy = numbers["random"], numbers["entropy"]
    raw, scaled, spread = random["raw"], random["scaled"], random["score_std"]
    d = random["d_k"]
    falls = "falls" if raw[-1] < raw[0] else "does not fall"
    text = (f"**Why √d_k.** For random queries and keys with unit-variance numbers "
            f"({random['trials']} draws, {random['keys']} keys), the raw scores' spread "
            f"(standard deviation) grows from {spread[0]:.2g} at d_k = {d[0]} to "
            f"{spread[-1]:.3g} at d_k = {d[-1]} (√{d[-1]} = {math.sqrt(d[-1]):.3g}), and the "
            f"entropy of their softmax {falls} from {raw[0]:.2f} to {raw[-1]:.2f} bits: the "
            f"weight piles onto one key. Divided by √d_k, it stays between {min(scaled):.2f} "
            f"and {max(scaled):.2f} bits (uniform: {random['uniform']:.2f}).")
    seen = int(_visible(numbers).sum())
    if seen == 1:
        return text + (" This row has one key to look at, so its weight is 1 whatever the "
                       "scale (entropy 0).")
    if numbers["score_function"] == "bahdanau":
        return text + (" Bahdanau's score is not a dot product of two long vectors: tanh keeps "
                       "each term in −1..1 and v learns the scale, so it has nothing to divide.")
    row = (f" This row (d_k = {numbers['d_k']}, {seen} keys): softmax of the raw scores "
           f"{_bits(entropy['raw'])} bits, of the scores ÷ √d_k {_bits(entropy['scaled'])} bits")
    if _is_dot(numbers):
        return text + row + " (the model uses the scaled ones)."
    return text + row + (". Luong's dot product is not scaled; the model learned scores of "
                         "the size it needs.")


# ---- the heads, concatenated and projected -------------------------------------------------------
def heads_markdown(numbers: dict) -> str:
    """Every head's result for this query, the concatenation and the output projection (the
    Transformer); what the context does next (a recurrent model)."""
    if not _is_dot(numbers):
        into = ("the decoder cell's input and the output layer" if
                numbers["score_function"] == "bahdanau" else
                "tanh(W_c [c; s]), the vector the next word is read from")
        return (f"**One attention, one head.** The context c = Σ_j w_j h_j "
                f"({len(numbers['context'])} numbers) goes into {into}. Recomputed, it differs "
                f"from the attention module's own by at most {numbers['context_diff']:.1e}.")
    multi = numbers["multi_head"]
    weights = np.asarray(multi["weights"], dtype=float)  # (H, N)
    contexts = np.asarray(multi["contexts"], dtype=float)  # (H, D)
    concat, output = np.asarray(multi["concat"]), np.asarray(multi["output"])
    H, D = contexts.shape
    E = concat.size
    pieces = numbers["pieces"]
    bold = ["**" if h == numbers["head"] else "" for h in range(H)]  # the head chosen above
    lines = [f"| {bold[h]}head {h + 1}{bold[h]} | {md_escape(pieces[int(weights[h].argmax())])}"
             f" | {weights[h].max():.1%} | {', '.join(f'{v:.3g}' for v in contexts[h][:4])}, … |"
             for h in range(H)]
    mask_note = "" if numbers["masked"] else " (with the mask left out in every head)"
    text = (f"**{H} heads, concatenated, then projected**{mask_note}. Each head has its own "
            f"slices of W_q, W_k and W_v, so it weighs the pieces its own way and returns its "
            f"own context of d_k = {D} numbers. Side by side (head 1 first) they make one "
            f"vector of {H} × {D} = {E} numbers; W_o ({E} × {E}) and a bias map it to the "
            f"layer's output for this piece, {E} numbers: "
            f"{', '.join(f'{v:.3g}' for v in output[:4])}, …")
    if multi["output_diff"] is not None:
        text += (f" Recomputed, it differs from the attention module's own output by at most "
                 f"{multi['output_diff']:.1e}.")
    table = ("| head | looks most at | weight | context (first 4 of "
             f"{D}) |\n| --- | --- | --- | --- |\n" + "\n".join(lines))
    return f"{text}\n\n{table}"

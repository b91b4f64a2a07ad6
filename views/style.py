"""One look for every figure: colours, the weight scale, safe labels and safe Markdown.

Plotly reads tick labels, titles and hover text as HTML, and gr.Markdown reads Markdown, so
anything that came from a person (a sentence) or from a file (a model label) is escaped here
before it reaches either. Subword pieces such as "</s>" or "<unk>" would otherwise vanish.
"""

from __future__ import annotations

import html
import re

from inference import catalogue

# Attention weights always run 0..1 on the same white-to-blue scale, so a darker cell means
# the same weight in every figure of the app.
WEIGHT_SCALE = "Blues"
WEIGHT_RANGE = (0.0, 1.0)
# A second, clearly different scale for divergences (lower = more alike = darker).
DIVERGENCE_SCALE = "Viridis"

FONT = dict(family="Inter, system-ui, -apple-system, Segoe UI, sans-serif", size=12,
            color="#1F2937")
# No plotly template: a named template is copied into every figure (about 7 kB of JSON each)
# and validated on every build, which was most of a translation's drawing time. The few
# styles we want are set here instead.
TEMPLATE = "none"
AXIS = dict(showgrid=True, gridcolor="#E8ECF2", zeroline=False, showline=True,
            linecolor="#C9D1DC", ticks="", automargin=True)

# The chapter's models keep their colour everywhere (curves, bars): a folder's metadata or the
# catalogue names it; a model with neither takes one of these, by its place in the figure.
EXTRA_COLORS = ("#FF7F0E", "#8C564B", "#E377C2", "#17BECF", "#BCBD22", "#393B79")
NEUTRAL = "#888888"

ZERO_WIDTH_SPACE = "\u200b"
MAX_LABEL = 24  # longer tick labels are cut with "…" so they cannot squeeze the plot away


def model_color(name: str, index: int = 0, metadata: dict | None = None) -> str:
    """A model's colour: its metadata's, else the catalogue's, else the index-th spare."""
    return catalogue.look(name, metadata).color or EXTRA_COLORS[index % len(EXTRA_COLORS)]


def role_color(role: str, looks: dict[str, catalogue.Look] | None = None) -> str:
    """The colour of the first model playing `role`: among `looks` (the shipped models' own)
    first, then the catalogue; grey when none does."""
    for known in (looks or {}, catalogue.CATALOGUE):
        name = catalogue.first_with_role(known, role)
        if name is not None and known[name].color:
            return known[name].color
    return NEUTRAL


def paint(figure, colors: dict[str, str]):
    """Give every trace of a model (its `legendgroup` is the model's name) that model's
    colour; returns the figure. For figures drawn before the colours were known."""
    for trace in figure.data if figure is not None else ():
        color = colors.get(trace.legendgroup)
        if color and trace.type == "scatter":
            trace.update(line=dict(color=color), marker=dict(color=color))
        elif color:
            trace.update(marker=dict(color=color))
    return figure


def escape(text: str) -> str:
    """Text for a plotly title, label or hover box: HTML-escaped, newlines as spaces.

    Quotes stay as they are (plotly shows `&#x27;` literally); a text that starts with `$` gets
    a zero-width space in front, or plotly would typeset `$$x$$` as LaTeX.
    """
    out = html.escape(str(text), quote=False).replace("\n", " ")
    return ZERO_WIDTH_SPACE + out if out.startswith("$") else out


def axis_labels(pieces: list[str]) -> list[str]:
    """Escaped, unique tick labels for a category axis.

    Plotly merges equal categories (two "▁the" would share one column), so each repeat gets
    zero-width spaces appended: invisible, so the label still reads "▁the", but distinct.
    """
    seen: dict[str, int] = {}
    labels = []
    for piece in pieces:
        piece = str(piece)
        label = escape(piece if len(piece) <= MAX_LABEL else piece[:MAX_LABEL - 1] + "…")
        count = seen.get(label, 0)
        seen[label] = count + 1
        labels.append(label + ZERO_WIDTH_SPACE * count)
    return labels


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~])")


def md_escape(text: str) -> str:
    """Text safe to put inside Markdown: Markdown's own markup characters backslash-escaped (no
    accidental bold, links or tables), then HTML-escaped (no tag can run). In that order, so
    no backslash lands inside an entity (`&\\#x27;` would show as typed)."""
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", str(text)), quote=False)


def axis(**overrides) -> dict:
    """One axis in the house style (grid, line, automatic margins for long tick labels, the
    title kept clear of rotated tick labels)."""
    title = overrides.pop("title", {})
    if "title_text" in overrides:
        title = {**title, "text": overrides.pop("title_text")}
    return {**AXIS, **overrides, "title": {"standoff": 12, **title}}


# A legend under the figure, measured from the figure's bottom edge (not the plot area's), so
# tick labels that turn vertical on a phone push it down instead of running into it.
BOTTOM_LEGEND = dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0,
                     font=dict(size=11))


def base_layout(**overrides) -> dict:
    """A figure layout in the house style; `overrides` win."""
    layout = dict(template=TEMPLATE, font=FONT, paper_bgcolor="white", plot_bgcolor="white",
                  margin=dict(l=70, r=20, t=60, b=60), hovermode="closest",
                  hoverlabel=dict(font=dict(size=13), align="left"),
                  xaxis=axis(), yaxis=axis())
    layout.update(overrides)
    return layout

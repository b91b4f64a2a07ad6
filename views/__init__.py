"""Figures and text drawn from `Translation` objects and model metadata; never calls a model.

- `style`: colours, the fixed 0..1 weight scale, escaping for plotly labels and Markdown.
- `heatmaps`: pick a matrix (layer, head, words) as an `AlignmentView`; draw it, or a layer's
  heads as small multiples.
- `compare`: the similarity ranking table and the per-head JS grid.
- `training`: the alignment of one sentence epoch by epoch; loss and BLEU curves.
- `lab`: BLEU by sentence length; the O(n^2) time and memory plot.
- `export`: the matrices on screen as JSON and CSV downloads.
- `text`, `captions`: Markdown for model cards, status messages and what to look for.
"""

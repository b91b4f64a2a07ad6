"""The app's tabs, one module each, in the order the page shows them.

Each module has `build(page: tabs.common.Page) -> gr.Tab | None` (None: the tab does not apply
to the shipped models, e.g. no Transformer for the heads tab) and `SHOWS_WORDS`, whether the
word toggle of the input row changes what the tab draws. `app` builds the input row, then calls
each `build` in this order; a tab never imports `app`.

- `side_by_side`: every model's translation and heatmap; /translate.
- `heads`: a Transformer layer's heads as small multiples.
- `compare`: every model aligned to one target and ranked; /align.
- `training`: one sentence's alignment epoch by epoch; loss and BLEU curves.
- `lab`: BLEU by sentence length; the O(n^2) lab.
- `models`: a card per model.
"""

from tabs import compare, heads, lab, models, side_by_side, training

TABS = (side_by_side, heads, compare, training, lab, models)

"""The app's tabs, one module each, in the order the page shows them.

Each module has `build(page: tabs.common.Page) -> gr.Tab | None` (None: the tab does not apply
to the shipped models, e.g. no Transformer for the heads tab) and `SHOWS_WORDS`, whether the
word toggle of the input row changes what the tab draws. `app` builds the input row, then calls
each `build` in this order; a tab never imports `app`.

- `chapter_map`: the chapter's six objectives, the view that shows each, the file to read.
- `side_by_side`: every model's translation and heatmap; /translate.
- `gates`: the GRU's and LSTM's encoder gates on the sentence; /gates.
- `gradients`: vanishing gradients, on the shipped models (/gradient_flow) and in the recall
  lab (`recall`, a section of this tab; /recall_lab).
- `saliency`: backprop through attention: gradient x input beside the attention row; /saliency.
- `qkv`: scaled dot-product attention step by step, and the recurrent models' scores; /qkv.
- `heads`: a Transformer layer's heads as small multiples.
- `compare`: every model aligned to one target and ranked; /align.
- `training`: one sentence's alignment epoch by epoch; loss and BLEU curves.
- `lab`: BLEU by sentence length; the O(n^2) lab.
- `models`: a card per model.
"""

from tabs import (
    chapter_map,
    compare,
    gates,
    gradients,
    heads,
    lab,
    models,
    qkv,
    saliency,
    side_by_side,
    training,
)

TABS = (chapter_map, side_by_side, gates, gradients, saliency, qkv, heads, compare, training, lab,
        models)

"""The plain-language captions under each view: what to look for."""

TITLE = "Attention beats recurrence · what is this? (a ten-minute tour)"

INTRO = (
    "Small English→German translators, trained on Multi30K (image captions: people, animals, "
    "streets, sports). Type a sentence and press Enter: every model translates it, and each "
    "heatmap shows **where the model looked in the English while writing each German piece**. "
    "A GRU without attention, the same GRU with Bahdanau or Luong attention, and a Transformer "
    "whose multi-head attention is written from scratch.")

TOUR = """
**A first ten minutes.**
1. **Click an example** (or type a sentence and press Enter). Every model translates it.
2. **Side by side**: each heatmap row is one German piece the model wrote, each column one
   English piece it could look at; a dark cell means it looked there. Expect a rough
   diagonal, with jumps where German orders words differently (a verb at the end).
3. Try the **30-word example**. The GRU without attention has no heatmap: it squeezes the whole
   sentence into one vector. Compare its translation of a long sentence with the others'.
4. **Transformer heads**: every head of a layer at once. Some follow the word order, some park
   their weight on the end token or the full stop; the caption names them.
5. **Same target, compared**: every model is forced to write the same German, so the matrices
   share their axes and can be compared cell by cell.
6. **Training**: a sentence's alignment epoch by epoch: attention is learned, not built in.
7. **Chapter lab**: BLEU by sentence length, and the price of attention (n² memory) measured live.
8. **Gates**, **Vanishing gradients** (with the live recall lab), **Attention vs. gradient** and
   **Q, K, V**: the mechanisms behind the alignments, on your sentence. **Chapter map** says
   which tab answers which of the chapter's objectives.

Words are cut into *subword pieces* (`▁` starts a word, `</s>` ends the sentence); tick
*Whole words* to merge them. Long sentences switch to whole words by themselves.
"""

SIDE_BY_SIDE = (
    "**Rows** = German pieces written · **columns** = English pieces read · **dark** = looked "
    "there · expect a rough diagonal · hover a cell for its weight")

NO_ATTENTION = (
    "**No alignment to show.** This GRU reads the whole English sentence into one fixed-size "
    "vector and writes the German from that vector alone: it never looks back at single "
    "words. That bottleneck is the chapter's starting point: compare its translation of a "
    "long sentence with the others'.")

HEAD_GRID = {
    "cross": (
        "**Cross-attention, every head of one layer.** Each small map is one head: German "
        "pieces (rows) looking at English pieces (columns). Look for heads that follow the "
        "word-to-word alignment and heads that park their weight on one place."),
    "decoder_self": (
        "**Decoder self-attention.** Each German piece looks at the German written so far, "
        "starting with the start token `<s>`. The upper-right triangle is empty by construction: "
        "the causal mask stops a piece from seeing what comes after it, because at translation "
        "time those pieces do not exist yet."),
    "encoder_self": (
        "**Encoder self-attention.** Each English piece looks at every other English piece "
        "(no mask: the whole sentence is known). Look for heads that link a word to its "
        "neighbours, and heads that join the pieces of one split word."),
}

COMPARE = (
    "**Same target, same axes.** Every model is made to write exactly the same German "
    "sentence (forced decoding), so all matrices have the same rows and columns and can be "
    "compared cell by cell. Below, each Transformer head is scored against the reference "
    "GRU's attention: **JS** divergence (0 = identical rows, at most ln 2 ≈ 0.693), argmax "
    "**agree**ment (how often both look hardest at the same English piece) and row "
    "**entropy** in nats (0 = looks at one piece, ln S = spread evenly over all S pieces).")

JS_GRID = (
    "**Which head aligns most like the reference?** One cell per layer and head of the "
    "Transformer: darker = closer to the reference GRU's alignment (lower JS divergence).")

TRAINING = (
    "**Attention is learned.** The same validation sentence, aligned to its reference "
    "translation after each epoch. Early on the weights are spread out (the model does not yet "
    "know where to look); as training goes on a diagonal-like alignment appears.")

CURVES = (
    "**Training curves.** Loss per epoch (solid: training, dashed: validation) and "
    "validation BLEU with greedy search. Attention models usually reach a higher BLEU in fewer "
    "epochs than the GRU without attention.")

BY_LENGTH = (
    "**BLEU by sentence length** (test set, beam search; the number under each bucket is how "
    "many sentences it holds). The GRU without attention must fit every sentence into one "
    "vector; attention lets a model look back at the words it needs, whatever the length. "
    "Does the bottleneck cost more on long sentences? The numbers:")

SCALING = (
    "**The price of attention: O(n²).** One self-attention layer (every position against every "
    "other: n × n weights per head, 8 heads) against one GRU pass over the same n positions, "
    "measured live on this machine with one CPU thread: each time is the fastest of 5 runs "
    "after a warm-up run. Attention's work and memory grow as n², but its work is a few large "
    "matrix products that keep the processor's arithmetic units busy; the GRU's grow as n, but "
    "its n steps must run one after another, each too small to use the hardware well. So "
    "attention can be the faster of the two for the sentence lengths of translation, and the "
    "n² term wins only when n is long. Dashed grey lines grow exactly as n and n²: compare "
    "their slopes with the measurements.")

BEAM = ("1 = greedy. Length bias: each piece lowers a sentence's log-probability, so a plain "
        "sum favours short outputs; beams are ranked per piece instead.")

MODELS = (
    "**Where the numbers come from.** Each shipped folder's config (the architecture) and "
    "metadata: size, training time and hardware, the best validation BLEU seen during training "
    "(greedy search, as training measured it), and validation and test scores from the export "
    "(beam search), as cased sacreBLEU with its signature so they can be reproduced. For a "
    "model with attention, how well it aligns words (`python -m training.evaluate`): each "
    "reference word linked to the source word it attends to most, scored against the "
    "statistical aligner eflomal by alignment error rate (**AER**, 0 = the same links, 1 = none "
    "in common), and the share of its attention that rests on the source's `</s>` and full "
    "stop. Where models have a validation AER, the app's defaults (the reference alignment, "
    "the target, the Training tab's model) are the one with the lowest.")

WORDS = "Whole words"
WORDS_INFO = "merge subword pieces (on by itself past 15 pieces)"

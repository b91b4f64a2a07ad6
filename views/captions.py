"""The plain-language captions under each view: what to look for."""

INTRO = """
# Attention beats recurrence
Small English→German translators trained on Multi30K (image captions: people, animals,
streets, sports). Type a sentence: every shipped model translates it, and each heatmap shows
**where the model looked in the English sentence while writing each German piece**.
"""

SIDE_BY_SIDE = (
    "**What to look for:** each row is one German piece the model wrote, each column one "
    "English piece it could look at; a dark cell means it looked there. A good alignment is a "
    "rough diagonal (word order is similar in English and German) with jumps where the order "
    "differs, e.g. a German verb at the end of a clause. Weights in a row add up to 1. "
    "Pieces are subwords: `▁` marks the start of a word, `</s>` the end of the sentence.")

NO_ATTENTION = (
    "**No alignment to show.** This GRU reads the whole English sentence into one fixed-size "
    "vector and writes the German from that vector alone: it never looks back at single "
    "words. That bottleneck is the chapter's starting point: compare its translation of a "
    "long sentence with the others'.")

HEAD_GRID = {
    "cross": (
        "**Cross-attention, every head of one layer.** Each small map is one head: German "
        "pieces (rows) looking at English pieces (columns). Heads specialise: some follow "
        "the word-to-word alignment, others look at the full stop or the end token "
        "(a 'resting place' when they have nothing useful to add)."),
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
    "GRU's attention: **JS divergence** (0 = identical rows, at most ln 2 ≈ 0.693), "
    "**argmax agreement** (how often both look hardest at the same English piece) and "
    "**row entropy** (0 = looks at one piece, ln S = spread evenly over all S pieces).")

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
    "**BLEU by sentence length** (test set, beam search). The GRU without attention must fit "
    "every sentence into one vector, so its score drops fastest as sentences get longer; "
    "attention lets a model look back at the words it needs, whatever the length.")

SCALING = (
    "**The price of attention: O(n²).** One self-attention layer (every position against every "
    "other: n × n weights per head) against one GRU pass (n steps, one after the other), at "
    "d_model 256 and 8 heads, measured live on this machine with one CPU thread. Attention's "
    "memory grows as n² but its work is a few large matrix products that run in parallel; "
    "the GRU's memory grows as n, but its n steps must run one after another.")

MODELS = (
    "**Where the numbers come from.** Each shipped folder's metadata: size, training time and "
    "hardware, the best validation BLEU seen during training (greedy search), and test scores "
    "with beam search, as cased sacreBLEU with its signature so they can be reproduced.")

WORDS = "Merge subword pieces into whole words"

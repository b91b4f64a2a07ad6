"""Markdown the app shows: model cards, the models table, status and problem messages.

Everything that comes from a file or a person is escaped with `md_escape`.
"""

from __future__ import annotations

import re

from inference import catalogue, reference
from inference.translation import EOS_PIECE, word_groups
from views.style import md_escape

TRAIN_HINT = """```bash
python -m training fit --config training/configs/transformer.yaml
python -m training.export --ckpt runs/transformer/version_0/checkpoints/best-*.ckpt \\
    --name transformer --evaluate
```"""


def _number(value, fmt: str = "{:.1f}") -> str:
    return fmt.format(value) if isinstance(value, int | float) else "–"


def _parameters(value) -> str:
    if not isinstance(value, int | float):
        return "–"
    return f"{value / 1e6:.1f}M" if value >= 1e5 else f"{value / 1e3:.0f}k"


def _test_scores(metadata: dict) -> dict:
    for split in ("test_2016_flickr", "test_2017_flickr", "val"):
        if isinstance(metadata.get(split), dict):
            return {"split": split, **metadata[split]}
    return {}


def model_card(metadata: dict, name: str) -> str:
    """One line naming a model, its size and headline score: the label of its translation box
    (plain text: Gradio shows a label as text, never as markup)."""
    facts = [catalogue.look(name, metadata).label,
             f"{_parameters(metadata.get('parameters'))} parameters"]
    test = _test_scores(metadata)
    if test:
        split = "test" if test["split"].startswith("test") else test["split"]
        facts.append(f"{split} BLEU {_number(test.get('bleu'))}"
                     + (f" (beam {test['beam']})" if test.get("beam") else ""))
    elif isinstance(metadata.get("best_val_bleu_greedy"), int | float):
        facts.append(f"val BLEU {metadata['best_val_bleu_greedy']:.1f} (greedy)")
    return " · ".join(facts)


def card_markdown(card: str) -> str:
    """`model_card`'s line as Markdown: the model's name in bold, the facts small."""
    name, _, facts = card.partition(" · ")
    return f"**{md_escape(name)}**" + (f" · {md_escape(facts)}" if facts else "")


# ---- the Models tab ------------------------------------------------------------------------
CELL_NAMES = {"gru": "GRU", "lstm": "LSTM", "rnn": "tanh RNN"}
SCORES = {
    "bahdanau": "additive (Bahdanau): score = vᵀ tanh(W_q s + W_k h)",
    "luong_general": "general (Luong): score = sᵀ W h",
    "luong_dot": "dot (Luong): score = sᵀ h",
    "none": "none: the decoder sees one fixed vector, the encoder's final states",
}

# The recurrent models' options (models/rnn.py): their defaults, and what a card says when a
# model was trained with another value.
VARIANTS = (
    ("query_word", False, "query: [s_{t-1}; emb(y_{t-1})], the state and the word just written"),
    ("attend_after_step", False, "attends after the step: s_t asks, as on Luong's path"),
    ("attend_eos", True, "`</s>` is read by the encoder but is no key: no attention rests on it"),
    ("feed_summary", False, "the decoder also reads the encoder's fixed summary at every step"),
)


def hardware(text) -> str:
    """One wording for the hardware line of every model, e.g. "CPU (2 cores), 1 torch thread";
    anything that is not a CPU description is shown as written."""
    raw = str(text or "").strip()
    low = raw.lower()
    threads = re.search(r"(\d+)\s*(?:cpu\s*)?thread", low)
    if not raw or any(w in low for w in ("gpu", "cuda", "nvidia", "tpu", "mps")) or not (
            "cpu" in low and threads):
        return md_escape(raw) or "–"
    cores = re.search(r"(\d+)\s*core", low)
    processes = re.search(r"(\d+)\s*process", low)
    n = int(threads.group(1))
    out = "CPU" + (f" ({cores.group(1)} cores)" if cores else "")
    out += f", {n} torch thread{'s' if n != 1 else ''}"
    if processes and int(processes.group(1)) > 1:
        out += f", {processes.group(1)} processes"
    return out


def architecture(config: dict) -> list[str]:
    """Markdown lines describing a model from its config.json (class and init_args)."""
    model = config.get("model", {}) if isinstance(config, dict) else {}
    args = model.get("init_args", {}) if isinstance(model, dict) else {}
    kind = str(model.get("class_path", "")).rsplit(".", 1)[-1]
    if not isinstance(args, dict) or not args:
        return []
    penalty = config.get("length_penalty", 1.0)
    search = ([f"beam search ranks by log p / length^{_number(penalty)} (chosen on val)"]
              if isinstance(penalty, int | float) and penalty != 1.0 else [])
    if "d_model" in args:
        d, heads = args.get("d_model"), args.get("num_heads")
        head_size = d // heads if isinstance(d, int) and isinstance(heads, int) and heads else "?"
        return [f"Transformer: {args.get('num_encoder_layers', '?')} encoder + "
                f"{args.get('num_decoder_layers', '?')} decoder layers, d_model {d}, "
                f"{heads} heads of {head_size}, feed-forward {args.get('d_ff', '?')}",
                f"score: scaled dot product, softmax(q·k / √{head_size}), in every layer", *search]
    cell = CELL_NAMES.get(str(args.get("cell", "gru" if "GRU" in kind else "")).lower(),
                          md_escape(str(args.get("cell", "recurrent"))))
    attention = str(args.get("attention", "none"))
    lines = [f"bidirectional {cell} encoder, {args.get('enc_hidden', '?')} per direction; "
             f"{cell} decoder, {args.get('dec_hidden', '?')}; embeddings "
             f"{args.get('emb_dim', '?')}"]
    score = SCORES.get(attention, md_escape(attention))
    if attention == "bahdanau" and args.get("attn_dim"):
        score += f", attention size {args['attn_dim']}"
    lines.append(f"score: {score}")
    return lines + [line for key, default, line in VARIANTS
                    if args.get(key, default) != default] + search


def _bleu(scores: dict, what: str) -> str:
    beam = scores.get("beam")
    search = f"beam {beam}" if isinstance(beam, int) and beam > 1 else "greedy"
    return (f"{what} BLEU **{_number(scores.get('bleu'))}** / chrF {_number(scores.get('chrf'))}"
            f" ({search})")


def _percent(value) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "–"


def alignment_lines(results: dict[str, dict] | None) -> list[str]:
    """Markdown lines on how well a model's attention aligns words (`inference.reference`:
    split -> its eval's "alignment"): the val result, else a test set's; [] without one."""
    shown = reference.headline(results or {})
    if shown is None:
        return []
    split, r = shown
    what = "mean of all heads, " if r.get("attention") == "mean of all heads" else ""
    lines = [f"- word alignment on {md_escape(split)} ({what}against eflomal): AER "
             f"**{r['aer']:.3f}** · `</s>` share {_percent(r.get('eos_share'))} · "
             f"\".\" share {_percent(r.get('full_stop_share'))}"]
    # A head chosen on val, where the result has one; else the best head of this split.
    head = next((r[k] for k in ("val_chosen_head", "best_head") if isinstance(r.get(k), dict)
                 and isinstance(r[k].get("aer"), int | float)), None)
    if head is not None:
        lines.append(f"- its best head (chosen on {md_escape(str(head.get('chosen_on', split)))}"
                     f"): layer {head.get('layer', '?')}, head {head.get('head', '?')}, AER "
                     f"**{head['aer']:.3f}**")
    return lines


def model_details(name: str, metadata: dict, config: dict | None = None,
                  alignment: dict[str, dict] | None = None) -> str:
    """One model's card for the Models tab: architecture, size, training, scores, and how well
    its attention aligns words (`alignment`: split -> its eval's "alignment" result). A card,
    not a table row, so a phone shows every figure without scrolling sideways."""
    lines = [f"### {md_escape(catalogue.look(name, metadata).label)}"]
    lines += [f"- {line}" for line in architecture(config or {})]
    size = metadata.get("folder_bytes")
    weights = metadata.get("weights")
    lines.append(f"- {_parameters(metadata.get('parameters'))} parameters"
                 + (f" · folder {size / 2**20:.1f} MiB" if isinstance(size, int | float) else "")
                 + (f" ({md_escape(weights)} weights)" if weights else ""))
    seconds = metadata.get("train_seconds")
    minutes = seconds / 60 if isinstance(seconds, int | float) else None
    lines.append(f"- trained {_number(minutes, '{:.0f} min')}"
                 f", {_number(metadata.get('epochs'), '{}')} epochs on "
                 f"{hardware(metadata.get('hardware'))}")
    if isinstance(metadata.get("best_val_bleu_greedy"), int | float):
        lines.append(f"- val BLEU **{metadata['best_val_bleu_greedy']:.1f}** (greedy: the best "
                     "seen during training)")
    for split in ("val", "test_2016_flickr", "test_2017_flickr"):
        if isinstance(metadata.get(split), dict):
            lines.append(f"- {_bleu(metadata[split], md_escape(split))}")
    signature = next((metadata[s].get("bleu_signature") for s in ("test_2016_flickr", "val")
                      if isinstance(metadata.get(s), dict)), None)
    if signature:
        lines.append(f"- sacreBLEU `{str(signature).replace('`', '')}`")
    lines += alignment_lines(alignment)
    if metadata.get("note"):
        lines.append(f"- *{md_escape(metadata['note'])}*")
    return "\n".join(lines)


def no_models(root: str, problems: list[str]) -> str:
    """What the app says when it found no usable model folder."""
    text = (f"## No model is shipped\nThe app looks for model folders under "
            f"**{md_escape(root)}** and found none it could load. Train and export one "
            f"(a folder per model: `checkpoints/NAME/`), then restart the app, or set "
            f"`CHECKPOINTS_DIR` to a folder that holds model folders:\n\n{TRAIN_HINT}")
    return text + problems_note(problems)


def problems_note(problems: list[str]) -> str:
    if not problems:
        return ""
    return "\n\n**Folders that could not be loaded:**\n" + "\n".join(
        f"- {md_escape(p)}" for p in problems)


def notices(messages: list[str]) -> str:
    """Notices about the last request (e.g. the input was cut), as a Markdown list."""
    return "\n".join(f"⚠️ {md_escape(m)}  " for m in messages)


def missing(what: str) -> str:
    """A short italic note where a view has nothing to draw."""
    return f"*{md_escape(what)}*"


# ---- what the page says about the sentence itself ----------------------------------------------
UNK_PIECE = "<unk>"
MANY_PIECES = 3  # a word cut into this many pieces or more is worth pointing out
SHOW_WORDS = 4  # words named in a note; the rest are counted


def _source_words(pieces: list[str]) -> list[list[str]]:
    """The source pieces grouped by word, without the end token."""
    pieces = [p for p in pieces if p != EOS_PIECE]
    words: dict[int, list[str]] = {}
    for piece, group in zip(pieces, word_groups(pieces)):
        words.setdefault(group, []).append(piece)
    return [words[g] for g in sorted(words)]


def _unknown_text(word: str, pieces: list[str]) -> str:
    """The characters of `word` that its known pieces do not account for."""
    rest = word
    for piece in pieces:
        known = piece.replace("▁", "")
        if piece != UNK_PIECE and known:
            rest = rest.replace(known, "", 1)
    return rest or word


def subword_notes(source: str, pieces: list[str]) -> str:
    """A subword lesson read off one sentence's source pieces: the words that became `<unk>`
    (characters the vocabulary lacks) and the words cut into MANY_PIECES or more."""
    groups = _source_words(pieces)
    words = source.split()
    notes = []
    if any(UNK_PIECE in g for g in groups):
        if len(words) == len(groups):
            unknown = [_unknown_text(w, g) for w, g in zip(words, groups) if UNK_PIECE in g]
            more = f" and {len(unknown) - SHOW_WORDS} more" if len(unknown) > SHOW_WORDS else ""
            notes.append("**Unknown to the vocabulary:** "
                         + ", ".join(f"“{md_escape(u)}”" for u in unknown[:SHOW_WORDS]) + more
                         + " became `<unk>`: characters the models never saw in training, "
                         "read as a blank.")
        else:
            count = sum(g.count(UNK_PIECE) for g in groups)
            notes.append(f"**Unknown to the vocabulary:** {count} piece(s) became `<unk>`: "
                         "characters the models never saw in training.")
    # Punctuation glued to a word ("barricade." = "▁bar ric ade .") is not part of the lesson.
    groups = [[p for p in g if any(ch.isalnum() for ch in p)] or g for g in groups]
    split = [g for g in groups if len(g) >= MANY_PIECES and UNK_PIECE not in g]
    if split:
        shown = ", ".join(f"“{md_escape(''.join(g).replace('▁', ''))}” → `"
                          + "·".join(p.replace("`", "") for p in g) + "`"
                          for g in split[:SHOW_WORDS])
        more = f" and {len(split) - SHOW_WORDS} more" if len(split) > SHOW_WORDS else ""
        notes.append(f"**Split into pieces:** {shown}{more}: a rare word is built from "
                     "frequent parts, one row or column each.")
    return "  \n".join(notes)


def stale_note(key: dict | None, sentence: str, beam) -> str:
    """A warning when the results on the page are not for the sentence and beam in the
    controls (they changed without translating); "" when they match."""
    if not key:
        return ""
    try:
        same_beam = int(float(beam)) == int(key.get("beam", 1))
    except (TypeError, ValueError):
        same_beam = False
    if (sentence or "") == key.get("sentence", "") and same_beam:
        return ""
    old = str(key.get("sentence", ""))
    old = old if len(old) <= 80 else old[:79] + "…"
    return (f"⏳ **Not translated yet.** The results below are still for “{md_escape(old)}” "
            f"(beam {int(key.get('beam', 1))}). Press **Enter** or **Translate** to update them.")


def sentence_notes(results: dict, labels: dict[str, str] | None = None) -> str:
    """`subword_notes` for the sentence just translated (per model only where the models read
    it into different pieces, i.e. ship different vocabularies)."""
    readings: dict[tuple, list[str]] = {}
    source = ""
    for name, translation in results.items():
        source = translation.source
        readings.setdefault(tuple(translation.source_pieces), []).append(name)
    if len(readings) == 1:
        return subword_notes(source, list(next(iter(readings))))
    labels = labels or {}
    notes = []
    for pieces, names in readings.items():
        note = subword_notes(source, list(pieces))
        if note:
            who = ", ".join(md_escape(labels.get(n, n)) for n in names)
            notes.append(f"*{who}:* {note}")
    return "  \n".join(notes)

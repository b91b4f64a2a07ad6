"""Markdown the app shows: model cards, the models table, status and problem messages.

Everything that comes from a file or a person is escaped with `md_escape`.
"""

from __future__ import annotations

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
    """Two lines above a model's column: its label, size and headline score."""
    label = md_escape(metadata.get("label", name))
    facts = [f"{_parameters(metadata.get('parameters'))} parameters"]
    test = _test_scores(metadata)
    if test:
        facts.append(f"BLEU {_number(test.get('bleu'))} on {md_escape(test['split'])}"
                     + (f" (beam {test['beam']})" if test.get("beam") else ""))
    elif isinstance(metadata.get("best_val_bleu_greedy"), int | float):
        facts.append(f"best val BLEU {metadata['best_val_bleu_greedy']:.1f} (greedy)")
    return f"### {label}\n<small>{' · '.join(facts)}</small>"


def models_table(metadatas: dict[str, dict]) -> str:
    """A Markdown table of every shipped model, with the scores' sacreBLEU signatures."""
    if not metadatas:
        return ""
    lines = ["| model | parameters | epochs | training time | hardware | best val BLEU "
             "(greedy) | test BLEU | test chrF |", "|" + "---|" * 8]
    signatures = []
    for name, meta in metadatas.items():
        test = _test_scores(meta)
        minutes = meta.get("train_seconds")
        lines.append(
            f"| {md_escape(meta.get('label', name))} | {_parameters(meta.get('parameters'))} | "
            f"{_number(meta.get('epochs'), '{}')} | "
            f"{_number(minutes / 60 if isinstance(minutes, int | float) else None, '{:.0f} min')}"
            f" | {md_escape(meta.get('hardware', '') or '–')} | "
            f"{_number(meta.get('best_val_bleu_greedy'))} | "
            f"{_number(test.get('bleu'))} | {_number(test.get('chrf'))} |")
        if test.get("bleu_signature"):
            signature = str(test["bleu_signature"]).replace("`", "")  # shown as inline code
            signatures.append(f"- {md_escape(meta.get('label', name))} "
                              f"({md_escape(test['split'])}): `{signature}`")
    text = "\n".join(lines)
    if signatures:
        text += "\n\nsacreBLEU signatures:\n" + "\n".join(signatures)
    return text


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

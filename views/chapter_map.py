"""The chapter map: each of the chapter's six learning objectives, the app's views that show
it, and the files that hold its code. The app's first tab and the README's "Chapter map" are
drawn from this one table (tests/test_chapter_map.py holds the README and the files to it)."""

from __future__ import annotations

from dataclasses import dataclass

from views.style import md_escape


@dataclass(frozen=True)
class Objective:
    number: int
    goal: str
    views: tuple[tuple[str, str], ...]  # (tab id, what to do there)
    files: tuple[str, ...]  # where the code is, read in this order


CHAPTER: tuple[Objective, ...] = (
    Objective(1, "How RNNs process sequences, and why vanishing gradients limit them on long "
                 "sequences",
              (("gradients", "how strongly each source piece still reaches the output, "
                             "model by model; and the recall lab: can a plain tanh RNN recall "
                             "a symbol 50 steps back, and what happens to its gradient?"),
               ("lab", "BLEU by sentence length: which model loses most on long "
                       "sentences?")),
              ("models/cells.py", "inference/recall.py", "inference/gradients.py")),
    Objective(2, "The gating mechanisms of LSTM and GRU cells, and how they mitigate vanishing "
                 "gradients",
              (("gates", "the update/reset gates (GRU) and input/forget/output gates (LSTM) "
                         "of the shipped encoders on your sentence"),
               ("gradients", "the recall lab: the LSTM's and GRU's gradients against the "
                             "tanh RNN's over the same 50 steps")),
              ("models/cells.py", "models/rnn.py", "inference/gates.py")),
    Objective(3, "Bahdanau additive and Luong dot-product attention, and how backpropagation "
                 "flows through the attention layer",
              (("side", "every model's alignment on your sentence, side by side"),
               ("compare", "every model forced to write the same German, ranked against one "
                           "reference"),
               ("saliency", "gradient × input of every source piece beside the attention "
                            "row, with their rank correlation"),
               ("qkv", "one row recomputed by the model's own score function: "
                       "vᵀ tanh(W_q s + W_k h) against s·h or sᵀW h")),
              ("models/attention.py", "models/rnn.py", "inference/gradients.py",
               "inference/qkv.py")),
    Objective(4, "Queries, keys and values, and scaled dot-product attention from first "
                 "principles",
              (("qkv", "the query, the keys, q·k, the scaling by √d_k, the softmax and the "
                       "weighted sum, number by number, reproducing the model's own row"),),
              ("models/attention.py", "inference/qkv.py")),
    Objective(5, "Multi-head self-attention with causal masking",
              (("heads", "every head of a Transformer layer as small multiples"),
               ("qkv", "decoder self-attention with and without the causal mask, and how the "
                       "heads are concatenated and projected")),
              ("models/attention.py", "models/transformer.py", "inference/qkv.py")),
    Objective(6, "The O(n²) cost of self-attention",
              (("lab", "time and memory of self-attention against a GRU as n grows, measured "
                       "live on this machine"),),
              ("inference/lab.py", "models/attention.py")),
)

CAPTION = ("The chapter's six learning objectives, the tab that shows each one live, and the "
           "files to read for its code (on GitHub or in your clone).")


def map_markdown(tab_titles: dict[str, str]) -> str:
    """The map as a Markdown table. `tab_titles`: tab id -> title of the tabs this app shows;
    a view whose tab is not shown (e.g. no Transformer is shipped) is named as missing."""
    rows = ["| objective | where to see it | code |", "| --- | --- | --- |"]
    for objective in CHAPTER:
        views = []
        for tab_id, what in objective.views:
            title = tab_titles.get(tab_id)
            views.append(f"**{md_escape(title)}**: {what}" if title else
                         f"*(not shown: no model here has this view)* {what}")
        files = ", ".join(f"`{path}`" for path in objective.files)
        rows.append(f"| {objective.number}. {objective.goal} | {'<br>'.join(views)} | "
                    f"{files} |")
    return "\n".join(rows)

"""views: figures and text drawn from hand-made Translation objects (no model involved)."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import plotly.graph_objects as go
import pytest

from inference import Translation
from views import captions, export, heatmaps, text
from views import compare as compare_views
from views import lab as lab_views
from views import training as training_views
from views.style import ZERO_WIDTH_SPACE, axis_labels, md_escape

SOURCE = ["▁the", "▁dog", "▁<script>", "▁the", "▁ball", "s", "</s>"]  # 5 words + </s>
TARGET = ["▁der", "▁Hund", "▁der", "▁Ball", "e", "</s>"]  # 4 words + </s>
L, H = 2, 3


def alignment(rng, *shape):
    a = rng.random(shape)
    return a / a.sum(axis=-1, keepdims=True)


@pytest.fixture
def gru():
    rng = np.random.default_rng(0)
    return Translation("gru_bahdanau", "the dog <script> the balls", "der Hund der Balle",
                       SOURCE, TARGET, {"cross": alignment(rng, 1, 1, len(TARGET), len(SOURCE))},
                       metadata={"label": "GRU <b>+</b> Bahdanau", "language_pair": "en-de"})


@pytest.fixture
def transformer():
    rng = np.random.default_rng(1)
    T, S = len(TARGET), len(SOURCE)
    causal = np.tril(np.ones((T, T)))
    return Translation("transformer", "the dog", "der Hund", SOURCE, TARGET, {
        "cross": alignment(rng, L, H, T, S),
        "decoder_self": alignment(rng, L, H, T, T) * causal / 1.0,
        "encoder_self": alignment(rng, L, H, S, S)}, metadata={"label": "Transformer"},
        multi_head=True)


@pytest.fixture
def no_attention():
    return Translation("gru_noattn", "the dog", "der Hund", SOURCE, TARGET, {},
                       metadata={"label": "GRU, no attention"})


# ---- labels -------------------------------------------------------------------------------------
def test_axis_labels_are_escaped_unique_and_still_read_the_same():
    labels = axis_labels(SOURCE)
    assert len(set(labels)) == len(labels)
    assert labels[2] == "▁&lt;script&gt;" and labels[-1] == "&lt;/s&gt;"
    assert labels[3] == "▁the" + ZERO_WIDTH_SPACE  # the second "▁the" looks the same
    assert labels[3].replace(ZERO_WIDTH_SPACE, "") == labels[0]
    assert not any("<" in label for label in labels)


def test_long_labels_are_cut_but_stay_unique():
    long = "▁" + "x" * 60
    labels = axis_labels([long, long])
    assert len(labels[0]) == 24 and labels[0].endswith("…") and labels[0] != labels[1]


def test_md_escape_leaves_no_tag_or_markdown_markup():
    escaped = md_escape("<img src=x onerror=alert(1)> **bold** [link](http://x)")
    assert "<" not in escaped and ">" not in escaped
    assert "\\*\\*bold\\*\\*" in escaped and "\\[link\\]\\(" in escaped
    assert md_escape("the Transformer's <b> & #1") == "the Transformer's &lt;b&gt; &amp; \\#1"


# ---- one heatmap --------------------------------------------------------------------------------
def test_heatmap_has_source_across_target_down_and_a_fixed_scale(gru):
    figure = heatmaps.translation_heatmap(gru)
    trace = figure.data[0]
    assert isinstance(trace, go.Heatmap)
    assert np.asarray(trace.z).shape == (len(TARGET), len(SOURCE))
    assert list(trace.x) == axis_labels(SOURCE) and list(trace.y) == axis_labels(TARGET)
    assert figure.layout.yaxis.autorange == "reversed"
    assert (trace.zmin, trace.zmax) == (0.0, 1.0)
    assert "%{z:.3f}" in trace.hovertemplate and "%{x}" in trace.hovertemplate
    titled = heatmaps.heatmap(heatmaps.select_view(gru), title=heatmaps.select_view(gru).title)
    assert titled.layout.title.text.startswith("GRU &lt;b&gt;+&lt;/b&gt; Bahdanau")


def test_transformer_view_picks_a_layer_and_head_or_the_mean(transformer):
    cross = transformer.alignments["cross"]
    mean = heatmaps.select_view(transformer, "cross", layer=0, head=heatmaps.MEAN)
    np.testing.assert_allclose(mean.matrix, cross[0].mean(axis=0))
    assert "mean of 3 heads" in mean.detail and "layer 1 of 2" in mean.detail
    one = heatmaps.select_view(transformer, "cross", layer=1, head=2)
    np.testing.assert_allclose(one.matrix, cross[1, 2])
    assert "head 3 of 3" in one.detail
    default = heatmaps.select_view(transformer)  # last layer, mean of heads
    np.testing.assert_allclose(default.matrix, cross[-1].mean(axis=0))


def test_decoder_self_attention_reads_back_from_the_start_token(transformer):
    view = heatmaps.select_view(transformer, "decoder_self", layer=0, head=0)
    assert view.columns == ["<s>"] + TARGET[:-1] and view.rows == TARGET
    assert np.allclose(np.triu(view.matrix, k=1), 0.0)  # causal: nothing above the diagonal
    figure = heatmaps.heatmap(view)
    assert figure.data[0].x[0] == "&lt;s&gt;"
    encoder = heatmaps.select_view(transformer, "encoder_self", layer=1, head=1)
    assert encoder.matrix.shape == (len(SOURCE), len(SOURCE))


def test_word_view_merges_pieces_and_keeps_rows_summing_to_one(gru):
    view = heatmaps.select_view(gru, words=True)
    assert view.columns == ["the", "dog", "<script>", "the", "balls", "</s>"]
    assert view.rows == ["der", "Hund", "der", "Balle", "</s>"]
    np.testing.assert_allclose(view.matrix.sum(axis=1), 1.0)
    labels = heatmaps.heatmap(view).data[0].x
    assert len(set(labels)) == len(labels) == 6


def test_no_attention_model_has_no_heatmap_and_a_message(no_attention):
    assert heatmaps.select_view(no_attention) is None
    assert heatmaps.translation_heatmap(no_attention) is None
    assert heatmaps.head_grid(no_attention) is None
    assert "No alignment" in captions.NO_ATTENTION and "fixed" in captions.NO_ATTENTION


# ---- every head ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["cross", "decoder_self", "encoder_self"])
def test_head_grid_draws_every_head_of_a_layer_on_one_scale(transformer, kind):
    figure = heatmaps.head_grid(transformer, kind, layer=0)
    assert len(figure.data) == H
    assert all(trace.coloraxis == "coloraxis" for trace in figure.data)
    assert (figure.layout.coloraxis.cmin, figure.layout.coloraxis.cmax) == (0.0, 1.0)
    np.testing.assert_allclose(figure.data[2].z, np.round(transformer.alignments[kind][0, 2], 4))
    assert all(axis.autorange == "reversed" for axis in
               (figure.layout[k] for k in figure.layout if k.startswith("yaxis")))
    assert [a.text for a in figure.layout.annotations] == ["head 1", "head 2", "head 3"]


def test_gru_has_no_head_grid(gru):
    assert heatmaps.head_grid(gru) is None


# ---- downloads ----------------------------------------------------------------------------------
def test_downloads_hold_exactly_the_matrices_on_screen(gru, transformer, tmp_path):
    views = [heatmaps.select_view(gru), heatmaps.select_view(transformer, head=1)]
    json_path, csv_path = export.write_downloads(views, "the dog", tmp_path)
    data = json.loads(open(json_path, encoding="utf-8").read())
    assert data["source"] == "the dog" and len(data["views"]) == 2
    assert data["views"][0]["columns"] == SOURCE  # raw pieces, not escaped labels
    np.testing.assert_allclose(data["views"][1]["weights"], views[1].matrix, atol=1e-5)
    rows = list(csv.DictReader(io.StringIO(open(csv_path, encoding="utf-8").read())))
    assert len(rows) == 2 * len(TARGET) * len(SOURCE)
    assert rows[2]["column_piece"] == "▁<script>"
    assert export.write_downloads([], "", tmp_path) == (None, None)


# ---- comparison, training, lab, text ------------------------------------------------------------
def test_ranking_table_and_js_grid():
    ranked = [{"rank": 1, "model": "Transformer", "layer": 2, "head": 3, "js": 0.01234567,
               "agreement": 0.75, "entropy": 1.5},
              {"rank": 2, "model": "GRU + Luong", "layer": None, "head": None, "js": 0.2,
               "agreement": 0.5, "entropy": 1.2}]
    rows = compare_views.ranking_rows(ranked)
    assert rows[0] == [1, "Transformer", 2, 3, 0.0123, 0.75, 1.5] and rows[1][2:4] == ["", ""]
    assert len(rows[0]) == len(compare_views.TABLE_HEADERS)
    summary = compare_views.ranking_summary(ranked, "GRU <i>x</i>", 1.0, 8)
    assert "layer 2, head 3" in summary and "<i>" not in summary
    figure = compare_views.js_grid(np.full((2, 3), 0.1), "Transformer", "GRU")
    assert np.asarray(figure.data[0].z).shape == (2, 3)
    assert figure.data[0].zmax == pytest.approx(np.log(2))


def snapshots(cross):
    return [{"epoch": e, "val_bleu": 10.0 + e, "sentences": [{
        "source": "the dog", "reference": "der <b>Hund</b>", "hypothesis": "der",
        "source_pieces": ["▁the", "▁dog", "</s>"], "target_pieces": ["▁der", "▁Hund", "</s>"],
        "cross": cross}]} for e in range(3)]


def test_snapshot_view_steps_through_epochs_and_layers():
    gru = snapshots(np.eye(3).tolist())
    view, summary = training_views.snapshot_view(gru, "g", {"label": "GRU"}, 1)
    assert view.matrix.shape == (3, 3) and "Epoch 2" in summary and "<b>" not in summary
    transformer = snapshots(np.stack([np.eye(3), np.full((3, 3), 1 / 3)]).tolist())  # (L, T, S)
    assert training_views.snapshot_layers(transformer) == 2
    view, _ = training_views.snapshot_view(transformer, "t", {}, 99, layer=0)  # clipped epoch
    np.testing.assert_allclose(view.matrix, np.eye(3))
    assert "epoch 3" in view.detail and "layer 1 of 2" in view.detail
    view, summary = training_views.snapshot_view(snapshots(None), "n", {}, 0)
    assert view is None and "no attention" in summary
    assert training_views.snapshot_view([], "n", {"label": "X"}, 0)[0] is None


def test_curves_and_lab_figures():
    points = [{"epoch": e, "train_loss": 5 - e, "val_loss": 5.5 - e, "val_bleu": 10 + e}
              for e in range(3)]
    loss, bleu = training_views.curves_figures({"a": ("A", points), "b": ("B", [])})
    assert len(loss.data) == 2 and len(bleu.data) == 1 and list(bleu.data[0].x) == [1, 2, 3]
    assert "greedy" in bleu.layout.title.text
    assert training_views.curves_figures({"b": ("B", [])}) == (None, None)
    evals = {"gru_noattn": ("GRU", {"split": "test", "beam": 5, "by_length": [
        {"bucket": "1-10", "sentences": 5, "bleu": 30.0}, {"bucket": "11+", "sentences": 3,
                                                            "bleu": 10.0}]})}
    bars = lab_views.bleu_by_length_figure(evals)
    assert list(bars.data[0].y) == [30.0, 10.0] and bars.layout.barmode == "group"
    assert list(bars.data[0].x) == ["1-10<br>n=5", "11+<br>n=3"]  # sizes printed, not hovered
    rows = [{"n": n, "attention_ms": n / 10, "gru_ms": n / 5, "attention_weights_bytes": n * n,
             "attention_bytes": 2 * n * n, "gru_bytes": 8 * n} for n in (16, 32)]
    time_figure, memory_figure = lab_views.scaling_figures(rows)
    for figure in (time_figure, memory_figure):
        assert figure.layout.xaxis.type == "log"
        names = [t.name for t in figure.data]
        assert any("n²" in n for n in names) and any(n.startswith("∝ n ") for n in names)
    assert "×4" in lab_views.scaling_summary(rows)  # 2x longer -> 4x memory for attention
    assert len(lab_views.scaling_rows(rows)[0]) == len(lab_views.SCALING_HEADERS)
    assert lab_views.scaling_figures([]) == (None, None)


def test_scaling_summary_says_where_attention_stops_being_faster():
    def row(n, attention, gru):
        return {"n": n, "attention_ms": attention, "gru_ms": gru, "attention_weights_bytes": 1,
                "attention_bytes": n * n, "gru_bytes": n}

    crossing = [row(64, 1, 4), row(256, 3, 10), row(1024, 60, 40), row(4096, 900, 160)]
    assert lab_views.crossover(crossing, "attention_ms", "gru_ms") == 1024
    text = lab_views.scaling_summary(crossing)
    assert "faster up to n = 256" in text and "slower from n = 1024" in text
    always = lab_views.scaling_summary([row(16, 1, 2), row(32, 1, 3)])
    assert "faster at every n measured" in always
    assert lab_views.scaling_lengths(1000) == [16, 32, 64, 128, 256, 512, 1000]
    assert lab_views.scaling_lengths(4096)[-1] == 4096
    assert lab_views.weights_bytes(4096, 1, 8) == 512 * 2**20


def test_bleu_by_length_caption_is_computed_from_the_buckets():
    def buckets(*bleus):
        sizes = (174, 460, 29, 8)
        return {"by_length": [{"bucket": b, "sentences": n, "bleu": x} for b, n, x in
                              zip(("1-8", "9-12", "21-25", "26+"), sizes, bleus)]}

    evals = {"gru_noattn": ("GRU, no attention", buckets(27.2, 26.5, 8.0, 16.3)),
             "transformer": ("Transformer", buckets(40.8, 38.8, 21.1, 26.1))}
    text = lab_views.bleu_by_length_summary(evals).replace("\\", "")  # Markdown escapes
    # 21-25 is the longest bucket with enough sentences; 26+ (8 sentences) is not quoted.
    assert "From 1-8 words (174 sentences) to 21-25 words (29 sentences)" in text
    assert "loses 71%" in text and "loses 48%" in text and "(27.2 → 8.0)" in text
    assert text.index("GRU, no attention") < text.index("Transformer")  # largest loss first
    assert "26+ (8)" in text
    assert lab_views.bleu_by_length_summary({}) == ""


def test_head_caption_names_the_heads_that_rest_and_how_much(transformer):
    cross = np.full((L, H, len(TARGET), len(SOURCE)), 0.02)
    cross[..., -1] = 1 - 0.02 * (len(SOURCE) - 1)  # every head of every layer rests on </s>...
    cross[1, 0] = np.eye(len(TARGET), len(SOURCE))  # ...except layer 2, head 1 (a diagonal)
    transformer.alignments["cross"] = cross
    text = heatmaps.resting_heads(transformer, "cross", layer=1)
    assert "head 2 (88%)" in text and "head 3 (88%)" in text and "head 1" not in text
    assert "`</s>`" in text and "the other heads at most 0%" in text  # head 1: the diagonal
    assert "layer 2 of 2" in text
    decoder = heatmaps.resting_heads(transformer, "decoder_self", layer=0)
    assert "`<s>`" in decoder
    assert heatmaps.resting_heads(transformer, "cross", 0, words=True)  # </s> survives merging


def test_heatmaps_are_sized_from_their_pieces_so_labels_never_overlap(gru):
    view = heatmaps.select_view(gru)
    short = heatmaps.heatmap(view)
    long_view = heatmaps.AlignmentView("m", "M", "cross", "cross-attention", np.eye(40, 60),
                                       [f"r{i}" for i in range(40)],
                                       [f"c{i}" for i in range(60)], "rows", "columns")
    long = heatmaps.heatmap(long_view)
    assert long.layout.height > short.layout.height
    assert long.layout.meta["min_width"] > short.layout.meta["min_width"]
    # Each column gets at least a label's line height.
    font = long.layout.xaxis.tickfont.size
    assert long.layout.meta["min_width"] >= 60 * heatmaps.cell_size(font)
    assert long.layout.xaxis.dtick == 1 and list(long.layout.xaxis.autotickangles) == [0, -90]
    text, lines = heatmaps.wrap_title("a long model label · cross-attention · layer 5 of 5 · "
                                      "mean of 8 heads · words")
    assert lines > 1 and "<br>" in text
    assert heatmaps.grid_columns(8, 10, 390) == 2  # a phone: two heads side by side
    assert heatmaps.grid_columns(8, 10, 1366) == 4
    assert heatmaps.grid_columns(8, 31, 1366) == 2  # a long sentence needs the room
    assert heatmaps.grid_columns(2, 5, 1366) == 2


def test_text_escapes_what_comes_from_files():
    card = text.model_card({"label": "<script>x</script>", "parameters": 7_600_000,
                            "test_2016_flickr": {"bleu": 35.2, "beam": 5}}, "t")
    # A plain-text label (Gradio shows it as text); as Markdown it is escaped.
    assert card == "<script>x</script> · 7.6M parameters · test BLEU 35.2 (beam 5)"
    assert "<script>" not in text.card_markdown(card)
    details = text.model_details("t", {"label": "T|x", "parameters": 1000, "note": "<b>n</b>"})
    assert "T\\|x" in details and "<b>" not in details
    message = text.no_models("/nowhere", ["bad <folder>"])
    assert "No model is shipped" in message and "training.export" in message
    assert "<folder>" not in message


def test_models_tab_reads_the_architecture_and_labels_each_bleu():
    gru = {"model": {"class_path": "models.gru.GRUSeq2Seq", "init_args": {
        "emb_dim": 256, "enc_hidden": 256, "dec_hidden": 512, "attention": "bahdanau",
        "attn_dim": 256}}}
    lstm = {"model": {"class_path": "models.RNNSeq2Seq", "init_args": {
        "cell": "lstm", "emb_dim": 256, "enc_hidden": 256, "dec_hidden": 512,
        "attention": "luong_general"}}}
    transformer = {"model": {"class_path": "models.transformer.Transformer", "init_args": {
        "d_model": 256, "num_heads": 8, "num_encoder_layers": 5, "num_decoder_layers": 1,
        "d_ff": 1024}}}
    assert "bidirectional GRU encoder, 256 per direction" in " ".join(text.architecture(gru))
    assert "additive (Bahdanau)" in text.architecture(gru)[1]
    assert "LSTM decoder, 512" in text.architecture(lstm)[0]
    assert "general (Luong)" in text.architecture(lstm)[1]
    assert "5 encoder + 1 decoder layers, d_model 256, 8 heads of 32" in \
        text.architecture(transformer)[0]
    assert text.architecture({}) == []
    assert len(text.architecture(gru)) == 2  # no option off its default, nothing more said
    shipped = {"model": {"class_path": "models.GRUSeq2Seq", "init_args": {
        **gru["model"]["init_args"], "query_word": True, "attend_eos": False}}}
    lines = text.architecture(shipped)
    assert len(lines) == 4 and "emb(y_{t-1})" in lines[2] and "no key" in lines[3]
    assert text.architecture({**transformer, "length_penalty": 1.0}) == \
        text.architecture(transformer)  # the default is not worth a line
    searched = text.architecture({**transformer, "length_penalty": 1.4})
    assert len(searched) == 3 and "log p / length^1.4 (chosen on val)" in searched[2]
    metadata = {"label": "T", "best_val_bleu_greedy": 36.2, "hardware": "CPU, 2 cores, 2 thread(s)",
                "val": {"bleu": 37.9, "chrf": 61.0, "beam": 5},
                "test_2016_flickr": {"bleu": 36.8, "chrf": 61.3, "beam": 5}}
    card = text.model_details("transformer", metadata, transformer)
    assert "val BLEU **36.2** (greedy" in card and "val BLEU **37.9** / chrF 61.0 (beam 5)" in card
    assert "CPU (2 cores), 2 torch threads" in card
    # One wording for every way training wrote its hardware.
    assert text.hardware("1 process(es) x 1 CPU threads") == "CPU, 1 torch thread"
    assert text.hardware("CPU, 2 cores, 1 thread(s)") == "CPU (2 cores), 1 torch thread"
    assert text.hardware("1 x NVIDIA H200") == "1 x NVIDIA H200" and text.hardware("") == "–"


def test_sentence_notes_name_unknown_characters_and_split_words():
    pieces = ["▁", "<unk>", "▁", "<unk>", ".", "▁runs", "▁kick", "fl", "ip", "</s>"]
    note = text.subword_notes("Собака пляжу. runs kickflip", pieces)
    assert "“Собака”, “пляжу”" in note and "`<unk>`" in note
    assert "“kickflip” → `▁kick·fl·ip`" in note
    assert text.subword_notes("A dog runs.", ["▁A", "▁dog", "▁runs", ".", "</s>"]) == ""


def test_stale_note_marks_results_older_than_the_controls():
    key = {"sentence": "A dog runs.", "beam": 1}
    assert text.stale_note(key, "A dog runs.", 1) == ""
    assert text.stale_note({}, "anything", 1) == ""
    stale = text.stale_note(key, "A cat <b>sleeps</b>.", 1)
    assert "Not translated yet" in stale and "A dog runs." in stale and "<b>" not in stale
    assert "beam 1" in text.stale_note(key, "A dog runs.", 4)


def test_comparison_ranks_heads_or_says_what_is_missing(gru, transformer):
    labels = {"gru_bahdanau": "GRU", "transformer": "Transformer"}
    aligned = {"gru_bahdanau": gru, "transformer": transformer}
    summary, table, grids = compare_views.comparison(aligned, "gru_bahdanau", labels)
    assert "Closest to" in summary and len(table) == L * (H + 1)
    assert set(grids) == {"transformer"}
    summary, table, grids = compare_views.comparison({"transformer": transformer}, None, labels)
    assert "Ship a GRU" in summary and table == [] and grids == {}
    info = compare_views.target_summary(aligned, labels)
    assert "Every model writes" in info and "der Hund" in info.replace("\\", "")


def test_old_downloads_are_pruned(gru, tmp_path):
    old = tmp_path / "old.json"
    old.write_text("{}")
    os.utime(old, (0, 0))  # 1970
    export.write_downloads([heatmaps.select_view(gru)], "", tmp_path)
    assert not old.exists() and len(list(tmp_path.glob("*.json"))) == 1

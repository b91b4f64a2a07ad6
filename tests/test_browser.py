"""The page in headless Chromium, on a laptop (1366x768) and a phone (390x844).

Type, press Enter, click an example, read the heatmaps, hover, switch heads; and the layout: the
first heatmap above the fold, every tab in sight, no tick label on top of another on a 30-word
sentence, two heads to a row on a phone, two-panel figures stacked there, nothing wider than
the screen. Uses Debian's /usr/bin/chromium through playwright (never `playwright install`);
skips with the reason where it is absent. Leaves screenshots in artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import app
from tests.app_fixtures import ROOT, build_checkpoints
from tests.util import free_port

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not at /usr/bin/chromium "
                                       "(apt-get install chromium)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PLOTTED = ["gru_bahdanau", "lstm_bahdanau", "gru_luong", "transformer"]
TABS = ["Chapter map", "Side by side", "Gates", "Vanishing gradients",
        "Attention vs. gradient", "Q, K, V", "Transformer heads",
        "Same target, compared", "Training", "Chapter lab", "Models"]
LAPTOP, PHONE = (1366, 768), (390, 844)
LONG = app.EXAMPLES[-1]
assert len(LONG.split()) == 30
TIMEOUT = 90_000  # ms; generous for a busy 2-core machine

# Every pair of tick labels (and subplot titles) whose boxes overlap, in the plots `selector`
# finds: labels of one axis are compared with each other.
OVERLAPS = """selector => {
    const found = [];
    let labels = 0;
    const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
                              Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
    for (const gd of document.querySelectorAll(selector)) {
        if (!gd.offsetParent) continue;
        const groups = [...gd.querySelectorAll(".xaxislayer-above, .yaxislayer-above")]
            .map(layer => [...layer.querySelectorAll("text")])
            .concat([[...gd.querySelectorAll(".annotation-text")]]);
        for (const texts of groups) {
            const shown = texts.filter(t => t.textContent);
            const boxes = shown.map(t => t.getBoundingClientRect());
            labels += boxes.length;
            for (let i = 0; i < boxes.length; i++)
                for (let j = i + 1; j < boxes.length; j++)
                    if (overlap(boxes[i], boxes[j]))
                        found.push([shown[i].textContent, shown[j].textContent]);
        }
    }
    return {labels, found};
}"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    demo = app.build_demo(build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints"))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                ssr_mode=False, **app.LAUNCH_OPTIONS)
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            chromium.url = f"http://127.0.0.1:{port}/"
            yield chromium
            chromium.close()
    finally:
        demo.close()


def open_page(browser, size: tuple[int, int]):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.set_default_timeout(TIMEOUT)
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(browser.url)
    # The page translates its example sentence on load.
    for name in PLOTTED:
        page.wait_for_selector(f"#heatmap-{name} .nsewdrag")
    return page


@pytest.fixture(scope="module")
def page(browser):
    page = open_page(browser, LAPTOP)
    yield page
    page.close()


@pytest.fixture(scope="module")
def phone(browser):
    page = open_page(browser, PHONE)
    yield page
    page.close()


def plot_data(page, elem_id: str) -> dict:
    """What plotly holds for the figure inside #elem_id: first trace's x/y, the title."""
    return page.evaluate("""id => {
        const gd = document.querySelector(`#${id} .js-plotly-plot`);
        if (!gd || !gd.data) return null;
        return {x: gd.data[0].x, y: gd.data[0].y, title: (gd.layout.title || {}).text || "",
                traces: gd.data.length, yrange: gd._fullLayout.yaxis.range};
    }""", elem_id)


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def source_of(labels: list[str]) -> str:
    return "".join(labels).replace("\u200b", "").replace("▁", "")


def wait_for_source(page, sentence: str, words: int = 0) -> None:
    """Until every heatmap's columns spell `sentence` (pieces or words) and, with `words`,
    hold at least that many columns."""
    squeezed = sentence.replace(" ", "")
    for name in PLOTTED:
        page.wait_for_function("""([id, want, columns]) => {
            const gd = document.querySelector(`#${id} .js-plotly-plot`);
            return gd && gd.data && gd.data[0].x.length >= columns && gd.data[0].x.join("")
                .replaceAll("\\u200b", "").replaceAll("\\u2581", "").startsWith(want);
        }""", arg=[f"heatmap-{name}", squeezed, words])


def translate(page, sentence: str) -> None:
    page.fill("#sentence textarea", sentence)
    page.click("#translate-btn")
    wait_for_source(page, sentence)


def show_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(300)


# ---- the layout ----------------------------------------------------------------------------------
def test_first_heatmap_is_above_the_fold_on_a_laptop(page):
    """1366x768, nothing scrolled: the tabs and the first heatmap's cells are on screen."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "app-laptop-fold.png"))
    assert page.evaluate("() => window.scrollY") == 0
    assert box(page, "#tabs")["y"] < LAPTOP[1] / 2
    cells = box(page, "#heatmap-gru_bahdanau .nsewdrag")
    assert 0 < cells["y"] < LAPTOP[1] - 200, cells  # at least 200 px of its rows in sight
    assert box(page, "#heatmap-gru_bahdanau")["x"] > LAPTOP[0] / 3  # two to a row


@pytest.mark.parametrize("device", ["page", "phone"])
def test_every_tab_is_in_sight(device, request):
    page = request.getfixturevalue(device)
    width = page.viewport_size["width"]
    for name in TABS:
        tab = page.get_by_role("tab", name=name)
        assert tab.is_visible(), name
        where = tab.bounding_box()
        assert where["x"] >= 0 and where["x"] + where["width"] <= width, name


@pytest.mark.parametrize("device", ["page", "phone"])
def test_a_30_word_example_is_translated_in_words_with_no_label_on_another(device, request):
    page = request.getfixturevalue(device)
    width = page.viewport_size["width"]
    page.evaluate("() => window.scrollTo(0, 0)")
    show_tab(page, "Side by side")
    page.locator("#examples").get_by_text("(30 words)").click()  # a click translates
    wait_for_source(page, LONG, words=25)
    assert page.input_value("#sentence textarea") == LONG
    # Past 15 pieces the word view is on by itself, and every heatmap says so.
    page.wait_for_function("""() => [...document.querySelectorAll("#model-grid .js-plotly-plot")]
        .every(gd => gd.layout.title.text.includes("words"))""")
    assert page.locator("#words input").is_checked()
    page.wait_for_timeout(1000)  # the fit-to-labels resize
    result = page.evaluate(OVERLAPS, "#model-grid .js-plotly-plot")
    assert result["labels"] > 3 * 50 and result["found"] == [], result["found"][:5]
    # The page never scrolls sideways; a heatmap wider than a phone scrolls inside its box.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width + 1
    plot = box(page, "#heatmap-gru_bahdanau")
    assert plot["width"] >= (width - 80 if device == "phone" else width / 2 - 80)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"app-long-{width}.png"), full_page=True)


def show_grid(page, kind: str) -> None:
    """Pick an attention kind on the heads tab and wait for its grid to be drawn."""
    page.locator("#grid-kind").get_by_label(kind).check()
    page.wait_for_function("""(kind) => {
        const gd = document.querySelector("#head-grid .js-plotly-plot");
        return gd && gd.layout.title.text.includes(kind);
    }""", arg=kind)


@pytest.mark.parametrize("device", ["page", "phone"])
def test_head_grid_two_columns_on_a_phone_and_titles_apart(device, request):
    page = request.getfixturevalue(device)
    show_tab(page, "Transformer heads")
    show_grid(page, "cross-attention")
    if device == "phone":  # the grid follows the page's width, read by the browser
        page.wait_for_function("""() => {
            const gd = document.querySelector("#head-grid .js-plotly-plot");
            return gd && gd._fullLayout.xaxis2.domain[0] > 0 && !gd._fullLayout.xaxis3
                .domain[0];
        }""")
    page.wait_for_timeout(1000)
    columns = page.evaluate("""() => {
        const full = document.querySelector("#head-grid .js-plotly-plot")._fullLayout;
        return new Set(Object.keys(full).filter(k => /^xaxis\\d*$/.test(k))
            .map(k => full[k].domain[0].toFixed(3))).size;
    }""")
    assert columns == 2 if device == "phone" else columns in (2, 4)
    result = page.evaluate(OVERLAPS, "#head-grid .js-plotly-plot")
    assert result["found"] == [], result["found"][:5]
    resting = page.inner_text("#grid-resting")
    assert "Resting places" in resting and "%" in resting
    show_tab(page, "Side by side")


def test_two_panel_figures_stack_on_a_phone_and_sit_side_by_side_on_a_laptop(page, phone):
    for device, stacked in ((page, False), (phone, True)):
        show_tab(device, "Training")
        loss, bleu = box(device, "#curves-loss"), box(device, "#curves-bleu")
        assert (bleu["y"] >= loss["y"] + loss["height"] - 1) == stacked
        assert (abs(bleu["y"] - loss["y"]) < 2) != stacked
        show_tab(device, "Chapter lab")
        time, memory = box(device, "#scaling-time"), box(device, "#scaling-memory")
        assert (memory["y"] >= time["y"] + time["height"] - 1) == stacked
        show_tab(device, "Side by side")


def test_a_phone_shows_every_figure_of_the_tables_and_cards(phone):
    show_tab(phone, "Models")
    for card in phone.locator("#models-cards .model-details").all():
        where = card.bounding_box()
        assert where["x"] >= 0 and where["x"] + where["width"] <= PHONE[0]
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE[0] + 1
    show_tab(phone, "Same target, compared")
    phone.click("#align-btn")
    phone.wait_for_function("() => document.querySelector('#ranking-summary').innerText"
                            ".includes('Closest to')")
    headers = phone.locator("#ranking thead th").all()
    assert headers
    for header in headers:
        where = header.bounding_box()
        assert where["x"] + where["width"] <= PHONE[0], header.inner_text()
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE[0] + 1
    show_tab(phone, "Chapter lab")
    for header in phone.locator("#scaling-table thead th").all():
        where = header.bounding_box()
        assert where["x"] + where["width"] <= PHONE[0], header.inner_text()
    show_tab(phone, "Side by side")


# ---- interaction ---------------------------------------------------------------------------------
def test_enter_translates_and_an_edited_sentence_is_marked_stale(page):
    show_tab(page, "Side by side")
    page.fill("#sentence textarea", "Two cats sleep on a bench")
    page.wait_for_function("() => document.querySelector('#status').innerText"
                           ".includes('Not translated yet')")
    assert page.locator("#status").is_visible()
    page.press("#sentence textarea", "Enter")
    wait_for_source(page, "Two cats sleep on a bench")
    page.wait_for_function("() => !document.querySelector('#status').innerText.trim()")
    page.locator("#beam input[type=number]").fill("3")
    page.locator("#beam input[type=number]").press("Tab")
    page.wait_for_function("() => document.querySelector('#status').innerText"
                           ".includes('beam 1')")
    page.locator("#beam input[type=number]").fill("1")
    page.locator("#beam input[type=number]").press("Tab")
    page.wait_for_function("() => !document.querySelector('#status').innerText.trim()")
    page.locator("#beam input[type=number]").fill("2")
    page.locator("#beam input[type=number]").press("Tab")
    page.click("#translate-btn")  # beam 2 translated: nothing stale
    page.wait_for_function("() => !document.querySelector('#status').innerText.trim()")
    page.locator("#beam input[type=number]").fill("1")
    page.locator("#beam input[type=number]").press("Tab")
    page.click("#translate-btn")
    page.wait_for_function("() => !document.querySelector('#status').innerText.trim()")


def test_unknown_characters_and_split_words_are_named(page):
    page.fill("#sentence textarea", "Собака runs")
    page.press("#sentence textarea", "Enter")
    page.wait_for_function("() => document.querySelector('#pieces-note').innerText"
                           ".includes('Unknown to the vocabulary')")
    assert "Собака" in page.inner_text("#pieces-note")


def test_type_translate_and_see_every_model(page):
    translate(page, "Two dogs play in the park")
    for name in ["gru_noattn", *PLOTTED]:
        assert page.locator(f"#translation-{name} textarea").is_visible()
    assert "No alignment" in page.inner_text("#no-attention-gru_noattn")
    assert page.locator("#heatmap-gru_noattn").count() == 0
    for name in PLOTTED:
        data = plot_data(page, f"heatmap-{name}")
        assert source_of(data["x"]).startswith("Twodogsplayinthepark")
        assert data["x"][-1] == "&lt;/s&gt;"
        assert data["yrange"][0] > data["yrange"][1]  # reversed: first target piece on top
    # The eos label is drawn as text, not swallowed as a tag.
    ticks = page.locator("#heatmap-gru_bahdanau .xtick text").all_text_contents()
    assert ticks[-1] == "</s>"
    texts = [page.input_value(f"#translation-{n} textarea") for n in ["gru_noattn", *PLOTTED]]
    assert any(texts)


def test_hover_shows_the_pair_and_the_weight(page):
    drag = page.locator("#heatmap-gru_bahdanau .nsewdrag").first
    drag.scroll_into_view_if_needed()
    where = drag.bounding_box()
    page.mouse.move(where["x"] + where["width"] / 3, where["y"] + where["height"] / 3, steps=5)
    hover = page.locator("#heatmap-gru_bahdanau .hoverlayer .hovertext")
    hover.first.wait_for(timeout=15_000)
    text = hover.first.text_content()
    assert "weight 0." in text and "writing" in text and "looks at" in text


def test_switch_head_and_merge_words(page):
    assert "mean of 4 heads" in plot_data(page, "heatmap-transformer")["title"]
    page.locator("#transformer-head").get_by_label("2", exact=True).check()
    page.wait_for_function("""() => {
        const gd = document.querySelector("#heatmap-transformer .js-plotly-plot");
        return gd && gd.layout.title.text.includes("head 2 of 4");
    }""")
    page.locator("#words").get_by_role("checkbox").check()
    page.wait_for_function("""() => {
        const gd = document.querySelector("#heatmap-gru_bahdanau .js-plotly-plot");
        return gd && gd.layout.title.text.includes("words");
    }""")
    assert "head 2 of 4" in plot_data(page, "heatmap-transformer")["title"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "app.png"), full_page=True)
    page.locator("#words").get_by_role("checkbox").uncheck()


def test_the_word_toggle_works_on_the_training_tab(page):
    show_tab(page, "Training")
    assert page.locator("#words").is_visible()
    box = page.locator("#words").get_by_role("checkbox")
    # An earlier long sentence may have switched the word view on by itself: start from off.
    if box.is_checked():
        box.uncheck()
    page.wait_for_function("""() => !document.querySelector("#snapshot-heatmap .js-plotly-plot")
        .layout.title.text.includes("words")""")
    assert "words" not in plot_data(page, "snapshot-heatmap")["title"]
    page.locator("#words").get_by_role("checkbox").check()
    page.wait_for_function("""() => document.querySelector("#snapshot-heatmap .js-plotly-plot")
        .layout.title.text.includes("words")""")
    page.locator("#words").get_by_role("checkbox").uncheck()
    page.wait_for_function("""() => !document.querySelector("#snapshot-heatmap .js-plotly-plot")
        .layout.title.text.includes("words")""")
    show_tab(page, "Models")  # no alignments there: no toggle
    page.wait_for_function("() => !document.querySelector('#words')?.offsetParent")
    show_tab(page, "Side by side")
    page.wait_for_selector("#words", state="visible")


def test_typing_a_german_target_picks_my_own_sentence(page):
    show_tab(page, "Same target, compared")
    own = page.get_by_label("my own German sentence", exact=True)
    assert not own.is_checked()
    page.locator("#own-target textarea").press_sequentially("Ein Hund rennt.")
    page.wait_for_function("""() => [...document.querySelectorAll("#target-choice input")]
        .some(i => i.checked && i.value === "__own__")""")
    page.click("#align-btn")
    page.wait_for_function("() => document.querySelector('#aligned-info').innerText"
                           ".includes('Ein Hund rennt')")
    show_tab(page, "Side by side")


def test_transformer_heads_tab_shows_small_multiples(page):
    show_tab(page, "Transformer heads")
    show_grid(page, "decoder self-attention")
    data = plot_data(page, "head-grid")
    assert data["traces"] == 4 and data["x"][0] == "&lt;s&gt;"
    assert page.locator("#grid-layer input").count() == 2  # the decoder's layers
    # The encoder is deeper than the decoder: its kind offers its own layers, the last one shown.
    page.locator("#grid-kind").get_by_label("encoder self-attention").check()
    page.wait_for_function("""() => {
        const gd = document.querySelector("#head-grid .js-plotly-plot");
        const title = gd && gd.layout.title.text;
        return title && title.includes("encoder self-attention") && title.includes("layer 3 of 3");
    }""")
    assert page.locator("#grid-layer input").count() == 3
    page.locator("#grid-layer").get_by_label("1", exact=True).check()
    page.wait_for_function("""() => document.querySelector("#head-grid .js-plotly-plot")
        .layout.title.text.includes("layer 1 of 3")""")
    show_tab(page, "Side by side")


def test_markup_in_the_sentence_is_shown_not_run(page):
    attack = "<img src=x onerror=window.__xss=1> <script>window.__xss=2</script>"
    page.fill("#sentence textarea", attack)
    page.click("#translate-btn")
    page.wait_for_function("""() => {
        const gd = document.querySelector("#heatmap-gru_bahdanau .js-plotly-plot");
        return gd && gd.data[0].x.join("").includes("img");
    }""")
    page.wait_for_timeout(500)  # let any injected handler fire, if one got through
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("#heatmap-gru_bahdanau img, #notice img, #status img, "
                        "#pieces-note img").count() == 0
    assert page.dialogs == []


# ---- the chapter's live views ------------------------------------------------------------------
def wait_for_plot(page, elem_id: str, traces: int = 1) -> None:
    page.wait_for_function("""([id, traces]) => {
        const gd = document.querySelector(`#${id} .js-plotly-plot`);
        return gd && gd.data && gd.data.length >= traces && gd._fullLayout;
    }""", arg=[elem_id, traces])


def readable(page, selector: str) -> None:
    """No tick label on another in the plots `selector` finds, and the page itself never wider
    than the screen (a wide figure scrolls inside its box)."""
    page.wait_for_timeout(800)  # the fit-to-labels resize
    result = page.evaluate(OVERLAPS, selector)
    assert result["labels"] > 0 and result["found"] == [], result["found"][:5]
    width = page.viewport_size["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width + 1


def leave(page, tab: str) -> None:
    """A full-page screenshot of the chapter tab on screen, then back to the first tab."""
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"app-{tab}-{width}.png"), full_page=True)
    show_tab(page, "Side by side")


def test_the_chapter_map_names_a_tab_for_every_objective(page):
    show_tab(page, "Chapter map")
    rows = page.locator("#chapter-map tbody tr").all()
    assert len(rows) == 6
    shown = page.locator("#chapter-map strong").all_inner_texts()
    assert set(shown) <= set(TABS) and {"Gates", "Q, K, V"} <= \
        set(shown)
    assert "not shown" not in page.inner_text("#chapter-map")  # the fixtures have every kind
    show_tab(page, "Side by side")


@pytest.mark.parametrize("device", ["page", "phone"])
def test_gates_of_the_gru_and_lstm_are_drawn_for_the_sentence(device, request):
    page = request.getfixturevalue(device)
    translate(page, "A dog runs on the beach.")
    show_tab(page, "Gates")  # opening the tab computes them
    for name in ("gru_bahdanau", "lstm_bahdanau"):
        wait_for_plot(page, f"gates-{name}", traces=3)
    labels = plot_data(page, "gates-gru_bahdanau")["y"]
    assert source_of(labels).startswith("Adogrunsonthebeach")
    caption_text = page.inner_text("#gates-caption")
    assert "update z" in caption_text and "forget f" in caption_text
    readable(page, "[id^=gates-] .js-plotly-plot")
    leave(page, "gates")


@pytest.mark.parametrize("device", ["page", "phone"])
def test_gradient_flow_puts_every_model_on_one_chart_and_the_recall_lab_runs(device, request):
    page = request.getfixturevalue(device)
    show_tab(page, "Vanishing gradients")
    wait_for_plot(page, "gradflow-plot", traces=5)
    page.wait_for_function("() => document.querySelector('#gradflow-caption').innerText"
                           ".length > 20")
    readable(page, "#gradflow-plot .js-plotly-plot")
    if device == "page":  # the experiment itself is the same on both; run it once
        page.click("#recall-btn")
        wait_for_plot(page, "recall-accuracy", traces=3)
        wait_for_plot(page, "recall-gradients", traces=3)
        assert "RNN" in page.inner_text("#recall-summary")
        readable(page, "[id^=recall-] .js-plotly-plot")
    leave(page, "gradients")


@pytest.mark.parametrize("device", ["page", "phone"])
def test_saliency_follows_the_picked_piece(device, request):
    page = request.getfixturevalue(device)
    show_tab(page, "Attention vs. gradient")
    for name in ("gru_bahdanau", "lstm_bahdanau", "gru_luong", "transformer"):
        wait_for_plot(page, f"saliency-{name}")
    before = page.inner_text("#saliency-caption")
    assert "Spearman" in before or "ρ" in before
    readable(page, "[id^=saliency-] .js-plotly-plot")
    page.click("#saliency-piece input")
    page.locator("#saliency-piece [role=option]").nth(1).click()
    page.wait_for_function("""before => document.querySelector("#saliency-caption").innerText
        !== before""", arg=before)
    show_tab(page, "Side by side")


@pytest.mark.parametrize("device", ["page", "phone"])
def test_qkv_steps_and_the_mask_toggle(device, request):
    page = request.getfixturevalue(device)
    show_tab(page, "Q, K, V")
    wait_for_plot(page, "qkv-steps")
    assert "d_k" in page.inner_text("#qkv-summary") or "√" in page.inner_text("#qkv-summary")
    readable(page, "#qkv-grid .js-plotly-plot")
    page.locator("#qkv-kind").get_by_label(heatmaps_kind("decoder_self")).check()
    page.wait_for_selector("#qkv-no-mask", state="visible")
    page.wait_for_selector("#qkv-mask .js-plotly-plot")
    masked = page.inner_text("#qkv-summary")
    page.locator("#qkv-no-mask input").check()
    page.wait_for_function("""before => document.querySelector("#qkv-summary").innerText
        !== before""", arg=masked)
    leave(page, "qkv")


def heatmaps_kind(kind: str) -> str:
    from views.heatmaps import KINDS
    return KINDS[kind]


def test_an_empty_sentence_on_a_chapter_tab_gets_a_message_not_a_trace(page):
    show_tab(page, "Gates")
    page.fill("#sentence textarea", "   ")
    page.click("#gates-btn")
    message = page.get_by_text("the input is empty").first
    message.wait_for()
    assert "Traceback" not in page.inner_text("body")
    translate(page, "A dog runs on the beach.")
    show_tab(page, "Side by side")

"""The page in headless Chromium: type, translate, read the heatmaps, hover, switch heads.

Uses Debian's /usr/bin/chromium through playwright (never `playwright install`); skips with the
reason where it is absent. Leaves a screenshot in artifacts/screenshots/ for CI to keep.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import app
from tests.app_fixtures import ROOT, build_checkpoints

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not at /usr/bin/chromium "
                                       "(apt-get install chromium)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
PLOTTED = ["gru_bahdanau", "gru_luong", "transformer"]
TIMEOUT = 60_000  # ms; generous for a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    demo = app.build_demo(build_checkpoints(tmp_path_factory.getbasetemp() / "app_checkpoints"))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                ssr_mode=False, **app.LAUNCH_OPTIONS)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(TIMEOUT)
            page.dialogs = []
            page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
            page.goto(f"http://127.0.0.1:{port}/")
            # The page translates its example sentence on load.
            for name in PLOTTED:
                page.wait_for_selector(f"#heatmap-{name} .nsewdrag")
            yield page
            browser.close()
    finally:
        demo.close()


def plot_data(page, elem_id: str) -> dict:
    """What plotly holds for the figure inside #elem_id: first trace's x/y, the title."""
    return page.evaluate("""id => {
        const gd = document.querySelector(`#${id} .js-plotly-plot`);
        if (!gd || !gd.data) return null;
        return {x: gd.data[0].x, y: gd.data[0].y, title: (gd.layout.title || {}).text || "",
                traces: gd.data.length, yrange: gd._fullLayout.yaxis.range};
    }""", elem_id)


def source_of(labels: list[str]) -> str:
    return "".join(labels).replace("\u200b", "").replace("▁", "")


def translate(page, sentence: str) -> None:
    page.fill("#sentence textarea", sentence)
    page.click("#translate-btn")
    squeezed = sentence.replace(" ", "")
    for name in PLOTTED:
        page.wait_for_function("""([id, want]) => {
            const gd = document.querySelector(`#${id} .js-plotly-plot`);
            return gd && gd.data && gd.data[0].x.join("").replaceAll("\\u200b", "")
                .replaceAll("\\u2581", "").startsWith(want);
        }""", arg=[f"heatmap-{name}", squeezed])


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
    box = drag.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3, steps=5)
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


def test_transformer_heads_tab_shows_small_multiples(page):
    page.get_by_role("tab", name="Transformer heads").click()
    page.locator("#grid-kind").get_by_label("decoder self-attention").check()
    page.wait_for_function("""() => {
        const gd = document.querySelector("#head-grid .js-plotly-plot");
        return gd && gd.layout.title.text.includes("decoder self-attention");
    }""")
    data = plot_data(page, "head-grid")
    assert data["traces"] == 4 and data["x"][0] == "&lt;s&gt;"
    assert page.locator("#grid-layer input").count() == 2  # the decoder's layers
    # The encoder is deeper than the decoder: its kind offers its own layers, the last one shown.
    page.locator("#grid-kind").get_by_label("encoder self-attention").check()
    page.wait_for_function("""() => {
        const gd = document.querySelector("#head-grid .js-plotly-plot");
        return gd && gd.layout.title.text.includes("encoder self-attention · layer 3 of 3");
    }""")
    assert page.locator("#grid-layer input").count() == 3
    page.locator("#grid-layer").get_by_label("1", exact=True).check()
    page.wait_for_function("""() => document.querySelector("#head-grid .js-plotly-plot")
        .layout.title.text.includes("layer 1 of 3")""")
    page.get_by_role("tab", name="Side by side").click()


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
    assert page.locator("#heatmap-gru_bahdanau img, #notice img").count() == 0
    assert page.dialogs == []

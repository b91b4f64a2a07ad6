"""Screenshots of every tab, on a laptop (1366x768) and a phone (390x844), for the README.

    python docs/screenshots.py                 # the shipped models in checkpoints/
    python docs/screenshots.py --only side     # one tab

Launches the app in-process, drives Debian's chromium through playwright (never `playwright
install`), and writes docs/app-TAB-WIDTH.png: each the top of the tab (the page header too on
the first), cut to at most `--max-height` pixels and reduced to a 128-colour palette so every
file stays small.
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import app  # noqa: E402
from inference import serve_threads  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]
SIZES = {"laptop": (1366, 768), "phone": (390, 844)}
LONG = app.EXAMPLES[-1]  # 30 words
# tab id -> the name on its tab
TABS = {"map": "Chapter map", "side": "Side by side", "gates": "Gates",
        "gradients": "Vanishing gradients", "saliency": "Attention vs. gradient",
        "qkv": "Q, K, V", "heads": "Transformer heads",
        "compare": "Same target, compared", "training": "Training", "lab": "Chapter lab",
        "models": "Models"}
# The plots a tab draws by itself when opened (it follows the sentence while open).
OWN_PLOTS = {"gates": "[id^=gates-] .js-plotly-plot", "gradients": "#gradflow-plot .js-plotly-plot",
             "saliency": "[id^=saliency-] .js-plotly-plot", "qkv": "#qkv-steps .js-plotly-plot"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save(png: bytes, path: Path, colours: int = 128) -> None:
    """A palette PNG: plots and text need few colours, and the file shrinks several times."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colours, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path.relative_to(HERE.parent)}: {image.size[0]}x{image.size[1]}, "
          f"{path.stat().st_size / 1024:.0f} KB")


def wait_for_plots(page, selector: str) -> None:
    page.wait_for_function("""sel => [...document.querySelectorAll(sel)]
        .every(gd => gd.data && gd._fullLayout)""", arg=selector)
    page.wait_for_timeout(800)  # let the fit-to-labels resize settle


def shoot(page, tab: str, path: Path, max_height: int, from_top: bool) -> None:
    page.get_by_role("tab", name=TABS[tab]).click()
    page.wait_for_timeout(600)
    if tab == "compare":
        page.click("#align-btn")
        page.wait_for_function(
            "() => document.querySelector('#ranking-summary').innerText.length > 10")
        wait_for_plots(page, "[id^=aligned-] .js-plotly-plot")
    elif tab == "lab":
        page.click("#scaling-btn")
        page.wait_for_selector("#scaling-time .js-plotly-plot", timeout=300_000)
        wait_for_plots(page, "#scaling-time .js-plotly-plot")
    elif tab == "gradients":
        page.wait_for_selector(OWN_PLOTS[tab])
        page.click("#recall-btn")
        page.wait_for_selector("#recall-accuracy .js-plotly-plot", timeout=120_000)
        wait_for_plots(page, "[id^=recall-] .js-plotly-plot, #gradflow-plot .js-plotly-plot")
    elif tab in OWN_PLOTS:
        page.wait_for_selector(OWN_PLOTS[tab])
        wait_for_plots(page, OWN_PLOTS[tab])
    elif tab in ("side", "heads"):
        wait_for_plots(page, f"#{'head-grid' if tab == 'heads' else 'model-grid'} .js-plotly-plot")
    else:
        page.wait_for_timeout(1500)
    top = 0 if from_top else page.evaluate(
        "() => document.querySelector('#tabs').getBoundingClientRect().top + window.scrollY - 8")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    width = page.viewport_size["width"]
    clip = dict(x=0, y=top, width=width, height=min(max_height, height - top))
    save(page.screenshot(full_page=True, clip=clip), path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default=None, help="model folders (default: checkpoints/)")
    parser.add_argument("--only", choices=list(TABS), nargs="*", default=list(TABS))
    parser.add_argument("--sizes", choices=list(SIZES), nargs="*", default=list(SIZES))
    parser.add_argument("--max-height", type=int, default=1500)
    parser.add_argument("--sentence", default=LONG, help="what to translate first")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    serve_threads(1)
    demo = app.build_demo(args.checkpoints)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, ssr_mode=False, **app.LAUNCH_OPTIONS)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for size in args.sizes:
                width, height = SIZES[size]
                page = browser.new_page(viewport={"width": width, "height": height})
                page.set_default_timeout(120_000)
                page.goto(f"http://127.0.0.1:{port}/")
                wait_for_plots(page, "#model-grid .js-plotly-plot")
                if args.sentence != app.EXAMPLES[0]:
                    page.fill("#sentence textarea", args.sentence)
                    page.press("#sentence textarea", "Enter")
                    page.wait_for_function("""want => {
                        const gd = document.querySelector("#model-grid .js-plotly-plot");
                        return gd && gd.data && gd.data[0].x.length >= want; }""",
                        arg=min(len(args.sentence.split()), 25))
                    wait_for_plots(page, "#model-grid .js-plotly-plot")
                for tab in args.only:
                    shoot(page, tab, HERE / f"app-{tab}-{width}.png", args.max_height,
                          from_top=tab == "side")
                page.close()
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    main()

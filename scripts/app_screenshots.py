"""Screenshots of a running `o3video app`'s three views, taken in headless Chromium (Debian's `chromium`, driven
by Playwright) once each view has finished rendering: its status line says the answer, record or sample is shown,
no component is still working, and every picture on the page has loaded. A view that shows an error instead is
one line on stderr and exit 1, with no picture written.

    python scripts/app_screenshots.py URL OUT_DIR --video V --question Q --record KEY --sample ID

writes OUT_DIR/app_ask.png (V asked Q with the page's model), app_results.png (`?view=results&record=KEY`) and
app_data.png (`?view=data&sample=ID`). `scripts/app_screenshots.sh` starts the app and runs this.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlencode

from PIL import Image
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1600, 1000
TIMEOUT_MS = 600_000  # the Ask view generates on a CPU
# every <img> of the page has loaded, and no Gradio component shows its progress overlay
RENDERED = """() => [...document.images].every(i => i.complete && i.naturalWidth > 0)
    && document.querySelectorAll('.pending, .eta-bar, .progress-text').length === 0"""


def save(page: Page, out: Path) -> None:
    """The whole page as a 256-colour PNG (a README picture of a few hundred KB, the UI's flat colours kept)."""
    page.screenshot(path=str(out), full_page=True)
    with Image.open(out) as shot:
        shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, optimize=True)


class ViewFailed(Exception):
    """The view shows an error line instead of what was asked for."""


def settle(page: Page, done: str) -> None:
    """Wait until the page shows `done` (or an error line, raised as `ViewFailed`) and has finished rendering."""
    shown = page.get_by_text(done).or_(page.get_by_text("Error:"))
    shown.first.wait_for(state="visible", timeout=TIMEOUT_MS)
    error = page.get_by_text("Error:")
    if error.count() and error.first.is_visible():
        raise ViewFailed(error.first.locator("xpath=..").inner_text().replace("\n", " "))
    page.wait_for_function(RENDERED, timeout=TIMEOUT_MS, polling=250)
    page.wait_for_timeout(500)  # a last layout pass after the pictures arrive


def shoot_link(page: Page, url: str, query: dict[str, str], done: str, out: Path) -> None:
    page.goto(f"{url}?{urlencode(query)}")
    settle(page, done)
    save(page, out)


def shoot_ask(page: Page, url: str, video: Path, question: str, out: Path) -> None:
    page.goto(f"{url}?view=ask")
    page.locator("input[type=file]").first.set_input_files(str(video))
    page.locator("video").first.wait_for(state="attached", timeout=60_000)  # the upload is in
    page.get_by_label("question").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    settle(page, "Answered with")
    save(page, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the running app, e.g. http://127.0.0.1:7861/")
    parser.add_argument("out", type=Path, help="folder for app_ask.png, app_results.png, app_data.png")
    parser.add_argument("--video", type=Path, required=True, help="the Ask view's video")
    parser.add_argument("--question", required=True, help="the Ask view's question")
    parser.add_argument("--record", required=True, help="the Results view's record key")
    parser.add_argument("--sample", required=True, help="the Data view's sample id")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    url = args.url.rstrip("/") + "/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        try:
            shoot_link(page, url, {"view": "results", "record": args.record}, f"Record {args.record}.",
                       args.out / "app_results.png")
            shoot_link(page, url, {"view": "data", "sample": args.sample}, f"Sample {args.sample}.",
                       args.out / "app_data.png")
            shoot_ask(page, url, args.video, args.question, args.out / "app_ask.png")
        except ViewFailed as failed:
            print(f"app_screenshots: {failed}", file=sys.stderr)
            return 1
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Screenshots of the explorer's course examples for docs/: ``python scripts/explorer_screenshots.py``.

Starts ``lrscope serve`` on a free loopback port, opens the explorer in headless Chromium (Debian's ``chromium``),
clicks each course example in turn and saves the examples' caption, the loss curves, the verdicts, the map and the
theory chart as ``docs/presets/NN-title.jpg``.
"""

from __future__ import annotations

import re
from pathlib import Path

from lrscope.web.local import CHROMIUM_ARGS, serving

OUT = Path(__file__).resolve().parent.parent / "docs" / "presets"


def shrink(path: Path, width: int = 960) -> None:
    """The screenshot at ``width`` pixels, as a JPEG (a tenth of the PNG's bytes, still sharp enough to read)."""
    from PIL import Image
    with Image.open(path) as img:
        small = img.convert("RGB").resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    small.save(path, "JPEG", quality=75, optimize=True)


def main() -> None:
    from playwright.sync_api import sync_playwright
    with serving() as url:
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(url + "/")
            page.wait_for_function("document.getElementById('results').dataset.drawn !== undefined")
            titles = page.evaluate("[...document.querySelectorAll('#presets button')].map(b => b.textContent)")
            for i, title in enumerate(titles):
                drawn = page.evaluate("document.getElementById('results').dataset.drawn")
                page.click(f"#preset-{i}")
                page.wait_for_function(f"document.getElementById('results').dataset.drawn !== '{drawn}'",
                                       timeout=60_000)
                page.wait_for_timeout(300)
                top = page.evaluate("document.getElementById('lessons').getBoundingClientRect().top + scrollY")
                bottom = page.evaluate("document.getElementById('theory-text').getBoundingClientRect().top + scrollY")
                left = page.evaluate("document.getElementById('results').getBoundingClientRect().left")
                name = re.sub(r"[^a-z0-9]+", "-", title.lower().replace("²", "2")).strip("-")
                path = OUT / f"{i:02d}-{name}.jpg"
                page.screenshot(path=str(path), type="png", full_page=True,
                                clip={"x": left, "y": top, "width": 1300 - left - 10, "height": bottom - top})
                shrink(path)
                print(path)
            browser.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Draw the web app manifest's PNG icons (192 and 512 px) from webmap/static/favicon.svg with the headless Chromium
the browser tests use (Debian's /usr/bin/chromium through Playwright), so the icons are the favicon, not a copy.

    python scripts/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "webmap" / "static"
CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    from playwright.sync_api import sync_playwright

    svg = (STATIC / "favicon.svg").read_text(encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        for size in (192, 512):
            page = browser.new_page(viewport={"width": size, "height": size}, device_scale_factor=1)
            sized = svg.replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)
            page.set_content(f"<html><body style='margin:0;background:transparent'>{sized}</body></html>")
            out = STATIC / f"icon-{size}.png"
            page.screenshot(path=str(out), omit_background=True, clip={"x": 0, "y": 0, "width": size, "height": size})
            page.close()
            print(f"{out.relative_to(ROOT)} ({out.stat().st_size} bytes)")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

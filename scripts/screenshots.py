"""Screenshots of the main pages at phone and desktop widths, in Chinese and English.

Run against a served demo (`make run` in another shell):
    .venv/bin/python scripts/screenshots.py --base http://127.0.0.1:8000 --out var/screenshots
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS

VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 860}}


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "jiedao-demo")
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base}/")


def set_language(page: Page, lang: str) -> None:
    page.click(f"[data-testid=lang-{lang}]")
    page.wait_for_load_state("networkidle")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="var/screenshots")
    parser.add_argument("--user", default="leader")
    parser.add_argument("--unit", default="", help="code of the unit page to capture")
    parser.add_argument("--pages", default="home=/,tree=/org/,audit=/audit/")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pages = dict(item.split("=", 1) for item in args.pages.split(","))
    if args.unit:
        pages["unit"] = f"/org/{args.unit}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        for vp_name, viewport in VIEWPORTS.items():
            for lang in ("zh", "en"):
                context = browser.new_context(viewport=viewport, device_scale_factor=1)  # type: ignore[arg-type]
                page = context.new_page()
                page.goto(f"{args.base}/accounts/login/")
                set_language(page, lang)
                login(page, args.base, args.user)
                for name, path in pages.items():
                    page.goto(f"{args.base}{path}")
                    page.wait_for_load_state("networkidle")
                    target = out / f"{name}_{vp_name}_{lang}.png"
                    page.screenshot(path=str(target), full_page=True)
                    width = page.evaluate("document.documentElement.scrollWidth")
                    print(f"{target}  scrollWidth={width}")
                context.close()
        browser.close()


if __name__ == "__main__":
    main()

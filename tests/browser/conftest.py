"""Browser tests: Playwright (Python) drives Debian's Chromium against pytest-django's live server.

No browser is ever downloaded: Chromium comes from Debian (`scripts/ensure_chromium.sh`, which `make test`
runs before pytest). Set SCREENSHOT_DIR to keep a PNG of every page a test visits
(`<test>_<step>_<width>x<height>.png`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ENSURE_SCRIPT = ROOT / "scripts" / "ensure_chromium.sh"
CHROMIUM = os.environ.get("JIEDAO_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "jiedao-demo"
MOBILE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium with a CJK font, installed (as root) by scripts/ensure_chromium.sh when missing."""
    if Path(CHROMIUM).is_file() and _has_cjk_font():
        return CHROMIUM
    if os.environ.get("JIEDAO_SKIP_BROWSER") == "1" and not _in_ci():
        pytest.skip("JIEDAO_SKIP_BROWSER=1: browser tests skipped (never honoured when CI=true)")
    if os.geteuid() == 0:
        done = subprocess.run([str(ENSURE_SCRIPT)], capture_output=True, text=True, check=False)
        if done.returncode == 0 and Path(CHROMIUM).is_file():
            return CHROMIUM
        pytest.fail(f"scripts/ensure_chromium.sh could not install Chromium:\n{done.stdout}{done.stderr}")
    pytest.fail(
        f"The browser tests need Debian's Chromium at {CHROMIUM} and a CJK font. Install them as root: "
        "apt-get update && apt-get install -y chromium fonts-noto-cjk (or: scripts/ensure_chromium.sh)."
    )


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One Chromium per test module.

    While Playwright's sync API is running, its event loop counts as running in this thread, so Django would
    refuse the ORM calls of fixtures such as tx_world ("called from an async context"):
    DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly as long as Playwright runs. Module scope (not session) stops
    Playwright after the browser tests, so the tests after them run with Django's async safety restored.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=chromium_path, headless=True, args=LAUNCH_ARGS
            )
            try:
                yield launched
            finally:
                launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "page"


@dataclass
class Visit:
    """One browser tab of one test, with helpers that keep the tests short and save screenshots."""

    page: Page
    base_url: str
    test_name: str
    viewport: dict[str, int]
    failed_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    step: int = 0

    @property
    def viewport_label(self) -> str:
        return f"{self.viewport['width']}x{self.viewport['height']}"

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def goto(self, path: str, step: str) -> Response:
        response = self.page.goto(self.url(path), wait_until="load")
        assert response is not None, f"no response for {path}"
        self.shot(step)
        return response

    def shot(self, step: str) -> None:
        """Save a PNG of the page when SCREENSHOT_DIR is set: <test>_<nn-step>_<viewport>.png."""
        self.step += 1
        folder = os.environ.get("SCREENSHOT_DIR")
        if not folder:
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        name = f"{_slug(self.test_name)}_{self.step:02d}-{_slug(step)}_{self.viewport_label}.png"
        self.page.screenshot(path=str(Path(folder) / name), full_page=True)

    def click_and_wait(self, selector: str, step: str) -> None:
        """Click something that loads a new page, wait for it, screenshot it."""
        with self.page.expect_navigation(wait_until="load"):
            self.page.locator(selector).first.click()
        self.shot(step)

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/accounts/login/", f"login-{username}")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        form = self.page.locator("form", has=self.page.locator("#id_password"))
        with self.page.expect_navigation(wait_until="load"):
            form.locator("button[type=submit], input[type=submit]").first.click()
        assert "/accounts/login/" not in self.page.url, f"login as {username} failed: {self.page.url}"
        self.shot(f"after-login-{username}")

    def open_menu(self) -> None:
        """Open the collapsed navigation of a narrow screen and wait until its animation has finished."""
        self.page.locator("[data-testid=nav-toggle]").first.click()
        self.page.locator("[data-testid=nav-org]").first.wait_for(state="visible")
        self.page.wait_for_function("!document.querySelector('.collapsing')")

    def overflow_width(self) -> int:
        return int(self.page.evaluate("document.documentElement.scrollWidth"))


@pytest.fixture
def open_page(
    browser: Browser, live_server: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[[dict[str, int]], Visit]]:
    """open_page(MOBILE) → a Visit in a fresh browser context (own cookies) at that viewport, in Chinese."""
    contexts = []

    def make(viewport: dict[str, int]) -> Visit:
        size = ViewportSize(width=viewport["width"], height=viewport["height"])
        context = browser.new_context(viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        visit = Visit(page=page, base_url=live_server.url, test_name=request.node.name, viewport=viewport)
        base = live_server.url

        def record(response: Response) -> None:
            if response.url.startswith(base) and response.status >= 400:
                visit.failed_requests.append(f"{response.status} {response.url[len(base) :]}")

        page.on("response", record)
        page.on("pageerror", lambda error: visit.page_errors.append(f"{page.url}: {error}"))
        visits.append(visit)
        return visit

    visits: list[Visit] = []
    yield make
    for context in contexts:
        context.close()
    errors = [error for visit in visits for error in visit.page_errors]
    assert not errors, f"JavaScript errors on the pages this test visited: {errors}"

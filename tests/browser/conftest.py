"""A real browser for the web pages: Debian's Chromium, headless, driven by Playwright (one browser for the
whole session), against the real service served from a thread.

Where Chromium is missing the tests are skipped with the reason, except in CI (``CI`` set), where they fail:
CI installs the browser first (``.ci/run``) and must never pass without having run them. Screenshots go to
``var/screenshots/`` (or ``$SCREENSHOTS_DIR``); the path is printed at the end of the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from tests.support.live_service import LiveService
from tests.support.system_packages import missing

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / "var" / "screenshots")
MISSING = (
    "Chromium is not installed: the browser tests need Debian's `chromium` package "
    "(`sudo apt-get install chromium`), or CHROMIUM=/path/to/chrome"
)
_taken: list[Path] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. Playwright's sync API keeps its event loop running in the main thread from the
    first browser test until the browser closes at the end of the session: no asyncio test can run after."""
    here = Path(__file__).resolve().parent
    items.sort(key=lambda item: Path(str(item.path)).resolve().is_relative_to(here))


def chromium_path() -> str | None:
    named = os.environ.get("CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        named = os.environ.get("CHROMIUM")
        missing(f"CHROMIUM={named} does not exist" if named else MISSING, tests="the browser tests")
    with sync_playwright() as playwright:
        launched = _launch(playwright, path)
        try:
            yield launched
        finally:
            launched.close()


def _launch(playwright: Playwright, path: str) -> Browser:
    return playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS, timeout=60_000)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    served = LiveService(tmp_path_factory.mktemp("live"))
    served.start()
    try:
        yield served
    finally:
        served.stop()


def new_context(browser: Browser, *, phone: bool = False, **options: Any) -> BrowserContext:
    context = browser.new_context(viewport=PHONE if phone else DESKTOP, accept_downloads=True, **options)
    context.set_default_timeout(30_000)  # generous: CI machines are shared
    return context


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    _taken.append(path)
    return path


AXE_SOURCE = resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is, WCAG 2.x A and AA and best practice."""
    page.evaluate(AXE_SOURCE)
    results: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"][:3]]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _taken:
        terminalreporter.write_line(f"browser tests: {len(_taken)} screenshots in {SCREENSHOTS}")

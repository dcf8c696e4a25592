"""Debian's chromium driven by Playwright, as the browser tests use it (never Playwright's own
download, which this machine cannot fetch). Without chromium or playwright a test skips, saying why."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def require_browser() -> None:
    """Skip the calling test when Debian's chromium or playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (as root, `make test` installs Debian's chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pyproject.toml lists it)")


@contextmanager
def browser_page(width: int, height: int, timeout_ms: int):
    """A new page of a headless chromium, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                  "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(timeout_ms)
        try:
            yield page
        finally:
            browser.close()

"""Console fixtures: Debian's Chromium driven by Playwright (no browser download), a page per
test, and a folder for screenshots that the run prints at its end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

# Fixtures for the tests that run real tasks (root), from the end-to-end suite.
from tests.e2e.conftest import catalog, mesh_server, programs, runtime_server  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
# The flags the machine notes give: with background networking on, Chromium's calls to
# Google's hosts are refused by the closed network, many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("MESHWAY_ARTIFACTS", "/tmp/meshway-artifacts")) / "console"

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (make deps installs it)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module, not per session: Playwright's sync API holds this thread's event loop while
    it runs, and the suite's async tests (anyio) elsewhere need it free."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (make deps installs it)")
    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield found
        found.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # A new context is a fresh profile (Playwright makes its own empty user-data-dir).
    context: BrowserContext = browser.new_context(viewport={"width": 1400, "height": 900})
    found = context.new_page()
    errors: list[str] = []
    found.on("pageerror", lambda error: errors.append(str(error)))
    found.on("dialog", lambda dialog: errors.append("dialog: " + dialog.message))
    yield found
    context.close()
    assert errors == [], f"the page raised or opened a dialog: {errors}"


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Any:
    """Save a screenshot of the page under the artifacts folder, named after the test."""

    def save(page: Page, label: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{request.node.name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SHOTS.is_dir() and any(SHOTS.iterdir()):
        terminalreporter.write_line(f"console screenshots: {SHOTS}")

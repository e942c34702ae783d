"""Real Chromium for the browser tests: Debian's (/usr/bin/chromium), launched by Playwright for each
test with a fake camera and microphone and the media permission prompt answered "allow". Run these
tests in a loopback-only network namespace so WebRTC's ICE only ever sees 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser.people import OPENED

CHROMIUM = os.environ.get("CIRCLE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"

CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--hide-scrollbars",
    # Background tabs must keep decoding and sending: three "people" share one browser here.
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, launched by Playwright for this test (each test has its own event loop,
    which a Playwright browser cannot outlive)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def pages_log_no_errors() -> Iterator[None]:
    """A script error or a console error on any page fails the test that opened it, even where the
    test's own assertions passed: a handler that threw may have left a person's view wrong."""
    OPENED.clear()
    yield
    errors = {person.name: person.errors for person in OPENED if person.errors}
    OPENED.clear()
    assert not errors, f"the page logged errors: {errors}"

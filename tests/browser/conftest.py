"""Real Chromium for the browser tests: one browser process per test module, a fresh Playwright
connection per test (each test runs in its own event loop, next to its own `circle_server`).

Chromium is Debian's (/usr/bin/chromium), with a fake camera and microphone and the media
permission prompt answered "allow"; run these tests in a loopback-only network namespace so
WebRTC's ICE only ever sees 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
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


@pytest.fixture(scope="module")
def chromium_endpoint() -> Iterator[str]:
    """Start one headless Chromium for the module and yield its DevTools websocket URL."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    profile = tempfile.mkdtemp(prefix="circle-chromium-")
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={profile}",
            *CHROMIUM_ARGS,
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    endpoint = None
    deadline = time.monotonic() + 30
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        match = re.search(r"DevTools listening on (ws://\S+)", line)
        if match:
            endpoint = match.group(1)
            break
    if endpoint is None:
        proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail("Chromium did not start (no DevTools endpoint)")
    # Keep draining stderr so a chatty Chromium never blocks on a full pipe.
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    try:
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
async def browser(chromium_endpoint: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(chromium_endpoint)
        default_contexts = list(browser.contexts)
        try:
            yield browser
        finally:
            # Close what this test opened; the default context belongs to the Chromium process.
            for context in browser.contexts:
                if context not in default_contexts:
                    await context.close()
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

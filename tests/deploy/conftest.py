"""The documented deployment, run for real: nginx, two Circle instances, Redis and coturn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, pages_log_no_errors
from tests.support.servers import RedisServer
from tests.support.stack import STACK_SETTINGS, Stack, running_stack
from tests.support.turn import TurnServer

__all__ = ["pages_log_no_errors"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "deploy: runs the documented deployment (nginx, Redis, coturn)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A failing test's report carries the stack's logs: nginx's and each instance's."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(running, Stack):
        report.sections.append(("stack logs", running.logs()))


@pytest.fixture
def stack(redis_server: RedisServer, turn_server: TurnServer, tmp_path: Path) -> Iterator[Stack]:
    redis_server.flush()
    with running_stack(tmp_path, redis_server, turn_server, **STACK_SETTINGS) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Chromium as in tests/browser, also accepting the stack's throwaway certificate."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"]
        )
        try:
            yield browser
        finally:
            await browser.close()

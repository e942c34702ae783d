"""The web folder serves only its own regular files: a name with a NUL byte, a symlink that leads
outside the folder, or anything that is not a regular file is 404, with no traceback in the log."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from server.settings import WEB_DIR
from tests.support.servers import RunningServer

Factory = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    """A copy of the web client, with files and folders outside it that symlinks inside lead to."""
    web = tmp_path / "web"
    shutil.copytree(WEB_DIR, web, ignore=shutil.ignore_patterns("node_modules"))
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "secret.css").write_text("body { --secret: 1; }")
    (outside / "folder" / "inner.css").write_text("body { --secret: 2; }")
    (web / "css" / "leak.css").symlink_to(outside / "secret.css")
    (web / "css" / "folder").symlink_to(outside / "folder", target_is_directory=True)
    (web / "css" / "alias.css").symlink_to(web / "css" / "circle.css")
    (web / "css" / "loop.css").symlink_to(web / "css" / "loop.css")
    os.mkfifo(web / "css" / "pipe.css")
    return web


async def get(server: RunningServer, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}{path}", timeout=aiohttp.ClientTimeout(total=5)) as r:
            return r.status, await r.text()


@pytest.mark.parametrize(
    "path",
    [
        "/static/a%00.css",
        "/static/css/circle%00.css",
        "/static/css/leak.css",
        "/static/css/folder/inner.css",
        "/static/css/loop.css",
        "/static/css/pipe.css",
        "/static/css/missing.css",
    ],
)
async def test_only_regular_files_inside_the_web_folder_are_served(
    circle_server_factory: Factory, web_dir: Path, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO)
    server = await circle_server_factory(web_dir=web_dir)
    status, body = await get(server, path)
    assert status == 404 and "secret" not in body
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


async def test_a_symlink_that_stays_inside_the_web_folder_is_served(
    circle_server_factory: Factory, web_dir: Path
) -> None:
    server = await circle_server_factory(web_dir=web_dir)
    status, body = await get(server, "/static/css/alias.css")
    assert status == 200 and body == (web_dir / "css" / "circle.css").read_text()


async def test_a_meeting_page_that_leads_outside_the_web_folder_is_not_served(
    circle_server_factory: Factory, web_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere.html").write_text("<p>secret</p>")
    server = await circle_server_factory(web_dir=web_dir)
    (web_dir / "index.html").unlink()
    (web_dir / "index.html").symlink_to(tmp_path / "elsewhere.html")
    status, body = await get(server, "/r/some-room")
    assert status != 200 and "secret" not in body

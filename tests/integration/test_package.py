"""Circle as it is installed: a wheel in a fresh virtualenv serves the whole web client from any
folder, and a server whose web client lacks a file refuses to start instead of serving a blank page.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.client_files import walk
from server.settings import WEB_DIR
from server.webclient import MEETING_PAGE
from tests.support.served_client import create_room, fetch_meeting, healthy
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "package-test-admin-token"

# Never part of a build: what the checkout's tools leave behind.
_NOT_SOURCE = {".git", ".venv", "data", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache"}


def _page_files(web_dir: Path) -> list[str]:
    """The files under web_dir that the meeting page loads, as paths relative to it."""

    def load(path: str) -> str | None:
        relative = "index.html" if path.startswith("/r/") else path.removeprefix("/static/")
        file = web_dir / relative
        return file.read_text(errors="replace") if file.is_file() else None

    return sorted(
        "index.html" if path.startswith("/r/") else path.removeprefix("/static/")
        for path in walk(MEETING_PAGE, load).loaded
    )


def _copy_of_the_client(web_dir: Path) -> Path:
    for relative in _page_files(WEB_DIR):
        (web_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(WEB_DIR / relative, web_dir / relative)
    return web_dir


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without Circle's settings or any path into the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CIRCLE_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    return {**env, **extra}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    "gone",
    ["index.html", "css/circle.css", "js/describe.js", "vendor/socket.io.esm.min.js"],
)
def test_serve_refuses_to_start_when_a_file_the_meeting_page_loads_is_missing(
    tmp_path: Path, gone: str
) -> None:
    web_dir = _copy_of_the_client(tmp_path / "web")
    (web_dir / gone).unlink()
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", str(free_port())]
        + ["--data-dir", str(tmp_path / "data"), "--web-dir", str(web_dir)],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the web client in" in result.stderr and "is incomplete" in result.stderr
    assert (f"/static/{gone}" if gone != "index.html" else "/r/room") in result.stderr
    assert "CIRCLE_WEB_DIR" in result.stderr, "the message says how to point at a complete copy"
    assert "Circle is running" not in result.stdout


def test_a_complete_copy_of_the_web_client_starts(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """The refusal above is about the missing file, not about a copied folder."""
    web_dir = _copy_of_the_client(tmp_path / "web")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)]
        + ["--data-dir", str(tmp_path / "data"), "--web-dir", str(web_dir)],
        cwd=ROOT,
        env=_clean_env(CIRCLE_ADMIN_TOKEN=ADMIN_TOKEN),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    processes.append(proc)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, proc)
    statuses = fetch_meeting(url, create_room(url, ADMIN_TOKEN)["id"])
    assert set(statuses.values()) == {200} and len(statuses) == len(_page_files(WEB_DIR))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def _wait_healthy(url: str, proc: subprocess.Popen[str], within_s: float = 30) -> None:
    deadline = time.monotonic() + within_s
    while not healthy(url):
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"circle serve exited with {proc.returncode}:\n{output}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}/healthz did not answer within {within_s} s")
        time.sleep(0.1)


def _build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the checkout, as `pip install .` would, without a network.
    The copy keeps web/node_modules (a checkout has it once the tests' tools are installed), so
    the wheel is seen to leave it out; it drops what a previous build left, which setuptools
    would otherwise pick up."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=lambda _dir, names: [n for n in names if n in _NOT_SOURCE])
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "--wheel-dir", str(wheels), str(source)],
        check=True,
        env=_clean_env(),
        timeout=180,
    )
    (wheel,) = wheels.glob("circle-*.whl")
    return wheel


@pytest.mark.package
@pytest.mark.timeout(300)
def test_a_wheel_installed_in_a_fresh_virtualenv_serves_the_whole_meeting_page_from_any_folder(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    wheel = _build_wheel(tmp_path)
    shipped = sorted(
        name.removeprefix("web/")
        for name in zipfile.ZipFile(wheel).namelist()
        if name.startswith("web/") and not name.endswith("/")
    )
    assert shipped == sorted(["__init__.py", *_page_files(WEB_DIR)]), (
        "the wheel ships the web client's files and nothing else from web/ (no node_modules, no axe-core)"
    )

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        env=_clean_env(),
        timeout=120,
    )
    # Circle's dependencies come from the environment running this test, offline; Circle itself only
    # from the wheel, which the venv's own site-packages puts first.
    site_packages = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    here = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "circle-test-dependencies.pth").write_text("\n".join(sorted(here)) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import json, server, web; print(json.dumps([server.__file__, web.__file__]))"],
        cwd=elsewhere,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for module_file in json.loads(where.stdout):
        assert Path(module_file).is_relative_to(site_packages), "Circle runs from the wheel, not the checkout"

    port = free_port()
    proc = subprocess.Popen(
        [str(venv / "bin" / "circle"), "serve", "--port", str(port)],
        cwd=elsewhere,
        env=_clean_env(CIRCLE_ADMIN_TOKEN=ADMIN_TOKEN),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    processes.append(proc)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, proc, within_s=60)
    room = create_room(url, ADMIN_TOKEN)
    statuses = fetch_meeting(url, room["id"])
    assert all(status == 200 for status in statuses.values()), statuses
    assert {f"/r/{room['id']}", "/static/js/main.js", "/static/css/circle.css"} <= set(statuses)
    assert "/static/vendor/socket.io.esm.min.js" in statuses, "the pinned socket.io client is in the package"
    assert len(statuses) == len(_page_files(WEB_DIR))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert (elsewhere / "data").is_dir(), "room definitions live where it was started, not in the package"

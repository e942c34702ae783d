"""The server side of a benchmark run: Circle instances, bare socket.io floors and Redis, each a separate
process on a free loopback port, and the CPU time each of them has used."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A benchmark could not be set up or did not complete."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cpu_ns(pid: int) -> int:
    """CPU time (user + system) a process has used so far, in ns, all its threads included.

    The scheduler's per-thread runtime (`/proc/PID/task/*/schedstat`) is exact to the ns; where it is
    missing, `/proc/PID/stat` gives the same in clock ticks (usually 10 ms).
    """
    try:
        total = 0
        for task in os.scandir(f"/proc/{pid}/task"):
            with open(f"{task.path}/schedstat") as f:
                total += int(f.read().split()[0])
        return total
    except (OSError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/stat") as f:
        # The command name may contain spaces: the fields we need follow its closing parenthesis.
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // CLK_TCK


def machine_busy_ns() -> int:
    """CPU time the whole machine has spent busy (every core, every process), in ns."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    # guest time is already counted in user time
    return (sum(ticks[:8]) - idle) * 1_000_000_000 // CLK_TCK


def _die_with_parent() -> None:
    """In the child, before exec: be sent SIGTERM if the benchmark dies, so no server outlives it."""
    PR_SET_PDEATHSIG = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Process:
    """A child process whose output goes to a log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, **self.env}
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def cpu_ns(self) -> int:
        return cpu_ns(self.pid)

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout)


def _http_json(url: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def wait_http_ready(proc: Process, url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise BenchError(f"{proc.name} exited during start-up:\n{proc.log_tail()}")
        try:
            _http_json(f"{url}/healthz")
            return
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.05)
    raise BenchError(f"{proc.name} did not answer /healthz within {timeout:.0f} s:\n{proc.log_tail()}")


@dataclass
class HttpServer:
    """A socket.io server process (Circle or the floor) listening on `url`."""

    process: Process
    url: str


def start_circle(
    name: str,
    workdir: Path,
    env: dict[str, str],
    redis_url: str | None = None,
) -> HttpServer:
    port = free_port()
    data_dir = workdir / f"{name}-data"
    argv = [
        sys.executable,
        "-m",
        "server",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if redis_url:
        argv += ["--redis-url", redis_url]
    proc = Process(name, argv, workdir / f"{name}.log", {**env, "CIRCLE_INSTANCE_ID": name})
    proc.start()
    server = HttpServer(proc, f"http://{HOST}:{port}")
    wait_http_ready(proc, server.url)
    return server


def start_floor(name: str, workdir: Path, redis_url: str | None = None) -> HttpServer:
    port = free_port()
    argv = [sys.executable, "-m", "bench.floor", "--host", HOST, "--port", str(port)]
    if redis_url:
        argv += ["--redis-url", redis_url]
    proc = Process(name, argv, workdir / f"{name}.log")
    proc.start()
    server = HttpServer(proc, f"http://{HOST}:{port}")
    wait_http_ready(proc, server.url)
    return server


def create_circle_room(url: str, token: str, title: str, capacity: int) -> str:
    body: dict[str, Any] = {"title": title}
    if capacity > 50:  # the server's default room capacity
        body["max_participants"] = capacity
    room = _http_json(f"{url}/api/rooms", body, token)
    return str(room["id"])


def redis_server_path() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def start_redis(workdir: Path) -> tuple[Process, str]:
    """A private, memory-only redis-server on a free port; returns it and its URL."""
    binary = redis_server_path()
    if binary is None:
        raise BenchError("redis-server is not installed")
    port = free_port()
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        HOST,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    proc = Process("redis", argv, workdir / "redis.log")
    proc.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not proc.alive():
            raise BenchError(f"redis-server exited during start-up:\n{proc.log_tail()}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://{HOST}:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.stop()
    raise BenchError("redis-server did not answer PING within 10 s")


def redis_command_calls(url: str) -> dict[str, int]:
    """How many times each command has been called on the Redis at `url` (INFO commandstats)."""
    host, _, port = url.removeprefix("redis://").split("/")[0].partition(":")
    with socket.create_connection((host, int(port or 6379)), timeout=5) as s:
        s.sendall(b"INFO commandstats\r\n")
        data = b""
        while b"\r\n" not in data:
            data += s.recv(65536)
        header, _, body = data.partition(b"\r\n")
        if not header.startswith(b"$"):
            raise BenchError(f"unexpected answer from redis: {header[:80]!r}")
        size = int(header[1:])
        while len(body) < size:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    calls: dict[str, int] = {}
    for line in body[:size].decode().splitlines():
        if line.startswith("cmdstat_"):
            name, _, stats = line.removeprefix("cmdstat_").partition(":")
            fields = dict(part.split("=", 1) for part in stats.split(","))
            calls[name] = int(fields["calls"])
    return calls

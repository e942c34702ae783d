"""Child processes that run on this machine's loopback: start, wait until ready, measure, stop.

    redis = RedisProcess(workdir).start()
    circle = CircleProcess(workdir / "one", redis_url=redis.url, heartbeat_s=0.25).start()
    ...
    circle.stop(); redis.stop()

Every child is sent SIGTERM when the process that started it dies, so none outlives a crashed test
run or benchmark.
"""

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
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def terminate(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if `proc` is still there after `timeout` s; returns once it is gone."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tails(paths: list[Path], chars: int = 6000) -> str:
    """The last `chars` characters of each file that exists, for a failing test's message."""
    parts = []
    for path in paths:
        with contextlib.suppress(OSError):
            parts.append(path.read_text(errors="replace")[-chars:])
    return "\n".join(parts)


def cpu_ns(pid: int) -> int:
    """CPU time (user + system) a process has used so far, in ns, all its threads included.

    The scheduler's per-thread runtime (`/proc/PID/task/*/schedstat`) is exact to the ns; where it is
    missing, `/proc/PID/stat` gives the same in clock ticks (usually 10 ms)."""
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
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // _CLK_TCK


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, in bytes."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _die_with_parent() -> None:
    """In the child, before exec: be sent SIGTERM when the parent dies."""
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Process:
    """A child process whose output (stdout and stderr) goes to `log_path`."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_ns(self) -> int:
        return cpu_ns(self.pid)

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 8) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def kill(self) -> None:
        """kill -9: no goodbye, no cleanup."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as an operator stops it (SIGKILL after `timeout` s); the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


class HttpProcess(Process):
    """A server process that answers `GET /healthz` at `url` once it is ready."""

    def __init__(self, name: str, argv: list[str], log_path: Path, port: int, **kwargs: Any) -> None:
        super().__init__(name, argv, log_path, **kwargs)
        self.port = port
        self.url = f"http://{HOST}:{port}"

    def wait_ready(self, timeout: float = 20.0) -> HttpProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} during start-up:\n{self.log_tail(40)}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.05)
        raise RuntimeError(
            f"{self.name} did not answer /healthz within {timeout:.0f} s:\n{self.log_tail(40)}"
        )

    def start(self, timeout: float = 20.0) -> HttpProcess:
        self.launch()
        return self.wait_ready(timeout)

    def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
                return int(response.status), dict(json.load(response))
        except urllib.error.HTTPError as exc:
            return int(exc.code), dict(json.load(exc))


class CircleProcess(HttpProcess):
    """One `python -m server serve` on a free loopback port, run from `cwd` (this checkout by default).
    Settings given as keywords become flags (`heartbeat_s=0.25` → `--heartbeat-s 0.25`); no `CIRCLE_*`
    variable of the caller's environment leaks into it, only those in `env`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        admin_token: str,
        redis_url: str | None = None,
        instance_id: str | None = None,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
        **settings: Any,
    ) -> None:
        port = port or free_port()
        self.data_dir = data_dir
        self.admin_token = admin_token
        self.instance_id = instance_id or f"i-{port}"
        argv = [sys.executable, "-m", "server", "serve", "--host", HOST, "--port", str(port)]
        argv += ["--data-dir", str(data_dir), "--instance-id", self.instance_id]
        if redis_url:
            argv += ["--redis-url", redis_url]
        for name, value in settings.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLE_")}
        full_env = {**clean, "CIRCLE_ADMIN_TOKEN": admin_token, **(env or {})}
        # `python -m server` imports Circle from its working directory first: another checkout there
        # runs that checkout's code.
        super().__init__(self.instance_id, argv, data_dir / "server.log", port, env=full_env, cwd=cwd)

    def launch(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        super().launch()

    def start(self, timeout: float = 20.0) -> CircleProcess:
        super().start(timeout)
        return self

    def create_room(self, title: str = "Tuesday evening circle", **body: Any) -> dict[str, Any]:
        """`POST /api/rooms`: the new room's id, links and host key."""
        request = urllib.request.Request(
            f"{self.url}/api/rooms",
            data=json.dumps({"title": title, **body}).encode(),
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            if response.status != 201:
                raise RuntimeError(f"creating a room answered {response.status}")
            return dict(json.load(response))


def start_cluster(
    n: int, base_dir: Path, redis_url: str, *, admin_token: str, **settings: Any
) -> list[CircleProcess]:
    """`n` instances (`i-0` …) on one Redis, started side by side; returns once every one answers."""
    cluster = [
        CircleProcess(
            base_dir / f"instance{i}",
            admin_token=admin_token,
            redis_url=redis_url,
            instance_id=f"i-{i}",
            **settings,
        )
        for i in range(n)
    ]
    for server in cluster:
        server.launch()
    try:
        for server in cluster:
            server.wait_ready()
    except Exception:
        stop_all(cluster)
        raise
    return cluster


def stop_all(processes: list[CircleProcess]) -> None:
    for process in processes:
        if process.alive:
            process.stop(timeout=5)


def redis_server_path() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


class RedisProcess(Process):
    """A private, memory-only redis-server on a free loopback port, never the machine's own.

    `stop()` then `start()` brings it back on the same port and with the same directory (so a
    `SHUTDOWN SAVE` before keeps its data)."""

    def __init__(self, workdir: Path | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = workdir or Path(tempfile.mkdtemp(prefix="circle-redis-"))
        binary = redis_server_path()
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        argv = [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.dir), "--daemonize", "no", "--loglevel", "warning"]
        super().__init__("redis", argv, self.dir / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisProcess:
        self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"redis-server exited during start-up:\n{self.log_tail()}")
            try:
                if self.command(b"PING").startswith(b"+PONG"):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within {timeout:.0f} s")

    def stop(self, timeout: float = 5.0) -> int:
        code = super().stop(timeout)
        self.proc = None
        return code

    def command(self, line: bytes) -> bytes:
        """One inline command and its whole reply (a bulk reply is read to its announced length)."""
        with socket.create_connection((HOST, self.port), timeout=5) as s:
            s.sendall(line + b"\r\n")
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            if not data.startswith(b"$"):
                return data
            header, _, body = data.partition(b"\r\n")
            size = int(header[1:])
            while len(body) < size:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            return header + b"\r\n" + body[:size]

    def flush(self) -> None:
        self.command(b"FLUSHALL")

    def command_calls(self) -> dict[str, int]:
        """How many times each command has been called (INFO commandstats); commands that Lua
        scripts run count too."""
        reply = self.command(b"INFO commandstats")
        if not reply.startswith(b"$"):
            raise RuntimeError(f"unexpected answer from redis: {reply[:80]!r}")
        calls: dict[str, int] = {}
        for line in reply.partition(b"\r\n")[2].decode().splitlines():
            if line.startswith("cmdstat_"):
                name, _, stats = line.removeprefix("cmdstat_").partition(":")
                fields = dict(part.split("=", 1) for part in stats.split(","))
                calls[name] = int(fields["calls"])
        return calls

"""Circle as real `circle serve` processes, for what an in-process server cannot show: kill -9, and
several instances sharing one Redis (tests, and the benchmarks in `bench/`).

    cluster = start_cluster(2, tmp_dir, redis_url, heartbeat_s=0.25, instance_ttl_s=1.0)
    ...
    stop_all(cluster)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.servers import ADMIN_TOKEN, free_port

ROOT = Path(__file__).resolve().parents[2]

# Short presence timings so that failure tests finish in seconds, not minutes.
FAST_SETTINGS: dict[str, Any] = {
    "shutdown_grace_s": 1.0,
    "heartbeat_s": 0.25,
    "instance_ttl_s": 1.0,
    "resume_grace_s": 3.0,
    "sweep_interval_s": 0.2,
    "redis_timeout_s": 0.5,
}


class ServerProcess:
    """One `python -m server serve` on a free loopback port; its output goes to `log_path`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        redis_url: str | None = None,
        instance_id: str | None = None,
        port: int | None = None,
        env: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        **settings: Any,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.admin_token = ADMIN_TOKEN
        self.instance_id = instance_id or f"i-{self.port}"
        self.log_path = data_dir / "server.log"
        self.args = [
            sys.executable,
            "-m",
            "server",
            "serve",
            "--host",
            host,
            "--port",
            str(self.port),
            "--data-dir",
            str(data_dir),
            "--instance-id",
            self.instance_id,
        ]
        if redis_url:
            self.args += ["--redis-url", redis_url]
        for name, value in settings.items():
            self.args += [f"--{name.replace('_', '-')}", str(value)]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLE_")}
        self.env = {**clean, "CIRCLE_ADMIN_TOKEN": self.admin_token, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_ready(self, timeout: float = 15.0) -> ServerProcess:
        """Block until `/healthz` answers (Redis need not be up: the process must serve anyway)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.output()}")

    def start(self, timeout: float = 15.0) -> ServerProcess:
        return self.launch().wait_ready(timeout)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no goodbye to clients, no cleanup in Redis."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as an operator stops it; the exit code."""
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

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
                return int(response.status), dict(json.load(response))
        except urllib.error.HTTPError as exc:
            return int(exc.code), dict(json.load(exc))

    def create_room(self, title: str = "Tuesday evening circle", **body: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/api/rooms",
            data=json.dumps({"title": title, **body}).encode(),
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
            return dict(json.load(response))


def start_cluster(n: int, base_dir: Path, redis_url: str, **settings: Any) -> list[ServerProcess]:
    """`n` instances on one Redis, started side by side; returns once every one answers."""
    cluster = [
        ServerProcess(base_dir / f"instance{i}", redis_url=redis_url, instance_id=f"i-{i}", **settings)
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


def stop_all(cluster: list[ServerProcess]) -> None:
    for server in cluster:
        if server.alive:
            server.stop(timeout=5)


@contextlib.contextmanager
def running_cluster(n: int, base_dir: Path, redis_url: str, **settings: Any) -> Iterator[list[ServerProcess]]:
    """`start_cluster` for a `with` block: stopped on the way out, logs printed if the block failed."""
    cluster = start_cluster(n, base_dir, redis_url, **settings)
    try:
        yield cluster
    except BaseException:
        for server in cluster:
            print(f"--- {server.instance_id} ({server.url}) ---\n{server.output()[-6000:]}")
        raise
    finally:
        stop_all(cluster)

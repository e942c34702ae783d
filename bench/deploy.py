"""The targets of a benchmark run and the processes each one starts: Circle, the python-socketio floor
and the Node peer, on one instance or on two sharing a private Redis."""

from __future__ import annotations

import contextlib
import importlib.util
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import node_peer, procs
from bench.procs import HttpProcess, Process, RedisProcess

SINGLE = ("floor", "circle", "node")
CLUSTER = ("floor+redis", "circle+redis", "node+redis")
# Circle as committed at another revision (`--baseline REF`), for a change's before and after.
BASELINE = "circle@base"

# The benchmark sends far faster than a person types: the chat token bucket is opened wide for it.
# And every member it plays comes from this one machine: the limits per address are opened too.
CHAT_LIMITS = {
    "CIRCLE_CHAT_BURST": "1000000",
    "CIRCLE_CHAT_RATE_PER_S": "1000000",
    "CIRCLE_CHAT_ADDRESS_BURST": "1000000",
    "CIRCLE_CHAT_ADDRESS_RATE_PER_S": "1000000",
    "CIRCLE_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
    "CIRCLE_JOIN_ADDRESS_BURST": "1000000",
    "CIRCLE_JOIN_ADDRESS_RATE_PER_S": "1000000",
    "CIRCLE_MAX_WAITING_PER_ADDRESS": "1000000",
}


@dataclass
class Deployment:
    """The servers of one target, up and with a room to join."""

    target: str
    servers: list[HttpProcess]
    others: list[Process]  # measured too (Redis)
    room: str
    redis: RedisProcess | None = None

    def cpu_processes(self) -> list[Process]:
        return [*self.servers, *self.others]

    def rss_bytes(self) -> int:
        """Resident memory of the instances (not Redis: Node's adapter keeps nothing there)."""
        return sum(s.rss_bytes() for s in self.servers)


def circle_env(secret: str) -> dict[str, str]:
    return {"CIRCLE_SECRET_KEY": secret, "CIRCLE_LOG_LEVEL": "WARNING", **CHAT_LIMITS}


def unavailable(target: str) -> str | None:
    """None when `target` can run here, else why not (installs the Node peer's packages if needed)."""
    if target.endswith("+redis") and procs.redis_server_path() is None:
        return "redis-server is not installed"
    if target.startswith("node"):
        return node_peer.ensure_installed()
    if target in ("circle+redis", f"{BASELINE}+redis"):
        return _circle_cluster_unavailable()
    return None


def _circle_cluster_unavailable() -> str | None:
    """The Redis backend counts once it is committed (a half-written working copy would only make the
    run fail)."""
    if importlib.util.find_spec("server.redis_backend") is None:
        return "server/redis_backend.py does not exist yet"
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "server/redis_backend.py"],
            cwd=procs.REPO,
            capture_output=True,
            timeout=10,
        )
    except OSError:
        return None  # no git here: trust the file
    if tracked.returncode == 128 and b"not a git repository" in tracked.stderr:
        return None
    if tracked.returncode != 0:
        return "server/redis_backend.py is not committed yet"
    return None


@contextlib.contextmanager
def deploy(target: str, workdir: Path, capacity: int, baseline: Path | None = None) -> Iterator[Deployment]:
    """Start `target`'s processes with a room for `capacity` members; stop them on the way out.
    `baseline`: the checkout the `circle@base` targets run."""
    workdir.mkdir(parents=True, exist_ok=True)
    started: list[Process] = []
    try:
        redis = None
        if target.endswith("+redis"):
            redis = procs.start_redis(workdir)
            started.append(redis)
        url = redis.url if redis else None
        servers: list[HttpProcess] = []
        room = "bench"
        kind = target.removesuffix("+redis")
        for i in range(2 if redis else 1):
            name = f"{kind}{i}"
            if kind == "floor":
                servers.append(procs.start_floor(name, workdir, url))
            elif kind == "node":
                servers.append(procs.start_node(name, workdir, url))
            else:
                token = secrets.token_urlsafe(24)
                env = circle_env(secrets.token_urlsafe(32))
                checkout = procs.REPO
                if kind == BASELINE:
                    assert baseline is not None, "circle@base needs --baseline"
                    checkout, name = baseline, f"base{i}"
                servers.append(procs.start_circle(name, workdir, token, env, url, checkout))
            started.append(servers[-1])
        if kind in ("circle", BASELINE):
            circle = servers[0]
            assert isinstance(circle, procs.CircleProcess)
            body = {"max_participants": capacity} if capacity > 50 else {}  # 50: the default capacity
            room = str(circle.create_room("Benchmark circle", **body)["id"])
        yield Deployment(target, servers, [redis] if redis else [], room, redis)
    finally:
        for proc in reversed(started):
            proc.stop()


def export_checkout(ref: str, into: Path) -> Path:
    """The files of revision `ref` of this repository, in `into` (for the `circle@base` targets)."""
    into.mkdir(parents=True, exist_ok=True)
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref], cwd=procs.REPO, capture_output=True, timeout=60
        )
    except OSError as exc:
        raise procs.BenchError(f"--baseline needs git: {exc}") from exc
    if archive.returncode != 0:
        raise procs.BenchError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True, timeout=60)
    return into

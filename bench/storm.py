"""The join storm: many members joining one room within a second, each from its own new connection.

Every client process is given its share of the members, each with a moment to start at, spread
evenly over the storm's length; a member's join latency runs from just before its socket.io
connection is opened to the join's acknowledgement. A join that fails (the connection refused, an
acknowledgement that is not `ok`, or none within the timeout) counts as refused, with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import socketio

from bench import procs, profile
from bench.deploy import Deployment
from bench.fanout import collect, stop_workers
from bench.report import Latency, StormMeasurement, lat_array


@dataclass(frozen=True)
class StormSpec:
    worker: int
    url: str
    room: str
    members: tuple[tuple[int, float], ...]  # (index, start offset in s from the storm's start)
    timeout_s: float
    parent: int


@dataclass
class StormResult:
    worker: int
    latency_ns: bytes  # array('q') of the joins that succeeded
    refused: dict[str, int] = field(default_factory=dict)
    first_start_ns: int = 0
    last_join_ns: int = 0


async def _join(spec: StormSpec, index: int, at_ns: int, refused: Counter[str], lat: array[int]) -> Any:
    delay = (at_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)
    # Events other than acknowledgements (presence) are left to the client's default: not handled.
    client = socketio.AsyncClient(reconnection=False)
    start = time.monotonic_ns()
    try:
        await client.connect(spec.url, transports=["websocket"], wait_timeout=spec.timeout_s)
        ack = await client.call(
            "join",
            {"room": spec.room, "name": f"Member {index}", "media": "text"},
            timeout=spec.timeout_s,
        )
    except socketio.exceptions.ConnectionError as exc:
        refused[f"connect: {str(exc)[:60]}"] += 1
        return client
    except socketio.exceptions.TimeoutError:
        refused["timeout"] += 1
        return client
    if isinstance(ack, dict) and ack.get("ok"):
        lat.append(time.monotonic_ns() - start)
    else:
        code = ack.get("error", {}).get("code", "bad_ack") if isinstance(ack, dict) else "bad_ack"
        refused[str(code)] += 1
    return client


async def _run(spec: StormSpec, status: Queue[Any], start: Event, t0: Any, release: Event) -> None:
    loop = asyncio.get_running_loop()
    # One member first, so that what a server sets up on its first connection and join is not
    # counted as the storm's.
    warm: Counter[str] = Counter()
    first = await _join(spec, -1 - spec.worker, 0, warm, array("q"))
    if warm:
        raise RuntimeError(f"the warm-up member could not join: {dict(warm)}")
    status.put(("ready", spec.worker, None))
    deadline = time.monotonic() + spec.timeout_s
    while not await loop.run_in_executor(None, start.wait, 0.25):
        _check(spec, deadline, "start")
    base = int(t0.value)
    refused: Counter[str] = Counter()
    lat: array[int] = array("q")
    clients = await asyncio.gather(
        *(_join(spec, i, base + int(offset * 1e9), refused, lat) for i, offset in spec.members)
    )
    status.put(
        (
            "done",
            spec.worker,
            StormResult(spec.worker, lat.tobytes(), dict(refused), base, time.monotonic_ns()),
        )
    )
    deadline = time.monotonic() + spec.timeout_s
    # Stay connected until the orchestrator has read the server's memory.
    while not await loop.run_in_executor(None, release.wait, 0.25):
        _check(spec, deadline, "release")
    for client in (first, *clients):
        with contextlib.suppress(Exception):
            await client.disconnect()


def _check(spec: StormSpec, deadline: float, what: str) -> None:
    if os.getppid() != spec.parent:
        raise RuntimeError("the benchmark has gone away")
    if time.monotonic() > deadline:
        raise RuntimeError(f"no {what} signal within {spec.timeout_s:.0f} s")


def worker_main(spec: StormSpec, status: Queue[Any], start: Event, t0: Any, release: Event) -> None:
    """Entry point of a storm client process. Reports ("ready" | "done" | "error", worker, detail)."""
    try:
        asyncio.run(_run(spec, status, start, t0, release))
    except BaseException as exc:  # noqa: B036 - the orchestrator must hear of any failure
        status.put(("error", spec.worker, f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from exc


def measure_storm(
    deployment: Deployment,
    members: int,
    length_s: float,
    client_procs: int,
    timeout_s: float,
    profile_to: Path | None = None,
) -> StormMeasurement:
    """`members` new connections join the deployment's room, their starts spread evenly over
    `length_s`; the server's CPU and memory are read around it (and, given `profile_to`, a Python
    server recorded by py-spy meanwhile)."""
    server = deployment.servers[0]
    n_procs = max(1, min(client_procs, members))
    ctx = mp.get_context("spawn")
    status: mp.queues.Queue[Any] = ctx.Queue()
    start, release = ctx.Event(), ctx.Event()
    t0 = ctx.Value("q", 0)
    plan = [(i, length_s * i / members) for i in range(members)]
    specs = [
        StormSpec(w, server.url, deployment.room, tuple(plan[w::n_procs]), timeout_s, os.getpid())
        for w in range(n_procs)
    ]
    workers = [ctx.Process(target=worker_main, args=(s, status, start, t0, release)) for s in specs]
    for w in workers:
        w.start()
    try:
        collect(status, workers, "ready", timeout_s, deployment)
        recording = None
        if profile_to is not None and not server.name.startswith("node"):
            recording = profile.start(server.name, server.pid, profile_to)
        rss0, cpu0 = deployment.rss_bytes(), server.cpu_ns()
        busy0, wall0 = procs.machine_busy_ns(), time.monotonic_ns()
        t0.value = time.monotonic_ns() + 100_000_000  # time for every process to hear the start
        start.set()
        try:
            results: dict[int, StormResult] = collect(status, workers, "done", 2 * timeout_s, deployment)
        finally:
            if recording is not None:
                recording.stop()
        cpu = server.cpu_ns() - cpu0
        busy1, wall1 = procs.machine_busy_ns(), time.monotonic_ns()
        rss1 = deployment.rss_bytes()
    finally:
        release.set()
        stop_workers(workers)
    refused: Counter[str] = Counter()
    latencies: list[int] = []
    for r in results.values():
        refused.update(r.refused)
        latencies.extend(lat_array(r.latency_ns))
    joined = len(latencies)
    # The clients' own CPU is not known here: other load is what neither the server nor idle explains,
    # the storm's clients included, so it is only a rough guide.
    return StormMeasurement(
        target=deployment.target,
        members=members,
        length_s=length_s,
        joined=joined,
        refused=dict(refused),
        latency=Latency.of(latencies),
        wall_s=(max(r.last_join_ns for r in results.values()) - int(t0.value)) / 1e9,
        cpu_us_per_join=cpu / 1000 / max(joined, 1),
        rss_bytes_per_member=(rss1 - rss0) / max(joined, 1),
        machine_cores=(busy1 - busy0) / max(wall1 - wall0, 1),
    )

"""The fan-out measurement: every member of one room sends chat messages, phase by phase, and each
phase's server CPU, latencies and Redis commands are taken."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import procs, profile
from bench.clients import Member, Phase, PhaseResult, WorkerSpec, worker_main
from bench.deploy import Deployment
from bench.procs import BenchError
from bench.report import Latency, Measurement, lat_array


def collect(
    status: mp.queues.Queue[Any],
    workers: Sequence[mp.process.BaseProcess],
    phase: str,
    timeout_s: float,
    deployment: Deployment,
) -> dict[int, Any]:
    """Wait until every client process has reported `phase`; fail fast if anything died."""
    deadline = time.monotonic() + timeout_s
    got: dict[int, Any] = {}
    while len(got) < len(workers):
        try:
            kind, worker, detail = status.get(timeout=0.2)
        except queue.Empty:
            if time.monotonic() > deadline:
                raise BenchError(f"client processes did not report '{phase}' in time") from None
            for proc in deployment.cpu_processes():
                if not proc.alive:
                    raise BenchError(f"{proc.name} exited:\n{proc.log_tail()}") from None
            if any(w.exitcode not in (None, 0) for w in workers):
                raise BenchError(f"a client process failed before '{phase}'") from None
            continue
        if kind == "error":
            raise BenchError(f"client process {worker}: {detail}")
        if kind != phase:
            raise BenchError(f"client process {worker} reported '{kind}' while waiting for '{phase}'")
        got[worker] = detail
    return got


def stop_workers(workers: Sequence[mp.process.BaseProcess]) -> None:
    for w in workers:
        w.join(15)
        if w.is_alive():
            w.kill()
            w.join()


def measure(
    deployment: Deployment,
    members_n: int,
    plan: tuple[Phase, ...],
    client_procs: int,
    timeout_s: float,
    profile_to: Path | None,
    tag: str,
) -> list[Measurement]:
    """Run every phase against one deployment; one measurement per measured phase."""
    n_inst = len(deployment.servers)
    members = [Member(i, deployment.servers[i % n_inst].url, i % n_inst) for i in range(members_n)]
    n_procs = max(1, min(client_procs, members_n))
    ctx = mp.get_context("spawn")
    status: mp.queues.Queue[Any] = ctx.Queue()
    starts = [ctx.Event() for _ in plan]
    release = ctx.Event()
    specs = [
        WorkerSpec(
            worker=w,
            members=tuple(members[w::n_procs]),
            room=deployment.room,
            total_members=members_n,
            phases=plan,
            timeout_s=timeout_s,
            parent=os.getpid(),
        )
        for w in range(n_procs)
    ]
    rss0 = deployment.rss_bytes()
    workers = [ctx.Process(target=worker_main, args=(s, status, starts, release)) for s in specs]
    for w in workers:
        w.start()
    out: list[Measurement] = []
    try:
        collect(status, workers, "joined", timeout_s, deployment)
        rss_per_member = (deployment.rss_bytes() - rss0) / members_n
        measured = deployment.cpu_processes()
        for k, phase in enumerate(plan):
            recordings = []
            if profile_to and phase.measured:
                recordings = [
                    profile.start(x.name, x.pid, profile_to / f"{tag}-{phase.name}-{x.name}.txt")
                    for x in deployment.servers
                    if not x.name.startswith("node")
                ]
            redis = deployment.redis
            calls0 = redis.command_calls() if redis else {}
            cpu0 = {p.name: p.cpu_ns() for p in measured}
            busy0, t0 = procs.machine_busy_ns(), time.monotonic_ns()
            starts[k].set()
            try:
                done: dict[int, PhaseResult] = collect(status, workers, "done", 2 * timeout_s, deployment)
            finally:
                for recording in recordings:
                    recording.stop()
            cpu1 = {p.name: p.cpu_ns() for p in measured}
            busy1, t1 = procs.machine_busy_ns(), time.monotonic_ns()
            calls1 = redis.command_calls() if redis else {}
            if phase.measured:
                cpu = {name: cpu1[name] - cpu0[name] for name in cpu0}
                m = _measurement(deployment, members_n, phase, list(done.values()), cpu)
                m.rss_bytes_per_member = rss_per_member
                # Whatever else kept the machine busy meanwhile (other programs): the figures are only
                # as good as the machine was quiet.
                ours = sum(cpu.values()) + sum(r.cpu_ns for r in done.values())
                m.other_cores = max(0, busy1 - busy0 - ours) / max(t1 - t0, 1)
                # INFO itself is one call, made before the phase: the count is of the phase alone.
                calls = {name: n - calls0.get(name, 0) - (name == "info") for name, n in calls1.items()}
                m.redis_calls = {name: n for name, n in sorted(calls.items(), key=lambda x: -x[1]) if n > 0}
                out.append(m)
    finally:
        release.set()
        stop_workers(workers)
    return out


def _measurement(
    deployment: Deployment, members: int, phase: Phase, results: list[PhaseResult], cpu: dict[str, int]
) -> Measurement:
    local = [v for r in results for v in lat_array(r.lat_local_ns)]
    remote = [v for r in results for v in lat_array(r.lat_remote_ns)]
    delivered = sum(r.received for r in results)
    expected = sum(r.expected for r in results)
    start = min((r.first_send_ns for r in results if r.first_send_ns), default=0)
    end = max(r.last_recv_ns for r in results)
    wall_s = max(end - start, 1) / 1e9
    errors: dict[str, int] = {}
    for r in results:
        for code, count in r.errors.items():
            errors[code] = errors.get(code, 0) + count
    per = max(delivered, 1)
    return Measurement(
        target=deployment.target,
        phase=phase.name,
        rate_per_s=phase.rate_per_s,
        instances=len(deployment.servers),
        members=members,
        messages_per_member=phase.messages,
        expected=expected,
        delivered=delivered,
        wall_s=wall_s,
        deliveries_per_s=delivered / wall_s,
        cpu_ns=cpu,
        cpu_us_per_delivery=sum(cpu.values()) / 1000 / per,
        latency=Latency.of(local + remote),
        latency_local=Latency.of(local),
        latency_remote=Latency.of(remote),
        client_cpu_us_per_delivery=sum(r.cpu_ns for r in results) / 1000 / per,
        errors=errors,
    )

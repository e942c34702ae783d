"""The client side: one process drives a share of the room's members with python-socketio `AsyncClient`s
over the websocket transport.

Each member joins; then, phase by phase (each started by the orchestrator once every process has finished
the one before), every member sends its messages and every process records, for each `chat:message` it
receives, the time from send to receipt. The send time travels in the message text, read with
`time.monotonic_ns()`: CLOCK_MONOTONIC, one clock for every process on the machine, so send and receive
times compare across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

import socketio


@dataclass(frozen=True)
class Member:
    index: int  # across all processes
    url: str
    instance: int  # which server instance it is connected to


@dataclass(frozen=True)
class Phase:
    name: str
    messages: int  # per member
    rate_per_s: float  # per member; 0: the next message as soon as the last one is acknowledged
    measured: bool = True


@dataclass(frozen=True)
class WorkerSpec:
    worker: int
    members: tuple[Member, ...]
    room: str
    total_members: int
    phases: tuple[Phase, ...]
    timeout_s: float
    parent: int  # the orchestrator's pid: a worker whose parent has gone stops


@dataclass
class PhaseResult:
    worker: int
    phase: int
    members: int
    expected: int
    received: int
    lat_local_ns: bytes  # array('q'): sender on the same instance as the receiver
    lat_remote_ns: bytes  # array('q'): sender on another instance
    first_send_ns: int
    last_recv_ns: int
    cpu_ns: int  # this process's CPU time during the phase
    errors: dict[str, int] = field(default_factory=dict)


class _Tally:
    """The receipts of one process in one phase, kept as cheaply as the handler can."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.received = 0
        self.last_recv_ns = 0
        self.lat_local = array("q")
        self.lat_remote = array("q")
        self.done = asyncio.Event()
        if expected == 0:
            self.done.set()


class _Receiver:
    """Files each `chat:message` under its phase. Other processes may start a phase (and their
    messages arrive here) a moment before this one hears the start signal: nothing is lost then."""

    def __init__(self, tallies: dict[str, _Tally]) -> None:
        self.tallies = tallies
        self.stray = 0

    def handler(self, instance: int) -> Any:
        mine = str(instance)
        tallies = self.tallies

        async def on_chat(message: dict[str, Any]) -> None:
            now = time.monotonic_ns()
            phase, sender_instance, sent, _ = message["text"].split(" ", 3)
            tally = tallies.get(phase)
            if tally is None:
                self.stray += 1
                return
            (tally.lat_local if sender_instance == mine else tally.lat_remote).append(now - int(sent))
            tally.received += 1
            tally.last_recv_ns = now
            if tally.received == tally.expected:
                tally.done.set()

        return on_chat


async def _send_all(
    client: socketio.AsyncClient,
    member: Member,
    phase: int,
    spec: Phase,
    offset_s: float,
    errors: Counter[str],
    sends: list[int],
) -> None:
    interval = 1.0 / spec.rate_per_s if spec.rate_per_s > 0 else 0.0
    start = time.monotonic() + offset_s * interval
    for seq in range(spec.messages):
        if interval:
            delay = start + seq * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        sent = time.monotonic_ns()
        sends.append(sent)
        text = f"{phase} {member.instance} {sent} {member.index}:{seq}"
        try:
            # With a resend key, as Circle's web and terminal clients always send one.
            payload = {"text": text, "key": f"{member.index}-{phase}-{seq}"}
            ack = await client.call("chat:send", payload, timeout=30)
        except socketio.exceptions.TimeoutError:
            errors["ack_timeout"] += 1
            continue
        if not (isinstance(ack, dict) and ack.get("ok")):
            code = ack.get("error", {}).get("code", "bad_ack") if isinstance(ack, dict) else "bad_ack"
            errors[str(code)] += 1


async def _connect(member: Member, room: str, receiver: _Receiver) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    client.on("chat:message", receiver.handler(member.instance))
    await client.connect(member.url, transports=["websocket"], wait_timeout=10)
    ack = await client.call(
        "join", {"room": room, "name": f"Member {member.index}", "media": "text"}, timeout=10
    )
    if not (isinstance(ack, dict) and ack.get("ok")):
        raise RuntimeError(f"member {member.index} could not join: {ack!r}")
    return client


async def _run(spec: WorkerSpec, status: Queue[Any], starts: list[Event], release: Event) -> None:
    n = len(spec.members)
    tallies = {str(k): _Tally(phase.messages * spec.total_members * n) for k, phase in enumerate(spec.phases)}
    receiver = _Receiver(tallies)
    clients: list[socketio.AsyncClient] = []
    try:
        # Join one at a time: the join order is then the same from run to run.
        for member in spec.members:
            clients.append(await _connect(member, spec.room, receiver))
        status.put(("joined", spec.worker, None))
        for k, phase in enumerate(spec.phases):
            await _wait(starts[k], spec.timeout_s, f"'{phase.name}' start", spec.parent)
            result = await _phase(spec, k, phase, clients, tallies[str(k)])
            if receiver.stray:
                result.errors["stray_deliveries"] = receiver.stray
            status.put(("done", spec.worker, result))
        # Stay connected until every process is done: a disconnect would cost the server CPU time inside
        # the measured window of a process still receiving.
        await _wait(release, spec.timeout_s, "release", spec.parent)
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.disconnect()


async def _phase(
    spec: WorkerSpec, k: int, phase: Phase, clients: list[socketio.AsyncClient], tally: _Tally
) -> PhaseResult:
    errors: Counter[str] = Counter()
    sends: list[int] = []
    cpu0 = time.process_time_ns()
    await asyncio.gather(
        *(
            # Paced members are spread evenly over the interval, not all at its start.
            _send_all(c, m, k, phase, m.index / spec.total_members, errors, sends)
            for c, m in zip(clients, spec.members, strict=True)
        )
    )
    deadline = time.monotonic() + spec.timeout_s
    while not tally.done.is_set() and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), 0.5)
        _check_parent(spec.parent)
    cpu = time.process_time_ns() - cpu0
    if tally.received < tally.expected:
        errors["missing_deliveries"] += tally.expected - tally.received
    return PhaseResult(
        worker=spec.worker,
        phase=k,
        members=len(spec.members),
        expected=tally.expected,
        received=tally.received,
        lat_local_ns=tally.lat_local.tobytes(),
        lat_remote_ns=tally.lat_remote.tobytes(),
        first_send_ns=min(sends, default=0),
        last_recv_ns=tally.last_recv_ns,
        cpu_ns=cpu,
        errors=dict(errors),
    )


def _check_parent(parent: int) -> None:
    if os.getppid() != parent:
        raise RuntimeError("the benchmark has gone away")


async def _wait(event: Event, timeout_s: float, what: str, parent: int) -> None:
    """Wait for the orchestrator's signal; give up if it takes too long or the orchestrator is gone."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout_s
    while not await loop.run_in_executor(None, event.wait, 0.25):
        _check_parent(parent)
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} signal within {timeout_s:.0f} s")


def worker_main(spec: WorkerSpec, status: Queue[Any], starts: list[Event], release: Event) -> None:
    """Entry point of a client process. Reports ("joined" | "done" | "error", worker, detail)."""
    try:
        asyncio.run(_run(spec, status, starts, release))
    except BaseException as exc:  # noqa: B036 - the orchestrator must hear of any failure
        status.put(("error", spec.worker, f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from exc

"""`python -m bench`: chat fan-out in one room, Circle beside the bare python-socketio floor.

Targets, each started fresh as separate processes on loopback for every run:
  floor          bare python-socketio server (bench/floor.py), one instance
  circle         `python -m server serve`, one instance, memory store
  floor+redis    two floor instances sharing a private redis-server through `AsyncRedisManager` (JSON)
  circle+redis   two Circle instances on `--redis-url` with the same private redis-server

Members are connected round-robin to the instances and spread round-robin over the client processes.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import multiprocessing as mp
import os
import platform
import queue
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import procs, profile
from bench.clients import Member, Phase, PhaseResult, WorkerSpec, worker_main
from bench.procs import BenchError, HttpServer, Process
from bench.report import (
    QUIET_CORES,
    Comparison,
    Latency,
    Measurement,
    lat_array,
    median_measurement,
    table,
    write_json,
)

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
AIM = 1.5
PACED_RATE = 2.0

# The benchmark sends far faster than a person types: the chat token bucket is opened wide for it.
CHAT_LIMITS = {"CIRCLE_CHAT_BURST": "1000000", "CIRCLE_CHAT_RATE_PER_S": "1000000"}

SINGLE = ("floor", "circle")
CLUSTER = ("floor+redis", "circle+redis")


@dataclass(frozen=True)
class Config:
    members: int
    messages: int
    warmup: int
    client_procs: int
    paced_rate: float  # messages/s per member in the paced phase; 0: no paced phase
    repeat: int
    timeout_s: float
    targets: tuple[str, ...]
    profile_dir: Path | None = None  # py-spy the Python server processes during the measured phases


@dataclass
class Deployment:
    """The servers of one target, up and with a room to join."""

    target: str
    servers: list[HttpServer]
    others: list[Process]  # measured too (Redis)
    room: str
    redis_url: str | None = None

    def cpu_processes(self) -> list[Process]:
        return [s.process for s in self.servers] + self.others


def circle_env(token: str, secret: str) -> dict[str, str]:
    return {
        "CIRCLE_ADMIN_TOKEN": token,
        "CIRCLE_SECRET_KEY": secret,
        "CIRCLE_LOG_LEVEL": "WARNING",
        **CHAT_LIMITS,
    }


def circle_cluster_available() -> str | None:
    """None when Circle can run as a cluster here, else why not. The Redis backend counts once it is
    committed (a half-written working copy would only make the run fail)."""
    if procs.redis_server_path() is None:
        return "redis-server is not installed"
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
def deploy(target: str, workdir: Path, members: int) -> Iterator[Deployment]:
    workdir.mkdir(parents=True, exist_ok=True)
    started: list[Process] = []
    try:
        redis_url = None
        others: list[Process] = []
        if target.endswith("+redis"):
            redis, redis_url = procs.start_redis(workdir)
            started.append(redis)
            others.append(redis)
        count = 2 if redis_url else 1
        servers: list[HttpServer] = []
        if target.startswith("floor"):
            for i in range(count):
                servers.append(procs.start_floor(f"floor{i}", workdir, redis_url))
                started.append(servers[-1].process)
            room = "bench"
        else:
            token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
            env = circle_env(token, secret)
            for i in range(count):
                servers.append(procs.start_circle(f"circle{i}", workdir, env, redis_url))
                started.append(servers[-1].process)
            room = procs.create_circle_room(servers[0].url, token, "Benchmark circle", members)
        yield Deployment(target, servers, others, room, redis_url)
    finally:
        for proc in reversed(started):
            proc.stop()


def _collect(
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
                if not proc.alive():
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


def phases(cfg: Config) -> tuple[Phase, ...]:
    out = [Phase("warm-up", cfg.warmup, 0.0, measured=False)] if cfg.warmup else []
    out.append(Phase("burst", cfg.messages, 0.0))
    if cfg.paced_rate > 0:
        out.append(Phase("paced", cfg.messages, cfg.paced_rate))
    return tuple(out)


def measure(deployment: Deployment, cfg: Config, tag: str) -> list[Measurement]:
    """Run every phase against one deployment; one measurement per measured phase."""
    n_inst = len(deployment.servers)
    members = [Member(i, deployment.servers[i % n_inst].url, i % n_inst) for i in range(cfg.members)]
    n_procs = max(1, min(cfg.client_procs, cfg.members))
    plan = phases(cfg)
    ctx = mp.get_context("spawn")
    status: mp.queues.Queue[Any] = ctx.Queue()
    starts = [ctx.Event() for _ in plan]
    release = ctx.Event()
    specs = [
        WorkerSpec(
            worker=w,
            members=tuple(members[w::n_procs]),
            room=deployment.room,
            total_members=cfg.members,
            phases=plan,
            timeout_s=cfg.timeout_s,
            parent=os.getpid(),
        )
        for w in range(n_procs)
    ]
    workers = [ctx.Process(target=worker_main, args=(s, status, starts, release)) for s in specs]
    for w in workers:
        w.start()
    out: list[Measurement] = []
    try:
        _collect(status, workers, "joined", cfg.timeout_s, deployment)
        measured = deployment.cpu_processes()
        for k, phase in enumerate(plan):
            recordings = []
            if cfg.profile_dir and phase.measured:
                recordings = [
                    profile.start(
                        x.process.name,
                        x.process.pid,
                        cfg.profile_dir / f"{tag}-{phase.name}-{x.process.name}.txt",
                    )
                    for x in deployment.servers
                ]
            calls0 = procs.redis_command_calls(deployment.redis_url) if deployment.redis_url else {}
            cpu0 = {p.name: p.cpu_ns() for p in measured}
            busy0, t0 = procs.machine_busy_ns(), time.monotonic_ns()
            starts[k].set()
            try:
                done: dict[int, PhaseResult] = _collect(
                    status, workers, "done", 2 * cfg.timeout_s, deployment
                )
            finally:
                for recording in recordings:
                    recording.stop()
            cpu1 = {p.name: p.cpu_ns() for p in measured}
            busy1, t1 = procs.machine_busy_ns(), time.monotonic_ns()
            calls1 = procs.redis_command_calls(deployment.redis_url) if deployment.redis_url else {}
            if phase.measured:
                cpu = {name: cpu1[name] - cpu0[name] for name in cpu0}
                m = _measurement(deployment, cfg, phase, list(done.values()), cpu)
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
        for w in workers:
            w.join(15)
            if w.is_alive():
                w.kill()
                w.join()
    return out


def _measurement(
    deployment: Deployment, cfg: Config, phase: Phase, results: list[PhaseResult], cpu: dict[str, int]
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
        members=cfg.members,
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


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=procs.REPO, capture_output=True, text=True, timeout=5
        )
    except OSError:
        return None
    return out.stdout.strip() or None


Key = tuple[str, str]  # (target, phase)


def run(
    cfg: Config, say: Callable[[str], None]
) -> tuple[list[Measurement], list[Measurement], dict[str, str]]:
    """Every target, `cfg.repeat` times round-robin (so slow drift of the machine touches all alike).
    Returns the median of each figure per target and phase, every single run, and the failures."""
    runs: dict[Key, list[Measurement]] = {}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="circle-bench-") as tmp:
        workdir = Path(tmp)
        for round_ in range(cfg.repeat):
            for target in cfg.targets:
                if target in failures:
                    continue
                label = f"[{round_ + 1}/{cfg.repeat}] {target}"
                try:
                    with deploy(target, workdir / f"{target}-{round_}", cfg.members) as deployment:
                        measured = measure(deployment, cfg, f"{target}-{round_ + 1}")
                except BenchError as exc:
                    failures[target] = str(exc)
                    say(f"{label}: FAILED: {exc}")
                    say(f"(logs of this run: {workdir / f'{target}-{round_}'}, kept until the end)")
                    continue
                for m in measured:
                    runs.setdefault((m.target, m.phase), []).append(m)
                    say(
                        f"{label} {m.phase}: {m.delivered:,} deliveries in {m.wall_s:.2f} s, "
                        f"{m.cpu_us_per_delivery:.1f} server CPU µs/delivery, "
                        f"p50 {m.latency.p50_ms:.1f} ms, p99 {m.latency.p99_ms:.1f} ms, "
                        f"other load {m.other_cores:.2f} cores"
                    )
    order = [(t, ph.name) for ph in phases(cfg) if ph.measured for t in cfg.targets]
    medians = [median_measurement(runs[key]) for key in order if key in runs]
    return medians, [m for key in order for m in runs.get(key, [])], failures


def comparisons(ms: list[Measurement]) -> list[tuple[Comparison, float | None]]:
    by = {(m.target, m.phase): m for m in ms}
    out: list[tuple[Comparison, float | None]] = []
    for phase in dict.fromkeys(m.phase for m in ms):
        for num, den, aim in (
            ("circle", "floor", AIM),
            ("circle+redis", "floor+redis", AIM),
            ("circle+redis", "circle", None),
        ):
            if (num, phase) in by and (den, phase) in by:
                out.append((Comparison.of(f"{phase:5}  {num} / {den}", by[num, phase], by[den, phase]), aim))
    return out


def redis_hop(ms: list[Measurement]) -> list[str]:
    """What the Redis hop adds to latency: the cluster beside the single instance, and within the cluster
    run, members on another instance than the sender beside those on the sender's own."""
    by = {(m.target, m.phase): m for m in ms}
    lines = []
    for phase in dict.fromkeys(m.phase for m in ms):
        for base in ("floor", "circle"):
            single, cluster = by.get((base, phase)), by.get((f"{base}+redis", phase))
            if single is None or cluster is None:
                continue
            c, one, remote, local = (
                cluster.latency,
                single.latency,
                cluster.latency_remote,
                cluster.latency_local,
            )
            lines.append(
                f"{phase:5}  {base + '+redis':12}  p50 {c.p50_ms - one.p50_ms:+.1f} ms, "
                f"p99 {c.p99_ms - one.p99_ms:+.1f} ms beside one instance; receiver on the other instance / "
                f"on the sender's: p50 {remote.p50_ms:.1f} / {local.p50_ms:.1f} ms, "
                f"p99 {remote.p99_ms:.1f} / {local.p99_ms:.1f} ms"
            )
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 members x 5 messages, once")
    parser.add_argument("--members", type=int, help="members in the room (default 50)")
    parser.add_argument("--messages", type=int, help="chat messages each member sends per phase (default 20)")
    parser.add_argument("--warmup", type=int, help="unmeasured messages per member first (default 1)")
    parser.add_argument("--client-procs", type=int, help="client processes (default 4)")
    parser.add_argument(
        "--paced-rate",
        type=float,
        help=f"messages/s per member in the paced phase (default {PACED_RATE:g}, quick 10); 0: none",
    )
    parser.add_argument("--repeat", type=int, help="runs per target, figures are medians (default 3)")
    parser.add_argument("--only", choices=("single", "cluster"), help="only one part of the benchmark")
    parser.add_argument("--timeout", type=float, default=60.0, help="bound on each wait of a run, s")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record the server processes with py-spy in each measured phase (slows the run; needs py-spy)",
    )
    parser.add_argument(
        "--json", type=Path, default=RESULTS, help=f"where to write results (default {RESULTS})"
    )
    return parser


def config_from(args: argparse.Namespace, say: Callable[[str], None]) -> Config:
    quick = args.quick
    targets = list(SINGLE + CLUSTER)
    if args.only == "single":
        targets = list(SINGLE)
    elif args.only == "cluster":
        targets = list(CLUSTER)
    if procs.redis_server_path() is None:
        say("note: redis-server is not installed; the cluster part is skipped")
        targets = [t for t in targets if t not in CLUSTER]
    elif "circle+redis" in targets and (why := circle_cluster_available()):
        say(f"note: Circle cluster skipped: {why}")
        targets.remove("circle+redis")

    def pick(value: int | None, full: int, small: int) -> int:
        return value if value is not None else (small if quick else full)

    cfg = Config(
        members=pick(args.members, 50, 10),
        messages=pick(args.messages, 20, 5),
        warmup=pick(args.warmup, 1, 1),
        client_procs=pick(args.client_procs, 4, 2),
        paced_rate=args.paced_rate if args.paced_rate is not None else (10.0 if quick else PACED_RATE),
        repeat=pick(args.repeat, 3, 1),
        timeout_s=args.timeout,
        targets=tuple(targets),
        profile_dir=args.profile,
    )
    if cfg.profile_dir and profile.py_spy_path() is None:
        raise SystemExit("bench: --profile needs py-spy (.venv/bin/pip install py-spy)")
    if cfg.members < 2 or cfg.messages < 1 or cfg.repeat < 1 or cfg.client_procs < 1 or cfg.warmup < 0:
        raise SystemExit("bench: needs --members >= 2, --messages >= 1, --repeat >= 1, --client-procs >= 1")
    return cfg


def describe(cfg: Config) -> list[str]:
    n_procs = min(cfg.client_procs, cfg.members)
    paced = (
        f"; paced: each member sends {cfg.paced_rate:g}/s, members spread evenly over the interval "
        f"({cfg.paced_rate * cfg.members:g} messages/s offered)"
        if cfg.paced_rate > 0
        else ""
    )
    return [
        f"room: {cfg.members} members x {cfg.messages} messages = {cfg.members * cfg.messages:,} messages, "
        f"{cfg.members * cfg.messages * cfg.members:,} deliveries per phase (senders receive their own)",
        f"phases: {cfg.warmup} unmeasured warm-up message(s) per member; burst: each member sends its next "
        f"message as soon as the last is acknowledged{paced}",
        f"clients: python-socketio AsyncClient over websocket, {n_procs} client processes "
        f"(members round-robin), nothing pinned, {os.cpu_count()} CPUs shared with the servers; "
        "each chat:send carries a resend key, as Circle's own clients do (the floor ignores it)",
        "Circle's chat rate limit raised for the benchmark: "
        + ", ".join(f"{k}={v}" for k, v in CHAT_LIMITS.items()),
        "floor: bare python-socketio AsyncServer (async_handlers=False, as Circle): join -> enter_room, "
        "chat:send -> emit chat:message to the room + ack; floor+redis: AsyncRedisManager (JSON codec)",
        f"runs per target: {cfg.repeat}, figures are medians; targets: {', '.join(cfg.targets)}",
    ]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def say(text: str) -> None:
        print(text, flush=True)

    cfg = config_from(args, say)
    setup = describe(cfg)
    for line in setup:
        say(line)
    medians, runs, failures = run(cfg, say)

    print()
    print(table(medians))
    print()
    print("CPU µs/deliv: server-side CPU time (every instance, and Redis) per delivered chat:message;")
    print("server cores busy: cores each server-side process (instances, then Redis) kept busy;")
    print("latency: from just before chat:send to receipt of chat:message, every receiver, one clock;")
    print("other load: cores busy with other programs meanwhile (should be near 0 for clean figures);")
    print(
        f"runs: of the runs, how many the figures are the median of: those with other load <= {QUIET_CORES}"
        " cores, when there is one."
    )
    noisy = [m for m in medians if m.other_cores > QUIET_CORES]
    if noisy:
        print(
            f"WARNING: other programs kept up to {max(m.other_cores for m in noisy):.2f} cores busy during "
            "every run of some targets: their figures are disturbed (try --repeat 5, or a quieter moment)."
        )
    comps = comparisons(medians)
    if comps:
        print()
        print("Ratios (CPU per delivery, latency):")
        for comp, aim in comps:
            print(f"  {comp.line(aim)}")
    hops = redis_hop(medians)
    if hops:
        print()
        print("Latency the Redis hop adds:")
        for line in hops:
            print(f"  {line}")
    redis_lines = [
        f"{m.phase:5}  {m.target:12}  {sum(m.redis_calls.values()) / m.messages:.1f}: "
        + ", ".join(f"{name} {n / m.messages:.2f}" for name, n in m.redis_calls.items())
        for m in medians
        if m.redis_calls
    ]
    if redis_lines:
        print()
        print("Redis commands per chat message (all instances):")
        for line in redis_lines:
            print(f"  {line}")
    incomplete = [m for m in medians if not m.complete]
    for m in medians:
        if m.errors:
            print(f"{m.target} {m.phase}: errors {m.errors}")
    for target, why in failures.items():
        print(f"{target}: FAILED: {why.splitlines()[0]} ... {why.splitlines()[-1]}")

    write_json(
        args.json,
        {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "commit": _git_commit(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "config": asdict(cfg),
            "chat_limits": CHAT_LIMITS,
            "setup": setup,
            "results": medians,
            "comparisons": [c for c, _ in comps],
            "redis_hop": hops,
            "runs": runs,
            "failures": failures,
        },
    )
    if cfg.profile_dir:
        print("\nProfiles of the first run (py-spy; its sampling slows the run):")
        for target in cfg.targets:
            for path in sorted(cfg.profile_dir.glob(f"{target}-1-*.txt")):
                print(f"\n{path}:")
                for line in profile.summarise(path):
                    print(f"  {line}")
    print(f"\nresults written to {args.json}")
    return 1 if failures or incomplete else 0

"""`python -m bench`: chat fan-out in one room, Circle beside Node socket.io and the bare python-socketio
floor, and a join storm.

Targets, each started fresh as separate processes on loopback for every run:
  floor          bare python-socketio server (bench/floor.py), one instance
  circle         `python -m server serve`, one instance, memory store
  node           bare Node socket.io server (bench/node/server.js), one instance
  floor+redis    two floor instances sharing a private redis-server through `AsyncRedisManager` (JSON)
  circle+redis   two Circle instances on `--redis-url` with the same private redis-server
  node+redis     two Node instances sharing it through `@socket.io/redis-adapter`

Members are connected round-robin to the instances and spread round-robin over the client processes.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import deploy, fanout, procs, profile
from bench.clients import Phase
from bench.deploy import BASELINE, CHAT_LIMITS, CLUSTER, SINGLE
from bench.procs import BenchError
from bench.report import (
    QUIET_CORES,
    Comparison,
    Measurement,
    StormMeasurement,
    median_measurement,
    median_storm,
    storm_table,
    table,
    write_json,
)
from bench.storm import measure_storm

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PACED_RATE = 2.0
# What Circle aims at, per delivery, beside Node socket.io doing the same fan-out.
AIM_NODE = 1.0
STORM_TARGETS = ("circle", "node")


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
    storm_members: int  # 0: no join storm
    storm_s: float
    storm_targets: tuple[str, ...]
    profile_dir: Path | None = None  # py-spy the Python server processes during the measured phases
    baseline: str | None = None  # a revision whose Circle runs beside this checkout's (`circle@base`)


def phases(cfg: Config) -> tuple[Phase, ...]:
    out = [Phase("warm-up", cfg.warmup, 0.0, measured=False)] if cfg.warmup else []
    out.append(Phase("burst", cfg.messages, 0.0))
    if cfg.paced_rate > 0:
        out.append(Phase("paced", cfg.messages, cfg.paced_rate))
    return tuple(out)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=procs.REPO, capture_output=True, text=True, timeout=5
        )
    except OSError:
        return None
    return out.stdout.strip() or None


Key = tuple[str, str]  # (target, phase)


@dataclass
class Results:
    medians: list[Measurement]
    runs: list[Measurement]
    storms: list[StormMeasurement]
    storm_runs: list[StormMeasurement]
    failures: dict[str, str]


def run(cfg: Config, say: Callable[[str], None]) -> Results:
    """Every target, `cfg.repeat` times round-robin (so slow drift of the machine touches all alike),
    then the join storms likewise. Returns the median of each figure per target and phase, every
    single run, and the failures."""
    runs: dict[Key, list[Measurement]] = {}
    storms: dict[str, list[StormMeasurement]] = {}
    failures: dict[str, str] = {}
    plan = phases(cfg)
    with tempfile.TemporaryDirectory(prefix="circle-bench-") as tmp:
        workdir = Path(tmp)
        base = deploy.export_checkout(cfg.baseline, workdir / "baseline") if cfg.baseline else None
        for round_ in range(cfg.repeat):
            for target in cfg.targets:
                if target in failures:
                    continue
                label = f"[{round_ + 1}/{cfg.repeat}] {target}"
                where = workdir / f"{target}-{round_}"
                try:
                    with deploy.deploy(target, where, cfg.members, base) as deployment:
                        measured = fanout.measure(
                            deployment,
                            cfg.members,
                            plan,
                            cfg.client_procs,
                            cfg.timeout_s,
                            cfg.profile_dir,
                            f"{target}-{round_ + 1}",
                        )
                except BenchError as exc:
                    failures[target] = str(exc)
                    say(f"{label}: FAILED: {exc}")
                    say(f"(logs of this run: {where}, kept until the end)")
                    continue
                for m in measured:
                    runs.setdefault((m.target, m.phase), []).append(m)
                    say(
                        f"{label} {m.phase}: {m.delivered:,} deliveries in {m.wall_s:.2f} s, "
                        f"{m.cpu_us_per_delivery:.1f} server CPU µs/delivery, "
                        f"p50 {m.latency.p50_ms:.1f} ms, p99 {m.latency.p99_ms:.1f} ms, "
                        f"other load {m.other_cores:.2f} cores"
                    )
            for target in cfg.storm_targets:
                key = f"storm {target}"
                if key in failures:
                    continue
                label = f"[{round_ + 1}/{cfg.repeat}] join storm {target}"
                where = workdir / f"storm-{target}-{round_}"
                try:
                    capacity = cfg.storm_members + cfg.client_procs  # and one warm-up member each
                    with deploy.deploy(target, where, capacity, base) as deployment:
                        profile_to = None
                        if cfg.profile_dir and round_ == 0:
                            profile_to = cfg.profile_dir / f"{target}-1-storm-{target}0.txt"
                        s = measure_storm(
                            deployment,
                            cfg.storm_members,
                            cfg.storm_s,
                            cfg.client_procs,
                            cfg.timeout_s,
                            profile_to,
                        )
                except BenchError as exc:
                    failures[key] = str(exc)
                    say(f"{label}: FAILED: {exc}")
                    continue
                storms.setdefault(target, []).append(s)
                say(
                    f"{label}: {s.joined}/{s.members} joined, {sum(s.refused.values())} refused, "
                    f"p50 {s.latency.p50_ms:.1f} ms, p99 {s.latency.p99_ms:.1f} ms, "
                    f"{s.rss_bytes_per_member / 1024:.1f} KiB/member"
                )
    order = [(t, ph.name) for ph in plan if ph.measured for t in cfg.targets]
    return Results(
        medians=[median_measurement(runs[key]) for key in order if key in runs],
        runs=[m for key in order for m in runs.get(key, [])],
        storms=[median_storm(storms[t]) for t in cfg.storm_targets if t in storms],
        storm_runs=[s for t in cfg.storm_targets for s in storms.get(t, [])],
        failures=failures,
    )


def comparisons(ms: list[Measurement]) -> list[tuple[Comparison, float | None]]:
    by = {(m.target, m.phase): m for m in ms}
    out: list[tuple[Comparison, float | None]] = []
    for phase in dict.fromkeys(m.phase for m in ms):
        for num, den, aim in (
            ("circle", "node", AIM_NODE),
            ("circle+redis", "node+redis", AIM_NODE),
            ("circle", "floor", None),
            ("circle+redis", "floor+redis", None),
            ("node", "floor", None),
            ("circle+redis", "circle", None),
            ("circle", BASELINE, None),
            ("circle+redis", f"{BASELINE}+redis", None),
        ):
            if (num, phase) in by and (den, phase) in by:
                out.append((Comparison.of(f"{phase:5}  {num} / {den}", by[num, phase], by[den, phase]), aim))
    return out


def storm_comparison(storms: list[StormMeasurement]) -> list[str]:
    by = {s.target: s for s in storms}
    lines = []
    for num, den, aim in (("circle", "node", True), ("circle", BASELINE, False)):
        a, b = by.get(num), by.get(den)
        if a is None or b is None:
            continue
        refused = sum(a.refused.values())
        line = (
            f"{num} / {den}: p99 join latency {a.latency.p99_ms / b.latency.p99_ms:.2f}x, "
            f"p50 {a.latency.p50_ms / b.latency.p50_ms:.2f}x, "
            f"CPU per join {a.cpu_us_per_join / max(b.cpu_us_per_join, 1e-9):.2f}x, "
            f"memory per member {a.rss_bytes_per_member / max(b.rss_bytes_per_member, 1):.2f}x; "
            f"{num} refused {refused}"
        )
        if aim:
            met = a.latency.p99_ms <= b.latency.p99_ms and refused == 0
            line += f"  [aim: p99 at most Node's, none refused: {'met' if met else 'not met'}]"
        lines.append(line)
    return lines


def redis_hop(ms: list[Measurement]) -> list[str]:
    """What the Redis hop adds to latency: the cluster beside the single instance, and within the cluster
    run, members on another instance than the sender beside those on the sender's own."""
    by = {(m.target, m.phase): m for m in ms}
    lines = []
    for phase in dict.fromkeys(m.phase for m in ms):
        for base in SINGLE:
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
    parser.add_argument("--only", choices=("single", "cluster"), help="only one part of the fan-out")
    parser.add_argument(
        "--targets", help=f"comma-separated fan-out targets (default all: {','.join(SINGLE + CLUSTER)})"
    )
    parser.add_argument(
        "--storm", type=int, help="members in the join storm (default 200, quick 40); 0: no storm"
    )
    parser.add_argument(
        "--storm-s", type=float, default=1.0, help="the storm's joins start within this many s"
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also run Circle as committed at git revision REF (targets circle@base, circle@base+redis), "
        "for a change's before and after in one run",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="bound on each wait of a run, s")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record the Python server processes with py-spy in each measured phase and the first join storm"
        " (slows the run)",
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
    if args.targets:
        wanted = [t.strip() for t in args.targets.split(",") if t.strip()]
        unknown = [t for t in wanted if t not in SINGLE + CLUSTER + (BASELINE, f"{BASELINE}+redis")]
        if unknown:
            raise SystemExit(f"bench: unknown targets {', '.join(unknown)}")
        targets = [t for t in targets if t in wanted]

    if args.baseline:
        # Each beside its counterpart, so that both see the machine alike.
        with_base = []
        for t in targets:
            with_base.append(t)
            if t in ("circle", "circle+redis"):
                with_base.append(t.replace("circle", BASELINE))
        targets = with_base

    def pick(value: int | None, full: int, small: int) -> int:
        return value if value is not None else (small if quick else full)

    storm_members = pick(args.storm, 200, 40)
    storm_targets = list(STORM_TARGETS) if storm_members > 0 and args.only != "cluster" else []
    if args.baseline and storm_targets:
        storm_targets.insert(1, BASELINE)
    if args.targets and not args.storm:
        storm_targets = [t for t in storm_targets if t in targets]
    for target in dict.fromkeys(targets + storm_targets):
        why = deploy.unavailable(target)
        if why:
            say(f"note: {target} skipped: {why}")
            targets = [t for t in targets if t != target]
            storm_targets = [t for t in storm_targets if t != target]
    cfg = Config(
        members=pick(args.members, 50, 10),
        messages=pick(args.messages, 20, 5),
        warmup=pick(args.warmup, 1, 1),
        client_procs=pick(args.client_procs, 4, 2),
        paced_rate=args.paced_rate if args.paced_rate is not None else (10.0 if quick else PACED_RATE),
        repeat=pick(args.repeat, 3, 1),
        timeout_s=args.timeout,
        targets=tuple(targets),
        storm_members=storm_members,
        storm_s=args.storm_s,
        storm_targets=tuple(storm_targets),
        profile_dir=args.profile,
        baseline=args.baseline,
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
    storm = (
        f"join storm: {cfg.storm_members} members, each on a new connection, start joining one room "
        f"within {cfg.storm_s:g} s (after one warm-up member per client process); targets: "
        f"{', '.join(cfg.storm_targets)}"
        if cfg.storm_targets
        else "join storm: none"
    )
    return [
        f"room: {cfg.members} members x {cfg.messages} messages = {cfg.members * cfg.messages:,} messages, "
        f"{cfg.members * cfg.messages * cfg.members:,} deliveries per phase (senders receive their own)",
        f"phases: {cfg.warmup} unmeasured warm-up message(s) per member; burst: each member sends its next "
        f"message as soon as the last is acknowledged{paced}",
        f"clients: python-socketio AsyncClient over websocket, {n_procs} client processes "
        f"(members round-robin), nothing pinned, {os.cpu_count()} CPUs shared with the servers; "
        "each chat:send carries a resend key, as Circle's own clients do (the peers ignore it)",
        "Circle's chat rate limit raised for the benchmark: "
        + ", ".join(f"{k}={v}" for k, v in CHAT_LIMITS.items()),
        "floor: bare python-socketio AsyncServer (async_handlers=False, as Circle): join -> enter_room, "
        "chat:send -> emit chat:message to the room + ack; floor+redis: AsyncRedisManager (JSON codec)",
        "node: bare Node socket.io server doing the same (bench/node/server.js); node+redis: "
        "@socket.io/redis-adapter",
        storm,
        *([f"{BASELINE}: Circle as committed at {cfg.baseline}"] if cfg.baseline else []),
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
    results = run(cfg, say)
    medians = results.medians

    print()
    print(table(medians))
    print()
    print("CPU µs/deliv: server-side CPU time (every instance, and Redis) per delivered chat:message;")
    print("server cores busy: cores each server-side process (instances, then Redis) kept busy;")
    print("latency: from just before chat:send to receipt of chat:message, every receiver, one clock;")
    print("other load: cores busy with other programs meanwhile (should be near 0 for clean figures);")
    print("KiB/member: the instances' resident memory grown per member, from before the first joined to")
    print("after the last;")
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
    storm_lines = storm_comparison(results.storms)
    if results.storms:
        print()
        print("Join storm (latency: from opening the connection to the join's acknowledgement):")
        print(table_indent(storm_table(results.storms)))
        for line in storm_lines:
            print(f"  {line}")
        for s in results.storms:
            if s.refused:
                print(f"  {s.target} refused: {s.refused}")
    incomplete = [m for m in medians if not m.complete]
    for m in medians:
        if m.errors:
            print(f"{m.target} {m.phase}: errors {m.errors}")
    for target, why in results.failures.items():
        print(f"{target}: FAILED: {why.splitlines()[0]} ... {why.splitlines()[-1]}")

    write_json(
        args.json,
        {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "commit": _git_commit(),
            "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "config": asdict(cfg),
            "chat_limits": CHAT_LIMITS,
            "setup": setup,
            "results": medians,
            "comparisons": [c for c, _ in comps],
            "redis_hop": hops,
            "storm": results.storms,
            "storm_comparison": storm_lines,
            "runs": results.runs,
            "storm_runs": results.storm_runs,
            "failures": results.failures,
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
    return 1 if results.failures or incomplete else 0


def table_indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())

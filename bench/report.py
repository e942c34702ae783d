"""Figures from raw measurements: percentiles, the table, the ratios and the JSON file."""

from __future__ import annotations

import json
import statistics
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def percentile(sorted_values: Sequence[int], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100); NaN when there are none."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return float(sorted_values[rank - 1])


@dataclass
class Latency:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @staticmethod
    def of(values_ns: Iterable[int]) -> Latency:
        ordered = sorted(values_ns)
        ms = 1e-6
        return Latency(
            len(ordered),
            percentile(ordered, 50) * ms,
            percentile(ordered, 99) * ms,
            (ordered[-1] if ordered else float("nan")) * ms,
        )


@dataclass
class Measurement:
    """One phase of one benchmark run against one target."""

    target: str
    phase: str
    rate_per_s: float  # per member; 0: closed loop
    instances: int
    members: int
    messages_per_member: int
    expected: int
    delivered: int
    wall_s: float
    deliveries_per_s: float
    cpu_ns: dict[str, int]  # per server-side process (instances, Redis)
    cpu_us_per_delivery: float  # all server-side processes together
    latency: Latency
    latency_local: Latency  # sender and receiver on the same instance
    latency_remote: Latency  # sender on another instance
    client_cpu_us_per_delivery: float
    errors: dict[str, int] = field(default_factory=dict)
    other_cores: float = 0.0  # CPU other programs on the machine used meanwhile, in cores
    runs_used: int = 1  # of repeated runs, those the figures are the median of
    runs: int = 1
    redis_calls: dict[str, int] = field(default_factory=dict)  # commands Redis served during the phase
    rss_bytes_per_member: float = float("nan")  # the instances' resident memory grown per joined member

    @property
    def messages(self) -> int:
        return self.members * self.messages_per_member

    @property
    def complete(self) -> bool:
        return self.delivered == self.expected and not self.errors

    def utilisation(self) -> dict[str, float]:
        """Share of one core each server-side process used during the measured phase."""
        return {name: ns / 1e9 / self.wall_s for name, ns in self.cpu_ns.items()} if self.wall_s else {}


def lat_array(raw: bytes) -> array[int]:
    values = array("q")
    values.frombytes(raw)
    return values


QUIET_CORES = 0.25


def median_measurement(every: list[Measurement]) -> Measurement:
    """The median of each figure over repeated runs of one target and phase (the first run's counts).

    Runs during which other programs kept more than `QUIET_CORES` busy are left out when at least one
    run was quiet: such interference moves every figure, CPU per delivery too (and not only upwards: a
    starved server batches more work per wake-up)."""
    quiet = [r for r in every if r.other_cores <= QUIET_CORES]
    runs = quiet or every

    def med(values: Iterable[float]) -> float:
        return float(statistics.median(values))

    def med_lat(lats: list[Latency]) -> Latency:
        return Latency(
            sum(x.count for x in lats) // len(lats),
            med(x.p50_ms for x in lats),
            med(x.p99_ms for x in lats),
            med(x.max_ms for x in lats),
        )

    first = runs[0]
    errors: dict[str, int] = {}
    for run in runs:
        for code, count in run.errors.items():
            errors[code] = errors.get(code, 0) + count
    return Measurement(
        target=first.target,
        phase=first.phase,
        rate_per_s=first.rate_per_s,
        instances=first.instances,
        members=first.members,
        messages_per_member=first.messages_per_member,
        expected=first.expected,
        delivered=min(r.delivered for r in runs),
        wall_s=med(r.wall_s for r in runs),
        deliveries_per_s=med(r.deliveries_per_s for r in runs),
        cpu_ns={k: int(med(r.cpu_ns.get(k, 0) for r in runs)) for k in first.cpu_ns},
        cpu_us_per_delivery=med(r.cpu_us_per_delivery for r in runs),
        latency=med_lat([r.latency for r in runs]),
        latency_local=med_lat([r.latency_local for r in runs]),
        latency_remote=med_lat([r.latency_remote for r in runs]),
        client_cpu_us_per_delivery=med(r.client_cpu_us_per_delivery for r in runs),
        errors=errors,
        other_cores=med(r.other_cores for r in runs),
        runs_used=len(runs),
        runs=len(every),
        redis_calls={k: int(med(r.redis_calls.get(k, 0) for r in runs)) for k in first.redis_calls},
        rss_bytes_per_member=med(r.rss_bytes_per_member for r in runs),
    )


@dataclass
class StormMeasurement:
    """One join storm against one target."""

    target: str
    members: int
    length_s: float  # the members' starts are spread over this long
    joined: int
    refused: dict[str, int]
    latency: Latency  # from opening the connection to the join's acknowledgement
    wall_s: float  # from the storm's start to the last join
    cpu_us_per_join: float  # the server's
    rss_bytes_per_member: float
    machine_cores: float  # every core busy meanwhile (clients included)
    runs_used: int = 1
    runs: int = 1


def median_storm(every: list[StormMeasurement]) -> StormMeasurement:
    """The median of each figure over repeated storms against one target; refusals are summed."""

    def med(values: Iterable[float]) -> float:
        return float(statistics.median(values))

    refused: dict[str, int] = {}
    for run in every:
        for code, count in run.refused.items():
            refused[code] = refused.get(code, 0) + count
    lats = [r.latency for r in every]
    first = every[0]
    return StormMeasurement(
        target=first.target,
        members=first.members,
        length_s=first.length_s,
        joined=min(r.joined for r in every),
        refused=refused,
        latency=Latency(
            sum(x.count for x in lats) // len(lats),
            med(x.p50_ms for x in lats),
            med(x.p99_ms for x in lats),
            med(x.max_ms for x in lats),
        ),
        wall_s=med(r.wall_s for r in every),
        cpu_us_per_join=med(r.cpu_us_per_join for r in every),
        rss_bytes_per_member=med(r.rss_bytes_per_member for r in every),
        machine_cores=med(r.machine_cores for r in every),
        runs_used=len(every),
        runs=len(every),
    )


def _fmt(value: float, digits: int = 1) -> str:
    return "—" if value != value else f"{value:,.{digits}f}"  # NaN check without math


def table(rows: list[Measurement]) -> str:
    header = (
        "target",
        "phase",
        "inst",
        "delivered",
        "deliveries/s",
        "CPU µs/deliv",
        "p50 ms",
        "p99 ms",
        "client CPU µs/deliv",
        "other load",
        "runs",
        "KiB/member",
        "server cores busy",
    )
    left = {0, 1, len(header) - 1}
    lines: list[tuple[str, ...]] = [header]
    for m in rows:
        util = " + ".join(
            f"{'redis ' if name == 'redis' else ''}{share:.2f}" for name, share in m.utilisation().items()
        )
        lines.append(
            (
                m.target,
                m.phase,
                str(m.instances),
                f"{m.delivered:,}/{m.expected:,}",
                _fmt(m.deliveries_per_s, 0),
                _fmt(m.cpu_us_per_delivery, 1),
                _fmt(m.latency.p50_ms, 1),
                _fmt(m.latency.p99_ms, 1),
                _fmt(m.client_cpu_us_per_delivery, 1),
                _fmt(m.other_cores, 2),
                f"{m.runs_used}/{m.runs}",
                _fmt(m.rss_bytes_per_member / 1024, 1),
                util,
            )
        )
    return _render(lines, left)


def storm_table(rows: list[StormMeasurement]) -> str:
    header = (
        "target",
        "joined",
        "refused",
        "p50 ms",
        "p99 ms",
        "max ms",
        "last join s",
        "CPU µs/join",
        "KiB/member",
        "cores busy (all)",
        "runs",
    )
    lines: list[tuple[str, ...]] = [header]
    for m in rows:
        lines.append(
            (
                m.target,
                f"{m.joined}/{m.members}",
                str(sum(m.refused.values())),
                _fmt(m.latency.p50_ms, 1),
                _fmt(m.latency.p99_ms, 1),
                _fmt(m.latency.max_ms, 1),
                _fmt(m.wall_s, 2),
                _fmt(m.cpu_us_per_join, 0),
                _fmt(m.rss_bytes_per_member / 1024, 1),
                _fmt(m.machine_cores, 2),
                f"{m.runs_used}/{m.runs}",
            )
        )
    return _render(lines, {0})


def _render(lines: list[tuple[str, ...]], left: set[int]) -> str:
    header = lines[0]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        cells = [
            cell.ljust(w) if i in left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


@dataclass
class Comparison:
    name: str
    numerator: str
    denominator: str
    cpu: float
    p50: float
    p99: float

    @staticmethod
    def of(name: str, num: Measurement, den: Measurement) -> Comparison:
        return Comparison(
            name,
            num.target,
            den.target,
            ratio(num.cpu_us_per_delivery, den.cpu_us_per_delivery),
            ratio(num.latency.p50_ms, den.latency.p50_ms),
            ratio(num.latency.p99_ms, den.latency.p99_ms),
        )

    def line(self, aim: float | None = None) -> str:
        """The ratios; with `aim`, whether CPU per delivery is within it."""
        text = (
            f"{self.name}: CPU per delivery {_fmt(self.cpu, 2)}x, "
            f"p50 latency {_fmt(self.p50, 2)}x, p99 latency {_fmt(self.p99, 2)}x"
        )
        if aim is not None:
            text += f"  [aim: CPU {aim}x or less: {'met' if self.cpu <= aim else 'not met'}]"
        return text


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(payload), indent=2, allow_nan=False) + "\n")


def _plain(value: Any) -> Any:
    """JSON-ready: dataclasses as objects, NaN (a figure with no samples) as null."""
    if isinstance(value, Measurement | Latency | Comparison | StormMeasurement):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, Path):
        return str(value)
    return value

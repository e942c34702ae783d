"""`/metrics`: what one instance is doing, in the Prometheus text format (through prometheus-client).

Counts and durations only. Every label comes from a fixed vocabulary: a protocol event name (or
`unknown`), an error code of `signaling.errors.CODES`, a media mode (`av`, `audio`, `text`). No room,
participant, name, connection id or address is ever a label or a value.

Each application has its own registry, so that several can run in one process (tests, a program that
embeds Circle) without clashing over metric names.

- What signalling does as it works (events, errors, chat latency, drains) it reports through its
  `Metrics` port, which `PrometheusMetrics` counts;
- what is true now (connections, participants, rooms, Redis) `Current` reads at each scrape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rooms.model import Media
from signaling.errors import CODES
from signaling.handlers import Signaling
from signaling.protocol import CLIENT_EVENTS

if TYPE_CHECKING:
    from server.redis_backend import RedisLink

# A `_created` series beside each counter would double what a scrape reads, to say only when this
# process started.
disable_created_metrics()  # type: ignore[no-untyped-call]

EVENTS = (*CLIENT_EVENTS, "unknown")
"""Every value of the `event` label."""

MEDIA = tuple(m.value for m in Media)
"""Every value of the `media` label."""

# A chat message is handed on within a millisecond or two on one instance, a few more through Redis;
# the upper buckets show a store that is slow to answer.
CHAT_DELIVERY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PrometheusMetrics:
    """Signalling's `Metrics` port, counted into `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._events = Counter(
            "circle_events",
            "socket.io events answered, by event name (a name the protocol does not know counts as unknown).",
            ["event"],
            registry=registry,
        )
        self._errors = Counter(
            "circle_errors",
            "socket.io events answered with an error, by error code.",
            ["code"],
            registry=registry,
        )
        self._chat = Histogram(
            "circle_chat_delivery_seconds",
            "Seconds from this instance taking up a chat:send to its chat:message having been handed to"
            " socket.io for delivery: the message stored, queued on the recipients' connections here and,"
            " in a cluster, published to Redis. Network time to the members is not included. Only"
            " messages handed on in full count.",
            buckets=CHAT_DELIVERY_BUCKETS_S,
            registry=registry,
        )
        self._drains = Counter(
            "circle_drains",
            "Times this instance began to stop: refusing new connections and telling its clients to move.",
            registry=registry,
        )
        self._drain_closed = Counter(
            "circle_drain_closed_connections",
            "Connections the server closed at the end of a drain because they had not left on their own.",
            registry=registry,
        )
        # Every series exists from the start, at zero, so that a rate over it is defined at once.
        for event in EVENTS:
            self._events.labels(event)
        for code in CODES:
            self._errors.labels(code)

    def event_handled(self, event: str, error: str | None, seconds: float) -> None:
        self._events.labels(event if event in EVENTS else "unknown").inc()
        if error is not None:
            # A code outside the documented set would be a fault in the server.
            self._errors.labels(error if error in CODES else "internal").inc()
        elif event == "chat:send":
            self._chat.observe(seconds)

    def drain_began(self) -> None:
        self._drains.inc()

    def drain_closed(self, connections: int) -> None:
        self._drain_closed.inc(connections)


class Current(Collector):
    """What is true at the moment of a scrape: read from signalling and the Redis link, not kept."""

    def __init__(self, signaling: Signaling, redis: RedisLink | None) -> None:
        self._signaling = signaling
        self._redis = redis

    def collect(self) -> Iterable[Metric]:
        counts = self._signaling.counts()
        yield GaugeMetricFamily(
            "circle_connections", "Open socket.io connections on this instance.", value=counts.connections
        )
        participants = GaugeMetricFamily(
            "circle_participants",
            "Participants connected to this instance (in the room or its waiting room), by how they take"
            " part: av (camera and microphone), audio, or text.",
            labels=["media"],
        )
        for media in MEDIA:
            participants.add_metric([media], counts.by_media.get(media, 0))
        yield participants
        yield GaugeMetricFamily(
            "circle_rooms",
            "Live rooms: rooms with a participant connected to this instance (a room whose members are"
            " spread over several instances counts on each).",
            value=counts.rooms,
        )
        yield GaugeMetricFamily(
            "circle_draining",
            "1 while this instance is stopping (refusing new connections, its clients told to move), else 0.",
            value=int(self._signaling.closing),
        )
        sfu = self._signaling.media.totals()
        yield GaugeMetricFamily(
            "circle_sfu_rooms", "Rooms whose media this instance's SFU carries.", value=sfu.rooms
        )
        yield GaugeMetricFamily(
            "circle_sfu_connections",
            "Peer connections between members and this instance's SFU (publish and subscribe).",
            value=sfu.connections,
        )
        yield GaugeMetricFamily(
            "circle_sfu_forwarded_streams",
            "Streams this instance's SFU forwards: one per track per member receiving it.",
            value=sfu.forwarded,
        )
        if self._redis is not None:
            yield GaugeMetricFamily(
                "circle_redis_up",
                "1 while Redis answers this instance's calls, 0 while it does not (as last seen: the"
                " heartbeat calls it every heartbeat_s).",
                value=int(self._redis.up),
            )
            yield CounterMetricFamily(
                "circle_redis_reconnects",
                "Times Redis answered this instance again after it had stopped answering.",
                value=self._redis.reconnects,
            )


def exposition(registry: CollectorRegistry) -> web.Response:
    """The answer to `GET /metrics`."""
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

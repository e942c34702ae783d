"""`/metrics` counts what an instance does and never says who: no room, name, id, text or address,
and every label from a fixed vocabulary. Real servers, real clients, scraped over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from server.metrics import CHAT_DELIVERY_BUCKETS_S, EVENTS, MEDIA
from signaling.errors import CODES
from tests.support.client import Member
from tests.support.servers import RedisServer, RunningServer, start_server

Connect = Callable[[], Awaitable[Member]]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# Every label and the values it may take: fixed by the code, never by what people send.
VOCABULARY: dict[str, set[str]] = {
    "event": set(EVENTS),
    "code": set(CODES),
    "media": set(MEDIA),
    "le": {str(b) for b in CHAT_DELIVERY_BUCKETS_S} | {"+Inf"},
}


async def scrape(server: RunningServer) -> tuple[str, Samples]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/metrics") as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain")
            text = await r.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def until(server: RunningServer, check: Callable[[Samples], bool], timeout: float = 10.0) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        _, samples = await scrape(server)
        if check(samples):
            return samples
        assert time.monotonic() < deadline, "the metrics did not reach the expected values in time"
        await asyncio.sleep(0.1)


async def test_a_meeting_is_counted_without_a_room_name_id_text_or_address_in_the_metrics(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room(
        title="Saltmarsh Wednesday gathering", guidelines="Bring the lanternfish"
    )
    quillon, ysolde, theodric = await members(), await members(), await members()
    await quillon.join(room["id"], "Quillon Marchbanks", host_key=room["host_key"], accept_guidelines=True)
    await ysolde.join(room["id"], "Ysolde Farthingale", media="text", accept_guidelines=True)
    await theodric.join(room["id"], "Theodric Ashvale", media="audio", accept_guidelines=True)
    assert (await ysolde.call("chat:send", {"text": "pomegranate lighthouse 8813"}))["ok"]
    await quillon.wait_for("chat:message")
    bad = await ysolde.call("chat:send", {"text": 8813})
    assert bad["error"]["code"] == "bad_request"
    unknown = await theodric.call("zq:smuggle-Quillon-Marchbanks", {"text": "pomegranate"})
    assert unknown["error"]["code"] == "bad_request"

    text, samples = await scrape(circle_server)

    assert value(samples, "circle_connections") == 3
    assert {m: value(samples, "circle_participants", media=m) for m in MEDIA} == {
        "av": 1,
        "audio": 1,
        "text": 1,
    }
    assert value(samples, "circle_rooms") == 1
    assert value(samples, "circle_events_total", event="join") == 3
    assert value(samples, "circle_events_total", event="chat:send") == 2
    assert value(samples, "circle_events_total", event="unknown") == 1
    assert value(samples, "circle_errors_total", code="bad_request") == 2
    assert value(samples, "circle_errors_total", code="internal") == 0
    assert value(samples, "circle_chat_delivery_seconds_count") == 1, "only the message handed on counts"
    assert 0 < value(samples, "circle_chat_delivery_seconds_sum") < 5
    assert value(samples, "circle_draining") == 0
    assert "circle_redis_up" not in text, "no Redis, no Redis metrics"

    secrets = [
        "Quillon",
        "Marchbanks",
        "Ysolde",
        "Farthingale",
        "Theodric",
        "Ashvale",
        "Saltmarsh",
        "lanternfish",
        "pomegranate",
        "8813",
        "smuggle",
        room["id"],
        room["host_key"],
        quillon.id,
        ysolde.id,
        theodric.id,
        *(str(m.sio.sid) for m in (quillon, ysolde, theodric)),
        "127.0.0.1",
    ]
    assert [s for s in secrets if s in text] == []
    for (_, labels), _ in samples.items():
        for label, label_value in labels:
            assert label in VOCABULARY, f"unexpected label {label}"
            assert label_value in VOCABULARY[label], f"{label}={label_value} is not from the fixed set"

    await ysolde.close()
    await until(
        circle_server,
        lambda s: value(s, "circle_connections") == 2 and value(s, "circle_participants", media="text") == 0,
    )


async def test_two_instances_in_one_process_keep_their_own_counts(
    circle_server_factory: Callable[..., Awaitable[RunningServer]],
) -> None:
    one, two = await circle_server_factory(), await circle_server_factory()
    room = await one.create_room()
    ann = await Member(one.url).connect()
    try:
        await ann.join(room["id"], "Ann")
        _, on_one = await scrape(one)
        _, on_two = await scrape(two)
    finally:
        await ann.close()
    assert value(on_one, "circle_participants", media="av") == 1
    assert value(on_one, "circle_events_total", event="join") == 1
    assert value(on_two, "circle_participants", media="av") == 0
    assert value(on_two, "circle_events_total", event="join") == 0


async def test_a_drain_shows_while_it_lasts_and_counts_only_the_connections_it_had_to_close(
    circle_server: RunningServer, members: Connect
) -> None:
    room = await circle_server.create_room()
    stays, moves = await members(), await members()
    await stays.join(room["id"], "Ann")
    await moves.join(room["id"], "Bob")
    signaling = circle_server.circle.signaling
    draining = asyncio.ensure_future(signaling.drain(drain_s=3))
    await moves.wait_for("server:closing")
    await moves.close()  # what a client that knows the notice does; `stays` ignores it
    during = await until(circle_server, lambda s: value(s, "circle_connections") == 1)
    assert value(during, "circle_draining") == 1
    assert value(during, "circle_drains_total") == 1
    await draining
    await stays.wait_disconnected()
    _, after = await scrape(circle_server)
    assert value(after, "circle_drain_closed_connections_total") == 1
    await signaling.drain(drain_s=0)  # as the app's own shutdown hook does after a drain
    _, again = await scrape(circle_server)
    assert value(again, "circle_drains_total") == 1, "one stop is one drain"


async def test_redis_going_away_and_coming_back_shows_as_down_then_up_with_one_reconnect(
    tmp_path: Path,
) -> None:
    redis = RedisServer()
    redis.start()
    server = await start_server(
        tmp_path / "data",
        redis_url=redis.url,
        heartbeat_s=0.2,
        instance_ttl_s=2.0,
        redis_timeout_s=0.5,
    )
    try:
        _, before = await scrape(server)
        assert value(before, "circle_redis_up") == 1
        assert value(before, "circle_redis_reconnects_total") == 0
        redis.stop()
        await until(server, lambda s: value(s, "circle_redis_up") == 0)
        redis.start()
        back = await until(server, lambda s: value(s, "circle_redis_up") == 1)
        assert value(back, "circle_redis_reconnects_total") == 1
    finally:
        await server.stop()
        redis.stop()

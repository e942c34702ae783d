"""Thousands of generated events, well-formed and not, from a member of a meeting: to one live server,
and to one of two instances sharing Redis. Whatever arrives, the sender gets a documented answer (or,
for a frame that breaks the transport, a closed connection), the server raises nothing it did not
expect, and a bystander in the same meeting (on the other instance, with Redis) still gets its own
messages round and sees nothing it should not."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling import views
from signaling.errors import CODES
from signaling.events import SERVER_EVENTS
from signaling.protocol import CLIENT_EVENTS
from tests.support.client import Member
from tests.support.rawsocket import RawSocket
from tests.support.servers import RedisServer, RunningServer

Factory = Callable[..., Awaitable[RunningServer]]

# Loose enough that the fuzzer's events reach the handlers instead of the rate limits.
FUZZ_SETTINGS: dict[str, Any] = {
    "chat_burst": 1_000_000,
    "chat_rate_per_s": 1_000_000.0,
    "signal_burst": 1_000_000,
    "signal_rate_per_s": 1_000_000.0,
    "action_burst": 1_000_000,
    "action_rate_per_s": 1_000_000.0,
    "join_burst": 1_000_000,
    "join_rate_per_s": 1_000_000.0,
    "history_burst": 1_000_000,
    "history_rate_per_s": 1_000_000.0,
    "hand_burst": 1_000_000,
    "hand_rate_per_s": 1_000_000.0,
    "hand_room_burst": 1_000_000,
    "hand_room_rate_per_s": 1_000_000.0,
    "join_address_burst": 1_000_000,
    "join_address_rate_per_s": 1_000_000.0,
    "chat_address_burst": 1_000_000,
    "chat_address_rate_per_s": 1_000_000.0,
    "max_connections_per_address": 1_000,
    "resume_grace_s": 0.5,
}

# -- what the fuzzer sends ---------------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\u202eHost",
    "Ho\u200bst",
    "Host (facilitator)",
    "x" * 2500,
    "\x00",
]
leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(ODD_TEXT)
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def shaped(event: str) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of `event`'s own fields, each holding anything."""
    names = [f.name for f in fields(CLIENT_EVENTS[event])]
    return st.fixed_dictionaries({}, optional={name: json_values for name in names})


@dataclass(frozen=True)
class Event:
    """A well-formed socket.io event: a name and one argument, with or without an acknowledgement."""

    name: str
    data: Any
    ack: bool


@dataclass(frozen=True)
class Frame:
    """Anything else, sent as it is."""

    data: str | bytes


known_events = st.sampled_from(sorted(CLIENT_EVENTS)).flatmap(
    lambda name: st.builds(Event, st.just(name), shaped(name) | json_values, st.booleans())
)
unknown_events = st.builds(Event, st.text(max_size=30), json_values, st.booleans())


def truncated(event: str, data: Any, cut: int) -> str:
    packet = "421" + json.dumps([event, data])
    return packet[: max(3, len(packet) * cut // 100)]


# Frames socket.io can answer (their header reads), and frames that break the transport, which cost
# a new connection each: fewer of those.
answered_frames = st.one_of(
    st.text(max_size=80).map(lambda t: "42" + t),
    st.text(max_size=80).map(lambda t: "421" + t),
    st.text(max_size=40).map(lambda t: "43" + t),
    st.builds(truncated, st.sampled_from(sorted(CLIENT_EVENTS)), shaped("chat:send"), st.integers(0, 99)),
    st.integers(500, 30_000).map(lambda depth: "421" + "[" * depth + "]" * depth),
    st.integers(101, 400).map(lambda digits: '421["chat:send",{"text":' + "7" * digits + "}]"),
    st.sampled_from(['421["connect",{}]', '421["disconnect"]', "421[]", '421"chat:send"', "421{}", "42"]),
    st.builds(
        lambda ns: f"42/{ns},1" + '["chat:send",{"text":"hi"}]', st.text("abcxyz", min_size=1, max_size=8)
    ),
)
closing_frames = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=40),
    st.sampled_from(
        ["4", "40", "41", "44{}", "45", "46", "47", "49", "4" + "2" * 120, "1", "2probe", "5", "6"]
    ),
)
frames = st.one_of(answered_frames, answered_frames, answered_frames, closing_frames).map(Frame)

actions = st.lists(st.one_of(known_events, known_events, unknown_events, frames), min_size=25, max_size=60)


# -- what must hold ----------------------------------------------------------------------------------


def documented_answer(ack: Any) -> bool:
    if not isinstance(ack, dict) or not isinstance(ack.get("ok"), bool):
        return False
    if ack["ok"]:
        return True
    error = ack.get("error")
    return isinstance(error, dict) and error.get("code") in CODES and isinstance(error.get("message"), str)


def documented_event(name: str, data: Any) -> bool:
    """An event a bystander may receive: a documented one, with only its documented fields."""
    cls = SERVER_EVENTS.get(name)
    if cls is None or name == "error":
        return False
    if not isinstance(data, dict):
        return False
    return set(data) <= {spec.wire for spec in views.field_specs(cls)}


class Fuzzer:
    """A member of the meeting on a raw socket, reconnected and rejoined whenever a frame closed it
    or took it out of the meeting. Events go out without waiting for each answer (their answers are
    read in a batch, as a client that pipelines would), frames one at a time."""

    def __init__(self, url: str, room_id: str) -> None:
        self.url = url
        self.room_id = room_id
        self.raw: RawSocket | None = None
        self._waiting: list[tuple[int, Event]] = []
        self.sent = 0

    async def socket(self) -> RawSocket:
        if self.raw is None or self.raw.closed:
            if self.raw is not None:
                await self.raw.close()
            self.raw = await RawSocket(self.url).open()
            ack = await self.raw.call("join", {"room": self.room_id, "name": "Fuzz"})
            assert ack["ok"], ack
        return self.raw

    async def act(self, action: Event | Frame) -> None:
        self.sent += 1
        if isinstance(action, Event):
            raw = await self.socket()
            ack_id = raw.new_id() + 10**9
            frame = "42" + (str(ack_id) if action.ack else "") + json.dumps([action.name, action.data])
            await raw.send(frame)
            if action.ack:
                self._waiting.append((ack_id, action))
            return
        await self.answers()
        raw = await self.socket()
        await raw.send(action.data)
        # A frame either breaks the transport (the connection closes) or is answered, in order,
        # before this well-formed event is.
        try:
            ack = await raw.call("rtc:config", {})
        except ConnectionError:
            return
        assert documented_answer(ack), (action, ack)
        if not ack["ok"]:
            # The frame took the fuzzer out of the namespace ("41") or the meeting: start again.
            await raw.close()
            raw.closed = True

    async def answers(self) -> None:
        """Every answer still awaited, each one documented."""
        waiting, self._waiting = self._waiting, []
        for ack_id, event in waiting:
            assert self.raw is not None
            ack = await self.raw.ack_of(ack_id)
            assert documented_answer(ack), (event, ack)

    async def close(self) -> None:
        if self.raw is not None:
            await self.raw.close()


async def round_trip(bystander: Member) -> None:
    """The bystander's own message comes back, and nothing it saw is junk."""
    sent = await bystander.call("chat:send", {"text": "still here"})
    assert sent["ok"], sent
    await bystander.wait_for("chat:message", lambda m: m["id"] == sent["message"]["id"])
    junk = [(name, data) for name, data in bystander.events if not documented_event(name, data)]
    assert junk == [], junk[:3]
    assert not bystander.disconnected
    bystander.events.clear()


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.exc_info or r.exc_text or "internal error" in r.getMessage()]


@dataclass
class Meeting:
    fuzzer: Fuzzer
    bystander: Member


@pytest.fixture(params=["one instance", "two instances on Redis"])
async def meeting(
    request: pytest.FixtureRequest, circle_server_factory: Factory, redis_server: RedisServer
) -> AsyncIterator[Meeting]:
    if request.param == "one instance":
        first = second = await circle_server_factory(**FUZZ_SETTINGS)
    else:
        redis_server.flush()
        first = await circle_server_factory(redis_url=redis_server.url, **FUZZ_SETTINGS)
        second = await circle_server_factory(redis_url=redis_server.url, **FUZZ_SETTINGS)
    room = await first.create_room(max_participants=1000)
    bystander = await Member(second.url).connect()
    await bystander.join(room["id"], "Bystander")
    fuzzer = Fuzzer(first.url, room["id"])
    yield Meeting(fuzzer, bystander)
    print(f"{request.param}: {fuzzer.sent} generated events and frames")
    await fuzzer.close()
    await bystander.close()


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(batch=actions)
async def test_generated_events_get_documented_answers_and_leave_the_room_working(
    meeting: Meeting, caplog: pytest.LogCaptureFixture, batch: list[Event | Frame]
) -> None:
    caplog.set_level(logging.INFO)
    for action in batch:
        await meeting.fuzzer.act(action)
    await meeting.fuzzer.answers()
    await round_trip(meeting.bystander)
    assert tracebacks(caplog.records) == []

"""Frames and packets no client library would send, written raw over a real websocket (and over
long-polling): each gets `bad_request` where socket.io lets the server answer, or closes that
connection where the transport itself is broken, with one short log line and never a traceback;
the room carries on for everyone else."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tests.support.client import Member
from tests.support.rawsocket import RawSocket
from tests.support.servers import RunningServer

Factory = Callable[..., Awaitable[RunningServer]]

# Each with `{id}` where the acknowledgement id goes: answered `bad_request` as that acknowledgement.
ANSWERED: dict[str, str] = {
    "not an array": '42{id}"chat:send"',
    "an object": '42{id}{{"text": "hi"}}',
    "an empty array": "42{id}[]",
    "a name that is not text": "42{id}[5,{{}}]",
    "truncated JSON": '42{id}["chat:send",{{"text":"hi',
    "30,000-deep nesting": "42{id}" + "[" * 30_000 + "]" * 30_000,
    "an integer over 100 digits": '42{id}["chat:send",{{"text":' + "9" * 101 + "}}]",
    "socket.io's disconnect as an event": '42{id}["disconnect"]',
    "socket.io's connect as an event": '42{id}["connect",{{}}]',
}

# Frames that break the transport: that connection is closed.
CLOSED: dict[str, str | bytes] = {
    "an empty frame": "",
    "an unknown Engine.IO type": "x",
    "a message with no packet": "4",
    "an unknown packet type": "49",
    "an acknowledgement id over 100 digits": "42" + "1" * 101 + '["chat:history",{}]',
    "a binary event": '451-["chat:send",{"_placeholder":true,"num":0}]',
    "binary data": b"\x04\x00\x01",
    "a connect error from a client": '44{"message":"x"}',
}


def problems(records: list[logging.LogRecord]) -> list[str]:
    """Log records that are not one short line: tracebacks, and anything long."""
    return [
        r.getMessage()[:200]
        for r in records
        if r.exc_info is not None or r.exc_text or len(r.getMessage()) > 160 or "\n" in r.getMessage()
    ]


async def joined_raw(server: RunningServer, room_id: str, name: str) -> RawSocket:
    raw = await RawSocket(server.url).open()
    ack = await raw.call("join", {"room": room_id, "name": name})
    assert ack["ok"], ack
    return raw


@pytest.mark.parametrize("what", list(ANSWERED))
async def test_a_malformed_packet_is_answered_bad_request_and_the_connection_carries_on(
    circle_server: RunningServer, caplog: pytest.LogCaptureFixture, what: str
) -> None:
    caplog.set_level(logging.INFO)
    room = await circle_server.create_room()
    raw = await joined_raw(circle_server, room["id"], "Mallory")
    try:
        caplog.clear()
        ack_id = raw.new_id()
        await raw.send(ANSWERED[what].format(id=ack_id))
        ack = await raw.ack_of(ack_id)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
        assert ack["error"]["message"]
        # The same connection is still heard.
        assert (await raw.call("chat:history"))["ok"]
        assert problems(caplog.records) == []
        assert len(caplog.records) <= 1, [r.getMessage() for r in caplog.records]
    finally:
        await raw.close()


async def test_a_malformed_packet_without_an_id_is_answered_by_an_error_event(
    circle_server: RunningServer,
) -> None:
    raw = await RawSocket(circle_server.url).open()
    try:
        await raw.send('42["chat:send",{"text":"hi')
        packet = await raw.next_packet(lambda p: p.startswith('2["error"'))
        error = json.loads(packet[1:])[1]
        assert error["error"]["code"] == "bad_request" and error["event"] == ""
    finally:
        await raw.close()


async def test_an_event_for_a_namespace_never_joined_is_answered_there(
    circle_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    raw = await RawSocket(circle_server.url).open()
    try:
        caplog.clear()
        await raw.send('42/elsewhere,7["chat:send",{"text":"hi"}]')
        ack = await raw.ack_of(7, namespace="/elsewhere")
        assert ack["error"]["code"] == "bad_request"
        assert (await raw.call("chat:history"))["error"]["code"] == "not_joined"
        assert problems(caplog.records) == [] and len(caplog.records) <= 2
    finally:
        await raw.close()


@pytest.mark.parametrize("what", list(CLOSED))
async def test_a_frame_that_breaks_the_transport_closes_that_connection_only(
    circle_server: RunningServer,
    members: Callable[[], Awaitable[Member]],
    caplog: pytest.LogCaptureFixture,
    what: str,
) -> None:
    caplog.set_level(logging.INFO)
    room = await circle_server.create_room()
    raw = await joined_raw(circle_server, room["id"], "Mallory")
    calm = await members()
    await calm.join(room["id"], "Calm")
    try:
        caplog.clear()
        await raw.send(CLOSED[what])
        assert await raw.closed_by_server()
        # Everyone else carries on: a round trip through the room still works.
        sent = await calm.call("chat:send", {"text": "still here"})
        assert sent["ok"], sent
        await calm.wait_for("chat:message", lambda m: m["id"] == sent["message"]["id"])
        assert problems(caplog.records) == []
        bad = [r for r in caplog.records if "bad" in r.getMessage()]
        assert len(bad) == 1, [r.getMessage() for r in caplog.records]
    finally:
        await raw.close()


async def test_malformed_packets_are_logged_at_most_the_configured_lines_per_window(
    circle_server_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    server = await circle_server_factory(max_log_lines_per_kind=3, log_kind_window_s=3600.0)
    caplog.set_level(logging.INFO)
    raw = await RawSocket(server.url).open()
    try:
        caplog.clear()
        for _ in range(20):
            ack_id = raw.new_id()
            await raw.send(f"42{ack_id}[]")
            assert (await raw.ack_of(ack_id))["error"]["code"] == "bad_request"
        lines = [r.getMessage() for r in caplog.records if "bad input" in r.getMessage()]
        assert len(lines) == 3, lines
    finally:
        await raw.close()


async def polling_session(http: aiohttp.ClientSession, url: str) -> str:
    """A long-polling Engine.IO session connected to the default namespace; its sid."""
    async with http.get(f"{url}/socket.io/?EIO=4&transport=polling") as r:
        opened = await r.text()
    sid = str(json.loads(opened[1:])["sid"])
    async with http.post(f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="40") as r:
        assert r.status == 200
    async with http.get(f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}") as r:
        assert (await r.text()).startswith("40{")
    return sid


async def post(http: aiohttp.ClientSession, url: str, sid: str, body: Any) -> tuple[int, str]:
    async with http.post(
        f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}",
        data=body,
        timeout=aiohttp.ClientTimeout(total=5),
    ) as r:
        return r.status, await r.text()


async def test_a_polling_post_over_the_frame_limit_is_answered_413_and_ends_that_session(
    circle_server_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    server = await circle_server_factory(max_frame_bytes=4096)
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as http:
        sid = await polling_session(http, server.url)
        caplog.clear()
        status, text = await post(
            http, server.url, sid, "42" + json.dumps(["chat:send", {"text": "x" * 5000}])
        )
        assert status == 413 and json.loads(text)["error"]["code"] == "too_large"
        status, _ = await post(http, server.url, sid, '42["chat:history",{}]')
        assert status == 400, "the session that sent it is closed"
        assert problems(caplog.records) == []
        # A body within the limit still works on a new session.
        sid = await polling_session(http, server.url)
        status, _ = await post(http, server.url, sid, '421["chat:history",{}]')
        assert status == 200


async def test_a_polling_post_that_is_no_engineio_payload_is_a_bad_request(
    circle_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as http:
        for body in ["x", "4" + "[" * 30_000, "bAAAA", b"\xff\xfe"]:
            sid = await polling_session(http, circle_server.url)
            caplog.clear()
            status, text = await post(http, circle_server.url, sid, body)
            assert status == 400 and json.loads(text)["error"]["code"] == "bad_request", (body[:10], text)
            assert problems(caplog.records) == []

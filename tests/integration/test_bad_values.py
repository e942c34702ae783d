"""Values no client should send but any can: text that is not valid Unicode, numbers out of their
range, names that hide or pose. Each is `bad_request`, whichever store holds the room, and never
reaches anyone else."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import jwt
import pytest

from tests.support.client import Member
from tests.support.rawsocket import RawSocket
from tests.support.servers import RedisServer, RunningServer

Factory = Callable[..., Awaitable[RunningServer]]


@pytest.fixture(params=["memory", "redis"])
async def server(
    request: pytest.FixtureRequest, circle_server_factory: Factory, redis_server: RedisServer
) -> RunningServer:
    if request.param == "redis":
        redis_server.flush()
        return await circle_server_factory(redis_url=redis_server.url)
    return await circle_server_factory()


@pytest.fixture
async def people(server: RunningServer) -> AsyncIterator[Callable[[], Awaitable[Member]]]:
    made: list[Member] = []

    async def connect() -> Member:
        member = await Member(server.url).connect()
        made.append(member)
        return member

    yield connect
    for member in made:
        await member.close()


async def code_of(member: Member, event: str, data: Any) -> str:
    ack = await member.call(event, data)
    assert ack["ok"] is False, ack
    return str(ack["error"]["code"])


async def nothing_reached(member: Member, since: int) -> None:
    """Fails if `member` received anything after its `since`-th event but the marker it sends now."""
    sent = await member.call("chat:send", {"text": "marker"})
    assert sent["ok"], sent
    await member.wait_for("chat:message", lambda m: m["id"] == sent["message"]["id"])
    assert [name for name, _ in member.events[since:]] == ["chat:message"]


async def raw_code(raw: RawSocket, event: str, data: Any) -> str:
    """The error code `raw` gets for an event written with the standard library's JSON, which (unlike
    the client library's) writes lone surrogates and numbers of any size."""
    ack = await raw.call(event, data)
    assert ack["ok"] is False, ack
    return str(ack["error"]["code"])


async def test_a_lone_surrogate_in_a_name_chat_or_sdp_is_a_bad_request(
    server: RunningServer, people: Callable[[], Awaitable[Member]]
) -> None:
    room = await server.create_room()
    ann = await people()
    mallory = await RawSocket(server.url).open()
    try:
        assert await raw_code(mallory, "join", {"room": room["id"], "name": "a\ud800b"}) == "bad_request"
        await ann.join(room["id"], "Ann")
        joined = await mallory.call("join", {"room": room["id"], "name": "Mallory"})
        assert joined["ok"], joined
        await ann.wait_for("participant:joined", lambda p: p["id"] == joined["self"]["id"])
        since = len(ann.events)
        assert await raw_code(mallory, "chat:send", {"text": "a\ud800b"}) == "bad_request"
        offer = {"type": "offer", "sdp": "v=0\r\na=x:\udc00\r\n"}
        assert await raw_code(mallory, "signal", {"to": ann.id, "description": offer}) == "bad_request"
        await nothing_reached(ann, since)
        history = await ann.call("chat:history")
        assert [m["text"] for m in history["messages"]] == ["marker"]
    finally:
        await mallory.close()


async def test_a_lone_surrogate_in_a_room_title_is_a_bad_request(server: RunningServer) -> None:
    auth = {"Authorization": f"Bearer {server.admin_token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        body = '{"title": "Tuesday \\ud800 circle"}'
        async with http.post(f"{server.url}/api/rooms", data=body, headers=auth) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_request"


async def test_numbers_out_of_their_range_are_bad_requests(
    server: RunningServer, people: Callable[[], Awaitable[Member]]
) -> None:
    room = await server.create_room()
    ann = await people()
    fran = await RawSocket(server.url).open()
    try:
        assert (await fran.call("join", {"room": room["id"], "name": "Fran", "host_key": room["host_key"]}))[
            "ok"
        ]
        await ann.join(room["id"], "Ann")
        assert (await ann.call("hand:raise"))["ok"]
        for limit in (10**18, 10**30, 0, -5, 3601):
            assert await raw_code(fran, "mod:next-speaker", {"limit_s": limit}) == "bad_request"
        for index in (-(10**20), -1, 65536):
            candidate = {"candidate": "", "sdpMLineIndex": index}
            assert await raw_code(fran, "signal", {"to": ann.id, "candidate": candidate}) == "bad_request"
        # Nothing of it took effect: the hand is still up, and in range it works.
        ack = await fran.call("mod:next-speaker", {"limit_s": 300})
        assert ack["ok"] and ack["speaker"] == ann.id, ack
    finally:
        await fran.close()


async def create(server: RunningServer, body: str) -> tuple[int, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {server.admin_token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/rooms", data=body, headers=auth) as r:
            return r.status, dict(await r.json())


@pytest.mark.parametrize(
    "body",
    [
        {"title": "t", "max_participants": 0},
        {"title": "t", "max_participants": -1},
        {"title": "t", "max_participants": 10**20},
        {"title": "t", "retention_s": -1},
        {"title": "t", "retention_s": 10**30},
    ],
)
async def test_the_admin_api_refuses_numbers_out_of_range_instead_of_replacing_them(
    circle_server: RunningServer, body: dict[str, Any]
) -> None:
    status, answer = await create(circle_server, json.dumps(body))
    assert status == 400 and answer["error"]["code"] == "bad_request", answer


async def test_the_admin_api_answers_deeply_nested_json_with_400(circle_server: RunningServer) -> None:
    status, answer = await create(circle_server, "[" * 30_000 + "]" * 30_000)
    assert status == 400 and answer["error"]["code"] == "bad_request", answer
    status, answer = await create(
        circle_server, '{"title": "t", "guidelines": ' + "[" * 30_000 + "]" * 30_000 + "}"
    )
    assert status in (400, 413) and answer["error"]["code"] in ("bad_request", "too_large"), answer


@pytest.mark.parametrize(
    "name", ["\u202eHost", "Ho\u200bst", "Host (facilitator)", "Facilitator", "(host)", "Sam [moderator]"]
)
async def test_a_name_that_hides_or_poses_as_a_role_is_refused(
    server: RunningServer, people: Callable[[], Awaitable[Member]], name: str
) -> None:
    room = await server.create_room()
    mallory = await people()
    assert await code_of(mallory, "join", {"room": room["id"], "name": name}) == "bad_request"


async def test_others_see_a_name_as_normalised(
    server: RunningServer, people: Callable[[], Awaitable[Member]]
) -> None:
    room = await server.create_room()
    ann, sam = await people(), await people()
    await ann.join(room["id"], "Ann")
    ack = await sam.join(room["id"], "  Ｓａｍ\u00a0\u00a0Lee ")
    assert ack["self"]["name"] == "Sam Lee"
    joined = await ann.wait_for("participant:joined")
    assert joined["name"] == "Sam Lee"


async def test_a_join_tokens_name_is_held_to_the_same_rules(circle_server_factory: Factory) -> None:
    secret = "a-secret-shared-with-the-community-site-0123456789"
    server = await circle_server_factory(join_token_secret=secret, join_burst=50)
    room = await server.create_room()

    def mint(name: str) -> str:
        claims = {"room": room["id"], "name": name, "role": "member", "exp": int(time.time()) + 600}
        return jwt.encode(claims, secret, algorithm="HS256")

    member = await Member(server.url).connect()
    try:
        for name in ["Host (facilitator)", "\u202eHost", "Ho\u200bst", "a\ud800b"]:
            ack = await member.call("join", {"room": room["id"], "token": mint(name)})
            assert ack["error"]["code"] == "forbidden" and "name" in ack["error"]["message"], (name, ack)
        ack = await member.join(room["id"], None, token=mint("  Ｓａｍ  Lee "))
        assert ack["self"]["name"] == "Sam Lee"
    finally:
        await member.close()

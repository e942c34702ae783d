"""The stack docs/deployment.md deploys holds a meeting: nginx from the repository's template, with
TLS, in front of two instances on one Redis.

Members reach it as browsers do, over https through nginx: over a websocket, or over long-polling
alone (as on networks that block websockets), each routed by the cookie the meeting page gave it,
or, without one, by address. Every request of a polling session must reach the one instance that
holds it; a stopping instance must hand its members over to the other with their seats.
"""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
import socketio

from tests.support.client import Member
from tests.support.stack import ProxiedMember, Stack

pytestmark = pytest.mark.deploy

POLLS = 40


async def placed(stack: Stack, room: dict[str, Any], transport: str, instance: str) -> ProxiedMember:
    """A member who opened the room's link and whose route cookie lands on `instance` (a fresh
    cookie lands on either, as a coin falls)."""
    for _ in range(64):
        member = await ProxiedMember.opening(stack, room, transport)
        assert member.route is not None, "the meeting page hands out a route cookie"
        if await member.instance() == instance:
            return member
        await member.close()
    raise AssertionError(f"no route cookie landed on {instance}")


def participants_on(stack: Stack) -> dict[str, int]:
    """Joined participants connected to each running instance, from each one's own /metrics."""
    counts = {}
    for server in (s for s in stack.instances if s.alive):
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        # One gauge per media mode: together, everyone connected there.
        found = re.findall(r'^circle_participants\{media="\w+"\} (\d+)(?:\.0)?$', text, re.M)
        assert found, text
        counts[server.instance_id] = sum(int(n) for n in found)
    return counts


async def test_members_over_websocket_and_long_polling_share_one_meeting_across_both_instances(
    stack: Stack,
) -> None:
    room = stack.create_room()
    assert room["member_url"].startswith(f"{stack.url}/r/"), "links carry the public https address"
    ann = await placed(stack, room, "websocket", "i-0")
    bob = await placed(stack, room, "websocket", "i-1")
    cy = await placed(stack, room, "polling", "i-0")
    dee = await placed(stack, room, "polling", "i-1")
    # No page opened, so no cookie: routed by address, as the terminal client is.
    eli = ProxiedMember(stack, "polling")
    people = {"Ann": ann, "Bob": bob, "Cy": cy, "Dee": dee, "Eli": eli}
    try:
        for name, member in people.items():
            await member.connect()
            await member.join(room["id"], name, media="text")
        assert [m.transport_in_use for m in people.values()] == [
            "websocket",
            "websocket",
            "polling",
            "polling",
            "polling",
        ]
        assert eli.route is None
        on = participants_on(stack)
        assert sum(on.values()) == 5 and min(on.values()) >= 2, on

        # Each call is a POST and a long-poll GET; all of them must reach the session's instance.
        # (`rtc:config` is answered by the instance that holds the seat, and its rate limit is wide.)
        for member in (cy, dee, eli):
            sid = member.session_id
            for _ in range(POLLS):
                assert (await member.call("rtc:config", {}))["ok"] is True
            assert (member.session_id, member.disconnected) == (sid, False)

        for name, member in people.items():
            await member.call("chat:send", {"text": f"hello from {name}"})
        for member in people.values():
            for name in people:
                await member.wait_for("chat:message", lambda m, n=name: m["text"] == f"hello from {n}")
        assert not any(m.disconnected for m in people.values())
    finally:
        await asyncio.gather(*(m.close() for m in people.values()))


async def test_a_stopping_instance_hands_its_members_to_the_other_through_nginx_with_their_seats(
    stack: Stack,
) -> None:
    room = stack.create_room()
    victim = stack.instance("i-0")
    fran = await placed(stack, room, "websocket", "i-1")
    ann = await placed(stack, room, "websocket", "i-0")
    cy = await placed(stack, room, "polling", "i-0")
    newcomer = await placed(stack, room, "websocket", "i-0")
    # Connected to the stopping instance directly and never moving: the instance waits its whole
    # drain for it, which leaves time to look at the instance while it stops.
    lingerer = await Member(victim.url).connect()
    people = [fran, ann, cy, newcomer]
    try:
        await fran.connect()
        await fran.join(room["id"], "Fran", media="text", host_key=room["host_key"])
        seats = {}
        for member, name in ((ann, "Ann"), (cy, "Cy")):
            await member.connect()
            ack = await member.join(room["id"], name, media="text")
            seats[name] = (ack["self"]["id"], ack["resume_token"])
        await ann.call("hand:raise")
        await fran.wait_for("room:updated", lambda r: r["hands"] == [ann.id])

        async def move(member: ProxiedMember, name: str) -> dict[str, Any]:
            """What Circle's clients do when told the server is closing (or cut off by it): connect
            again at once and resume the seat."""
            await member.wait_for("server:closing", timeout=10)
            await member.reconnect()
            token = seats[name][1]
            return await member.join(room["id"], name, media="text", resume_token=token)

        stopped = asyncio.ensure_future(asyncio.to_thread(victim.stop))
        await lingerer.wait_for("server:closing")
        # Cy first and alone: the 503 to her new session is the first nginx sees from the stopping
        # instance, and the requests that follow it in that session must not go back there.
        acks = {"Cy": await move(cy, "Cy"), "Ann": await move(ann, "Ann")}

        # While it drains, the instance says it is not ready, and nginx sends what would reach it
        # to the other one: a probe through nginx is answered, by the instance that stays.
        status, body = victim.get_json("/readyz")
        assert (status, body["status"]) == (503, "closing")
        status, body = stack.get_json("/readyz", cookie=ann.route)
        assert (status, body["instance"]) == (200, "i-1")
        # Someone arriving meanwhile, routed to the stopping instance, lands on the other one.
        await newcomer.connect()
        await newcomer.join(room["id"], "Nia", media="text")
        assert victim.alive, "still draining"

        for name, ack in acks.items():
            assert (ack["self"]["id"], ack["self"]["role"]) == (seats[name][0], "member"), name
        assert acks["Ann"]["self"]["hand"] and acks["Cy"]["room"]["hands"] == [seats["Ann"][0]]
        assert await ann.instance() == await cy.instance() == "i-1"
        assert cy.transport_in_use == "polling"

        # Its drain, then aiohttp's own wait for open requests (up to shutdown_grace_s each).
        assert await asyncio.wait_for(stopped, 30) == 0
        assert participants_on(stack) == {"i-1": 4}

        await cy.call("chat:send", {"text": "still here"})
        for member in people:
            await member.wait_for("chat:message", lambda m: m["text"] == "still here")
        left = [p["id"] for p in fran.of("participant:left")]
        assert seats["Ann"][0] not in left and seats["Cy"][0] not in left
    finally:
        await asyncio.gather(*(m.close() for m in [*people, lingerer]))


async def test_only_the_public_origin_may_open_a_socket_through_nginx(stack: Stack) -> None:
    """Circle checks a browser's Origin against public_url; behind nginx that is the https
    address, which nginx must not hide (the Host it passes on is not the public one)."""
    room = stack.create_room()
    own = await ProxiedMember.opening(stack, room, "websocket")
    foreign = await ProxiedMember.opening(stack, room, "websocket")
    try:
        await own.connect(headers={"Origin": stack.url})
        assert own.sio.connected
        with pytest.raises(socketio.exceptions.ConnectionError):
            await foreign.connect(headers={"Origin": "https://elsewhere.example"})
    finally:
        await own.close()
        await foreign.close()


def test_plain_http_is_sent_to_https_and_no_request_is_logged(stack: Stack) -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(f"{stack.nginx.http_url}/r/abc?x=1", timeout=5)
    assert answer.value.code == 301
    assert answer.value.headers["Location"] == f"{stack.url}/r/abc?x=1"

    status, _ = stack.get_json("/healthz")
    assert status == 200
    stack.nginx.stop()  # so that nothing is left unwritten
    logs = [p.read_text() for p in stack.nginx.dir.rglob("*.log")]
    assert logs and not any("/healthz" in text or "127.0.0.1 -" in text for text in logs), (
        "nginx keeps no access log"
    )


def test_circles_security_headers_pass_through_and_nginx_adds_hsts(stack: Stack) -> None:
    room = stack.create_room()
    context = stack.nginx.cert.client_context()
    with urllib.request.urlopen(room["member_url"], timeout=5, context=context) as response:
        headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["Server"] == "nginx", "no version given away"
    cookie = headers["Set-Cookie"]
    assert re.fullmatch(r"circle_route=[0-9a-f]{32}; Path=/; Secure; HttpOnly; SameSite=Strict", cookie)

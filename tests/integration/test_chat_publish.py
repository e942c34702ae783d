"""On a cluster, a chat message is appended and published in one Redis script: members on every
instance get each message once, in order; a private message reaches only its two people, wherever
they are; a message sent again under its key is not posted or delivered as a new one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support.client import Member
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.servers import RedisServer

Connect = Callable[[str], Awaitable[Member]]


async def test_chat_published_with_its_append_reaches_each_member_once_and_private_only_two(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as (one, two):
        room = one.create_room()
        ann, cat = await connect(one.url), await connect(one.url)
        bob, dan = await connect(two.url), await connect(two.url)
        for person, name in ((ann, "Ann"), (bob, "Bob"), (cat, "Cat"), (dan, "Dan")):
            await person.join(room["id"], name, media="text")
        everyone = (ann, bob, cat, dan)

        said = [
            (await ann.call("chat:send", {"text": f"note {n}", "key": f"k{n}"}))["message"] for n in range(5)
        ]
        private = (await ann.call("chat:send", {"text": "just to you, Bob", "to": bob.id}))["message"]
        again = await ann.call("chat:send", {"text": "note 4", "key": "k4"})
        assert again["ok"] and again["message"]["id"] == said[4]["id"]
        last = (await bob.call("chat:send", {"text": "thanks, all"}))["message"]

        for person in everyone:
            await person.wait_for("chat:message", lambda m: m["id"] == last["id"])
        public = [m["id"] for m in said]
        # Each message once per member (the repeat under its key may come again: clients drop a known id).
        for person in (cat, dan):
            got = list(dict.fromkeys(m["id"] for m in person.of("chat:message")))
            assert got == [*public, last["id"]], person
        for person in (ann, bob):
            got = list(dict.fromkeys(m["id"] for m in person.of("chat:message")))
            assert got == [*public, private["id"], last["id"]], person
        assert all(m["id"] != private["id"] for p in (cat, dan) for m in p.of("chat:message"))

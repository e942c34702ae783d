"""Redis going away mid-meeting costs no message and no seat, and needs no restart of any instance.

While Redis is away every instance stays up (`/healthz` 200 with `redis: down`, `/readyz` 503) and
answers what needs Redis with `unavailable`, promptly, never silently dropping a message. When Redis
returns, instances reconnect on their own and the meeting carries on where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.conftest import Connect, freeze, shut_down_keeping_data, thaw
from tests.support.client import Member
from tests.support.processes import FAST_SETTINGS, ServerProcess, running_cluster
from tests.support.servers import RedisServer, wait_until

pytestmark = pytest.mark.chaos

OUTAGE_S = 5.0
# What a member may wait for an answer while Redis is away: a few Redis timeouts, never a hang.
ANSWER_WITHIN_S = 4 * FAST_SETTINGS["redis_timeout_s"]


@contextlib.contextmanager
def outage(redis: RedisServer, kind: str) -> Iterator[None]:
    if kind == "frozen":
        freeze(redis)
        try:
            yield
        finally:
            thaw(redis)
    else:
        shut_down_keeping_data(redis)
        try:
            yield
        finally:
            redis.start()


def http_state(server: ServerProcess) -> tuple[int, str, int]:
    health_status, health = server.get_json("/healthz")
    ready_status, _ = server.get_json("/readyz")
    return health_status, health["redis"], ready_status


async def eventually(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.1)


async def ann_and_bob_apart(cluster: list[ServerProcess], connect: Connect) -> tuple[Member, Member]:
    """A new room with Ann in it on the first instance and Bob on the second."""
    room = cluster[0].create_room()
    ann, bob = await connect(cluster[0].url), await connect(cluster[1].url)
    await ann.join(room["id"], "Ann")
    await bob.join(room["id"], "Bob")
    return ann, bob


async def send_until_kept(member: Member, text: str, key: str) -> str:
    """What a client does with `unavailable`: send again under the same key (a write that reached a
    frozen Redis lands when it thaws, though its answer was lost), unless the server says it kept it."""
    for _ in range(50):
        ack = await member.call("chat:send", {"text": text, "key": key}, timeout=ANSWER_WITHIN_S)
        if ack["ok"]:
            return str(ack["message"]["id"])
        assert ack["error"]["code"] == "unavailable", ack
        if "stored" in ack["error"]:
            return str(ack["error"]["stored"]["id"])
        await asyncio.sleep(0.2)
    raise AssertionError("the message was never kept")


@pytest.mark.parametrize("kind", ["frozen", "restarted"])
async def test_a_five_second_redis_outage_loses_no_message_and_the_meeting_goes_on(
    kind: str, redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as cluster:
        room = cluster[0].create_room()
        fran, ann = await connect(cluster[0].url), await connect(cluster[1].url)
        bob, dee = await connect(cluster[0].url), await connect(cluster[1].url)
        members = [fran, ann, bob, dee]
        await fran.join(room["id"], "Fran", host_key=room["host_key"])
        await ann.join(room["id"], "Ann")
        await bob.join(room["id"], "Bob")
        await dee.join(room["id"], "Dee", media="text")
        kept = [(await fran.call("chat:send", {"text": "before"}))["message"]["id"]]

        with outage(redis_server, kind):
            started = time.monotonic()
            await eventually(lambda: all(http_state(s) == (200, "down", 503) for s in cluster), 3)

            during = []
            for member, text in ((ann, "during, from instance 1"), (bob, "during, from instance 0")):
                asked = time.monotonic()
                ack = await member.call("chat:send", {"text": text, "key": text}, timeout=ANSWER_WITHIN_S)
                assert time.monotonic() - asked < ANSWER_WITHIN_S
                assert not ack["ok"] and ack["error"]["code"] == "unavailable", ack
                during.append((member, text, ack))
            hand = await ann.call("hand:raise", timeout=ANSWER_WITHIN_S)
            assert not hand["ok"] and hand["error"]["code"] == "unavailable"

            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))
            assert all(s.alive for s in cluster)

        # Back without restarting anything: the backoff is capped at a few seconds.
        await eventually(lambda: all(http_state(s) == (200, "ok", 200) for s in cluster), 6)
        for member, text, ack in during:
            stored = ack["error"].get("stored")
            kept.append(stored["id"] if stored else await send_until_kept(member, text, key=text))
        assert (await ann.call("hand:raise"))["ok"]
        kept.append((await dee.call("chat:send", {"text": "after"}))["message"]["id"])

        for m in members:
            if m is not ann:
                await m.wait_for("room:updated", lambda r: r["hands"] == [ann.id])
        await wait_until(lambda: all(len(m.of("chat:message")) >= len(kept) for m in members), timeout=5)
        for m in members:
            history = [c["id"] for c in (await m.call("chat:history", {}))["messages"]]
            assert history == kept, "each message kept once, in order"
            assert [c["id"] for c in m.of("chat:message")] == kept, "and each delivered once to everyone"
            # Nobody lost their seat: the others were never even shown as away.
            assert not [p for p in m.of("participant:updated") if p["away"]]
            assert not m.of("participant:left")
        assert all(s.alive for s in cluster)


async def test_a_message_kept_but_not_fanned_out_is_reported_and_later_delivered_once(
    restricted_url: tuple[str, Any], tmp_path: Path, connect: Connect
) -> None:
    """The narrow case: the chat log took the message, then publishing it to the other instances
    failed. The sender learns it (with the kept message, so it is not sent twice) and the other
    instances get it as soon as publishing works again."""
    url, admin = restricted_url
    with running_cluster(2, tmp_path, url, **FAST_SETTINGS) as cluster:
        ann, bob = await ann_and_bob_apart(cluster, connect)

        await admin.execute_command("ACL", "SETUSER", "circle", "-publish")
        ack = await ann.call("chat:send", {"text": "can you hear me?"}, timeout=ANSWER_WITHIN_S)
        assert not ack["ok"] and ack["error"]["code"] == "unavailable"
        stored: dict[str, Any] = ack["error"]["stored"]
        assert stored["text"] == "can you hear me?"
        # The sender's own instance delivered it, and the chat log has it for everyone.
        await ann.wait_for("chat:message", lambda m: m["id"] == stored["id"])
        history = (await bob.call("chat:history", {}))["messages"]
        assert [m["id"] for m in history] == [stored["id"]]
        assert not bob.of("chat:message")

        await admin.execute_command("ACL", "SETUSER", "circle", "+publish")
        await bob.wait_for("chat:message", lambda m: m["id"] == stored["id"], timeout=6)
        later = (await bob.call("chat:send", {"text": "yes, now I can"}))["message"]["id"]
        await ann.wait_for("chat:message", lambda m: m["id"] == later)
        # Published by Ann's instance after what it kept, so a second copy would reach Bob first.
        last = (await ann.call("chat:send", {"text": "good"}))["message"]["id"]
        await bob.wait_for("chat:message", lambda m: m["id"] == last)
        assert [m["id"] for m in bob.of("chat:message")] == [stored["id"], later, last]
        assert [m["id"] for m in ann.of("chat:message")] == [stored["id"], later, last]


async def test_chat_said_while_an_instance_could_not_listen_still_reaches_its_members(
    restricted_url: tuple[str, Any], tmp_path: Path, connect: Connect
) -> None:
    """Pub/sub keeps nothing for a subscriber that is away: an instance whose subscription broke
    reads the chat it missed back from the log once it listens again, delivers each message once,
    and sends its members the room as it is now."""
    url, admin = restricted_url
    with running_cluster(2, tmp_path, url, **FAST_SETTINGS) as cluster:
        ann, bob = await ann_and_bob_apart(cluster, connect)
        first = (await ann.call("chat:send", {"text": "hello"}))["message"]["id"]
        await bob.wait_for("chat:message", lambda m: m["id"] == first)

        # Subscriptions are cut and cannot be made again; publishing still works.
        await admin.execute_command("ACL", "SETUSER", "circle", "-subscribe")
        await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await eventually(lambda: cluster[1].get_json("/readyz")[0] == 503, 3)
        said = []
        for text in ("did you get that?", "hello again", "anyone?"):
            ack = await ann.call("chat:send", {"text": text})
            assert ack["ok"], ack
            said.append(ack["message"]["id"])
        private = await ann.call("chat:send", {"text": "just to you", "to": bob.id})
        assert private["ok"]
        said.append(private["message"]["id"])
        assert (await ann.call("hand:raise"))["ok"]

        await admin.execute_command("ACL", "SETUSER", "circle", "+subscribe")
        await eventually(lambda: all(s.get_json("/readyz")[0] == 200 for s in cluster), 6)
        await wait_until(lambda: len(bob.of("chat:message")) >= 1 + len(said), timeout=5)
        assert [m["id"] for m in bob.of("chat:message")] == [first, *said]
        assert bob.of("chat:message")[-1]["to"] == bob.id
        # What changed in the room meanwhile arrives as the room as it is now, never as the live
        # event (nothing else reads an unheard `room:updated` back): so none came through the cut.
        synced = await bob.wait_for("room:sync", lambda r: r["hands"] == [ann.id], timeout=5)
        assert [p["name"] for p in synced["participants"]] == ["Ann", "Bob"]
        assert "waiting" not in synced and "chat" not in synced
        assert not bob.of("room:updated")

        # Ann's instance lost its subscription too; its room:sync comes after the chat it read back.
        await ann.wait_for("room:sync", lambda r: r["hands"] == [ann.id], timeout=5)

        after = (await bob.call("chat:send", {"text": "sorry, I was gone"}))["message"]["id"]
        await ann.wait_for("chat:message", lambda m: m["id"] == after)
        # Sent through Ann's instance after both read back what they missed: a second copy of
        # anything, live or read back, would have reached Bob before it.
        last = (await ann.call("chat:send", {"text": "welcome back"}))["message"]["id"]
        await bob.wait_for("chat:message", lambda m: m["id"] == last)
        assert [m["id"] for m in ann.of("chat:message")] == [first, *said, after, last]
        assert [m["id"] for m in bob.of("chat:message")] == [first, *said, after, last]

"""An instance killed with SIGKILL costs no one their seat and no one a chat message.

The survivors notice the silence of its heartbeat within `instance_ttl_s`, mark its members away,
and remove those who do not come back within `resume_grace_s`. A member who reconnects to another
instance with their resume token keeps id, role and hand, and finds every message said meanwhile.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.conftest import Connect
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.servers import RedisServer

pytestmark = pytest.mark.chaos

TTL_S = FAST_SETTINGS["instance_ttl_s"]
GRACE_S = FAST_SETTINGS["resume_grace_s"]
SLACK_S = 1.5  # sweeps, heartbeats and delivery on a busy test machine


async def test_a_killed_instances_members_are_marked_away_then_removed_or_resume_elsewhere(
    redis_server: RedisServer, tmp_path: Path, connect: Connect
) -> None:
    redis_server.flush()
    with running_cluster(3, tmp_path, redis_server.url, **FAST_SETTINGS) as cluster:
        survivor, victim, other = cluster
        room = survivor.create_room()
        fran = await connect(survivor.url)
        ann = await connect(other.url)
        bob = await connect(victim.url)  # will come back through another instance
        cleo = await connect(victim.url)  # will not come back
        await fran.join(room["id"], "Fran", host_key=room["host_key"])
        await ann.join(room["id"], "Ann")
        bob_first = await bob.join(room["id"], "Bob", host_key=room["host_key"])
        await cleo.join(room["id"], "Cleo", media="text")
        await bob.call("hand:raise")
        bob_hand = (await fran.wait_for("participant:updated", lambda p: p["id"] == bob.id and p["hand"]))[
            "hand"
        ]
        said = (await fran.call("chat:send", {"text": "welcome, everyone"}))["message"]["id"]
        await bob.wait_for("chat:message", lambda m: m["id"] == said)

        killed_at = time.monotonic()
        victim.kill()

        def away(member_id: str) -> Any:
            return lambda p: p["id"] == member_id and p["away"]

        for watcher in (fran, ann):
            await watcher.wait_for("participant:updated", away(bob.id), timeout=TTL_S + SLACK_S)
            await watcher.wait_for("participant:updated", away(cleo.id), timeout=TTL_S + SLACK_S)
        assert time.monotonic() - killed_at < TTL_S + SLACK_S

        # The meeting goes on while they are away.
        missed = [
            (await fran.call("chat:send", {"text": "are you still there?"}))["message"]["id"],
            (await ann.call("chat:send", {"text": "I think their connection dropped"}))["message"]["id"],
        ]

        back = await connect(other.url)
        ack = await back.join(room["id"], "Bob", resume_token=bob_first["resume_token"])
        me = ack["self"]
        assert (me["id"], me["role"], me["hand"], me["away"]) == (bob.id, "facilitator", bob_hand, False)
        assert ack["room"]["hands"] == [bob.id]
        history = await back.call("chat:history", {"after": said})
        assert [m["id"] for m in history["messages"]] == missed
        await fran.wait_for("participant:updated", lambda p: p["id"] == bob.id and not p["away"])

        # Cleo did not come back: she is removed after the grace, and everyone is told.
        for watcher in (fran, ann, back):
            left = await watcher.wait_for(
                "participant:left", lambda p: p["id"] == cleo.id, timeout=GRACE_S + SLACK_S
            )
            assert left["reason"] == "disconnected"

        # One seat each, the same for everyone, and the resumed member takes part as before.
        observer = await connect(survivor.url)
        snapshot = (await observer.join(room["id"], "Observer", media="text"))["room"]
        assert sorted(p["id"] for p in snapshot["participants"]) == sorted(
            [fran.id, ann.id, bob.id, observer.id]
        )
        # Bob was marked away together with Cleo, so he would have been removed with her; what he
        # says after her removal reaches Fran after any word of his.
        said = (await back.call("chat:send", {"text": "sorry, I'm back"}))["message"]
        await fran.never_got(
            "participant:left",
            lambda p: p["id"] == bob.id,
            marker="chat:message",
            is_marker=lambda m: m == said,
        )

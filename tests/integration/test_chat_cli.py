"""`circle chat` as a person at a terminal uses it: a real subprocess, typing lines on stdin and
reading what it prints, in a room with real socket.io members.

A TCP proxy between the terminal client and the server stands in for a flaky network or a load
balancer, so the resume path (same participant, missed chat fetched with chat:history) runs for real.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.client import Member
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.proxy import TcpProxy
from tests.support.servers import RedisServer

REPO = Path(__file__).resolve().parents[2]


class Terminal:
    """`python -m server chat ...` with a pipe for stdin and everything it prints kept."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output: list[str] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, url: str, name: str, *extra: str, config: Path) -> Terminal:
        """`config` is the user's configuration folder (XDG_CONFIG_HOME): one per person."""
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
            "XDG_CONFIG_HOME": str(config),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            "chat",
            url,
            "--name",
            name,
            *extra,
            cwd=REPO,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.output.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    async def expect(self, pattern: str, timeout: float = 10.0) -> str:
        """Wait until a printed line matches `pattern` (a regex); return that line."""
        regex = re.compile(pattern)

        async def seen() -> str:
            while True:
                for line in self.output:
                    if regex.search(line):
                        return line
                if self._reader.done():
                    raise AssertionError(f"exited before printing {pattern!r}:\n{self.text}")
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            raise AssertionError(f"never printed {pattern!r}:\n{self.text}") from None

    async def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def wait(self, timeout: float = 10.0) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._reader
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()


@pytest.fixture
async def terminals(tmp_path: Path):
    """Start `circle chat`; each start is a different person unless given the same `config` folder."""
    started: list[Terminal] = []

    async def start(url: str, name: str, *extra: str, config: Path | None = None) -> Terminal:
        config = config or tmp_path / f"user{len(started)}"
        terminal = await Terminal.start(url, name, *extra, config=config)
        started.append(terminal)
        return terminal

    yield start
    for terminal in started:
        await terminal.kill()


async def test_terminal_member_reads_and_writes_the_meeting(circle_server, members, terminals) -> None:
    room = await circle_server.create_room(
        title="Tuesday evening circle", guidelines="What is said here stays here.\nYou can always pass."
    )
    sam: Member = await members()
    await sam.join(room["id"], "Sam", "av", accept_guidelines=True)

    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"^Nothing is recorded\. The chat is deleted as soon as the last person leaves\.$")
    await jo.expect(r"What is said here stays here\.")
    await jo.expect(r"^Do you accept these group guidelines\? Type y to accept and join, or n to leave\.$")
    await jo.type("y")
    await jo.expect(r"^  Sam — camera and microphone$")
    await jo.expect(r"^  Jo \(you\) — text only$")
    joined = await sam.wait_for("participant:joined", lambda p: p["name"] == "Jo")
    assert joined["media"] == "text"

    # Chat both ways.
    await sam.call("chat:send", {"text": "Welcome, Jo."})
    await jo.expect(r"\] Sam: Welcome, Jo\.$")
    await jo.type("Thanks, glad to be here.")
    message = await sam.wait_for("chat:message", lambda m: m["from"]["name"] == "Jo")
    assert message["text"] == "Thanks, glad to be here."

    # Presence as it happens.
    ana: Member = await members()
    await ana.join(room["id"], "Ana", "audio", accept_guidelines=True)
    await jo.expect(r"^\* Ana — audio only joined\.$")
    await ana.call("hand:raise")
    await jo.expect(r"^\* Ana raised their hand\.$")
    await ana.call("media:speaking", {"speaking": True})
    await jo.expect(r"^\* Ana is speaking\.$")

    # /hand, /who and /msg.
    await jo.type("/hand")
    await jo.expect(r"^Your hand is raised\.$")
    update = await sam.wait_for("participant:updated", lambda p: p["name"] == "Jo" and p["hand"])
    assert update["hand"] is not None
    await jo.type("/who")
    await jo.expect(r"Jo \(you\) — text only, hand raised, 2nd in queue")
    await jo.type("/msg Sam just for you")
    private = await sam.wait_for("chat:message", lambda m: m["text"] == "just for you")
    assert private["to"] == sam.id
    await jo.expect(r"\(private\) you → Sam: just for you$")
    await sam.call("chat:send", {"text": "and back to you", "to": joined["id"]})
    await jo.expect(r"\(private\) Sam → you: and back to you$")
    await ana.call("chat:send", {"text": "after the private ones"})
    await ana.wait_for("chat:message", lambda m: m["text"] == "after the private ones")
    assert not any(m["text"] == "just for you" for m in ana.of("chat:message"))

    # /quit leaves at once.
    await jo.type("/quit")
    assert await jo.wait() == 0
    left = await sam.wait_for("participant:left", lambda e: e["id"] == joined["id"])
    assert left["reason"] == "left"


async def test_hostile_chat_is_refused_by_the_server_or_defused_by_the_terminal(
    circle_server, members, terminals
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    sam: Member = await members()
    await sam.join(room["id"], "Sam", "text")
    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"Type /help")
    await sam.call("chat:send", {"text": "tab\there"})
    await jo.expect(r"Sam: tab\there$")

    refused = await sam.call("chat:send", {"text": "bell\x07 and \x1b[2J clear"})
    assert refused["error"]["code"] == "bad_request"
    # Accepted by the server (they are not control characters), so the terminal must defuse them.
    accepted = await sam.call("chat:send", {"text": "\u202eevil\u200b and\r\n\u2028more"})
    assert accepted["ok"]
    first = await jo.expect(r"Sam: \ufffdevil\ufffd and$")
    following = await jo.expect(r"^ +\ufffdmore$")
    assert jo.output.index(following) == jo.output.index(first) + 1
    assert not any(ch in jo.text for ch in "\x07\x1b\u202e\u200b\u2028\r")
    assert "bell" not in jo.text


async def test_terminal_member_resumes_and_sends_what_was_typed_offline_once(
    circle_server, members, terminals
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    sam: Member = await members()
    await sam.join(room["id"], "Sam", "text")
    link = TcpProxy(urlsplit(circle_server.url).port or 0)
    port = await link.start()
    try:
        jo = await terminals(f"http://127.0.0.1:{port}/r/{room['id']}", "Jo")
        await jo.expect(r"Type /help")
        joined = await sam.wait_for("participant:joined", lambda p: p["name"] == "Jo")

        link.cut()
        await jo.expect(r"Connection lost; reconnecting")
        await sam.wait_for("participant:updated", lambda p: p["id"] == joined["id"] and p["away"])
        await sam.call("chat:send", {"text": "said while Jo was away"})
        await jo.type("typed while offline")
        await jo.expect(r"Not sent yet \(the server is unreachable\); trying again")
        await asyncio.sleep(0.5)
        link.restore()

        await jo.expect(r"Reconnected\.")
        await jo.expect(r"\] Sam: said while Jo was away$")
        offline = await sam.wait_for("chat:message", lambda m: m["text"] == "typed while offline")
        assert offline["from"]["id"] == joined["id"]
        await sam.wait_for("participant:updated", lambda p: p["id"] == joined["id"] and not p["away"])
        assert not sam.of("participant:left"), "the resume must keep the same participant"
        await jo.type("back again")
        message = await sam.wait_for("chat:message", lambda m: m["text"] == "back again")
        assert message["from"]["id"] == joined["id"]
        texts = [m["text"] for m in sam.of("chat:message") if m["from"]["id"] == joined["id"]]
        assert texts == ["typed while offline", "back again"], "sent once, in the order typed"
    finally:
        await link.close()


async def test_terminal_member_follows_a_stopping_instance_to_another(
    redis_server: RedisServer, tmp_path: Path, connect, terminals
) -> None:
    """An operator stops one instance of two (a deploy): its terminal member reconnects through the
    load balancer to the other, keeps its seat, and goes on chatting."""
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as (one, two):
        room = one.create_room(title="Evening circle")
        sam: Member = await connect(two.url)
        await sam.join(room["id"], "Sam", "text")
        balancer = TcpProxy(one.port)
        port = await balancer.start()
        try:
            jo = await terminals(f"http://127.0.0.1:{port}/r/{room['id']}", "Jo")
            await jo.expect(r"Type /help")
            joined = await sam.wait_for("participant:joined", lambda p: p["name"] == "Jo")

            balancer.target_port = two.port
            assert await asyncio.to_thread(one.stop) == 0
            await jo.expect(r"Reconnected\.")
            await jo.type("still here")
            message = await sam.wait_for("chat:message", lambda m: m["text"] == "still here")
            assert message["from"]["id"] == joined["id"], print(jo.text)
            assert not sam.of("participant:left"), "Jo kept their seat"
        finally:
            await balancer.close()


async def test_terminal_member_waits_to_be_admitted_and_hears_refusals(
    circle_server, members, terminals
) -> None:
    room = await circle_server.create_room(title="Newcomers", waiting_room=True, passcode="43214321")
    host: Member = await members()
    await host.join(room["id"], "Maya", "text", host_key=room["host_key"])

    wrong = await terminals(room["member_url"], "Bo", "--passcode", "00000000")
    await wrong.expect(r"That passcode didn't match")
    assert await wrong.wait() == 1

    jo = await terminals(room["member_url"], "Jo", "--passcode", "43214321")
    await jo.expect(r"The facilitator will let you in shortly")
    waiting = await host.wait_for("lobby:waiting", lambda p: p["name"] == "Jo")
    assert (await host.call("mod:admit", {"id": waiting["id"]}))["ok"]
    await jo.expect(r"^  Maya — facilitator, text only$")
    await jo.type("hello from the terminal")
    await host.wait_for("chat:message", lambda m: m["text"] == "hello from the terminal")

    missing = await terminals(f"{circle_server.url}/r/no-such-room", "Lee")
    await missing.expect(r"There is no meeting at this link")
    assert await missing.wait() == 1


async def test_a_terminal_user_banned_once_stays_out_on_their_next_run(
    circle_server, members, terminals, tmp_path: Path
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    host: Member = await members()
    await host.join(room["id"], "Maya", "text", host_key=room["host_key"])
    jo_config = tmp_path / "jo"

    jo = await terminals(room["member_url"], "Jo", config=jo_config)
    await jo.expect(r"Type /help")
    key_file = jo_config / "circle" / "browser-key"
    key = key_file.read_text()
    joined = await host.wait_for("participant:joined", lambda p: p["name"] == "Jo")
    assert (await host.call("mod:remove", {"id": joined["id"], "ban": True}))["ok"]
    await jo.expect(r"A facilitator removed you from the meeting\. You can't rejoin it\.")
    assert await jo.wait() == 3

    again = await terminals(room["member_url"], "Jo again", config=jo_config)
    await again.expect(r"You can't join this meeting: a facilitator removed you from it\.")
    assert await again.wait() == 1
    assert key_file.read_text() == key

    someone_else = await terminals(room["member_url"], "Sam")
    # After a ban everyone new waits to be let in for the rest of the meeting.
    await someone_else.expect(r"You're in the waiting room")
    waiting = await host.wait_for("lobby:waiting", lambda p: p["name"] == "Sam")
    assert (await host.call("mod:admit", {"id": waiting["id"]}))["ok"]
    await someone_else.expect(r"Type /help")
    await host.wait_for("participant:joined", lambda p: p["name"] == "Sam")
    assert not any(p["name"] == "Jo again" for p in host.of("participant:joined"))


async def test_a_terminal_member_joins_only_after_accepting_the_group_guidelines(
    circle_server, members, terminals
) -> None:
    room = await circle_server.create_room(
        title="Evening circle", guidelines="Speak from your own experience."
    )
    host: Member = await members()
    await host.join(room["id"], "Maya", "text", host_key=room["host_key"], accept_guidelines=True)

    bo = await terminals(room["member_url"], "Bo")
    await bo.expect(r"^  Speak from your own experience\.$")
    await bo.expect(r"Do you accept these group guidelines\?")
    await bo.type("maybe")
    await bo.expect(r"^Please type y to accept the group guidelines, or n to leave\.$")
    await bo.type("n")
    await bo.expect(r"You haven't joined: the group asks everyone to accept its guidelines\.")
    assert await bo.wait() == 1

    cy = await terminals(room["member_url"], "Cy")
    await cy.expect(r"Do you accept these group guidelines\?")
    assert cy.proc.stdin is not None
    cy.proc.stdin.close()
    await cy.expect(r"or pass --accept-guidelines\.$")
    assert await cy.wait() == 2

    jo = await terminals(room["member_url"], "Jo", "--accept-guidelines")
    await jo.expect(r"^You accept these group guidelines \(--accept-guidelines\)\.$")
    await jo.expect(r"Type /help")
    await host.wait_for("participant:joined", lambda p: p["name"] == "Jo")
    assert [p["name"] for p in host.of("participant:joined")] == ["Jo"]
    assert not any("Do you accept" in line for line in jo.output)


async def facilitator_terminal(terminals, room: dict) -> Terminal:
    maya = await terminals(room["facilitator_url"], "Maya")
    await maya.expect(r"^You're a facilitator here: /help lists what you can do\.$")
    await maya.expect(r"Type /help")
    return maya


async def test_a_facilitator_link_makes_the_terminal_a_facilitator_with_its_own_commands(
    circle_server, members, terminals
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    assert "#host=" in room["facilitator_url"]
    maya = await facilitator_terminal(terminals, room)
    await maya.expect(r"^  Maya \(you\) — facilitator, text only$")
    await maya.type("/help")
    await maya.expect(r"^  /remove NAME \[ban\] ")
    await maya.expect(r"^  /waiting on\|off ")

    sam: Member = await members()
    await sam.join(room["id"], "Sam", "audio")
    jo = await terminals(room["member_url"], "Jo")
    await jo.expect(r"Type /help")
    await jo.type("/help")
    await jo.expect(r"^  /help ")
    await jo.type("/mute Sam")
    await jo.expect(r"^Only facilitators can use /mute\.$")
    await jo.type("after the refused mute")
    await sam.wait_for("chat:message", lambda m: m["text"] == "after the refused mute")
    assert not sam.of("you:muted")
    assert not any("/admit" in line or "/remove" in line for line in jo.output)


async def test_a_facilitator_on_the_terminal_runs_the_waiting_room_telling_apart_two_people_called_ana(
    circle_server, members, terminals
) -> None:
    room = await circle_server.create_room(title="Newcomers", waiting_room=True)
    maya = await facilitator_terminal(terminals, room)
    first: Member = await members()
    await first.join(room["id"], "Ana", "audio")
    await maya.expect(r"^\* Ana is waiting to be let in: /admit Ana or /deny Ana\.$")
    second: Member = await members()
    await second.join(room["id"], "Ana", "text")
    await maya.expect(r"^\* Ana \(2\) is waiting to be let in: /admit Ana \(2\) or /deny Ana \(2\)\.$")

    await maya.type("/who")
    await maya.expect(r"^Waiting to be let in \(2\):$")
    await maya.expect(r"^  Ana \(1\) — audio only$")
    await maya.type("/admit Ana")
    await maya.expect(r"^More than one person here has that name; type Ana \(1\) or Ana \(2\)\.$")
    await maya.type("/admit Ana (2)")
    admitted = await second.wait_for("lobby:admitted")
    assert [p["name"] for p in admitted["room"]["participants"]] == ["Maya", "Ana"]
    await maya.expect(r"^\* Ana \(2\) — text only joined\.$")

    # Only one Ana is still waiting, so her plain name is enough.
    await maya.type("/deny Ana")
    denied = await first.wait_for("lobby:denied")
    assert denied["reason"] == "denied"
    await maya.expect(r"^\* Ana \(1\) was not let in\.$")
    assert not first.of("lobby:admitted")

    await maya.type("/waiting off")
    await maya.expect(r"^\* The waiting room is off: newcomers come straight in\.$")
    lee: Member = await members()
    ack = await lee.join(room["id"], "Lee", "text")
    assert "room" in ack and not ack.get("waiting")

    await maya.type("/lock")
    await maya.expect(r"^\* The meeting is locked: nobody new can join\.$")
    late: Member = await members()
    refused = await late.call("join", {"room": room["id"], "name": "Late", "media": "text"})
    assert refused["error"]["code"] == "room_locked"
    await second.wait_for("room:updated", lambda r: r["locked"])
    await maya.type("/unlock")
    await maya.expect(r"^\* The meeting is unlocked: new people can join again\.$")
    assert (await late.call("join", {"room": room["id"], "name": "Late", "media": "text"}))["ok"]


async def test_a_facilitator_on_the_terminal_mutes_keeps_muted_gives_the_floor_and_hands_over(
    circle_server, members, terminals
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await facilitator_terminal(terminals, room)
    sam: Member = await members()
    await sam.join(room["id"], "Sam", "audio")
    ana: Member = await members()
    await ana.join(room["id"], "Ana", "av")
    await maya.expect(r"^\* Ana — camera and microphone joined\.$")
    assert (await sam.call("media:state", {"audio": True}))["ok"]

    await maya.type("/mute Sam keep")
    muted = await sam.wait_for("you:muted")
    assert muted["audio"] is True and muted["video"] is False
    await maya.expect(r"^You muted Sam; they stay muted until you type /release Sam\.$")
    refused = await sam.call("media:state", {"audio": True})
    assert refused["error"]["code"] == "forbidden"
    await maya.type("/release Sam")
    await maya.expect(r"^\* Sam may unmute again\.$")
    assert (await sam.call("media:state", {"audio": True}))["ok"]

    assert (await ana.call("media:state", {"audio": True, "video": True}))["ok"]
    await maya.type("/mute Ana camera")
    muted = await ana.wait_for("you:muted")
    assert muted["audio"] is True and muted["video"] is True
    await maya.expect(r"^You muted Ana; they can unmute themselves\.$")
    assert (await ana.call("media:state", {"audio": True, "video": False}))["ok"]

    await sam.call("hand:raise")
    await ana.call("hand:raise")
    await maya.expect(r"^\* Ana raised their hand\.$")
    await maya.type("/lower Ana")
    await ana.wait_for("participant:updated", lambda p: p["id"] == ana.id and p["hand"] is None)
    await maya.expect(r"^\* Ana lowered their hand\.$")
    await maya.type("/next 90")
    turn = await sam.wait_for("room:updated", lambda r: r["speaker"] is not None)
    assert turn["speaker"]["id"] == sam.id and turn["speaker"]["limit_s"] == 90
    await maya.expect(r"^\* Sam is sharing now \(share time: 1 minute 30 seconds\)\.$")
    await maya.type("/next")
    await maya.expect(r"^Nobody has a hand raised, so nobody was given the floor\.$")

    await maya.type("/role Sam facilitator")
    await sam.wait_for("participant:updated", lambda p: p["id"] == sam.id and p["role"] == "facilitator")
    await maya.expect(r"^\* Sam is now a facilitator\.$")
    await maya.type("/next soon")
    await maya.expect(r"^Usage: /next \[SECONDS\]")


async def test_a_facilitator_on_the_terminal_removes_with_a_ban_and_ends_the_meeting(
    circle_server, members, terminals
) -> None:
    room = await circle_server.create_room(title="Evening circle")
    maya = await facilitator_terminal(terminals, room)
    troll: Member = await members()
    key = "k" * 24
    await troll.join(room["id"], "Pat", "text", browser_key=key)
    sam: Member = await members()
    await sam.join(room["id"], "Sam", "text")
    await maya.expect(r"^\* Sam — text only joined\.$")

    await maya.type("/remove Pat ban")
    removed = await troll.wait_for("you:removed")
    assert removed["ban"] is True
    await troll.wait_disconnected()
    await maya.expect(r"^\* Pat was removed from the meeting\.$")
    await maya.expect(r"^Pat can't come back to this room\.$")
    again: Member = await members()
    back = await again.call("join", {"room": room["id"], "name": "Pat", "media": "text", "browser_key": key})
    assert back["error"]["code"] == "banned"

    await maya.type("/end")
    ended = await sam.wait_for("room:ended")
    assert ended["by"]
    await maya.expect(r"The meeting has ended\.")
    assert await maya.wait() == 0

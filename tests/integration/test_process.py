"""`circle serve` and `circle rooms create` as a person runs them: real processes, real ports."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.support.client import Member
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


class ServeProcess:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                *args,
            ],
            cwd=ROOT,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("CIRCLE_")}, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def wait_started(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            # A line of its own in the text format, a JSON object's message in the JSON one.
            if "Create a room" in line:
                return
        raise AssertionError("server did not start: " + "".join(self.lines))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(15)
        assert self.proc.stdout is not None
        self.lines += self.proc.stdout.readlines()
        return code


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()


def circle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
    )


async def test_serve_prints_url_and_a_generated_admin_token_once_and_stops_cleanly(
    serve: list[ServeProcess], tmp_path: Path
) -> None:
    p = ServeProcess(tmp_path / "data")
    serve.append(p)
    p.wait_started()
    text = "".join(p.lines)
    assert f"Circle is running at {p.url}" in text
    token = next(line.split(": ")[-1].strip() for line in p.lines if line.startswith("Admin token"))
    assert len(token) >= 24
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{p.url}/healthz") as r:
            health = await r.json()
            assert r.status == 200 and health["status"] == "ok" and health["redis"] == "absent"
        async with http.get(f"{p.url}/readyz") as r:
            assert r.status == 200
    assert p.stop() == 0
    assert "".join(p.lines).count(token) == 1, "the token is shown once and never logged"


async def test_rooms_created_from_the_terminal_survive_a_restart_and_hold_a_meeting(
    serve: list[ServeProcess], tmp_path: Path
) -> None:
    env = {"CIRCLE_ADMIN_TOKEN": "terminal-token-123456", "CIRCLE_SHUTDOWN_GRACE_S": "3"}
    first = ServeProcess(tmp_path / "data", env)
    serve.append(first)
    first.wait_started()
    assert not any(line.startswith("Admin token") for line in first.lines), (
        "a configured token is not printed"
    )
    made = await asyncio.to_thread(
        circle,
        "rooms",
        "create",
        "Thursday circle",
        "--waiting-room",
        "--server",
        first.url,
        "--admin-token",
        "terminal-token-123456",
    )
    assert made.returncode == 0, made.stderr
    assert "Member link:" in made.stdout and "#host=" in made.stdout
    wrong = await asyncio.to_thread(
        circle, "rooms", "create", "X", "--server", first.url, "--admin-token", "nope"
    )
    assert wrong.returncode == 1 and "admin token" in wrong.stderr
    as_json = await asyncio.to_thread(
        circle,
        "rooms",
        "create",
        "Friday circle",
        "--max-participants",
        "2",
        "--retention-s",
        "600",
        "--json",
        "--server",
        first.url,
        "--admin-token",
        "terminal-token-123456",
    )
    room = json.loads(as_json.stdout)
    assert first.stop() == 0

    second = ServeProcess(tmp_path / "data", env)
    serve.append(second)
    second.wait_started()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{second.url}/api/rooms/{room['id']}") as r:
            facts = await r.json()
    # Where to turn in a crisis comes with the room's facts (the built-in list here).
    assert facts.pop("crisis_resources")[0]["name"] == "Emergency services"
    assert facts == {
        "id": room["id"],
        "title": "Friday circle",
        "guidelines": "",
        "passcode_required": False,
        "waiting_room": False,
        "chat_retention_s": 600,
        "guidelines_version": 1,
        "one_to_one": False,
    }

    ann, bob = await Member(second.url).connect(), await Member(second.url).connect()
    try:
        await ann.join(room["id"], "Ann", host_key=room["host_key"])
        await bob.join(room["id"], "Bob", media="text")
        await ann.wait_for("participant:joined")
        third = await Member(second.url).connect()
        full = await third.call("join", {"room": room["id"], "name": "Cy", "media": "text"})
        assert full["error"]["code"] == "room_full", "--max-participants 2 holds"
        await third.close()
        await bob.call("chat:send", {"text": "hello from a terminal"})
        assert (await ann.wait_for("chat:message"))["text"] == "hello from a terminal"
        await bob.call("hand:raise")
        await ann.wait_for("room:updated", lambda r: r["hands"] == [bob.id])
        assert (await ann.call("signal", {"to": bob.id, "candidate": {"candidate": ""}}))["ok"] is False
        # Stopping: clients are told, newcomers are turned away (to another instance, behind a load
        # balancer) and /readyz takes the instance out of rotation, all before anyone is cut off.
        stopped = asyncio.ensure_future(asyncio.to_thread(second.stop))
        await ann.wait_for("server:closing")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{second.url}/readyz") as r:
                assert (r.status, (await r.json())["status"]) == (503, "closing")
            # A new session is refused before its handshake, so a balancer can retry elsewhere.
            async with http.get(f"{second.url}/socket.io/?EIO=4&transport=polling") as r:
                assert (r.status, (await r.json())["error"]["code"]) == (503, "unavailable")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Member(second.url).connect()
        assert not ann.disconnected, "a client that does not move on its own is disconnected last"
        assert await stopped == 0
        await ann.wait_disconnected()
    finally:
        await ann.close()
        await bob.close()


async def test_bad_settings_fail_with_a_clear_message(tmp_path: Path) -> None:
    result = await asyncio.to_thread(circle, "serve", "--port", "eighty", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "port" in result.stderr


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_the_log_holds_ids_and_counts_but_no_name_chat_or_client_address(
    serve: list[ServeProcess], tmp_path: Path, log_format: str
) -> None:
    # With a public URL, the server's own address is never printed: any 127.0.0.1 would be a client's.
    env = {"CIRCLE_ADMIN_TOKEN": "log-test-token-123456"}
    p = ServeProcess(
        tmp_path / "data", env, ("--log-format", log_format, "--public-url", "http://circle.invalid")
    )
    serve.append(p)
    p.wait_started()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{p.url}/api/rooms",
            json={"title": "Saltmarsh Wednesday gathering", "guidelines": "Bring the lanternfish"},
            headers={"Authorization": "Bearer log-test-token-123456"},
        ) as r:
            room = await r.json()
    quillon, ysolde, theodric = [await Member(p.url).connect() for _ in range(3)]
    try:
        await quillon.join(room["id"], "Quillon Marchbanks", accept_guidelines=True)
        await ysolde.join(room["id"], "Ysolde Farthingale", media="text", accept_guidelines=True)
        assert (await ysolde.call("chat:send", {"text": "pomegranate lighthouse 8813"}))["ok"]
        await quillon.wait_for("chat:message")
        refused = await theodric.call(
            "join", {"room": "no-such-room", "name": "Theodric Ashvale", "media": "av"}
        )
        assert refused["error"]["code"] == "not_found"
    finally:
        for m in (quillon, ysolde, theodric):
            await m.close()
    # A request aiohttp cannot parse: it logs an error naming the client's address, unless told not to.
    reader, writer = await asyncio.open_connection("127.0.0.1", p.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: circle\r\nBad Header\r\n\r\n")
    assert (await reader.readline()).split()[1] == b"400"
    writer.close()
    assert p.stop() == 0

    text = "".join(p.lines)
    private = [
        "Quillon",
        "Marchbanks",
        "Ysolde",
        "Farthingale",
        "Theodric",
        "Ashvale",
        "Saltmarsh",
        "lanternfish",
        "pomegranate",
        "127.0.0.1",
    ]
    assert [s for s in private if s in text] == []
    assert "Error handling request" in text, "the unparsable request was reported, without its address"
    if log_format == "text":
        assert f"join room={room['id']} participant={quillon.id}" in text
        return
    records = [json.loads(line) for line in p.lines]
    assert all(isinstance(r, dict) and {"time", "level", "logger", "message"} <= r.keys() for r in records)
    joins = [r for r in records if r["message"].startswith("join ")]
    assert [(r["room"], r["participant"]) for r in joins] == [
        (room["id"], quillon.id),
        (room["id"], ysolde.id),
    ]
    assert any(r.get("code") == "not_found" and r.get("on") == "join" for r in records)

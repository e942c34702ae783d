"""`circle rooms list|edit|delete|rotate-key` and `create --one-to-one`, run as an administrator runs
them, against a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from server.cli import main
from tests.support.admin import public_info
from tests.support.client import Member
from tests.support.servers import ADMIN_TOKEN, RunningServer

Connect = Callable[[], Awaitable[Member]]


async def circle(
    capsys: pytest.CaptureFixture[str], server: RunningServer, *args: str
) -> tuple[int, str, str]:
    """`circle rooms ARGS… --server URL --admin-token TOKEN`: its exit code, output and errors."""
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["rooms", *args, "--server", server.url, "--admin-token", ADMIN_TOKEN]
    )
    out, err = capsys.readouterr()
    return code, out, err


async def test_rooms_list_shows_each_room_and_who_is_in_it(
    circle_server: RunningServer, members: Connect, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await circle(capsys, circle_server, "list")
    assert code == 0 and out.strip() == "No rooms yet."
    room = await circle_server.create_room(title="Tuesday circle")
    await circle_server.create_room(title="Sponsor check-in", one_to_one=True)
    ann = await members()
    await ann.join(room["id"], "Ann")
    code, out, _ = await circle(capsys, circle_server, "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert room["id"] in lines[0] and "1 in the meeting" in lines[0] and "Tuesday circle" in lines[0]
    assert "one-to-one" in lines[1] and "empty" in lines[1]
    code, out, _ = await circle(capsys, circle_server, "list", "--json")
    assert [r["title"] for r in json.loads(out)] == ["Tuesday circle", "Sponsor check-in"]


async def test_rooms_edit_changes_what_it_is_told_and_nothing_else(
    circle_server: RunningServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    room = await circle_server.create_room(title="Tuesday circle", guidelines="Be kind.", passcode="11111111")
    agenda = tmp_path / "agenda.json"
    agenda.write_text(json.dumps([{"kind": "reading", "title": "Welcome", "text": "We begin."}]))
    code, out, err = await circle(
        capsys,
        circle_server,
        "edit",
        room["member_url"],
        "--title",
        "Thursday circle",
        "--guidelines",
        "Be kind. You can pass.",
        "--no-passcode",
        "--waiting-room",
        "--agenda",
        str(agenda),
    )
    assert code == 0, err
    assert "Thursday circle" in out and "Guidelines version: 2" in out
    facts = (await public_info(circle_server.url, room["id"])).body
    assert (facts["title"], facts["guidelines"], facts["guidelines_version"]) == (
        "Thursday circle",
        "Be kind. You can pass.",
        2,
    )
    assert facts["passcode_required"] is False and facts["waiting_room"] is True

    code, out, _ = await circle(capsys, circle_server, "edit", room["id"], "--retention-s", "60", "--json")
    view = json.loads(out)
    assert view["retention_s"] == 60 and view["title"] == "Thursday circle"
    assert [s["title"] for s in view["agenda"]] == ["Welcome"]


async def test_rooms_edit_says_what_was_refused_and_needs_something_to_change(
    circle_server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    room = await circle_server.create_room(title="Tuesday circle")
    code, _, err = await circle(capsys, circle_server, "edit", room["id"], "--max-participants", "1")
    assert code == 1 and "max_participants must be between" in err
    code, _, err = await circle(capsys, circle_server, "edit", room["id"])
    assert code == 2 and "nothing to change" in err
    code, _, err = await circle(capsys, circle_server, "edit", "no-such-room", "--title", "X")
    assert code == 1 and "no such room" in err


async def test_rooms_delete_asks_for_confirmation_then_ends_the_meeting(
    circle_server: RunningServer, members: Connect, capsys: pytest.CaptureFixture[str]
) -> None:
    room = await circle_server.create_room(title="Tuesday circle")
    ann = await members()
    await ann.join(room["id"], "Ann")
    code, _, err = await circle(capsys, circle_server, "delete", room["id"])
    assert code == 2 and "--yes" in err
    assert (await public_info(circle_server.url, room["id"])).status == 200

    code, out, _ = await circle(capsys, circle_server, "delete", room["id"], "--yes")
    assert code == 0 and "Room deleted" in out
    assert (await ann.wait_for("room:ended"))["reason"] == "deleted"
    assert (await public_info(circle_server.url, room["id"])).status == 404


async def test_rooms_rotate_key_prints_a_new_facilitator_link_and_retires_the_old(
    circle_server: RunningServer, members: Connect, capsys: pytest.CaptureFixture[str]
) -> None:
    room = await circle_server.create_room(title="Tuesday circle")
    code, out, _ = await circle(capsys, circle_server, "rotate-key", room["id"])
    assert code == 0
    link = next(
        line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("New facilitator link")
    )
    new_key = link.partition("#host=")[2]
    assert new_key and new_key != room["host_key"]
    old = await members()
    refused = await old.call("join", {"room": room["id"], "name": "Fay", "host_key": room["host_key"]})
    assert refused["error"]["code"] == "forbidden"
    fay = await members()
    assert (await fay.join(room["id"], "Fay", host_key=new_key))["self"]["role"] == "facilitator"


async def test_rooms_create_one_to_one_prints_two_personal_links(
    circle_server: RunningServer, members: Connect, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await circle(capsys, circle_server, "create", "Sponsor check-in", "--one-to-one")
    assert code == 0, err
    links = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("Personal link")]
    assert len(links) == 2 and all("#invite=" in link for link in links)
    assert "Facilitator link" not in out
    room_id = links[0].split("/r/")[1].split("#")[0]
    sam = await members()
    await sam.join(room_id, "Sam", invite=links[0].partition("#invite=")[2])


async def test_every_rooms_command_needs_the_admin_token(
    circle_server: RunningServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CIRCLE_ADMIN_TOKEN", raising=False)
    for args in (["list"], ["edit", "r1", "--title", "X"], ["delete", "r1", "--yes"], ["rotate-key", "r1"]):
        capsys.readouterr()
        code = await asyncio.to_thread(main, ["rooms", *args, "--server", circle_server.url])
        assert code == 2 and "admin token" in capsys.readouterr().err
        code = await asyncio.to_thread(
            main, ["rooms", *args, "--server", circle_server.url, "--admin-token", "wrong"]
        )
        assert code == 1 and "admin token" in capsys.readouterr().err

"""Join tokens from a community site, against a real server: the token names its holder and gives their
role; an expired, tampered, wrongly signed or other room's token is refused `forbidden`, saying which."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.support.client import Member
from tests.support.servers import RunningServer

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-secret-shared-with-the-community-site-0123456789"

ServerFactory = Callable[..., Awaitable[RunningServer]]
Connect = Callable[[str], Awaitable[Member]]


def mint(room: str, name: str = "Sam", role: str = "member", secret: str = SECRET, **claims: Any) -> str:
    body = {"room": room, "name": name, "role": role, "exp": int(time.time()) + 600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256")


@pytest.fixture
async def server(circle_server_factory: ServerFactory) -> RunningServer:
    # Many refused joins from one connection: more than a person would try in a burst.
    return await circle_server_factory(join_token_secret=SECRET, join_burst=50)


async def refusal(member: Member, room: str, token: str, **extra: Any) -> dict[str, Any]:
    ack = await member.call("join", {"room": room, "token": token, **extra})
    assert not ack["ok"], ack
    return dict(ack["error"])


async def test_a_token_names_its_holder_and_gives_their_role_without_a_name_in_the_join(
    server: RunningServer, connect: Connect
) -> None:
    room = await server.create_room(title="Community circle", passcode="43214321")
    fay, sam = await connect(server.url), await connect(server.url)
    ack = await fay.join(room["id"], None, token=mint(room["id"], "Fay", "facilitator"))
    assert (ack["self"]["name"], ack["self"]["role"]) == ("Fay", "facilitator")
    assert (await fay.call("mod:lock", {"locked": False}))["ok"]

    # The name in the token wins over one the page might send; the token stands in for the passcode.
    ack = await sam.join(room["id"], "Someone else", token=mint(room["id"], "Sam"))
    assert (ack["self"]["name"], ack["self"]["role"]) == ("Sam", "member")
    assert (await sam.call("mod:lock", {"locked": True}))["error"]["code"] == "forbidden"


async def test_a_tokens_media_is_the_most_its_holder_may_use(server: RunningServer, connect: Connect) -> None:
    room = await server.create_room()
    text_only, audio = await connect(server.url), await connect(server.url)
    ack = await text_only.join(room["id"], None, media="av", token=mint(room["id"], "Tia", media="text"))
    assert ack["self"]["media"] == "text"
    ack = await audio.join(room["id"], None, media="av", token=mint(room["id"], "Abe", media="audio"))
    assert (ack["self"]["media"], ack["self"]["video"]) == ("audio", False)


async def test_expired_tampered_wrongly_signed_and_other_room_tokens_are_refused_saying_which(
    server: RunningServer, connect: Connect
) -> None:
    room = await server.create_room()
    other = await server.create_room(title="Another circle")
    lee = await connect(server.url)
    room_id = room["id"]

    expired = mint(room_id, exp=int(time.time()) - 5)
    error = await refusal(lee, room_id, expired)
    assert error["code"] == "forbidden" and "expired" in error["message"]

    # A facilitator's role written into a member's token, its signature kept.
    header, payload, signature = mint(room_id).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "facilitator"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    error = await refusal(lee, room_id, f"{header}.{forged}.{signature}")
    assert error["code"] == "forbidden" and "signature" in error["message"]

    error = await refusal(lee, room_id, mint(room_id, secret="another-site-entirely-0123456789abcdef"))
    assert error["code"] == "forbidden" and "signature" in error["message"]

    error = await refusal(lee, room_id, mint(other["id"]))
    assert error["code"] == "forbidden" and "another meeting" in error["message"]

    unsigned = jwt.encode(
        {"room": room_id, "name": "Lee", "role": "member", "exp": 2**31}, "", algorithm="none"
    )
    error = await refusal(lee, room_id, unsigned)
    assert error["code"] == "forbidden" and "HS256" in error["message"]

    full = {"room": room_id, "name": "Lee", "role": "member", "exp": 2**31}
    for missing in ("exp", "role", "name", "room"):
        partial = {k: v for k, v in full.items() if k != missing}
        error = await refusal(lee, room_id, jwt.encode(partial, SECRET, algorithm="HS256"))
        assert error["code"] == "forbidden" and f"no {missing}" in error["message"]

    for bad, says in (
        (mint(room_id, role="admin"), "role must be member or facilitator"),
        (mint(room_id, name=" "), "gives no name"),
        (mint(room_id, name="x" * 41), "its name must be"),
        (mint(room_id, media="video"), "media must be"),
        ("not-a-token", "damaged"),
    ):
        error = await refusal(lee, room_id, bad)
        assert error["code"] == "forbidden" and says in error["message"], (says, error)

    # None of these let anyone in.
    ack = await lee.join(room_id, "Lee")
    assert [p["name"] for p in ack["room"]["participants"]] == ["Lee"]


async def test_a_server_without_a_join_token_secret_refuses_every_token(
    circle_server: RunningServer, connect: Connect
) -> None:
    room = await circle_server.create_room()
    lee = await connect(circle_server.url)
    error = await refusal(lee, room["id"], mint(room["id"]))
    assert error["code"] == "forbidden" and "doesn't accept join links" in error["message"]


async def test_a_join_without_a_token_still_needs_a_name(server: RunningServer, connect: Connect) -> None:
    room = await server.create_room()
    lee = await connect(server.url)
    ack = await lee.call("join", {"room": room["id"]})
    assert ack["error"]["code"] == "bad_request" and "name is required" in ack["error"]["message"]


async def test_a_token_that_expired_during_the_meeting_still_takes_back_its_holders_seat_and_no_other(
    server: RunningServer, connect: Connect
) -> None:
    room = await server.create_room()
    expires = int(time.time()) + 2
    token = mint(room["id"], "Sam", exp=expires)
    sam = await connect(server.url)
    first = await sam.join(room["id"], None, token=token)
    await sam.close()
    while time.time() <= expires + 1:
        await asyncio.sleep(0.2)

    back = await connect(server.url)
    ack = await back.join(room["id"], None, token=token, resume_token=first["resume_token"])
    assert ack["self"]["id"] == first["self"]["id"] and ack["self"]["name"] == "Sam"

    stranger = await connect(server.url)
    error = await refusal(stranger, room["id"], token)
    assert error["code"] == "forbidden" and "expired" in error["message"]
    # A resume token of a seat that is gone does not stretch the expired token into a new seat.
    await back.call("leave")
    error = await refusal(stranger, room["id"], token, resume_token=ack["resume_token"])
    assert error["code"] == "forbidden" and "expired" in error["message"]


def embedding_example() -> str:
    """The Python example of docs/embedding.md, as the page shows it."""
    text = (ROOT / "docs" / "embedding.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "docs/embedding.md shows one Python example"
    return blocks[0]


def test_the_documented_example_is_ten_lines_or_so() -> None:
    lines = [line for line in embedding_example().splitlines() if line.strip()]
    assert len(lines) <= 12, lines


async def test_the_documented_example_mints_a_link_that_lets_its_member_in(
    server: RunningServer, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await server.create_room(title="Community circle")
    monkeypatch.setenv("CIRCLE_JOIN_TOKEN_SECRET", SECRET)
    namespace: dict[str, Any] = {}
    exec(compile(embedding_example(), "docs/embedding.md", "exec"), namespace)
    link = namespace["join_link"](server.url, room["id"], "Sam", "facilitator")
    assert link.startswith(f"{server.url}/r/{room['id']}#token=")
    token = link.partition("#token=")[2]
    sam = await connect(server.url)
    ack = await sam.join(room["id"], None, token=token)
    assert (ack["self"]["name"], ack["self"]["role"]) == ("Sam", "facilitator")

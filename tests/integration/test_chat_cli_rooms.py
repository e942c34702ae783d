"""`circle chat` with the rooms of a group's life: a one-to-one room's personal link, and guidelines
that change while the terminal member is away (real subprocesses, as in `test_chat_cli`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.integration.test_chat_cli import terminals  # noqa: F401 - the fixture, shared
from tests.support.admin import call
from tests.support.client import Member
from tests.support.proxy import TcpProxy


async def test_a_terminal_member_comes_into_a_one_to_one_room_by_their_personal_link(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    made = await call(
        circle_server.url, "POST", "/api/rooms", {"title": "Sponsor check-in", "one_to_one": True}
    )
    first, second = made.body["links"]
    sam: Member = await members()
    await sam.join(made.body["id"], "Sam", "text", invite=urlsplit(first).fragment.removeprefix("invite="))

    kim = await terminals(second, "Kim")
    await kim.expect(r"Type /help")
    await sam.wait_for("participant:joined", lambda p: p["name"] == "Kim")

    lee = await terminals(f"{circle_server.url}/r/{made.body['id']}", "Lee")
    await lee.expect(r"only for the two people invited")
    assert await lee.wait() == 1


async def test_a_terminal_member_away_when_the_guidelines_change_is_asked_to_read_them_again(
    circle_server,
    members,
    terminals,  # noqa: F811
) -> None:
    room = await circle_server.create_room(title="Evening circle", guidelines="Listen without fixing.")
    host: Member = await members()
    await host.join(room["id"], "Maya", "text", host_key=room["host_key"], accept_guidelines=True)
    link = TcpProxy(urlsplit(circle_server.url).port or 0)
    port = await link.start()
    try:
        jo = await terminals(f"http://127.0.0.1:{port}/r/{room['id']}", "Jo", "--accept-guidelines")
        await jo.expect(r"Type /help")
        await host.wait_for("participant:joined", lambda p: p["name"] == "Jo")

        link.cut()
        await jo.expect(r"Connection lost; reconnecting")
        edited = await call(
            circle_server.url, "PATCH", f"/api/rooms/{room['id']}", {"guidelines": "Listen. You can pass."}
        )
        assert edited.body["guidelines_version"] == 2
        link.restore()

        await jo.expect(r"The group guidelines changed while you were away")
        assert await jo.wait() == 1
    finally:
        await link.close()

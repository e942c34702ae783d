"""`circle serve`, `circle rooms create` (the other `circle rooms` commands: `server.rooms_cli`),
`circle chat`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from server import logprivacy, rooms_cli
from server import settings as settings_mod
from server.app import CIRCLE_KEY, create_app, drain
from server.logs import Console, configure
from server.settings import Settings, SettingsError
from server.webclient import WebClientIncomplete
from signaling.lograte import LogRate

log = logging.getLogger("circle.server")


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for name in settings_mod.setting_names():
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            default=None,
            metavar=name.upper(),
            help=f"{settings_mod.setting_help(name)} (env CIRCLE_{name.upper()})",
        )


def _settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        name: settings_mod.parse_value(name, value)
        for name in settings_mod.setting_names()
        if (value := getattr(args, name, None)) is not None
    }
    return settings_mod.load(**overrides)


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = _settings_from(args)
    except SettingsError as exc:
        print(f"circle: {exc}", file=sys.stderr)
        return 2
    configure(settings.log_level, settings.log_format)
    logprivacy.install(
        logging.getLogger().handlers, LogRate(settings.max_log_lines_per_kind, settings.log_kind_window_s)
    )
    return _run(_run_server(settings))


def _run(main: Coroutine[Any, Any, int]) -> int:
    """On uvloop's event loop where it is installed: its transports write to a socket for far less
    CPU than asyncio's, and a room broadcast is one write per member."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return int(uvloop.run(main))


async def _run_server(settings: Settings) -> int:
    try:
        app = create_app(settings)
    except (WebClientIncomplete, SettingsError) as exc:
        # Refusing to start beats a server whose meeting page is blank in every browser, or whose
        # crisis panel shows someone in distress a broken list.
        print(f"circle: {exc}", file=sys.stderr)
        return 1
    circle = app[CIRCLE_KEY]
    console = Console(settings.log_format)
    # No access log: each of aiohttp's lines begins with the client's address.
    # keepalive_timeout also bounds how long aiohttp waits for a request's head on a connection, so a
    # client trickling its headers in (slow-loris) is closed when it runs out.
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=settings.shutdown_grace_s,
        keepalive_timeout=settings.http_idle_timeout_s,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        print(
            f"circle: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        await runner.cleanup()
        return 1
    port = runner.addresses[0][1] if runner.addresses else settings.port
    base = settings.public_url or f"http://{settings.host}:{port}"
    console.say(
        f"Circle is running at {base} (instance {circle.instance_id})", url=base, instance=circle.instance_id
    )
    if not settings.admin_token:
        console.say(
            f"Admin token (shown once; set CIRCLE_ADMIN_TOKEN to choose your own): {circle.admin_token}"
        )
    console.say(f'Create a room: circle rooms create "Tuesday circle" --server {base}')
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    console.say("Shutting down…")
    await drain(app)
    await runner.cleanup()
    return 0


def _rooms_create(args: argparse.Namespace) -> int:
    token = args.admin_token or os.environ.get("CIRCLE_ADMIN_TOKEN")
    if not token:
        print(
            "circle: an admin token is needed (--admin-token or CIRCLE_ADMIN_TOKEN)",
            file=sys.stderr,
        )
        return 2
    body: dict[str, Any] = {"title": args.title, "waiting_room": args.waiting_room}
    if args.passcode:
        body["passcode"] = args.passcode
    if args.guidelines:
        body["guidelines"] = args.guidelines
    if args.max_participants is not None:
        body["max_participants"] = args.max_participants
    if args.retention_s is not None:
        body["retention_s"] = args.retention_s
    if args.relay_only:
        body["relay_only"] = True
    if args.sfu:
        body["media_mode"] = "sfu"
    if args.private_chat:
        body["private_chat"] = args.private_chat
    if args.one_to_one:
        body["one_to_one"] = True
        del body["waiting_room"]
    request = urllib.request.Request(
        f"{args.server.rstrip('/')}/api/rooms",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            room = json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = str(exc)
        print(f"circle: {message}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"circle: cannot reach {args.server}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(room))
        return 0
    print(f"Room: {room['title']} ({room['id']})")
    if room.get("one_to_one"):
        for n, link in enumerate(room["links"], start=1):
            print(f"Personal link {n}: {link}")
        print("Send one link to each of the two people: each link lets one person in, and no one else.")
        return 0
    print(f"Member link:      {room['member_url']}")
    print(f"Facilitator link: {room['facilitator_url']}")
    print("Keep the facilitator link private: it gives facilitator rights.")
    return 0


def _chat(args: argparse.Namespace) -> int:
    from terminal.cli import run

    return run(args.url, args.name, args.passcode, args.accept_guidelines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="circle", description="Meetings for peer-support groups.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (embedded defaults: no other service)")
    _add_setting_flags(serve)
    serve.add_argument("--redis", dest="redis_url", metavar="URL", help="same as --redis-url")
    serve.set_defaults(func=_serve)

    rooms = sub.add_parser("rooms", help="manage rooms").add_subparsers(dest="rooms_command", required=True)
    create = rooms.add_parser("create", help="create a room and print its links")
    create.add_argument("title")
    create.add_argument("--passcode")
    create.add_argument("--guidelines")
    create.add_argument("--waiting-room", action="store_true")
    create.add_argument(
        "--max-participants", type=int, metavar="N", help="room capacity (default: the server's)"
    )
    create.add_argument(
        "--retention-s",
        type=int,
        metavar="S",
        help="how long chat outlives the meeting, in seconds (default: the server's; 0 deletes it at once)",
    )
    create.add_argument(
        "--relay-only",
        action="store_true",
        help="media only through the server (its SFU), so members never learn each other's address",
    )
    create.add_argument(
        "--sfu", action="store_true", help="media through the server from the start, however small the room"
    )
    create.add_argument(
        "--private-chat",
        choices=("everyone", "facilitators", "nobody"),
        help="who may send private messages: everyone (the default), only to or from facilitators, or nobody",
    )
    create.add_argument(
        "--one-to-one",
        action="store_true",
        help="a room for two (sponsor and sponsee, mentor and mentee): two personal links, no one else;"
        " deleted once it has been empty for its retention",
    )
    create.add_argument("--server", default=os.environ.get("CIRCLE_SERVER", "http://127.0.0.1:8080"))
    create.add_argument("--admin-token")
    create.add_argument("--json", action="store_true", help="print the answer as JSON")
    create.set_defaults(func=_rooms_create)
    rooms_cli.add_commands(rooms)

    chat = sub.add_parser("chat", help="take part by text from this terminal")
    chat.add_argument("url", help="the room's link")
    chat.add_argument("--name", required=True, help="your first name or nickname")
    chat.add_argument("--passcode")
    chat.add_argument(
        "--accept-guidelines",
        action="store_true",
        help="accept the group guidelines without being asked (for scripts)",
    )
    chat.set_defaults(func=_chat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""`circle rooms list|edit|delete|rotate-key`: the admin API (`server.room_admin`) from a terminal."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class AdminError(Exception):
    """The request failed: the sentence to print, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=os.environ.get("CIRCLE_SERVER", "http://127.0.0.1:8080"))
    parser.add_argument("--admin-token", help="the server's admin token (env CIRCLE_ADMIN_TOKEN)")


def admin_call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    """Call the admin API; its JSON answer (None for an empty one), or AdminError."""
    token = args.admin_token or os.environ.get("CIRCLE_ADMIN_TOKEN")
    if not token:
        raise AdminError("an admin token is needed (--admin-token or CIRCLE_ADMIN_TOKEN)", EXIT_USAGE)
    request = urllib.request.Request(
        f"{args.server.rstrip('/')}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = str(exc)
        raise AdminError(message) from None
    except (urllib.error.URLError, OSError) as exc:
        raise AdminError(f"cannot reach {args.server}: {exc}") from None
    return json.loads(text) if text else None


def room_path(room: str) -> str:
    """The API path of a room given by its id or by any of its links."""
    if "/r/" in room:
        room = urlsplit(room).path.rstrip("/").rsplit("/", 1)[-1]
    return f"/api/rooms/{quote(room, safe='')}"


def _when(ms: int) -> str:
    if not ms:
        return "-"
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def _list(args: argparse.Namespace) -> int:
    rooms = admin_call(args, "GET", "/api/rooms")["rooms"]
    if args.json:
        print(json.dumps(rooms))
        return EXIT_OK
    if not rooms:
        print("No rooms yet.")
        return EXIT_OK
    width = max(len(r["id"]) for r in rooms)
    for r in rooms:
        kind = "one-to-one" if r["one_to_one"] else "group"
        people = f"{r['participants']} in the meeting" if r["participants"] else "empty"
        print(f"{r['id']:<{width}}  {_when(r['created_at'])}  {kind:<10}  {people:<16}  {r['title']}")
    return EXIT_OK


def _edit_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if args.title is not None:
        body["title"] = args.title
    if args.no_guidelines:
        body["guidelines"] = None
    elif args.guidelines is not None:
        body["guidelines"] = args.guidelines
    if args.no_passcode:
        body["passcode"] = None
    elif args.passcode is not None:
        body["passcode"] = args.passcode
    if args.waiting_room is not None:
        body["waiting_room"] = args.waiting_room
    if args.max_participants is not None:
        body["max_participants"] = args.max_participants
    if args.retention_s is not None:
        body["retention_s"] = args.retention_s
    if args.private_chat is not None:
        body["private_chat"] = args.private_chat
    if args.no_agenda:
        body["agenda"] = None
    elif args.agenda is not None:
        try:
            body["agenda"] = json.loads(Path(args.agenda).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AdminError(f"cannot read the agenda from {args.agenda}: {exc}", EXIT_USAGE) from None
    if not body:
        raise AdminError("nothing to change: give at least one option (see --help)", EXIT_USAGE)
    return body


def _edit(args: argparse.Namespace) -> int:
    room = admin_call(args, "PATCH", room_path(args.room), _edit_body(args))
    if args.json:
        print(json.dumps(room))
        return EXIT_OK
    print(f"Room: {room['title']} ({room['id']})")
    print(f"Guidelines version: {room['guidelines_version']}")
    if room["participants"]:
        print(f"The meeting under way ({room['participants']} in it) has taken the changes.")
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise AdminError("deleting a room cannot be undone: add --yes to confirm", EXIT_USAGE)
        answer = input(f"Delete room {args.room}, end any meeting in it and delete its chat? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return EXIT_OK
    admin_call(args, "DELETE", room_path(args.room))
    print("Room deleted. Anyone who was in its meeting has been told it ended.")
    return EXIT_OK


def _rotate_key(args: argparse.Namespace) -> int:
    answer = admin_call(args, "POST", f"{room_path(args.room)}/host-key")
    if args.json:
        print(json.dumps(answer))
        return EXIT_OK
    print(f"New facilitator link: {answer['facilitator_url']}")
    print("The old facilitator link no longer works. Keep this one private: it gives facilitator rights.")
    return EXIT_OK


def run(command: Any, args: argparse.Namespace) -> int:
    try:
        return int(command(args))
    except AdminError as exc:
        print(f"circle: {exc}", file=sys.stderr)
        return exc.code


def add_commands(rooms: Any) -> None:
    """Add list, edit, delete and rotate-key to the `circle rooms` subcommands."""
    listing = rooms.add_parser("list", help="list every room, with how many are in each meeting now")
    add_server_options(listing)
    listing.add_argument("--json", action="store_true", help="print the answer as JSON")
    listing.set_defaults(func=lambda a: run(_list, a))

    edit = rooms.add_parser("edit", help="change a room; a meeting under way takes the change at once")
    edit.add_argument("room", help="the room's id, or its link")
    edit.add_argument("--title")
    guidelines = edit.add_mutually_exclusive_group()
    guidelines.add_argument(
        "--guidelines", help="new group guidelines: everyone accepts them again on their next join"
    )
    guidelines.add_argument("--no-guidelines", action="store_true", help="remove the group guidelines")
    passcode = edit.add_mutually_exclusive_group()
    passcode.add_argument("--passcode")
    passcode.add_argument("--no-passcode", action="store_true", help="remove the passcode")
    waiting = edit.add_mutually_exclusive_group()
    waiting.add_argument("--waiting-room", dest="waiting_room", action="store_true", default=None)
    waiting.add_argument("--no-waiting-room", dest="waiting_room", action="store_false")
    edit.add_argument("--max-participants", type=int, metavar="N", help="room capacity")
    edit.add_argument(
        "--retention-s", type=int, metavar="S", help="how long chat outlives the meeting, in seconds"
    )
    edit.add_argument("--private-chat", choices=("everyone", "facilitators", "nobody"))
    agenda = edit.add_mutually_exclusive_group()
    agenda.add_argument(
        "--agenda",
        metavar="FILE",
        help='default agenda: a JSON file of segments ([{"kind": "reading", "title": …, "text": …}, …])',
    )
    agenda.add_argument("--no-agenda", action="store_true", help="remove the default agenda")
    add_server_options(edit)
    edit.add_argument("--json", action="store_true", help="print the answer as JSON")
    edit.set_defaults(func=lambda a: run(_edit, a))

    delete = rooms.add_parser("delete", help="end a room's meeting, delete the room and its chat")
    delete.add_argument("room", help="the room's id, or its link")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_server_options(delete)
    delete.set_defaults(func=lambda a: run(_delete, a))

    rotate = rooms.add_parser(
        "rotate-key", help="give a room a new facilitator link; the old one stops working"
    )
    rotate.add_argument("room", help="the room's id, or its link")
    add_server_options(rotate)
    rotate.add_argument("--json", action="store_true", help="print the answer as JSON")
    rotate.set_defaults(func=lambda a: run(_rotate_key, a))

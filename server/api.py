"""The HTTP API: create a room (admin token), read a room's public facts. Managing rooms (list, edit,
delete, a new facilitator link) is in `server.room_admin`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler

from rooms import Refusal, RoomDefinition
from rooms.agenda import check_agenda
from rooms.model import PrivateChat
from server.auth import token_matches
from server.crisis import CRISIS_KEY, crisis_json
from server.settings import Settings
from signaling.credentials import key_hash, new_id, new_secret, passcode_hash
from signaling.errors import error_json, http_status
from signaling.lograte import LogRate
from signaling.ports import Store
from signaling.protocol import (
    AGENDA_SEGMENTS_MAX,
    AgendaSegment,
    ProtocolError,
    decode_into,
    optional,
    required,
)
from signaling.to_command import agenda_limits, segments

# Answers that carry a key or a personal link must not be kept by any cache on the way.
NO_STORE = {"Cache-Control": "no-store"}

STORE_KEY: web.AppKey[Store] = web.AppKey("store", Store)
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
ADMIN_TOKEN_KEY: web.AppKey[str] = web.AppKey("admin_token", str)
LOG_RATE_KEY: web.AppKey[LogRate] = web.AppKey("log_rate", LogRate)


@dataclass(frozen=True, slots=True)
class CreateRoom:
    """POST /api/rooms body."""

    title: str = required(min_len=1, max_len=80)
    guidelines: str | None = optional(max_len=4000, multiline=True)
    passcode: str | None = optional(min_len=1, max_len=128)
    waiting_room: bool = False
    max_participants: int | None = None
    retention_s: int | None = None
    relay_only: bool = False
    # Who may send private messages in this room's meetings (a facilitator may change it in one).
    private_chat: Literal["everyone", "facilitators", "nobody"] = "everyone"
    one_to_one: bool = False
    # The agenda every meeting in the room starts with.
    agenda: tuple[AgendaSegment, ...] = optional((), max_len=AGENDA_SEGMENTS_MAX)
    media_mode: Literal["auto", "sfu"] = "auto"


def check_passcode(passcode: str, settings: Settings) -> None:
    """A room's passcode must be long enough that guessing it, slowed as joining slows it, is hopeless
    (`min_passcode_chars`); a `bad_request` otherwise."""
    if len(passcode) < settings.min_passcode_chars:
        raise ProtocolError(
            "bad_request", f"A passcode needs at least {settings.min_passcode_chars} characters."
        )


def error_response(exc: BaseException, request: web.Request) -> web.Response:
    """The answer to a failed request: the error object socket.io sends too, with its HTTP status."""
    resource = request.match_info.route.resource
    route = f"{request.method} {resource.canonical if resource is not None else request.path}"
    error = error_json(exc, route, "http", request.app.get(LOG_RATE_KEY))
    return web.json_response({"error": error}, status=http_status(error["code"]))


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        return error_response(exc, request)


def require_admin(request: web.Request) -> None:
    """Refuse (`unauthorized`) a request without the admin token as its bearer token."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = request.app[ADMIN_TOKEN_KEY]
    if scheme.lower() != "bearer" or not token or not token_matches(token.strip(), expected):
        raise Refusal("unauthorized", "A valid admin token is required.")


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, at most `max_frame_bytes` long."""
    settings = request.app[SETTINGS_KEY]
    too_large = ProtocolError("too_large", "The request body is too large.")
    if request.content_length is not None and request.content_length > settings.max_frame_bytes:
        raise too_large
    try:
        return json.loads(await request.text())
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("bad_request", "The body must be a JSON object.") from None
    except RecursionError:
        raise ProtocolError("bad_request", "The body is nested too deeply.") from None


def checked_capacity(settings: Settings, max_participants: int) -> int:
    low, high = settings.min_room_participants, settings.max_room_participants
    if not low <= max_participants <= high:
        raise ProtocolError("bad_request", f"max_participants must be between {low} and {high}.")
    return max_participants


def checked_retention(settings: Settings, retention_s: int) -> int:
    if not 0 <= retention_s <= settings.max_retention_s:
        raise ProtocolError("bad_request", f"retention_s must be between 0 and {settings.max_retention_s}.")
    return retention_s


def new_invites() -> tuple[str, str]:
    """A one-to-one room's two personal invitations (keys; the room keeps only their hashes)."""
    return new_secret(), new_secret()


def one_to_one_links(base: str, room_id: str, invites: tuple[str, ...]) -> list[str]:
    # In the fragment, as the host key: never in a server log or a Referer header.
    return [f"{base}/r/{room_id}#invite={key}" for key in invites]


def one_to_one_fits(passcode: str | None, waiting_room: bool | None, max_participants: int | None) -> None:
    """Refuse settings that have no meaning in a one-to-one room."""
    if passcode or waiting_room or max_participants is not None:
        raise ProtocolError(
            "bad_request",
            "A one-to-one room has no passcode, waiting room or capacity: its two personal links are"
            " its door.",
        )


async def create_room(request: web.Request) -> web.Response:
    require_admin(request)
    settings = request.app[SETTINGS_KEY]
    spec: CreateRoom = decode_into(CreateRoom, await read_json(request))
    if spec.one_to_one:
        one_to_one_fits(spec.passcode, spec.waiting_room, spec.max_participants)
    if spec.passcode:
        check_passcode(spec.passcode, settings)
    max_participants = checked_capacity(
        settings, settings.max_participants if spec.max_participants is None else spec.max_participants
    )
    retention_s = checked_retention(
        settings, settings.retention_s if spec.retention_s is None else spec.retention_s
    )
    agenda = check_agenda(segments(spec.agenda), agenda_limits(settings.signaling_config()))
    host_key = new_secret()
    invites = new_invites() if spec.one_to_one else ()
    created_at = int(time.time() * 1000)
    room = RoomDefinition(
        id=new_id(),
        title=spec.title,
        host_key_hash=key_hash(host_key),
        guidelines=(spec.guidelines or "").strip(),
        passcode_hash=passcode_hash(spec.passcode) if spec.passcode else None,
        waiting_room=spec.waiting_room,
        max_participants=max_participants,
        retention_s=retention_s,
        max_messages=settings.chat_max_messages,
        relay_only=spec.relay_only,
        private_chat=PrivateChat(spec.private_chat),
        created_at=created_at,
        one_to_one=spec.one_to_one,
        invite_key_hashes=tuple(key_hash(k) for k in invites),
        agenda=agenda,
        media_mode=spec.media_mode,
    )
    await request.app[STORE_KEY].create_room(room)
    base = settings.base_url
    if room.one_to_one:
        # Nobody facilitates a one-to-one: its two personal links are all there is to hand out.
        links = {"links": one_to_one_links(base, room.id, invites)}
        body = {"id": room.id, "title": room.title, "one_to_one": True, "created_at": created_at, **links}
        return web.json_response(body, status=201, headers=NO_STORE)
    return web.json_response(
        {
            "id": room.id,
            "title": room.title,
            "member_url": f"{base}/r/{room.id}",
            # In the fragment, the key never reaches a server log or a Referer header.
            "facilitator_url": f"{base}/r/{room.id}#host={host_key}",
            "host_key": host_key,
            "created_at": created_at,
        },
        status=201,
        headers=NO_STORE,
    )


async def get_room(request: web.Request) -> web.Response:
    room = await request.app[STORE_KEY].get_room(request.match_info["room_id"])
    if room is None:
        raise Refusal("not_found", "There is no meeting at this link.")
    # Where to turn in a crisis comes with the room, so the page can offer it before anyone joins.
    return web.json_response({**room_public(room), "crisis_resources": crisis_json(request.app[CRISIS_KEY])})


def room_public(room: RoomDefinition) -> dict[str, Any]:
    return {
        "id": room.id,
        "title": room.title,
        "guidelines": room.guidelines,
        "passcode_required": room.passcode_required,
        "waiting_room": room.waiting_room,
        # Told before joining: how long chat outlives the meeting (0: deleted when the last leaves).
        "chat_retention_s": room.retention_s,
        # Sent back with `join`, so that a change made after this was read is accepted anew.
        "guidelines_version": room.guidelines_version,
        "one_to_one": room.one_to_one,
    }


def add_api_routes(app: web.Application) -> None:
    app.router.add_post("/api/rooms", create_room)
    app.router.add_get("/api/rooms/{room_id}", get_room)

"""Managing rooms over HTTP, with the admin token: list them, edit one, delete one, give one a new
facilitator link.

An edit reaches a meeting under way at once (`Signaling.redefine`): its members see a new title, and
whoever joins next is held to the new guidelines. Deleting a room ends its meeting for everyone, on
every instance, then removes the room and its chat; its link answers 404 from then on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, Literal

from aiohttp import web

from rooms import Refusal, RoomDefinition, RoomState
from rooms.agenda import check_agenda
from rooms.commands import AgendaLimits
from rooms.model import PrivateChat, Segment
from server.api import (
    NO_STORE,
    SETTINGS_KEY,
    STORE_KEY,
    check_passcode,
    checked_capacity,
    checked_retention,
    one_to_one_fits,
    read_json,
    require_admin,
)
from signaling.credentials import key_hash, new_secret, passcode_hash
from signaling.handlers import Signaling
from signaling.protocol import AgendaSegment, ProtocolError, decode_into, optional
from signaling.to_command import agenda_limits, segments
from signaling.views import segment_fields

SIGNALING_KEY: web.AppKey[Signaling] = web.AppKey("signaling", Signaling)

# Fields an edit may set to null, and what null means for each: no guidelines, no passcode, no agenda.
CLEARABLE = frozenset({"guidelines", "passcode", "agenda"})


@dataclass(frozen=True, slots=True)
class EditRoom:
    """PATCH /api/rooms/{id} body: only the fields given change. `guidelines`, `passcode` and `agenda`
    may be null to remove them."""

    title: str | None = optional(min_len=1, max_len=80)
    guidelines: str | None = optional(max_len=4000, multiline=True)
    passcode: str | None = optional(min_len=1, max_len=128)
    waiting_room: bool | None = None
    max_participants: int | None = None
    retention_s: int | None = None
    private_chat: Literal["everyone", "facilitators", "nobody"] | None = None


def _agenda(value: Any, limits: AgendaLimits) -> tuple[Segment, ...]:
    """A default agenda as an edit gives it, each part as `mod:agenda` takes it, within the settings."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ProtocolError("bad_request", "agenda must be a list of segments.")
    specs = tuple(decode_into(AgendaSegment, item, prefix=f"agenda[{n}].") for n, item in enumerate(value))
    return check_agenda(segments(specs), limits)


def edited(room: RoomDefinition, body: Any, request: web.Request) -> RoomDefinition:
    """`room` with the edit `body` applied (validated as creating a room is), at the next revision."""
    if not isinstance(body, dict):
        raise ProtocolError("bad_request", "The body must be a JSON object.")
    fields = dict(body)
    agenda = fields.pop("agenda", room.agenda)
    spec: EditRoom = decode_into(EditRoom, fields)
    for name, value in fields.items():
        if value is None and name not in CLEARABLE:
            raise ProtocolError("bad_request", f"{name} can be changed but not removed.")
    settings = request.app[SETTINGS_KEY]
    if room.one_to_one:
        one_to_one_fits(spec.passcode, spec.waiting_room, spec.max_participants)
    new = room
    if spec.title is not None:
        new = replace(new, title=spec.title)
    if "guidelines" in fields:
        guidelines = (spec.guidelines or "").strip()
        if guidelines != room.guidelines:
            # A new text is a new agreement: everyone accepts it again on their next join.
            new = replace(new, guidelines=guidelines, guidelines_version=room.guidelines_version + 1)
    if "passcode" in fields:
        if spec.passcode:
            check_passcode(spec.passcode, settings)
        new = replace(new, passcode_hash=passcode_hash(spec.passcode) if spec.passcode else None)
    if spec.waiting_room is not None:
        new = replace(new, waiting_room=spec.waiting_room)
    if spec.max_participants is not None:
        new = replace(new, max_participants=checked_capacity(settings, spec.max_participants))
    if spec.retention_s is not None:
        new = replace(new, retention_s=checked_retention(settings, spec.retention_s))
    if spec.private_chat is not None:
        new = replace(new, private_chat=PrivateChat(spec.private_chat))
    if agenda is not room.agenda:
        new = replace(new, agenda=_agenda(agenda, agenda_limits(settings.signaling_config())))
    return replace(new, revision=room.revision + 1)


def admin_view(room: RoomDefinition, state: RoomState | None, base: str) -> dict[str, Any]:
    """What an administrator sees of a room: its whole definition but its secrets, and who is in it."""
    view: dict[str, Any] = {
        "id": room.id,
        "title": room.title,
        "created_at": room.created_at,
        "one_to_one": room.one_to_one,
        "guidelines": room.guidelines,
        "guidelines_version": room.guidelines_version,
        "passcode_required": room.passcode_required,
        "waiting_room": room.waiting_room,
        "max_participants": room.max_participants,
        "retention_s": room.retention_s,
        "relay_only": room.relay_only,
        "private_chat": room.private_chat.value,
        "agenda": [segment_fields(s) for s in room.agenda],
        **_people(state),
    }
    if not room.one_to_one:
        view["member_url"] = f"{base}/r/{room.id}"
    return view


def _people(state: RoomState | None) -> dict[str, int]:
    if state is None:
        return {"participants": 0, "waiting": 0}
    return {"participants": len(state.participants), "waiting": len(state.waiting)}


async def _room(request: web.Request) -> RoomDefinition:
    room = await request.app[STORE_KEY].get_room(request.match_info["room_id"])
    if room is None:
        raise Refusal("not_found", "There is no such room.")
    return room


async def list_rooms(request: web.Request) -> web.Response:
    require_admin(request)
    store = request.app[STORE_KEY]
    rooms = sorted(await store.list_rooms(), key=lambda r: (r.created_at, r.id))
    states = await asyncio.gather(*(store.load(r.id) for r in rooms))
    listed = [
        {
            "id": room.id,
            "title": room.title,
            "created_at": room.created_at,
            "participants": _people(state)["participants"],
            "one_to_one": room.one_to_one,
        }
        for room, state in zip(rooms, states, strict=True)
    ]
    return web.json_response({"rooms": listed})


async def edit_room(request: web.Request) -> web.Response:
    require_admin(request)
    body = await read_json(request)
    room = await _room(request)
    new = edited(room, body, request)
    store = request.app[STORE_KEY]
    if not await store.update_room(new):
        raise Refusal("not_found", "There is no such room.")
    await request.app[SIGNALING_KEY].redefine(new)
    base = request.app[SETTINGS_KEY].base_url
    return web.json_response(admin_view(new, await store.load(new.id), base))


async def delete_room(request: web.Request) -> web.Response:
    require_admin(request)
    room = await _room(request)
    if not await request.app[SIGNALING_KEY].delete_room(room):
        raise Refusal("not_found", "There is no such room.")
    return web.Response(status=204)


async def new_host_key(request: web.Request) -> web.Response:
    """A new facilitator link for the room; the old one stops working (facilitators already in the
    meeting stay in it)."""
    require_admin(request)
    room = await _room(request)
    if room.one_to_one:
        raise ProtocolError("bad_request", "A one-to-one room has no facilitator link.")
    host_key = new_secret()
    new = replace(room, host_key_hash=key_hash(host_key), revision=room.revision + 1)
    if not await request.app[STORE_KEY].update_room(new):
        raise Refusal("not_found", "There is no such room.")
    await request.app[SIGNALING_KEY].redefine(new)
    base = request.app[SETTINGS_KEY].base_url
    body = {"id": room.id, "facilitator_url": f"{base}/r/{room.id}#host={host_key}", "host_key": host_key}
    return web.json_response(body, headers=NO_STORE)


def add_room_admin_routes(app: web.Application, signaling: Signaling) -> None:
    app[SIGNALING_KEY] = signaling
    app.router.add_get("/api/rooms", list_rooms)
    app.router.add_patch("/api/rooms/{room_id}", edit_room)
    app.router.add_delete("/api/rooms/{room_id}", delete_room)
    app.router.add_post("/api/rooms/{room_id}/host-key", new_host_key)

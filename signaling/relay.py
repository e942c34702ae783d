"""The SDP/ICE relay of mesh media: signals go only between participants of the same room, and every
participant learns the ICE servers (with short-lived TURN credentials) it may use."""

from __future__ import annotations

from typing import Any

import socketio

from rooms import Refusal, RoomState
from rooms.model import Media
from server import auth
from server.settings import Settings
from signaling import protocol as p
from signaling.delivery import participant_room


async def relay_signal(sio: socketio.AsyncServer, state: RoomState, sender: str, msg: p.Signal) -> None:
    if msg.description is None and msg.candidate is None:
        raise Refusal("bad_request", "A signal needs a description or a candidate.")
    target = state.participants.get(msg.to)
    if target is None or msg.to == sender:
        raise Refusal("not_found", "There is no such participant in your room.")
    if target.media is Media.TEXT:
        raise Refusal("bad_request", "That participant takes part by text only.")
    payload: dict[str, Any] = {"from": sender}
    if msg.description is not None:
        payload["description"] = {"type": msg.description.type, "sdp": msg.description.sdp}
    if msg.candidate is not None:
        c = msg.candidate
        payload["candidate"] = {
            "candidate": c.candidate,
            "sdpMid": c.sdpMid,
            "sdpMLineIndex": c.sdpMLineIndex,
            "usernameFragment": c.usernameFragment,
        }
    await sio.emit("signal", payload, room=participant_room(msg.to))


def ice_config(settings: Settings, state: RoomState, participant_id: str) -> dict[str, Any]:
    """The `rtc:config` answer. A `relay_only` room keeps members' addresses from each other, which
    needs a TURN server; without one it cannot be honoured and media goes direct.

    With TURN credentials the answer has `ttl_s`, how long they stay valid: a member staying longer
    must ask again, since every connection they open later (to a newcomer, or an ICE restart)
    allocates on the TURN server anew, and coturn refuses a credential whose time is up."""
    s = settings
    servers: list[dict[str, Any]] = []
    if s.stun_urls:
        servers.append({"urls": list(s.stun_urls)})
    if s.turn_urls and s.turn_secret:
        username, credential = auth.turn_credentials(s.turn_secret, participant_id, s.turn_ttl_s)
        servers.append({"urls": list(s.turn_urls), "username": username, "credential": credential})
    policy = "relay" if state.room.relay_only and s.turn_urls and s.turn_secret else "all"
    answer: dict[str, Any] = {"ice_servers": servers, "mode": "mesh", "ice_transport_policy": policy}
    if s.turn_urls and s.turn_secret:
        answer["ttl_s"] = s.turn_ttl_s
    return answer

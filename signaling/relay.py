"""The SDP/ICE relay of mesh media: signals go only between participants of the same room, and every
participant learns the ICE servers (with short-lived TURN credentials) it may use."""

from __future__ import annotations

from typing import Any

import socketio

from rooms import Refusal, RoomState
from rooms.model import Media
from signaling import protocol as p
from signaling.config import SignalingConfig
from signaling.credentials import turn_credentials
from signaling.delivery import participant_channel
from signaling.events import SignalRelayed
from signaling.views import encode


async def relay_signal(sio: socketio.AsyncServer, state: RoomState, sender: str, msg: p.Signal) -> None:
    if msg.description is None and msg.candidate is None:
        raise Refusal("bad_request", "A signal needs a description or a candidate.")
    target = state.participants.get(msg.to)
    if target is None or msg.to == sender:
        raise Refusal("not_found", "There is no such participant in your room.")
    if target.media is Media.TEXT:
        raise Refusal("bad_request", "That participant takes part by text only.")
    relayed = SignalRelayed(sender, msg.description, msg.candidate)
    await sio.emit(relayed.event, encode(relayed), room=participant_channel(msg.to))


def ice_config(
    config: SignalingConfig, state: RoomState, participant_id: str, mode: str = "mesh"
) -> dict[str, Any]:
    """The `rtc:config` answer for a room whose media goes the way of `mode`. A `relay_only` room is on
    the SFU, where members only ever learn the server's address; with a TURN server it also goes
    through TURN.

    With TURN credentials the answer has `ttl_s`, how long they stay valid: a member staying longer
    must ask again, since every connection they open later (to a newcomer, or an ICE restart)
    allocates on the TURN server anew, and coturn refuses a credential whose time is up."""
    s = config
    servers: list[dict[str, Any]] = []
    if s.stun_urls:
        servers.append({"urls": list(s.stun_urls)})
    if s.turn_urls and s.turn_secret:
        username, credential = turn_credentials(s.turn_secret, participant_id, s.turn_ttl_s)
        servers.append({"urls": list(s.turn_urls), "username": username, "credential": credential})
    policy = "relay" if state.room.relay_only and s.turn_urls and s.turn_secret else "all"
    answer: dict[str, Any] = {
        "ice_servers": servers,
        "mode": mode,
        "ice_transport_policy": policy,
        "media_epoch": state.media_epoch,
    }
    if s.turn_urls and s.turn_secret:
        answer["ttl_s"] = s.turn_ttl_s
    return answer

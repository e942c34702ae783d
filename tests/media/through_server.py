"""aiortc peers that take part in a real server's SFU rooms as a browser does: over socket.io, with
`signal` to and from "sfu"."""

from __future__ import annotations

from typing import Any

from signaling.sfu import SdpMessage
from tests.media.peers import Peer
from tests.support.client import Member


class ThroughServer:
    """What a `Peer` asks of an SFU room, sent as the browser sends it: `signal` to "sfu"."""

    def __init__(self, member: Member) -> None:
        self.member = member
        self.offers: list[dict[str, Any]] = []

    async def join(self, participant: str) -> None:
        """Nothing to send: the server takes a member into the room's media at its first signal."""

    async def description(self, participant: str, pc: str, type: str, sdp: str) -> None:
        signal = {"to": "sfu", "pc": pc, "description": {"type": type, "sdp": sdp}}
        ack = await self.member.call("signal", signal, timeout=15)
        assert ack["ok"], ack


async def on_video(member: Member, **options: Any) -> Peer:
    """An aiortc peer publishing and receiving through the server for `member`."""
    via = ThroughServer(member)
    peer = Peer(member.id, via, **options)  # type: ignore[arg-type]

    async def signal(data: dict[str, Any]) -> None:
        member.events.append(("signal", data))
        if data.get("from") != "sfu":
            return
        via.offers.append(data)
        description = data["description"]
        message = SdpMessage(
            member.id, data["pc"], description["type"], description["sdp"], bool(data.get("restart"))
        )
        await peer.deliver(message)

    member.sio.on("signal", signal)
    await peer.join()
    return peer

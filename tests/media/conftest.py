from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aioice.ice
import pytest

from signaling.sfu import SdpMessage, SfuConfig, SfuRoom
from tests.media.peers import Peer


@pytest.fixture(autouse=True)
def peers_gather_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice skips 127.0.0.1 when it lists this host's addresses; the tests run where loopback is
    the only interface, so the test peers gather there. (The SFU binds the address it is given.)"""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


class Meeting:
    """An SFU room and the peers taking part in it."""

    def __init__(self, config: SfuConfig) -> None:
        self.peers: dict[str, Peer] = {}
        self.sent: list[SdpMessage] = []
        self.speaking: list[tuple[str, bool]] = []
        self.connection_states: list[tuple[str, str, str]] = []
        self.room = SfuRoom(
            "room-1",
            config,
            send=self._send,
            on_speaking=self._speaking,
            on_connection=lambda *change: self.connection_states.append(change),
        )

    async def _send(self, message: SdpMessage) -> None:
        self.sent.append(message)
        peer = self.peers.get(message.participant)
        if peer is not None:
            await peer.deliver(message)

    def _speaking(self, participant: str, speaking: bool) -> None:
        self.speaking.append((participant, speaking))

    def peer(self, participant: str, **options: object) -> Peer:
        peer = Peer(participant, self.room, **options)  # type: ignore[arg-type]
        self.peers[participant] = peer
        return peer

    async def join(self, participant: str, **options: object) -> Peer:
        peer = self.peer(participant, **options)
        await peer.join()
        return peer

    async def leave(self, participant: str) -> None:
        peer = self.peers.pop(participant)
        await self.room.remove(participant)
        await peer.close()

    async def close(self) -> None:
        await self.room.close()
        for peer in list(self.peers.values()):
            await peer.close()
        self.peers.clear()


@pytest.fixture
async def meeting_factory() -> AsyncIterator[Callable[..., Awaitable[Meeting]]]:
    made: list[Meeting] = []

    async def make(**config: object) -> Meeting:
        meeting = Meeting(SfuConfig(media_public_ip="127.0.0.1", **config))  # type: ignore[arg-type]
        made.append(meeting)
        return meeting

    yield make
    for meeting in made:
        await meeting.close()


@pytest.fixture
async def meeting(meeting_factory: Callable[..., Awaitable[Meeting]]) -> Meeting:
    return await meeting_factory()

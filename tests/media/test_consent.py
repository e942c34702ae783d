"""Consent freshness (RFC 7675) on the SFU's connections: the checks of a room's connections go out in
one round (one wake-up of the event loop for all, not a timer per connection), a member that answers
keeps its media flowing, and one that stops answering is disconnected as aioice would do it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import aioice.ice
import pytest

from signaling.sfu import aiortc_hooks as hooks
from tests.media.conftest import Meeting
from tests.media.peers import wait_for

INTERVAL_S = 0.3


@pytest.fixture
def consent_checks(monkeypatch: pytest.MonkeyPatch) -> dict[aioice.ice.Connection, list[float]]:
    """Short consent intervals, and when each connection sent each of its consent checks."""
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", INTERVAL_S)
    sent: dict[aioice.ice.Connection, list[float]] = {}
    build_request = aioice.ice.Connection.build_request

    def recording(self: aioice.ice.Connection, pair: aioice.ice.CandidatePair, nominate: bool) -> object:
        if not nominate:
            sent.setdefault(self, []).append(time.monotonic())
        return build_request(self, pair, nominate)

    monkeypatch.setattr(aioice.ice.Connection, "build_request", recording)
    return sent


def sfu_connections(meeting: Meeting) -> list[aioice.ice.Connection]:
    found = []
    for member in meeting.room._members.values():
        for pc in (member.publisher.pc, member.subscriber.pc):
            if pc is not None:
                found.append(hooks.transport_of(pc).transport.iceGatherer._connection)
    return found


async def test_consent_checks_of_every_sfu_connection_go_out_in_shared_rounds_and_keep_media_flowing(
    meeting_factory: Callable[..., Awaitable[Meeting]],
    consent_checks: dict[aioice.ice.Connection, list[float]],
) -> None:
    meeting = await meeting_factory()
    ada = await meeting.join("ada")
    bob = await meeting.join("bob")
    await wait_for(lambda: ada.frames["bob"] > 0 and bob.frames["ada"] > 0, timeout_s=10)
    connections = sfu_connections(meeting)
    assert len(connections) == 4
    await wait_for(lambda: all(len(consent_checks.get(c, [])) >= 5 for c in connections), timeout_s=10)

    # Each round's checks leave within a few milliseconds of each other; aioice's own timers
    # (one per connection, each at a random 0.8-1.2 times the interval) would spread them.
    # From the round in which the last of them took part on, every connection is in every round.
    start = max(consent_checks[c][0] for c in connections) - 0.05
    rounds = [[t for t in consent_checks[c] if t >= start][:3] for c in connections]
    for checks in zip(*rounds, strict=True):
        assert max(checks) - min(checks) < 0.05, checks

    frames = (ada.frames["bob"], bob.frames["ada"])
    await wait_for(lambda: ada.frames["bob"] > frames[0] and bob.frames["ada"] > frames[1], timeout_s=5)
    assert not any(state in ("failed", "closed") for _, _, state in meeting.connection_states)


async def test_a_member_that_stops_answering_consent_checks_is_disconnected(
    meeting_factory: Callable[..., Awaitable[Meeting]],
    consent_checks: dict[aioice.ice.Connection, list[float]],
) -> None:
    meeting = await meeting_factory()
    ada = await meeting.join("ada")
    bob = await meeting.join("bob")
    await wait_for(lambda: ada.frames["bob"] > 0 and bob.frames["ada"] > 0, timeout_s=10)

    # Bob's publish connection goes silent at once, as when a laptop lid closes: its socket is gone.
    assert bob.publish_pc is not None
    for protocol in hooks.transport_of(bob.publish_pc).transport.iceGatherer._connection._protocols:
        protocol.transport.close()

    # Six unanswered rounds (each waiting 0.5 s for its answer) close the SFU's side.
    await wait_for(
        lambda: any(
            (who, pc) == ("bob", "publish") and state in ("failed", "closed")
            for who, pc, state in meeting.connection_states
        ),
        timeout_s=15,
    )
    ada_states = [state for who, _, state in meeting.connection_states if who == "ada"]
    assert "failed" not in ada_states and "closed" not in ada_states

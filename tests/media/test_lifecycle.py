"""Members coming and going leave nothing behind: every peer connection, transport, socket, thread
and task the SFU made for them is freed."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
from collections import Counter

import aioice.ice
from aiortc import RTCPeerConnection
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceTransport

from signaling.sfu.forwarder import Output, Source
from tests.media.conftest import Meeting
from tests.media.peers import wait_for

COUNTED = (
    RTCPeerConnection,
    RTCDtlsTransport,
    RTCIceTransport,
    aioice.ice.Connection,
    aioice.ice.StunProtocol,
)


def resources() -> Counter[str]:
    gc.collect()
    counts: Counter[str] = Counter()
    for obj in gc.get_objects():
        if isinstance(obj, (*COUNTED, Source, Output)):
            counts[type(obj).__name__] += 1
        elif isinstance(obj, asyncio.DatagramTransport) and not obj.is_closing():
            counts["open UDP transports"] += 1
    counts["tasks"] = len(asyncio.all_tasks())
    # The event loop's executor (where aiortc encodes) grows its pool lazily; its threads are not ours.
    counts["threads"] = sum(1 for t in threading.enumerate() if not t.name.startswith("asyncio_"))
    counts["file descriptors"] = len(os.listdir("/proc/self/fd"))
    return counts


async def steady() -> Counter[str]:
    """The resources in use once closing connections have finished closing."""
    previous = resources()
    while True:
        await asyncio.sleep(0.3)
        current = resources()
        if current == previous:
            return current
        previous = current


async def cycle(meeting: Meeting, name: str) -> None:
    """`name` joins, sees and is seen by ada, and leaves."""
    ada = meeting.peers["ada"]
    guest = await meeting.join(name)
    await wait_for(lambda: guest.frames["ada"] > 0 and ada.frames[name] > 0, timeout_s=10)
    await meeting.leave(name)
    assert not guest.errors


async def settle(baseline: Counter[str]) -> None:
    """Wait for closing to finish (a peer connection closes over a few loop turns), then compare."""
    with contextlib.suppress(AssertionError):
        await wait_for(lambda: resources() == baseline, timeout_s=5, interval_s=0.2)
    assert resources() == baseline


async def test_fifty_members_joining_and_leaving_leak_no_task_transport_or_connection(
    meeting: Meeting,
) -> None:
    ada = await meeting.join("ada")
    await meeting.join("bo", audio=False, video=False)
    await wait_for(lambda: meeting.peers["bo"].frames["ada"] > 3, timeout_s=10)
    # A first guest makes ada's subscribe connection, which then stays for the meeting.
    await cycle(meeting, "guest-0")
    baseline = await steady()

    for i in range(1, 51):
        await cycle(meeting, f"guest-{i}")

    await settle(baseline)
    # ada's subscribe connection reuses the slots guests left, instead of growing by two each time.
    assert ada.subscribe_pc is not None
    server_side = meeting.room._members["ada"].subscriber
    assert len(server_side.slots) <= 4
    assert meeting.room.stats().participants == 2


async def test_closing_the_room_frees_everything(meeting_factory: object) -> None:
    baseline = resources()
    meeting: Meeting = await meeting_factory()  # type: ignore[operator]
    for name in ("ada", "bo", "cy"):
        await meeting.join(name)
    await wait_for(lambda: meeting.peers["cy"].frames["ada"] > 0, timeout_s=10)
    await meeting.close()
    await settle(baseline)

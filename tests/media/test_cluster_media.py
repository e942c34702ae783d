"""One room's media through one SFU across a cluster.

Members connected to either instance see and hear each other through the instance that hosts the
room's media; what a facilitator does on another instance is enforced there; and when the host is
killed, another instance takes the room's media and frames flow again once the members' pages have
started over (which the room's new media epoch tells them to).
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from harness.processes import CircleProcess
from tests.media.peers import Peer, held_back, wait_for
from tests.media.through_server import on_video
from tests.support.client import Member
from tests.support.processes import FAST_SETTINGS, running_cluster
from tests.support.servers import RedisServer

Connect = Callable[[str], Awaitable[Member]]
T = TypeVar("T")
TTL_S = FAST_SETTINGS["instance_ttl_s"]
# Long enough that nobody could take the host for dead within a test: what moves the media then is the
# host letting it go.
PATIENT = {**FAST_SETTINGS, "instance_ttl_s": 60.0}


def gauge(server: CircleProcess, name: str) -> float:
    """One of the server's `/metrics` gauges."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
    raise AssertionError(f"{name} is not in /metrics")


def hosts(cluster: list[CircleProcess]) -> list[float]:
    return [gauge(server, "circle_sfu_rooms") for server in cluster]


def everyone_sees_everyone(peers: list[Peer], frames: int = 5) -> Callable[[], bool]:
    ids = [peer.participant for peer in peers]

    def seen() -> bool:
        return all(
            peer.frames[other] > frames and peer.audio_frames[other] > frames
            for peer in peers
            for other in ids
            if other != peer.participant
        )

    return seen


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    made: list[Peer] = []
    yield made
    for peer in made:
        await peer.close()


async def three_on_video(
    survivor: CircleProcess, host: CircleProcess, connect: Connect, peers: list[Peer]
) -> tuple[Member, Member, Member]:
    """Bo on `host`, the first to need the room's media, so `host` carries it; Fran (facilitator) and
    Cy on `survivor`; all three seeing and hearing each other."""
    room = survivor.create_room(media_mode="sfu")
    bo = await connect(host.url)
    await bo.join(room["id"], "Bo")
    fran, cy = await connect(survivor.url), await connect(survivor.url)
    await fran.join(room["id"], "Fran", host_key=room["host_key"])
    await cy.join(room["id"], "Cy")
    for member in (bo, fran, cy):
        assert (await member.call("rtc:config"))["mode"] == "sfu"
        peers.append(await on_video(member))
    await wait_for(everyone_sees_everyone(peers), timeout_s=30)
    assert hosts([survivor, host]) == [0, 1]
    return bo, fran, cy


async def test_members_on_both_instances_see_and_hear_each_other_through_one_sfu(
    redis_server: RedisServer, tmp_path: Path, connect: Connect, peers: list[Peer]
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as cluster:
        first, second = cluster
        # Bo is the first to need the room's media: his instance hosts it. The facilitator and Cy
        # are on the other one.
        bo, fran, cy = await three_on_video(first, second, connect, peers)
        assert gauge(second, "circle_sfu_connections") == 6
        # Two tracks from each of three members, to each of the two others.
        assert gauge(second, "circle_sfu_forwarded_streams") == 12
        for member in (bo, fran, cy):
            assert {data["from"] for data in member.of("signal")} == {"sfu"}

        # A mute given on one instance holds on the other, where the media is: Cy's client goes on
        # sending, and Bo stops receiving it. Fran's own picture reaching Bo is the clock.
        bo_peer = peers[0]
        ack = await fran.call("mod:mute", {"id": cy.id, "audio": True, "video": True})
        assert ack["ok"], ack
        held = await held_back(bo_peer, cy.id, clock=lambda: bo_peer.frames[fran.id])
        ack = await cy.call("media:state", {"audio": True, "video": True})
        assert ack["ok"], ack
        await wait_for(lambda: bo_peer.frames[cy.id] > held[0] + 5, timeout_s=10)

        # Who is speaking is the host's word, told to members on both instances.
        cy_peer = peers[2]
        assert cy_peer.audio_track is not None
        cy_peer.audio_track.loud = True  # type: ignore[attr-defined]
        for member in (bo, fran):
            await member.wait_for(
                "participant:updated", lambda data: data["id"] == cy.id and data["speaking"], timeout=10
            )


async def test_killing_the_instance_that_hosts_the_media_moves_it_and_frames_resume(
    redis_server: RedisServer, tmp_path: Path, connect: Connect, peers: list[Peer]
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **FAST_SETTINGS) as cluster:
        survivor, victim = cluster
        bo, fran, cy = await three_on_video(survivor, victim, connect, peers)
        room_id, token = bo.joined["room"]["id"], bo.joined["resume_token"]

        killed_at = time.monotonic()
        victim.kill()
        # The survivor finds the host's heartbeat gone and lets go of it: everyone is told to start
        # their media over.
        for member in (fran, cy):
            await member.wait_for("room:updated", lambda data: data["media_epoch"] == 1, timeout=TTL_S + 5)
        told_s = time.monotonic() - killed_at

        # What a page does on a new epoch: new connections with the server.
        for peer in peers[1:]:
            await peer.close()
        fresh = [await on_video(fran), await on_video(cy)]
        peers[1:] = fresh
        await wait_for(everyone_sees_everyone(fresh), timeout_s=20)
        resumed_s = time.monotonic() - killed_at
        assert hosts([survivor]) == [1]

        # Bo's connection died with his instance; he comes back through the survivor and is seen and
        # sees the others again.
        back = await connect(survivor.url)
        ack = await back.join(room_id, "Bo", resume_token=token)
        assert ack["ok"] and back.id == bo.id, ack
        await peers[0].close()
        peers[0] = await on_video(back)
        await wait_for(everyone_sees_everyone(peers), timeout_s=20)
        print(f"failover: told after {told_s:.1f} s, frames again after {resumed_s:.1f} s")
        assert resumed_s < TTL_S + 20


async def start_over(members: tuple[Member, ...], peers: list[Peer]) -> list[Peer]:
    """What a page does when the room's media epoch grows: new connections with the server."""
    for member in members:
        await member.wait_for("room:updated", lambda data: data["media_epoch"] == 1, timeout=10)
    for peer in peers:
        await step(peer.close(), "closing a peer whose server went away")
    fresh = [await step(on_video(member), "offering to the new host") for member in members]
    await wait_for(everyone_sees_everyone(fresh), timeout_s=20)
    return fresh


async def step(work: Awaitable[T], what: str, timeout_s: float = 20) -> T:
    """`work`, failing the test with `what` if it takes longer than `timeout_s`."""
    try:
        return await asyncio.wait_for(work, timeout_s)
    except TimeoutError:
        raise AssertionError(f"{what}: no end after {timeout_s} s") from None


async def test_a_stopping_host_lets_the_media_go_at_once_and_the_other_instance_takes_it(
    redis_server: RedisServer, tmp_path: Path, connect: Connect, peers: list[Peer]
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **PATIENT) as cluster:
        survivor, host = cluster
        _, fran, cy = await three_on_video(survivor, host, connect, peers)
        stopping = asyncio.ensure_future(asyncio.to_thread(host.stop))
        await fran.wait_for("room:updated", lambda data: data["media_epoch"] == 1, timeout=10)
        # An answer left over from the connection with the host that went makes nobody the host:
        # only a fresh offer does.
        late = {"type": "answer", "sdp": "v=0\r\n"}
        ack = await fran.call("signal", {"to": "sfu", "pc": "subscribe", "description": late})
        assert ack["error"]["code"] == "bad_request" and "ended" in ack["error"]["message"], ack
        assert hosts([survivor]) == [0]
        peers[1:] = await start_over((fran, cy), peers[1:])
        assert await step(stopping, "the host stopping") == 0
        assert hosts([survivor]) == [1]


async def test_a_host_restarted_under_the_same_name_lets_go_of_what_it_carried_before(
    redis_server: RedisServer, tmp_path: Path, connect: Connect, peers: list[Peer]
) -> None:
    redis_server.flush()
    with running_cluster(2, tmp_path, redis_server.url, **PATIENT) as cluster:
        survivor, host = cluster
        _, fran, cy = await three_on_video(survivor, host, connect, peers)
        host.kill()
        host.launch()
        await asyncio.to_thread(host.wait_ready)
        # Back well within its heartbeat's life, so nobody took it for dead: it says itself that its
        # rooms' media is gone.
        peers[1:] = await start_over((fran, cy), peers[1:])
        assert sum(hosts(cluster)) == 1

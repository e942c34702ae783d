"""Stopping an instance without stranding its members: refuse new connections, tell each client, give
them time to move to another instance, then close whoever is left."""

from __future__ import annotations

import asyncio
import logging

import socketio

from signaling.connections import Connections
from signaling.events import ServerClosing
from signaling.ports import NO_METRICS, Metrics
from signaling.views import encode

log = logging.getLogger("circle.signaling")


class Drain:
    def __init__(self, sio: socketio.AsyncServer, conns: Connections, metrics: Metrics = NO_METRICS) -> None:
        self._sio = sio
        self._conns = conns
        self._metrics = metrics
        self.closing = False

    async def run(self, drain_s: float) -> None:
        """Refuse new connections, tell every local client the server is going away, and give them
        up to `drain_s` to disconnect themselves: a client that knows `server:closing` does so and
        reconnects at once (behind a load balancer, to another instance). Then disconnect whoever
        is left."""
        if not self.closing:
            self._metrics.drain_began()
        self.closing = True
        for conn in self._conns:
            try:
                await self._sio.emit(ServerClosing.event, encode(ServerClosing()), to=conn.sid)
            except Exception:
                log.exception("could not tell %s", conn.sid, extra={"conn": conn.sid})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_s
        while len(self._conns) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        left = list(self._conns)
        self._metrics.drain_closed(len(left))
        for conn in left:
            try:
                await self._sio.disconnect(conn.sid)
            except Exception:
                log.exception("could not close %s", conn.sid, extra={"conn": conn.sid})

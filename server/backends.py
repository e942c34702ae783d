"""Choose the store and the bus: memory by default, Redis when configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import socketio

from server.memory_bus import MemoryBus
from server.memory_store import MemoryStore
from server.settings import Settings
from signaling.ports import Bus, Store

if TYPE_CHECKING:
    from server.redis_backend import RedisLink


@dataclass(frozen=True)
class Backends:
    store: Store
    bus: Bus
    # The same object as `bus`: the socket.io client manager it carries emits through.
    manager: socketio.AsyncManager
    # The Redis connection, when there is one: whether it answers, and how often it came back.
    redis: RedisLink | None = None


def make_backends(settings: Settings, instance_id: str) -> Backends:
    if settings.redis_url:
        from server.redis_backend import make_redis_backends

        store, bus, link = make_redis_backends(settings, instance_id)
        return Backends(store, bus, bus, link)
    bus = MemoryBus()
    return Backends(MemoryStore(settings.data_dir, settings.chat_resend_window_s), bus, bus)

"""Choose the store and the bus: memory by default, Redis when configured."""

from __future__ import annotations

from dataclasses import dataclass

import socketio

from server.memory_bus import MemoryBus
from server.memory_store import MemoryStore
from server.settings import Settings
from signaling.ports import Bus, Store


@dataclass(frozen=True)
class Backends:
    store: Store
    bus: Bus
    # The same object as `bus`: the socket.io client manager it carries emits through.
    manager: socketio.AsyncManager


def make_backends(settings: Settings, instance_id: str) -> Backends:
    if settings.redis_url:
        from server.redis_backend import make_redis_backends

        store, bus = make_redis_backends(settings, instance_id)
        return Backends(store, bus, bus)
    bus = MemoryBus()
    return Backends(MemoryStore(settings.data_dir, settings.chat_resend_window_s), bus, bus)

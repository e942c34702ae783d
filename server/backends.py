"""Choose the store and the socket.io client manager: memory by default, Redis when configured."""

from __future__ import annotations

import socketio

from server.memory_store import MemoryStore
from server.settings import Settings
from server.store import Store
from signaling.fastpath import BroadcastOnce


def make_backends(settings: Settings, instance_id: str) -> tuple[Store, socketio.AsyncManager]:
    if settings.redis_url:
        from server.redis_backend import make_redis_backends

        return make_redis_backends(settings, instance_id)
    return MemoryStore(settings.data_dir), BroadcastOnce()

"""The bus of a single instance: socket.io's own in-process client manager, with each broadcast
written once for all its recipients (`BroadcastOnce`). Every socket is local, so nothing is ever
missed and nothing arrives twice."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from signaling.fastpath import BroadcastOnce
from signaling.ports import GapHandler, NoticeHandler, Publication, Screen


class MemoryBus(BroadcastOnce):
    @property
    def hears_cluster(self) -> bool:
        return True

    @property
    def spans_instances(self) -> bool:
        return False

    def on_gap(self, handler: GapHandler) -> None:
        return None

    def screen(self, deliver: Screen) -> None:
        return None

    def on_notice(self, handler: NoticeHandler) -> None:
        return None

    async def notify(self, notice: dict[str, Any], to: str | None = None) -> None:
        # No other instance to hear it.
        return None

    def publication(
        self, event: str, payload: dict[str, Any], channel: str | list[str], instances: Collection[str]
    ) -> Publication | None:
        # No other instance to publish to: an emit delivers everything.
        return None

    async def close(self) -> None:
        return None

"""The socket.io connections on this instance: who each one is in which room, and its rate limits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from signaling.config import SignalingConfig
from signaling.ratelimit import TokenBucket


@dataclass
class Conn:
    """One socket.io connection on this instance."""

    sid: str
    join: TokenBucket
    chat: TokenBucket
    signal: TokenBucket
    # chat:history: each answer can be a page of long messages.
    history: TokenBucket
    # Every other event, unknown ones included.
    action: TokenBucket
    # Hands raised and lowered: each also counts as an action, and is told to the whole room.
    hand: TokenBucket
    # The keyed hash of the address it came from ("" when unknown), for the limits per address and bans.
    address_hash: str = ""
    room_id: str | None = None
    participant_id: str | None = None
    # How the participant takes part ("av", "audio" or "text"), once joined.
    media: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionCounts:
    """How many connections this instance holds, how many of them joined a room (and of those, how
    many take part by each media mode), and in how many rooms."""

    connections: int
    participants: int
    rooms: int
    by_media: Mapping[str, int] = field(default_factory=dict)


class Connections:
    def __init__(self, config: SignalingConfig) -> None:
        self._config = config
        self._conns: dict[str, Conn] = {}

    def open(self, sid: str, address_hash: str = "") -> Conn:
        c = self._config
        conn = self._conns[sid] = Conn(
            sid=sid,
            join=TokenBucket(c.join_burst, c.join_rate_per_s),
            chat=TokenBucket(c.chat_burst, c.chat_rate_per_s),
            signal=TokenBucket(c.signal_burst, c.signal_rate_per_s),
            history=TokenBucket(c.history_burst, c.history_rate_per_s),
            action=TokenBucket(c.action_burst, c.action_rate_per_s),
            hand=TokenBucket(c.hand_burst, c.hand_rate_per_s),
            address_hash=address_hash,
        )
        return conn

    def close(self, sid: str) -> Conn | None:
        return self._conns.pop(sid, None)

    def get(self, sid: str) -> Conn | None:
        return self._conns.get(sid)

    def __contains__(self, sid: object) -> bool:
        return sid in self._conns

    def __len__(self) -> int:
        return len(self._conns)

    def __iter__(self) -> Iterator[Conn]:
        return iter(list(self._conns.values()))

    def live(self) -> frozenset[str]:
        """The ids of the connections open now."""
        return frozenset(self._conns)

    def rooms(self) -> frozenset[str]:
        """Rooms with a participant connected here."""
        return frozenset(c.room_id for c in self._conns.values() if c.room_id)

    @staticmethod
    def rate_limit(conn: Conn, event: str, now: float) -> int:
        """0 when `conn` may send `event` now (`now`: a monotonic clock in seconds), else how many ms
        until it may. Each kind of event has its own bucket, so a flood of one never holds up another."""
        if event == "join":
            return conn.join.take(now)
        # A milestone is a chat message, and paced as one.
        if event in ("chat:send", "milestone:share"):
            return conn.chat.take(now)
        if event == "chat:history":
            return conn.history.take(now)
        if event == "signal":
            return conn.signal.take(now)
        if event in ("hand:raise", "hand:lower"):
            return conn.action.take(now) or conn.hand.take(now)
        return conn.action.take(now)

    def counts(self) -> ConnectionCounts:
        joined = [c for c in self._conns.values() if c.participant_id]
        by_media = Counter(c.media for c in joined if c.media)
        return ConnectionCounts(len(self._conns), len(joined), len(self.rooms()), dict(by_media))

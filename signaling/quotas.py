"""Limits that many connections share: per address, per room, and per address in a room.

A connection's own buckets (`signaling.connections`) stop one socket from flooding; they do nothing
against fifty fresh sockets from one script. These buckets are keyed by what the sockets have in
common: the hash of their address, the room they are in. Each instance keeps its own (a cluster's load
balancer sends one address to one instance, and the per-connection limits still hold everywhere).
"""

from __future__ import annotations

from collections import OrderedDict

from signaling.config import SignalingConfig
from signaling.connections import Conn
from signaling.ratelimit import TokenBucket

# Plenty for the addresses and rooms one instance sees at once; beyond it the least recently used go.
MAX_KEYS = 10_000

HAND_EVENTS = frozenset({"hand:raise", "hand:lower"})


class KeyedBuckets:
    """A token bucket per key, each with `burst` and `rate_per_s`, for at most `max_keys` keys (the
    least recently used are forgotten first: a bucket left alone long enough is full anyway)."""

    def __init__(self, burst: int, rate_per_s: float, max_keys: int = MAX_KEYS) -> None:
        self._burst = burst
        self._rate_per_s = rate_per_s
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._burst, self._rate_per_s)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def take(self, key: str, now: float) -> int:
        """0 when `key` may go now (`now`: monotonic seconds), else how many ms until it may."""
        return self._bucket(key).take(now)

    def wait_ms(self, key: str, now: float) -> int:
        """How many ms until `key` may go (0: now), without taking anything."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0
        probe = TokenBucket(bucket.burst, bucket.rate_per_s, bucket.tokens, bucket.updated)
        return probe.take(now)

    def give_back(self, key: str) -> None:
        """Return a token taken from `key`'s bucket (for something that turned out not to count)."""
        bucket = self._buckets.get(key)
        if bucket is not None and bucket.tokens >= 0:
            bucket.tokens = min(float(bucket.burst), bucket.tokens + 1.0)

    def __len__(self) -> int:
        return len(self._buckets)


class Quotas:
    """Join attempts per address, chat per address in a room, and hand flips per room."""

    def __init__(self, config: SignalingConfig) -> None:
        c = config
        self._joins = KeyedBuckets(c.join_address_burst, c.join_address_rate_per_s)
        self._chat = KeyedBuckets(c.chat_address_burst, c.chat_address_rate_per_s)
        # Every hand raised or lowered is told to the whole room twice over (the person, the queue):
        # fifty sockets flipping theirs would bury everyone's client in updates.
        self._hands = KeyedBuckets(c.hand_room_burst, c.hand_room_rate_per_s)

    def take(self, conn: Conn, event: str, now: float) -> int:
        """0 when `conn` may send `event` now as far as what it shares with others goes, else how many
        ms until it may (`now`: monotonic seconds)."""
        if event == "join":
            return self._joins.take(conn.address_hash, now)
        if conn.room_id is None:
            return 0
        if event == "chat:send":
            return self._chat.take(f"{conn.address_hash} {conn.room_id}", now)
        if event in HAND_EVENTS:
            return self._hands.take(conn.room_id, now)
        return 0

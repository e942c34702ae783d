"""`POST /api/rooms/{id}/host-check`: is this facilitator key the room's? The join page asks as soon as
it opens a facilitator link, so that a wrong link is said at once, not after the form is filled in.

The key travels in the request body only, never in a URL (which logs and Referer headers keep). Each
client address may ask `host_check_burst` times at once, then `host_check_rate_per_s`, as a connection
may join: a check answers no more than a join would, but costs the asker less.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from aiohttp import web

from rooms import Refusal
from server.api import SETTINGS_KEY, STORE_KEY
from signaling.addresses import client_address, parse_networks
from signaling.credentials import key_matches
from signaling.protocol import ProtocolError, decode_into, required
from signaling.ratelimit import TokenBucket


@dataclass(frozen=True, slots=True)
class HostCheck:
    """POST /api/rooms/{id}/host-check body."""

    host_key: str = required(min_len=1, max_len=128)


class AddressBuckets:
    """A token bucket per client address. A bucket that has filled up again is the same as a new one,
    so such buckets are forgotten whenever the table has doubled since it was last pruned: it holds
    no more addresses than asked within one refill time."""

    def __init__(self, burst: int, rate_per_s: float) -> None:
        self._burst = burst
        self._rate_per_s = rate_per_s
        self._buckets: dict[str, TokenBucket] = {}
        self._prune_at = 64

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, address: str, now: float) -> int:
        """0 when `address` may ask now (`now`: a monotonic clock, seconds), else ms until it may."""
        if len(self._buckets) >= self._prune_at:
            self._buckets = {a: b for a, b in self._buckets.items() if not self._full(b, now)}
            self._prune_at = max(64, 2 * len(self._buckets))
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = TokenBucket(self._burst, self._rate_per_s)
        return bucket.take(now)

    def _full(self, bucket: TokenBucket, now: float) -> bool:
        return bucket.tokens + (now - bucket.updated) * self._rate_per_s >= self._burst


BUCKETS_KEY: web.AppKey[AddressBuckets] = web.AppKey("host_check_buckets", AddressBuckets)


async def host_check(request: web.Request) -> web.Response:
    # Behind nginx, the client's address as the trusted proxy names it: else everyone shares nginx's.
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", ())) or None
    trusted = parse_networks(request.app[SETTINGS_KEY].trusted_proxies)
    address = client_address(request.remote, forwarded, trusted) or ""
    retry = request.app[BUCKETS_KEY].take(address, time.monotonic())
    if retry:
        message = "Too many checks in a short time. Please wait a moment."
        raise Refusal("rate_limited", message, retry_after_ms=retry)
    settings = request.app[SETTINGS_KEY]
    too_large = ProtocolError("too_large", "The request body is too large.")
    if request.content_length is not None and request.content_length > settings.max_frame_bytes:
        raise too_large
    try:
        body = json.loads(await request.text())
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("bad_request", "The body must be a JSON object.") from None
    spec: HostCheck = decode_into(HostCheck, body)
    room = await request.app[STORE_KEY].get_room(request.match_info["room_id"])
    if room is None:
        raise Refusal("not_found", "There is no meeting at this link.")
    if not key_matches(spec.host_key, room.host_key_hash):
        raise Refusal("forbidden", "This facilitator link is not valid for this room.")
    return web.json_response({"ok": True})


def add_host_check_route(app: web.Application) -> None:
    settings = app[SETTINGS_KEY]
    app[BUCKETS_KEY] = AddressBuckets(settings.host_check_burst, settings.host_check_rate_per_s)
    app.router.add_post("/api/rooms/{room_id}/host-check", host_check)

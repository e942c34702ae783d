"""The Engine.IO sessions under this instance's socket.io connections: where each comes from, how many
one address holds, and how long one may stay without joining a room.

A session costs memory and a ping every `ping_interval` for as long as it is open, whether or not it
ever connects to socket.io's namespace or joins a room; so the cap and the deadline hold from the
Engine.IO handshake on, not from socket.io's `connect`. The address is known only here, at the
handshake, and only its keyed hash is kept (put into the handshake's environ for `connect` to read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from signaling.addresses import AddressHasher, environ_address, parse_networks
from signaling.config import SignalingConfig

ADDRESS_HASH = "circle.address_hash"
"""The environ key under which a handshake's address hash is kept."""
SESSION = "circle.session"
"""The environ key under which a handshake's Engine.IO session id is kept."""


@dataclass
class _Session:
    address_hash: str
    # Since when (monotonic seconds) no socket.io connection of this session has been in a room.
    idle_since: float
    sids: set[str] = field(default_factory=set)


class Transports:
    """Engine.IO sessions open on this instance. `hasher()` gives the current address hasher (it
    changes once, when the server's secret key is known)."""

    def __init__(self, config: SignalingConfig, hasher: Callable[[], AddressHasher]) -> None:
        self._config = config
        self._hasher = hasher
        self._trusted = parse_networks(config.trusted_proxies)
        self._sessions: dict[str, _Session] = {}
        self._per_address: Counter[str] = Counter()

    def address_hash(self, environ: dict[str, Any]) -> str:
        """The keyed hash of the address a handshake came from ("" when it cannot be told)."""
        known = environ.get(ADDRESS_HASH)
        if isinstance(known, str):
            return known
        return self._hasher().hash(environ_address(environ, self._trusted)) or ""

    def open(self, eio_sid: str, environ: dict[str, Any], now: float) -> dict[str, str] | None:
        """A new session (`now`: monotonic seconds); an error object when its address holds too many."""
        address_hash = self.address_hash(environ)
        if self._per_address[address_hash] >= self._config.max_connections_per_address:
            return {
                "code": "rate_limited",
                "message": "There are too many connections from your network. Please close some and try"
                " again.",
            }
        environ[ADDRESS_HASH], environ[SESSION] = address_hash, eio_sid
        self._sessions[eio_sid] = _Session(address_hash, now)
        self._per_address[address_hash] += 1
        return None

    def close(self, eio_sid: str) -> None:
        session = self._sessions.pop(eio_sid, None)
        if session is None:
            return
        self._per_address[session.address_hash] -= 1
        if self._per_address[session.address_hash] <= 0:
            del self._per_address[session.address_hash]

    def attach(self, environ: dict[str, Any], sid: str) -> None:
        """Socket.io connection `sid` runs over the session whose handshake had `environ`."""
        session = self._sessions.get(environ.get(SESSION, ""))
        if session is not None:
            session.sids.add(sid)

    def overdue(self, now: float, joined: Callable[[str], bool]) -> list[str]:
        """Sessions none of whose connections has joined a room (`joined(sid)`, the waiting room
        included) for `join_deadline_s`; a session seen joined starts its time again (from a leave)."""
        deadline = self._config.join_deadline_s
        late = []
        for eio_sid, session in self._sessions.items():
            if any(joined(sid) for sid in session.sids):
                session.idle_since = now
            elif now - session.idle_since >= deadline:
                late.append(eio_sid)
        return late

    def count(self, address_hash: str) -> int:
        return self._per_address[address_hash]

    def __len__(self) -> int:
        return len(self._sessions)

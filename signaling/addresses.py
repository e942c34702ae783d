"""Where a client comes from, and the only form in which Circle keeps it: a keyed hash.

The address is the socket's peer, or, when that peer is one of the `trusted_proxies`, the nearest
address in `X-Forwarded-For` that is not a trusted proxy itself (the entries further left were written
by the client and prove nothing). An IPv6 address counts by its /64 network: one household or phone
gets a whole /64 and picks new addresses inside it at will.

The hash is an HMAC under a key derived from the server's secret key, so that it matches across
instances and restarts, cannot be reversed by trying every IPv4 address without that key, and never
lets a store, a log or a dump show the address itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks ("10.0.0.0/8", "::1"); a ValueError names a bad one."""
    networks = []
    for spec in specs:
        try:
            networks.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{spec!r} is not an IP address or network") from None
    return tuple(networks)


def _parse(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        # "[2001:db8::1]:443", as some proxies write it.
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        # "192.0.2.1:51234"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(peer: str | None, forwarded_for: str | None, trusted: Iterable[IPNetwork]) -> str | None:
    """The client's address: `peer`, or, when `peer` is a trusted proxy, the nearest untrusted address
    `forwarded_for` (the X-Forwarded-For header, every occurrence joined by commas) names."""
    nearest = _parse(peer or "")
    if nearest is None:
        return None
    trusted = tuple(trusted)

    def is_trusted(a: IPAddress) -> bool:
        return any(a.version == n.version and a in n for n in trusted)

    if forwarded_for and is_trusted(nearest):
        for hop in reversed(forwarded_for.split(",")):
            address = _parse(hop)
            if address is None:
                # A hop no proxy of ours wrote: go no further than the last one we can trust.
                break
            nearest = address
            if not is_trusted(address):
                break
    return str(nearest)


def environ_address(environ: dict[str, Any], trusted: Iterable[IPNetwork]) -> str | None:
    """The client's address for a socket.io (Engine.IO) handshake, from the aiohttp request it came in
    (Engine.IO's own `REMOTE_ADDR` is a fixed placeholder under aiohttp)."""
    request = environ.get("aiohttp.request")
    peer = getattr(request, "remote", None) if request is not None else environ.get("REMOTE_ADDR")
    return client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"), trusted)


class AddressHasher:
    """Keyed hashes of addresses, under a key derived from `secret` (the server's secret key)."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"circle client address", hashlib.sha256).digest()

    def hash(self, address: str | None) -> str | None:
        """The address's keyed hash (an IPv6 address by its /64), None for an unknown address."""
        parsed = _parse(address or "")
        if parsed is None:
            return None
        text = str(parsed)
        if isinstance(parsed, ipaddress.IPv6Address):
            text = str(ipaddress.IPv6Network((parsed, 64), strict=False))
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]

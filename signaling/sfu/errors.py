"""The one error the SFU raises at its callers: bad input from a member's browser."""

from __future__ import annotations

from signaling.protocol import ProtocolError


class SfuError(ProtocolError):
    """A member's SDP or candidate the SFU cannot use: answered with `code` (`bad_request`, or
    `unavailable` when the server is out of media ports) and a sentence saying what is wrong; the
    member's connection to the server is kept."""

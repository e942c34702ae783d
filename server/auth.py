"""The admin token of the HTTP API. Every other secret (host keys, passcodes, resume tokens, TURN
credentials) is in `signaling.credentials`, shared with signalling."""

from __future__ import annotations

import hmac


def token_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())

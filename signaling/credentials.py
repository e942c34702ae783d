"""Secrets shared by the HTTP API and signalling: ids and random secrets, host and browser keys,
passcodes, signed resume tokens, TURN credentials.

Every comparison is constant-time. Host keys and browser keys are stored only as hashes; passcodes as
salted scrypt hashes; resume tokens are not stored at all: they are signed (HMAC-SHA256) and name the
participant and its resume generation, so any instance with the same key can check them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def new_secret(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def new_id(nbytes: int = 9) -> str:
    """A random id, URL-safe, that never starts with "-" or "_": on a command line one starting with
    "-" reads as an option (`circle rooms delete -x…`)."""
    while True:
        made = secrets.token_urlsafe(nbytes)
        if made[0] not in "-_":
            return made


def key_hash(key: str) -> str:
    """Hash of a high-entropy key (host key, browser key): no salt needed, fast to check."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, expected_hash: str) -> bool:
    return hmac.compare_digest(key_hash(key), expected_hash)


def passcode_hash(passcode: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(passcode.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def passcode_matches(passcode: str, stored: str) -> bool:
    try:
        _, salt_hex, digest_hex = stored.split("$")
        digest = hashlib.scrypt(passcode.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


@dataclass(frozen=True, slots=True)
class ResumeClaim:
    room_id: str
    participant_id: str
    generation: int


class Signer:
    """HMAC signatures over short texts, for tokens any instance sharing the key can verify."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def _mac(self, body: str) -> str:
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode()

    def resume_token(self, room_id: str, participant_id: str, generation: int) -> str:
        body = base64.urlsafe_b64encode(f"{room_id}\n{participant_id}\n{generation}".encode()).decode()
        return f"{body}.{self._mac(body)}"

    def check_resume_token(self, token: str) -> ResumeClaim | None:
        body, _, mac = token.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            room_id, participant_id, generation = base64.urlsafe_b64decode(body.encode()).decode().split("\n")
            return ResumeClaim(room_id, participant_id, int(generation))
        except ValueError:
            return None


def turn_credentials(secret: str, user: str, ttl_s: int, now: float | None = None) -> tuple[str, str]:
    """coturn's REST-API scheme: username `expiry:user`, password base64(HMAC-SHA1(secret, username))."""
    expiry = int((now if now is not None else time.time()) + ttl_s)
    username = f"{expiry}:{user}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest())
    return username, password.decode()

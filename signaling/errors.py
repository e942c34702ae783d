"""Every failure, mapped to its answer in one place, for socket.io and HTTP alike.

- bad input (`ProtocolError`) and refusals (`Refusal`): the code and sentence; a socket stays open;
- a backend that is down (`Unavailable`): `unavailable`, so the sender knows to retry;
- anything else: `internal` for the client, the full traceback in the log (never the message content).

Both transports send the same `{"code", "message", ...}` object (an `Error`): socket.io as the `error`
of a failed acknowledgement (or of the `error` event), HTTP as the `error` of the response body, with
the status `CODES` gives.
"""

from __future__ import annotations

import logging
from typing import Any

from rooms import Refusal
from signaling.lograte import LogRate, unbounded
from signaling.ports import Unavailable
from signaling.protocol import ProtocolError
from signaling.views import ChatMessageView, ErrorBody, encode

log = logging.getLogger("circle.signaling")

CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "shape, type, unknown event or field, a field over its length"),
    "unauthorized": (401, "HTTP only: a missing or wrong admin token"),
    "not_found": (404, "no such room, or no such participant in your room"),
    "wrong_passcode": (403, "the room's passcode was not given or is wrong"),
    "room_locked": (403, "a facilitator locked the room"),
    "room_full": (403, "the room has as many people as it may"),
    "banned": (403, "removed from this room for good"),
    "forbidden": (403, "your role lacks the right, or you are still in the waiting room"),
    "not_joined": (409, "join a room first"),
    "rate_limited": (429, "sending too fast; `retry_after_ms` says when to try again"),
    "too_large": (
        413,
        "HTTP only: a request body over `max_frame_bytes` (over socket.io such a frame closes the"
        " connection instead)",
    ),
    "unavailable": (503, "a backend (Redis) is unreachable; try again"),
    "internal": (500, "a fault in the server; try again"),
}
"""Every error code: its HTTP status and what it means."""

INTERNAL = "Something went wrong on the server. Please try again."

_EVERY_LINE = unbounded()


def error_of(
    exc: BaseException, what: str, who: str, log_rate: LogRate | None = None
) -> tuple[ErrorBody, dict[str, Any]]:
    """The error to answer for `exc`, raised while handling `what` (an event or a route) for `who`
    (a connection id, or "http"), and any further details it carries. Logs it, without content,
    as often as `log_rate` allows (each code a kind of line of its own)."""
    rate = log_rate if log_rate is not None else _EVERY_LINE
    if isinstance(exc, ProtocolError):
        rate.log(
            log,
            logging.INFO,
            f"bad input {exc.code}",
            "bad input on %s from %s: %s",
            what,
            who,
            exc.code,
            extra=_fields(what, who, exc.code),
        )
        return ErrorBody(exc.code, exc.message), {}
    if isinstance(exc, Refusal):
        rate.log(
            log,
            logging.INFO,
            f"refused {exc.code}",
            "refused %s from %s: %s",
            what,
            who,
            exc.code,
            extra=_fields(what, who, exc.code),
        )
        details = dict(exc.details)
        body = ErrorBody(
            exc.code,
            exc.message,
            retry_after_ms=details.pop("retry_after_ms", None),
            scope=details.pop("scope", None),
            guidelines_version=details.pop("guidelines_version", None),
        )
        return body, details
    if isinstance(exc, Unavailable):
        rate.log(
            log,
            logging.WARNING,
            "unavailable",
            "backend unavailable during %s from %s",
            what,
            who,
            extra=_fields(what, who, "unavailable"),
        )
        stored = exc.details.get("stored")
        if isinstance(stored, ChatMessageView):
            message = "Your message is saved but may not have reached everyone yet; no need to send it again."
            return ErrorBody("unavailable", message, stored=stored), {}
        return ErrorBody("unavailable", "The server can't reach its storage right now. Please try again."), {}
    rate.log(
        log,
        logging.ERROR,
        "internal",
        "internal error on %s from %s",
        what,
        who,
        exc_info=exc,
        extra=_fields(what, who, "internal"),
    )
    return ErrorBody("internal", INTERNAL), {}


def _fields(what: str, who: str, code: str) -> dict[str, str]:
    """A failure's structured log fields: the event or route, the connection (or "http"), the code."""
    return {"on": what, "conn": who, "code": code}


def error_json(exc: BaseException, what: str, who: str, log_rate: LogRate | None = None) -> dict[str, Any]:
    """The `error` object sent for `exc` (see `error_of`)."""
    body, details = error_of(exc, what, who, log_rate)
    return {**encode(body), **details}


def to_ack(exc: BaseException, event: str, conn: str, log_rate: LogRate | None = None) -> dict[str, Any]:
    """The failed acknowledgement of a socket.io event."""
    return {"ok": False, "error": error_json(exc, event, conn, log_rate)}


def http_status(code: str) -> int:
    return CODES.get(code, (500, ""))[0]

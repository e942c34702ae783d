"""Every failure of a client event, mapped to its acknowledgement in one place.

- bad input (`ProtocolError`) and refusals (`Refusal`): the code and sentence, the connection stays;
- a backend that is down (`Unavailable`): `unavailable`, so the sender knows to retry;
- anything else: `internal` for the client, the full traceback in the log (never the message content).
"""

from __future__ import annotations

import logging
from typing import Any

from rooms import Refusal
from signaling.ports import Unavailable
from signaling.protocol import ProtocolError, error_body

log = logging.getLogger("circle.signaling")


def to_ack(exc: BaseException, event: str, conn: str) -> dict[str, Any]:
    if isinstance(exc, ProtocolError):
        log.info("bad input on %s from %s: %s", event, conn, exc.code)
        return error_body(exc.code, exc.message)
    if isinstance(exc, Refusal):
        log.info("refused %s from %s: %s", event, conn, exc.code)
        return error_body(exc.code, exc.message, **exc.details)
    if isinstance(exc, Unavailable):
        log.warning("backend unavailable during %s from %s", event, conn)
        if "stored" in exc.details:
            return error_body(
                "unavailable",
                "Your message is saved but may not have reached everyone yet; no need to send it again.",
                **exc.details,
            )
        return error_body("unavailable", "The server can't reach its storage right now. Please try again.")
    log.error("internal error on %s from %s", event, conn, exc_info=exc)
    return error_body("internal", "Something went wrong on the server. Please try again.")

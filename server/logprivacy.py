"""The process's log holds to Circle's rule whoever writes to it: no client's address in any line, and
a request that is not HTTP is one short line, never a traceback.

Circle's own lines name connections by id. The libraries it runs on do not hold to the rule: aiohttp
logs a request it cannot parse as "Error handling request from <address>" with the parser's
traceback, at ERROR, for anyone who sends garbage to the port. `install` puts a filter on the log's
handlers that rewrites each record before it is written:

- a record about a request aiohttp could not parse (`aiohttp.http_exceptions`) becomes
  "bad HTTP request: <kind>" at INFO, without its traceback, as often as the LogRate allows;
- in every other record, each IP address (in the message and in a traceback's text) becomes
  "[address]".
"""

from __future__ import annotations

import ipaddress
import logging
import re
import weakref

from aiohttp.http_exceptions import HttpProcessingError

from signaling.lograte import LogRate

REDACTED = "[address]"

# Candidates only: each is checked with `ipaddress` before it is replaced, so that a time such as
# 11:47:13 stays.
_CANDIDATES = re.compile(
    r"(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
    r"(?:\d{1,3}(?:\.\d{1,3}){3})?(?:%\w+)?)(?![\w.:])"
)


def redact(text: str) -> str:
    """`text` with each IPv4 and IPv6 address replaced by "[address]"."""

    def replace(match: re.Match[str]) -> str:
        try:
            ipaddress.ip_address(match.group(0).split("%", 1)[0])
        except ValueError:
            return match.group(0)
        return REDACTED

    return _CANDIDATES.sub(replace, text)


class PrivacyFilter(logging.Filter):
    """The rewriting `install` puts on a handler; bad requests bounded by `log_rate`."""

    def __init__(self, log_rate: LogRate) -> None:
        super().__init__()
        self._log_rate = log_rate
        # A record reaches every handler: it is rewritten, and counted, once. (Not marked on the
        # record itself: the JSON log writes every attribute a record carries.)
        self._decided: weakref.WeakKeyDictionary[logging.LogRecord, bool] = weakref.WeakKeyDictionary()

    def filter(self, record: logging.LogRecord) -> bool:
        decided = self._decided.get(record)
        if decided is None:
            decided = self._decided[record] = self._rewrite(record)
        return decided

    def _rewrite(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            held = self._log_rate.admit("bad http request")
            if held is None:
                return False
            record.msg = "bad HTTP request: %s" + (f" ({held} more like it held back)" if held else "")
            record.args = (type(error).__name__,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
            return True
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(handlers: list[logging.Handler], log_rate: LogRate) -> None:
    """Put one PrivacyFilter on each of `handlers` (the process's log, as `server.logs.configure`
    set it up: python-engineio and python-socketio write through it, with no handler of their own)."""
    privacy = PrivacyFilter(log_rate)
    for handler in handlers:
        handler.addFilter(privacy)

"""How `circle serve` writes its log: text for a person, or JSON (`log_format`) for a log collector.

In JSON, each record is one object on one line: `time` (UTC, ISO 8601), `level`, `logger`,
`message`, then the fields the code passed with the record (`extra=`: ids and counts, such as
`room`, `participant`, `conn`, `code`, `count`), and `exception` with a traceback when there is one.

Either way the log holds ids and counts only, never a name, chat or an address. aiohttp's access log
stays off (each of its lines begins with the client's address), and when aiohttp reports a request it
could not handle, the client's address it names is left out.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# What every record has; whatever else a record carries, the code passed as a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def entry(record: logging.LogRecord) -> dict[str, Any]:
    """A record as the JSON object written for it (without its traceback)."""
    fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
    return {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
        **fields,
    }


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        data = entry(record)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class _NoClientAddress(logging.Filter):
    """aiohttp reports a request it could not handle as "Error handling request from %s", with the
    client's address: the report is kept, the address dropped."""

    SUFFIX = " from %s"

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            isinstance(record.msg, str)
            and record.msg.endswith(self.SUFFIX)
            and isinstance(record.args, tuple)
        ):
            record.msg = record.msg[: -len(self.SUFFIX)]
            record.args = record.args[:-1]
        return True


_no_client_address = _NoClientAddress()


def configure(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Send every logger's records to `stream` (standard error by default) in `log_format`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Set before the socket.io server exists: given a level, python-socketio and python-engineio add
    # no handler of their own (one that would write plain text beside ours).
    for name in ("engineio.server", "socketio.server"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("aiohttp.server").addFilter(_no_client_address)
    # Python's warnings, too, as records in the chosen format rather than bare lines.
    logging.captureWarnings(True)


class Console:
    """What `circle serve` tells whoever started it (where it runs, a generated admin token): printed
    as is in the text format, and as a JSON line like the log's in the JSON format, so that every
    line a collector reads parses."""

    def __init__(self, log_format: str, stream: TextIO | None = None) -> None:
        self._json = log_format == "json"
        self._stream = stream

    def say(self, text: str, **fields: Any) -> None:
        stream = self._stream or sys.stdout
        if not self._json:
            print(text, file=stream, flush=True)
            return
        record = logging.LogRecord("circle.server", logging.INFO, __file__, 0, text, None, None)
        print(json.dumps({**entry(record), **fields}, ensure_ascii=False), file=stream, flush=True)

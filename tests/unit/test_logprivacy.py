"""The log's privacy filter: no IP address survives in a line or a traceback, and a request that is
not HTTP is one short line at a bounded rate."""

from __future__ import annotations

import logging

import pytest
from aiohttp.http_exceptions import BadHttpMethod

from server.logprivacy import PrivacyFilter, redact
from signaling.lograte import LogRate


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("Error handling request from 127.0.0.1", "Error handling request from [address]"),
        ("peer ('10.1.2.3', 5555)", "peer ('[address]', 5555)"),
        ("from ::1 and [2001:db8::1]:443", "from [address] and [[address]]:443"),
        ("mapped ::ffff:192.0.2.1 and fe80::1%eth0", "mapped [address] and [address]"),
        ("at 11:47:13,923 in room 1.2", "at 11:47:13,923 in room 1.2"),
        ("version v1.2.3.4, not 10.0.0.256", "version v1.2.3.4, not 10.0.0.256"),
    ],
)
def test_ip_addresses_are_redacted_and_nothing_else(text: str, clean: str) -> None:
    assert redact(text) == clean


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_traceback_keeps_no_address() -> None:
    try:
        raise ConnectionResetError("reset by 192.0.2.7")
    except ConnectionResetError as exc:
        rec = record("Error handling request from %s", "192.0.2.7", exc=exc)
    assert PrivacyFilter(LogRate(10, 60.0)).filter(rec)
    text = logging.Formatter().format(rec)
    assert "192.0.2.7" not in text and "reset by [address]" in text and "Traceback" in text


def test_a_request_that_is_not_http_is_one_short_line_at_a_bounded_rate() -> None:
    privacy = PrivacyFilter(LogRate(2, 3600.0))
    kept = []
    for _ in range(5):
        rec = record("Error handling request from %s", "192.0.2.7", exc=BadHttpMethod("GARBAGE"))
        if privacy.filter(rec):
            kept.append(rec)
    assert len(kept) == 2
    for rec in kept:
        assert logging.Formatter().format(rec) == "bad HTTP request: BadHttpMethod"
        assert rec.levelno == logging.INFO


def test_a_record_through_two_handlers_is_counted_once() -> None:
    privacy = PrivacyFilter(LogRate(1, 3600.0))
    rec = record("Error handling request from %s", "192.0.2.7", exc=BadHttpMethod("GARBAGE"))
    assert privacy.filter(rec) and privacy.filter(rec)

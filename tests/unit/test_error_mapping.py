"""Every failure maps to one protocol answer; the unexpected become `internal` with a logged traceback."""

from __future__ import annotations

import logging

import pytest

from rooms import Refusal
from signaling.errors import to_ack
from signaling.ports import Unavailable
from signaling.protocol import ProtocolError


def test_each_kind_of_failure_has_its_code() -> None:
    assert to_ack(ProtocolError("bad_request", "x"), "join", "s")["error"]["code"] == "bad_request"
    refusal = to_ack(Refusal("rate_limited", "slow down", retry_after_ms=250), "chat:send", "s")
    assert refusal["error"] == {"code": "rate_limited", "message": "slow down", "retry_after_ms": 250}
    assert to_ack(Unavailable(), "chat:send", "s")["error"]["code"] == "unavailable"


def test_unexpected_errors_are_internal_and_leak_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    ack = to_ack(KeyError("secret detail"), "chat:send", "s")
    assert ack == {
        "ok": False,
        "error": {"code": "internal", "message": "Something went wrong on the server. Please try again."},
    }
    assert "Traceback" in caplog.text or caplog.records[0].exc_info is not None

"""Every failure maps to one protocol answer; the unexpected become `internal` with a logged traceback."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from rooms import Refusal
from signaling.errors import CODES, http_status, to_ack
from signaling.ports import Unavailable
from signaling.protocol import ProtocolError

ROOT = Path(__file__).resolve().parents[2]


def test_each_kind_of_failure_has_its_code() -> None:
    assert to_ack(ProtocolError("bad_request", "x"), "join", "s")["error"]["code"] == "bad_request"
    refusal = to_ack(Refusal("rate_limited", "slow down", retry_after_ms=250), "chat:send", "s")
    assert refusal["error"] == {"code": "rate_limited", "message": "slow down", "retry_after_ms": 250}
    assert to_ack(Unavailable(), "chat:send", "s")["error"]["code"] == "unavailable"


def test_a_refusal_says_what_a_ban_covers_and_which_guidelines_to_accept() -> None:
    removed = to_ack(Refusal("banned", "not this meeting", scope="meeting"), "join", "s")
    assert removed["error"] == {"code": "banned", "message": "not this meeting", "scope": "meeting"}
    changed = to_ack(Refusal("bad_request", "read them again", guidelines_version=3), "join", "s")
    assert changed["error"]["guidelines_version"] == 3


def test_unexpected_errors_are_internal_and_leak_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    ack = to_ack(KeyError("secret detail"), "chat:send", "s")
    assert ack == {
        "ok": False,
        "error": {"code": "internal", "message": "Something went wrong on the server. Please try again."},
    }
    assert "Traceback" in caplog.text or caplog.records[0].exc_info is not None


def _codes_raised_in(package: Path) -> set[str]:
    """Every literal code given to Refusal, ProtocolError or a refusal helper in `package`."""
    helpers = {"not_found": "not_found", "forbidden": "forbidden", "bad_request": "bad_request"}
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("Refusal", "ProtocolError") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
            elif name in helpers and path.parent.name == "rooms":
                found.add(helpers[name])
    return found


def test_every_code_the_server_answers_is_documented_with_its_http_status() -> None:
    raised = set().union(*(_codes_raised_in(ROOT / pkg) for pkg in ("rooms", "signaling", "server")))
    assert {"bad_request", "not_found", "forbidden", "unauthorized", "too_large", "unavailable"} <= raised
    assert raised <= set(CODES), f"undocumented: {sorted(raised - set(CODES))}"
    assert "internal" in CODES and http_status("internal") == 500

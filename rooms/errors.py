"""Refusals: a rule said no. The connection stays; the caller is told why."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """A command the rules refuse, with a stable protocol error code and a human sentence."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def not_found(what: str = "There is no such participant in this room.") -> Refusal:
    return Refusal("not_found", what)


def forbidden(message: str = "Only a facilitator can do that.") -> Refusal:
    return Refusal("forbidden", message)


def bad_request(message: str) -> Refusal:
    return Refusal("bad_request", message)

"""RESP2 replies read whatever way the bytes arrive: whole, or cut anywhere by the end of a read."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import NoScriptError, ResponseError

from server.resp import Incomplete, ReplyError, command, parse

REPLIES: list[tuple[bytes, Any]] = [
    (b"+OK\r\n", b"OK"),
    (b":42\r\n", 42),
    (b":-7\r\n", -7),
    (b"$5\r\nhello\r\n", b"hello"),
    (b"$0\r\n\r\n", b""),
    (b"$-1\r\n", None),
    (b"*-1\r\n", None),
    (b"*0\r\n", []),
    (b"$4\r\na\r\nb\r\n", b"a\r\nb"),  # a bulk string holds CRLF as it likes
    (b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\n\x00\xff\x01\r\n", [b"message", b"ch", b"\x00\xff\x01"]),
    (b"*2\r\n:1\r\n*2\r\n$-1\r\n+x\r\n", [1, [None, b"x"]]),
]


@pytest.mark.parametrize(("wire", "value"), REPLIES)
def test_each_kind_of_reply_reads_back(wire: bytes, value: Any) -> None:
    assert parse(wire, 0) == (value, len(wire))


def test_a_reply_cut_anywhere_is_incomplete_until_its_last_byte() -> None:
    stream = b"".join(wire for wire, _ in REPLIES)
    values = [value for _, value in REPLIES]
    # What a connection does: keep what was not read, join it to the next chunk, read on.
    for cut in range(1, len(stream)):
        got: list[Any] = []
        rest = b""
        for chunk in (stream[:cut], stream[cut:]):
            data, pos = rest + chunk, 0
            while pos < len(data):
                try:
                    value, pos = parse(data, pos)
                except Incomplete:
                    break
                got.append(value)
            rest = data[pos:]
        assert got == values and rest == b"", cut


def test_errors_are_redis_pys_own_classes() -> None:
    reply, _ = parse(b"-NOSCRIPT No matching script.\r\n", 0)
    assert isinstance(reply, ReplyError)
    assert isinstance(reply.exception(), NoScriptError)
    other = parse(b"-ERR wrong number of arguments\r\n", 0)[0].exception()
    assert type(other) is ResponseError and "wrong number" in str(other)


def test_commands_are_arrays_of_bulk_strings() -> None:
    assert command("SET", b"k\r\n", 7, 0.5) == b"*4\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$1\r\n7\r\n$3\r\n0.5\r\n"
    with pytest.raises(TypeError):
        command("SET", None)

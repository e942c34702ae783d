"""Ids the server makes for rooms and participants."""

from __future__ import annotations

from signaling.credentials import new_id


def test_new_ids_never_read_as_a_command_line_option() -> None:
    ids = [new_id() for _ in range(2000)]
    assert not [x for x in ids if x[0] in "-_"]
    assert len(set(ids)) == len(ids) and all(len(x) == 12 for x in ids)

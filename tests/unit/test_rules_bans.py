"""Bans and what a no-account room can hold them against: the seat, the browser, the address."""

from __future__ import annotations

from rooms import commands as c
from rooms.rules import apply
from tests.support.meetings import T0, join, names, refusal, refusal_of, room


def test_a_ban_removes_every_tab_of_the_same_browser_and_hands_each_seat_to_the_store() -> None:
    s, _ = join(room(), "fa", host=True)
    s, _ = join(s, "tab1", browser_key_hash="k1", address_hash="a1")
    s, _ = join(s, "tab2", browser_key_hash="k1", address_hash="a1")
    s, _ = join(s, "ann", browser_key_hash="k2", address_hash="a1")
    s, out = apply(s, c.Remove("fa", "tab1", ban=True), T0)
    assert set(s.participants) == {"fa", "ann"}
    assert {k.conn for k in out.kicks} == {"sid-tab1", "sid-tab2"}
    assert [e.audience.id for e in out.events if e.name == "you:removed"] == ["tab1", "tab2"]  # type: ignore[union-attr]
    assert out.banned == {"id:tab1", "id:tab2", "key:k1", "addr:a1"}
    for seat in ("tab1", "tab2"):
        assert refusal_of(join, s, "again", resume_of=(seat, 0)) == "banned"


def test_a_ban_turns_the_waiting_room_on_for_the_rest_of_the_meeting_only() -> None:
    s, _ = join(room(), "fa", host=True)
    s, _ = join(s, "troll", address_hash="a9")
    s, out = apply(s, c.Remove("fa", "troll", ban=True), T0)
    assert s.waiting_room and "room:updated" in names(out)
    s, joined = join(s, "sam", address_hash="a2")
    assert "sam" in s.waiting and not s.waiting["sam"].returning_removed
    s, _ = apply(s, c.Deny("fa", "sam"), T0)
    s, _ = apply(s, c.Leave("fa"), T0)
    assert not s.waiting_room


def test_someone_from_a_banned_address_waits_flagged_and_is_never_refused_for_it() -> None:
    s, _ = join(room(), "fa", host=True)
    # A later meeting: the store holds the ban on the address; the room has no waiting room.
    s, out = join(s, "newname", address_hash="a9", banned_marks=frozenset({"addr:a9"}))
    assert "newname" in s.waiting and s.waiting["newname"].returning_removed
    assert names(out) == ["lobby:waiting"] and out.result["waiting"] is True
    # Letting everyone in together never lets them in: that takes a decision about them.
    s, _ = join(s, "w2", address_hash="a3")
    s, _ = apply(s, c.AdmitAll("fa"), T0)
    assert "newname" in s.waiting
    # A facilitator with the host key from that address comes straight in.
    s, _ = join(s, "cofa", host=True, address_hash="a9", banned_marks=frozenset({"addr:a9"}))
    assert "cofa" in s.participants


def test_only_a_ban_holds_against_the_address() -> None:
    s, _ = join(room(), "fa", host=True)
    s, _ = join(s, "ann", address_hash="a1")
    s, out = apply(s, c.Remove("fa", "ann"), T0)
    assert not out.banned
    s, _ = join(s, "sister", address_hash="a1")
    assert "sister" in s.participants
    s, _ = apply(s, c.Remove("fa", "sister", ban=True), T0)
    s, _ = join(s, "brother", address_hash="a1")
    assert s.waiting["brother"].returning_removed


def test_a_resume_needs_the_browser_key_the_seat_was_taken_with() -> None:
    s, _ = join(room(), "ann", browser_key_hash="k1")
    s, _ = apply(s, c.Disconnect("ann", "sid-ann"), T0)
    for key in (None, "k2"):
        assert refusal_of(join, s, "x", resume_of=("ann", 0), browser_key_hash=key) == "forbidden"
    s, out = join(s, "x", resume_of=("ann", 0), browser_key_hash="k1")
    assert out.result == {"id": "ann", "waiting": False, "resumed": True}
    # A seat taken without a key resumes without one, as before.
    s, _ = join(s, "bob")
    s, out = join(s, "y", resume_of=("bob", 0))
    assert out.result["resumed"]


def test_the_waiting_room_holds_at_most_max_waiting_per_address_from_one_address() -> None:
    s, _ = join(room(waiting_room=True), "fa", host=True)
    for n in range(3):
        s, _ = join(s, f"w{n}", address_hash="a1", max_waiting_per_address=3)
    error = refusal(join, s, "w3", address_hash="a1", max_waiting_per_address=3)
    assert error.code == "room_full" and error.details == {"scope": "address"}
    s, _ = join(s, "other", address_hash="a2", max_waiting_per_address=3)
    s, _ = apply(s, c.Admit("fa", "w0"), T0)
    s, _ = join(s, "w3", address_hash="a1", max_waiting_per_address=3)
    assert "w3" in s.waiting

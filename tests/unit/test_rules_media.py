"""Which instance hosts a meeting's media, and when everyone starts their media over, without any
network."""

from __future__ import annotations

from rooms import commands as c
from rooms.codec import state_from_dict, state_to_dict
from rooms.model import RoomState
from rooms.roster import room_updated
from rooms.rules import apply
from tests.support.meetings import T0, meeting

DEAD = frozenset({"i-a"})


def hosted(by: str = "i-a") -> RoomState:
    s, _ = apply(meeting(), c.HostMedia(by), T0)
    return s


def test_the_first_instance_to_need_the_sfu_hosts_it_and_the_room_is_told_it_moved() -> None:
    s = meeting()
    assert not s.sfu and s.media_host is None
    new, out = apply(s, c.HostMedia("i-a"), T0)
    assert new.sfu and new.media_host == "i-a" and new.media_epoch == 0
    assert out.events == (room_updated(new),) and out.result == {"host": "i-a"}


def test_another_living_instance_is_told_who_hosts_it_and_nothing_changes() -> None:
    s = hosted()
    same, out = apply(s, c.HostMedia("i-b"), T0)
    assert same is s and out.events == () and out.result == {"host": "i-a"}
    same, out = apply(s, c.HostMedia("i-a"), T0)
    assert same is s and out.result == {"host": "i-a"}


def test_a_dead_hosts_media_is_taken_over_and_everyone_starts_over() -> None:
    s = hosted()
    new, out = apply(s, c.HostMedia("i-b", dead_instances=DEAD), T0)
    assert new.media_host == "i-b" and new.media_epoch == s.media_epoch + 1 and new.sfu
    assert out.events == (room_updated(new),)


def test_the_sweep_lets_go_of_a_dead_host_and_the_next_instance_takes_it_quietly() -> None:
    s = hosted()
    swept, out = apply(s, c.Sweep(30, dead_instances=DEAD), T0)
    assert swept.media_host is None and swept.media_epoch == 1 and swept.sfu
    assert room_updated(swept) in out.events
    taken, out = apply(swept, c.HostMedia("i-b"), T0)
    # The pages started over when the epoch grew; taking up a vacant host tells nobody anything.
    assert taken.media_host == "i-b" and taken.media_epoch == 1 and out.events == ()


def test_the_sweep_leaves_a_living_host_alone() -> None:
    s = hosted()
    swept, _ = apply(s, c.Sweep(30, dead_instances=frozenset({"i-z"})), T0)
    assert swept.media_host == "i-a" and swept.media_epoch == 0


def test_a_host_that_restarted_without_the_room_takes_it_again_with_a_new_epoch() -> None:
    s = hosted()
    new, out = apply(s, c.HostMedia("i-a", restart=True), T0)
    assert new.media_host == "i-a" and new.media_epoch == 1
    assert out.events == (room_updated(new),)


def test_a_stopping_host_releases_the_room_and_only_its_own() -> None:
    s = hosted()
    same, out = apply(s, c.ReleaseMedia("i-b"), T0)
    assert same is s and out.events == ()
    new, out = apply(s, c.ReleaseMedia("i-a"), T0)
    assert new.media_host is None and new.media_epoch == 1 and new.sfu
    assert out.events == (room_updated(new),)


def test_an_empty_room_has_no_media_to_host_and_the_next_meeting_starts_in_mesh() -> None:
    s = hosted()
    for pid in list(s.participants):
        s, _ = apply(s, c.Leave(pid), T0)
    assert s.is_empty and not s.sfu and s.media_host is None and s.media_epoch == 0
    same, out = apply(s, c.HostMedia("i-a"), T0)
    assert same is s and out.result == {"host": None}


def test_the_media_fields_survive_the_wire_and_older_states_read_as_mesh() -> None:
    s, _ = apply(hosted(), c.ReleaseMedia("i-a"), T0)
    assert state_from_dict(state_to_dict(s)) == s
    old = state_to_dict(meeting())
    for key in ("sfu", "media_host", "media_epoch"):
        del old[key]
    assert state_from_dict(old) == meeting()

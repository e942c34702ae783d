"""Whatever people do, in whatever order, the room stays consistent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import Refusal, RoomDefinition, RoomState
from rooms import commands as c
from rooms.codec import state_from_dict, state_to_dict
from rooms.model import Media, Role
from rooms.rules import apply

PEOPLE = ["fa", "a", "b", "c"]
who = st.sampled_from(PEOPLE)

commands = st.one_of(
    st.builds(
        lambda pid, media, host: c.Join(pid, pid, media, "i1", f"s-{pid}", is_host=host),
        who,
        st.sampled_from(list(Media)),
        st.booleans(),
    ),
    st.builds(c.Leave, who),
    st.builds(lambda pid: c.Disconnect(pid, f"s-{pid}"), who),
    st.builds(lambda: c.Sweep(grace_s=0.005)),
    st.builds(c.SetMedia, who, st.booleans(), st.booleans()),
    st.builds(c.SetSpeaking, who, st.booleans()),
    st.builds(c.RaiseHand, who),
    st.builds(c.LowerHand, who),
    st.builds(c.Admit, who, who),
    st.builds(c.Deny, who, who),
    st.builds(c.Mute, who, who, st.booleans(), st.booleans()),
    st.builds(c.LockMedia, who, who, st.booleans()),
    st.builds(c.Remove, who, who, st.booleans()),
    st.builds(c.Lock, who, st.booleans()),
    st.builds(c.SetWaitingRoom, who, st.booleans()),
    st.builds(c.NextSpeaker, who, st.none() | st.integers(1, 600)),
    st.builds(c.LowerHandOf, who, who),
    st.builds(c.SetRole, who, who, st.sampled_from(list(Role))),
    st.builds(c.End, who),
)


def check_invariants(s: RoomState) -> None:
    assert not set(s.participants) & set(s.waiting)
    assert len(set(s.hands)) == len(s.hands)
    assert set(s.hands) == {p.id for p in s.participants.values() if p.hand is not None}
    raised = [s.participants[h].hand for h in s.hands]
    assert raised == sorted(raised), "the queue is in raise order"  # type: ignore[type-var]
    assert s.speaker is None or s.speaker.id in s.participants
    for p in (*s.participants.values(), *s.waiting.values()):
        assert not (p.media is Media.TEXT and (p.audio or p.video))
        assert not (p.media is Media.AUDIO and p.video)
        assert not (p.speaking and not p.audio)
        assert p.away == (p.away_since is not None)
    assert state_from_dict(state_to_dict(s)) == s


@settings(max_examples=300, deadline=None)
@given(st.lists(commands, max_size=40), st.booleans())
def test_any_sequence_of_commands_keeps_the_room_consistent(
    cmds: list[c.Command], waiting_room: bool
) -> None:
    room = RoomDefinition(
        id="r",
        title="t",
        host_key_hash="h",
        waiting_room=waiting_room,
        max_participants=3,
        retention_s=0,
        max_messages=500,
    )
    s = RoomState.fresh(room, 0)
    for now, command in enumerate(cmds, start=1):
        if isinstance(command, c.Join) and s.find(command.new_id) is not None:
            continue  # new ids are random and never collide
        try:
            new, _ = apply(s, command, now)
        except Refusal:
            continue
        assert new.version in (s.version, s.version + 1)
        assert (new.version == s.version) == (new is s)
        s = new
        check_invariants(s)

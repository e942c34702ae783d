"""Whatever people do, in whatever order, the room stays consistent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import Refusal, RoomDefinition, RoomState
from rooms import commands as c
from rooms.codec import state_from_dict, state_to_dict
from rooms.model import Media, PrivateChat, Role, Segment, SegmentKind
from rooms.rules import apply
from tests.support.rooms import ROOM_DEFAULTS

PEOPLE = ["fa", "a", "b", "c"]
who = st.sampled_from(PEOPLE)
titles = st.sampled_from(["Welcome", " Round "])
segments = st.lists(st.builds(Segment, st.sampled_from(list(SegmentKind)), titles), max_size=3).map(tuple)

commands = st.one_of(
    st.builds(
        lambda pid, media, host, key: c.Join(
            pid, pid, media, "i1", f"s-{pid}", is_host=host, browser_key_hash=key
        ),
        who,
        st.sampled_from(list(Media)),
        st.booleans(),
        st.none() | st.sampled_from(["k1", "k2"]),
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
    st.builds(c.Safety, who, st.booleans()),
    st.builds(c.AdmitAll, who),
    st.builds(c.MuteAll, who, st.booleans()),
    st.builds(c.RequestUnmute, who),
    st.builds(c.ReorderHands, who, st.permutations(PEOPLE).map(lambda xs: tuple(xs[:2]))),
    st.builds(c.DoneSpeaking, who),
    st.builds(c.PassTurn, who),
    st.builds(c.SetAgenda, who, segments),
    st.builds(c.StepAgenda, who, st.none() | st.integers(0, 2)),
    st.builds(c.RaiseConcern, who, st.sampled_from(["k1", "k2", "k3"]), st.none() | who),
    st.builds(c.ConcernSeen, who, st.sampled_from(["k1", "k2", "k3"])),
    st.builds(c.SetPrivateChat, who, st.sampled_from(list(PrivateChat))),
)

FACILITATOR_ONLY = (
    c.Admit,
    c.Deny,
    c.Mute,
    c.LockMedia,
    c.Remove,
    c.Lock,
    c.SetWaitingRoom,
    c.NextSpeaker,
    c.LowerHandOf,
    c.SetRole,
    c.End,
    c.Safety,
    c.AdmitAll,
    c.MuteAll,
    c.ReorderHands,
    c.SetAgenda,
    c.StepAgenda,
    c.ConcernSeen,
    c.DeleteChat,
    c.SetPrivateChat,
)


def check_invariants(s: RoomState) -> None:
    assert not set(s.participants) & set(s.waiting)
    assert len(set(s.hands)) == len(s.hands)
    assert set(s.hands) == {p.id for p in s.participants.values() if p.hand is not None}
    assert s.speaker is None or s.speaker.id in s.participants
    assert s.segment is None or 0 <= s.segment < len(s.agenda)
    assert s.safety == (s.safety_pause is not None)
    assert s.facilitator_present == any(
        p.role is Role.FACILITATOR and not p.away for p in s.participants.values()
    )
    for p in (*s.participants.values(), *s.waiting.values()):
        assert not (p.media is Media.TEXT and (p.audio or p.video))
        assert not (p.media is Media.AUDIO and p.video)
        assert not (p.speaking and not p.audio)
        assert p.away == (p.away_since is not None)
        assert not p.unmute_requested or p.media_locked
        assert not p.returning_removed or p.id in s.waiting
    if s.is_empty:
        # A room nobody is in is as its definition sets it up (its bans are the store's).
        assert s.locked is False and s.waiting_room == s.room.waiting_room and s.safety_pause is None
        assert s.agenda == s.room.agenda and s.segment is None and s.private_chat is s.room.private_chat
        assert not s.removed and not s.bans and not s.concerns and s.hands == () and s.speaker is None
    assert state_from_dict(state_to_dict(s)) == s


def facilitates(s: RoomState, pid: str) -> bool:
    p = s.participants.get(pid)
    return p is not None and p.role is Role.FACILITATOR


@settings(max_examples=400, deadline=None)
@given(st.lists(commands, max_size=50), st.booleans())
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
        if isinstance(command, FACILITATOR_ONLY):
            assert facilitates(s, command.by), "only a facilitator's command is ever carried out"
        s = new
        check_invariants(s)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda pid, invite, host: c.Join(
                    pid, pid, Media.AV, "i1", f"s-{pid}", is_host=host, invite=invite
                ),
                who,
                st.none() | st.integers(0, 2),
                st.booleans(),
            ),
            st.builds(c.Leave, who),
            st.builds(lambda pid: c.Disconnect(pid, f"s-{pid}"), who),
            st.builds(lambda: c.Sweep(grace_s=0.005)),
        ),
        max_size=30,
    )
)
def test_a_one_to_one_room_never_holds_more_than_its_two_invited_people(cmds: list[c.Command]) -> None:
    room = RoomDefinition(
        id="r", title="t", host_key_hash="h", one_to_one=True, invite_key_hashes=("x", "y"), **ROOM_DEFAULTS
    )
    s = RoomState.fresh(room, 0)
    for now, command in enumerate(cmds, start=1):
        if isinstance(command, c.Join) and s.find(command.new_id) is not None:
            continue
        try:
            s, _ = apply(s, command, now)
        except Refusal:
            continue
        people = [*s.participants.values(), *s.waiting.values()]
        assert len(people) <= 2 and not s.waiting
        assert sorted(p.invite for p in people if p.invite is not None) == sorted({p.invite for p in people})
        assert all(p.invite in (0, 1) and p.role is Role.MEMBER for p in people)

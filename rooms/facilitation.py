"""What facilitators may do: let people in or turn them away, mute, pause someone's media, remove and ban,
lock the meeting, run the waiting room and the speaking queue, change roles, and end the meeting.

Every rule here first checks that the one asking is a facilitator.
"""

from __future__ import annotations

from dataclasses import replace

from rooms import commands as c
from rooms.errors import bad_request, not_found
from rooms.events import Event, Kick, Outcome, ToParticipant, ToRoom
from rooms.model import Participant, Role, RoomState, Speaker
from rooms.roster import changed, depart, facilitator, lower_hand, participant_updated, room_updated, target
from rooms.rulebook import Rulebook

RULES = Rulebook()
"""The facilitation rules, for `rooms.rules` to gather."""


def _waiting(state: RoomState, pid: str) -> Participant:
    p = state.waiting.get(pid)
    if p is None:
        raise not_found("That person is no longer in the waiting room.")
    return p


@RULES.rule(c.Admit)
def _admit(state: RoomState, cmd: c.Admit, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    p = _waiting(state, cmd.id)
    return _admit_all(state, (p,))


def _admit_all(state: RoomState, people: tuple[Participant, ...]) -> tuple[RoomState, Outcome]:
    admitted = {p.id for p in people}
    new = replace(
        state,
        waiting={k: v for k, v in state.waiting.items() if k not in admitted},
        participants={**state.participants, **{p.id: p for p in people}},
    )
    events: list[Event] = []
    for p in people:
        events.append(Event("participant:joined", p, ToRoom(skip=p.id)))
        events.append(Event("lobby:admitted", new, ToParticipant(p.id)))
    return new, Outcome(events=tuple(events))


@RULES.rule(c.Deny)
def _deny(state: RoomState, cmd: c.Deny, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    p = _waiting(state, cmd.id)
    new, events = depart(state, p, "removed", now)
    told = Event("lobby:denied", {"reason": "denied"}, ToParticipant(p.id))
    return new, Outcome(events=(told, *events), kicks=(Kick(p.id, "denied", p.conn),), emptied=new.is_empty)


@RULES.rule(c.Mute)
def _mute(state: RoomState, cmd: c.Mute, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    p = target(state, cmd.id)
    muted_audio = cmd.audio and p.audio
    muted_video = cmd.video and p.video
    q = replace(
        p,
        audio=p.audio and not cmd.audio,
        video=p.video and not cmd.video,
        speaking=p.speaking and not cmd.audio,
    )
    told = Event("you:muted", {"by": cmd.by, "audio": muted_audio, "video": muted_video}, ToParticipant(p.id))
    if q == p:
        return state, Outcome(events=(told,))
    return state.with_participant(q), Outcome(events=(participant_updated(q), told))


@RULES.rule(c.LockMedia)
def _lock_media(state: RoomState, cmd: c.LockMedia, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    return changed(state, target(state, cmd.id), media_locked=cmd.locked)


@RULES.rule(c.Remove)
def _remove(state: RoomState, cmd: c.Remove, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if cmd.id == cmd.by:
        raise bad_request("Use leave to leave the meeting yourself.")
    p = state.find(cmd.id)
    if p is None:
        raise not_found()
    new, events = depart(state, p, "removed", now)
    if cmd.ban:
        bans = {f"id:{p.id}"} | ({f"key:{p.browser_key_hash}"} if p.browser_key_hash else set())
        new = replace(new, bans=new.bans | bans)
    told = Event("you:removed", {"ban": cmd.ban}, ToParticipant(p.id))
    return new, Outcome(events=(told, *events), kicks=(Kick(p.id, "removed", p.conn),), emptied=new.is_empty)


@RULES.rule(c.Lock)
def _lock(state: RoomState, cmd: c.Lock, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if state.locked == cmd.locked:
        return state, Outcome()
    new = replace(state, locked=cmd.locked)
    return new, Outcome(events=(room_updated(new),))


@RULES.rule(c.SetWaitingRoom)
def _set_waiting_room(state: RoomState, cmd: c.SetWaitingRoom, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if state.waiting_room == cmd.enabled:
        return state, Outcome()
    new = replace(state, waiting_room=cmd.enabled)
    events: tuple[Event, ...] = ()
    if not cmd.enabled and new.waiting:
        # Turning the waiting room off lets in everyone who was waiting, as people expect.
        new, admitted = _admit_all(new, tuple(new.waiting.values()))
        events = admitted.events
    return new, Outcome(events=(*events, room_updated(new)))


@RULES.rule(c.NextSpeaker)
def _next_speaker(state: RoomState, cmd: c.NextSpeaker, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if cmd.limit_s is not None and cmd.limit_s <= 0:
        raise bad_request("A share timer must be a positive number of seconds.")
    if not state.hands:
        if state.speaker is None:
            return state, Outcome(result={"speaker": None})
        new = replace(state, speaker=None)
        return new, Outcome(events=(room_updated(new),), result={"speaker": None})
    first = state.participants[state.hands[0]]
    q = replace(first, hand=None)
    new = replace(
        state.with_participant(q),
        hands=state.hands[1:],
        speaker=Speaker(id=q.id, since=now, limit_s=cmd.limit_s),
    )
    return new, Outcome(events=(participant_updated(q), room_updated(new)), result={"speaker": q.id})


@RULES.rule(c.LowerHandOf)
def _lower_hand_of(state: RoomState, cmd: c.LowerHandOf, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    return lower_hand(state, target(state, cmd.id))


@RULES.rule(c.SetRole)
def _set_role(state: RoomState, cmd: c.SetRole, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    p = target(state, cmd.id)
    if p.role == cmd.role:
        return state, Outcome()
    if p.role is Role.FACILITATOR:
        others = [x for x in state.participants.values() if x.role is Role.FACILITATOR and x.id != p.id]
        if not others:
            raise bad_request("A meeting needs at least one facilitator.")
    return changed(state, p, role=cmd.role)


@RULES.rule(c.End)
def _end(state: RoomState, cmd: c.End, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    events: list[Event] = [Event("room:ended", {"by": cmd.by})]
    events += [Event("lobby:denied", {"reason": "ended"}, ToParticipant(p)) for p in state.waiting]
    kicks = tuple(
        Kick(x.id, "ended", x.conn) for x in (*state.participants.values(), *state.waiting.values())
    )
    # The room itself stays for the next meeting; the bans still hold there.
    new = replace(state.fresh(state.room, now), bans=state.bans)
    return new, Outcome(events=tuple(events), kicks=kicks, emptied=True)

"""The rules of a room: `apply(state, command, now) -> (state, outcome)`.

Pure and deterministic: no I/O, no clock, no randomness. The caller passes the time (ms since the epoch)
and any new id, commits the returned state atomically, then delivers the outcome's events.
A refused command raises `Refusal` and leaves the state as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from rooms import commands as c
from rooms.errors import Refusal, bad_request, forbidden, not_found
from rooms.events import Event, Kick, Outcome, ToFacilitators, ToParticipant, ToRoom
from rooms.model import Media, Participant, Role, RoomState, Speaker

_C = TypeVar("_C")
_Rule = Callable[[RoomState, Any, int], tuple[RoomState, Outcome]]
_RULES: dict[type, _Rule] = {}


def _rule(
    kind: type[_C],
) -> Callable[[Callable[[RoomState, _C, int], tuple[RoomState, Outcome]]], Any]:
    def register(fn: Callable[[RoomState, _C, int], tuple[RoomState, Outcome]]) -> Any:
        _RULES[kind] = fn
        return fn

    return register


def apply(state: RoomState, command: c.Command, now: int) -> tuple[RoomState, Outcome]:
    """Apply one command. The version grows by one whenever the state changes."""
    new, outcome = _RULES[type(command)](state, command, now)
    if new is not state:
        new = replace(new, version=state.version + 1)
    return new, outcome


# -- helpers ---------------------------------------------------------------------------------------


def _updated(p: Participant) -> Event:
    return Event("participant:updated", p.public())


def _presence(state: RoomState, p: Participant, name: str, payload: dict[str, Any]) -> Event:
    """A presence event goes to the room, or only to facilitators while `p` is in the waiting room."""
    audience = ToFacilitators() if p.id in state.waiting else ToRoom()
    return Event(name, payload, audience)


def _room_updated(state: RoomState) -> Event:
    return Event("room:updated", state.room_public())


def _joined(state: RoomState, pid: str) -> Participant:
    p = state.participants.get(pid)
    if p is None:
        if pid in state.waiting:
            raise forbidden("You are in the waiting room; a facilitator will let you in.")
        raise Refusal("not_joined", "You are not in this room.")
    return p


def _facilitator(state: RoomState, pid: str) -> Participant:
    p = _joined(state, pid)
    if p.role is not Role.FACILITATOR:
        raise forbidden()
    return p


def _target(state: RoomState, pid: str) -> Participant:
    p = state.participants.get(pid)
    if p is None:
        raise not_found()
    return p


def _without(state: RoomState, pid: str, now: int) -> RoomState:
    """`state` with participant `pid` gone from every list."""
    participants = {k: v for k, v in state.participants.items() if k != pid}
    waiting = {k: v for k, v in state.waiting.items() if k != pid}
    speaker = None if state.speaker and state.speaker.id == pid else state.speaker
    new = replace(
        state,
        participants=participants,
        waiting=waiting,
        hands=tuple(h for h in state.hands if h != pid),
        speaker=speaker,
    )
    if new.is_empty and not state.is_empty:
        new = replace(new, emptied_at=now)
    return new


def _depart(state: RoomState, p: Participant, reason: str, now: int) -> tuple[RoomState, list[Event]]:
    events = [_presence(state, p, "participant:left", {"id": p.id, "reason": reason})]
    new = _without(state, p.id, now)
    if p.hand is not None or (state.speaker and state.speaker.id == p.id):
        events.append(_room_updated(new))
    return new, events


def _set_hand(state: RoomState, p: Participant, raised_at: int | None) -> tuple[RoomState, Outcome]:
    hands = tuple(h for h in state.hands if h != p.id)
    if raised_at is not None:
        hands += (p.id,)
    q = replace(p, hand=raised_at)
    new = replace(state.with_participant(q), hands=hands)
    return new, Outcome(events=(_updated(q), _room_updated(new)))


def _clamp_media(media: Media, audio: bool, video: bool) -> tuple[bool, bool]:
    return audio and media is not Media.TEXT, video and media is Media.AV


def check_chat(state: RoomState, sender_id: str, to: str | None) -> Participant:
    """Who may chat with whom: a joined participant, to the room or to one other present participant."""
    sender = _joined(state, sender_id)
    if to is not None:
        if to == sender_id:
            raise bad_request("A private message needs someone other than you.")
        if to not in state.participants:
            raise not_found("That person is not in the meeting any more.")
    return sender


# -- joining and leaving ---------------------------------------------------------------------------


@_rule(c.Join)
def _join(state: RoomState, cmd: c.Join, now: int) -> tuple[RoomState, Outcome]:
    if cmd.resume_of is not None:
        pid, gen = cmd.resume_of
        if f"id:{pid}" in state.bans:
            raise Refusal("banned", "You can't rejoin this meeting.")
        old = state.find(pid)
        if old is not None and old.resume_gen == gen:
            return _resume(state, old, cmd)
    if cmd.browser_key_hash and f"key:{cmd.browser_key_hash}" in state.bans:
        raise Refusal("banned", "You can't rejoin this meeting.")
    if state.room.guidelines and not cmd.accepted_guidelines:
        raise bad_request("Please read and accept the group guidelines to join.")
    if not cmd.is_host:
        if state.room.passcode_required and not cmd.passcode_ok:
            raise Refusal("wrong_passcode", "That passcode isn't right. Please check it and try again.")
        if state.locked:
            raise Refusal("room_locked", "The facilitator has locked this meeting for now.")
        if len(state.participants) + len(state.waiting) >= state.room.max_participants:
            raise Refusal("room_full", "This meeting is full.")
    audio, video = _clamp_media(cmd.media, True, True)
    p = Participant(
        id=cmd.new_id,
        name=cmd.name,
        role=Role.FACILITATOR if cmd.is_host else Role.MEMBER,
        media=cmd.media,
        joined_at=now,
        instance=cmd.instance,
        conn=cmd.conn,
        audio=audio,
        video=video,
        browser_key_hash=cmd.browser_key_hash,
    )
    if state.waiting_room and not cmd.is_host:
        new = replace(state, waiting={**state.waiting, p.id: p}, emptied_at=None)
        event = Event("lobby:waiting", p.public(), ToFacilitators())
        return new, Outcome(events=(event,), result={"id": p.id, "waiting": True})
    new = replace(state, participants={**state.participants, p.id: p}, emptied_at=None)
    event = Event("participant:joined", p.public(), ToRoom(skip=p.id))
    return new, Outcome(events=(event,), result={"id": p.id, "waiting": False})


def _resume(state: RoomState, old: Participant, cmd: c.Join) -> tuple[RoomState, Outcome]:
    p = replace(
        old,
        away=False,
        away_since=None,
        instance=cmd.instance,
        conn=cmd.conn,
        resume_gen=old.resume_gen + 1,
    )
    new = state.with_participant(p)
    waiting = p.id in state.waiting
    kicks = (Kick(old.id, "replaced", old.conn),) if old.conn != cmd.conn else ()
    return new, Outcome(
        events=(_presence(state, p, "participant:updated", p.public()),),
        kicks=kicks,
        result={"id": p.id, "waiting": waiting, "resumed": True},
    )


@_rule(c.Leave)
def _leave(state: RoomState, cmd: c.Leave, now: int) -> tuple[RoomState, Outcome]:
    p = state.find(cmd.id)
    if p is None:
        raise Refusal("not_joined", "You are not in this room.")
    new, events = _depart(state, p, "left", now)
    return new, Outcome(events=tuple(events), emptied=new.is_empty)


@_rule(c.Disconnect)
def _disconnect(state: RoomState, cmd: c.Disconnect, now: int) -> tuple[RoomState, Outcome]:
    p = state.find(cmd.id)
    if p is None or p.conn != cmd.conn or p.away:
        return state, Outcome()
    q = replace(p, away=True, away_since=now, speaking=False)
    return state.with_participant(q), Outcome(
        events=(_presence(state, q, "participant:updated", q.public()),)
    )


@_rule(c.Sweep)
def _sweep(state: RoomState, cmd: c.Sweep, now: int) -> tuple[RoomState, Outcome]:
    new = state
    events: list[Event] = []
    for p in (*state.participants.values(), *state.waiting.values()):
        lost = p.instance == cmd.instance and p.conn not in cmd.live_conns
        if not p.away and (p.instance in cmd.dead_instances or lost):
            q = replace(p, away=True, away_since=now, speaking=False)
            new = new.with_participant(q)
            events.append(_presence(new, q, "participant:updated", q.public()))
        elif p.away and p.away_since is not None and now - p.away_since >= cmd.grace_s * 1000:
            new, left = _depart(new, p, "disconnected", now)
            events.extend(left)
    emptied = new.is_empty and not state.is_empty
    return new, Outcome(events=tuple(events), emptied=emptied)


# -- a member's own media and hand -----------------------------------------------------------------


@_rule(c.SetMedia)
def _set_media(state: RoomState, cmd: c.SetMedia, now: int) -> tuple[RoomState, Outcome]:
    p = _joined(state, cmd.id)
    if (cmd.audio or cmd.video) and p.media is Media.TEXT:
        raise bad_request("You joined by text only, so there is no microphone or camera to turn on.")
    if cmd.video and p.media is Media.AUDIO:
        raise bad_request("You joined with audio only, so there is no camera to turn on.")
    if p.media_locked and ((cmd.audio and not p.audio) or (cmd.video and not p.video)):
        raise forbidden("A facilitator has paused your microphone and camera for now.")
    if (cmd.audio, cmd.video) == (p.audio, p.video):
        return state, Outcome()
    q = replace(p, audio=cmd.audio, video=cmd.video, speaking=p.speaking and cmd.audio)
    return state.with_participant(q), Outcome(events=(_updated(q),))


@_rule(c.SetSpeaking)
def _set_speaking(state: RoomState, cmd: c.SetSpeaking, now: int) -> tuple[RoomState, Outcome]:
    p = _joined(state, cmd.id)
    speaking = cmd.speaking and p.audio
    if speaking == p.speaking:
        return state, Outcome()
    q = replace(p, speaking=speaking)
    return state.with_participant(q), Outcome(events=(_updated(q),))


@_rule(c.RaiseHand)
def _raise_hand(state: RoomState, cmd: c.RaiseHand, now: int) -> tuple[RoomState, Outcome]:
    p = _joined(state, cmd.id)
    if p.hand is not None:
        return state, Outcome(result={"position": state.hands.index(p.id) + 1})
    new, outcome = _set_hand(state, p, now)
    return new, replace(outcome, result={"position": len(new.hands)})


@_rule(c.LowerHand)
def _lower_hand(state: RoomState, cmd: c.LowerHand, now: int) -> tuple[RoomState, Outcome]:
    return _lower(state, _joined(state, cmd.id))


def _lower(state: RoomState, p: Participant) -> tuple[RoomState, Outcome]:
    return (state, Outcome()) if p.hand is None else _set_hand(state, p, None)


# -- facilitation ----------------------------------------------------------------------------------


@_rule(c.Admit)
def _admit(state: RoomState, cmd: c.Admit, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    p = state.waiting.get(cmd.id)
    if p is None:
        raise not_found("That person is no longer in the waiting room.")
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
        events.append(Event("participant:joined", p.public(), ToRoom(skip=p.id)))
        events.append(Event("lobby:admitted", {"room": new.snapshot(p)}, ToParticipant(p.id)))
    return new, Outcome(events=tuple(events))


@_rule(c.Deny)
def _deny(state: RoomState, cmd: c.Deny, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    p = state.waiting.get(cmd.id)
    if p is None:
        raise not_found("That person is no longer in the waiting room.")
    new, events = _depart(state, p, "removed", now)
    told = Event("lobby:denied", {"reason": "denied"}, ToParticipant(p.id))
    return new, Outcome(events=(told, *events), kicks=(Kick(p.id, "denied", p.conn),), emptied=new.is_empty)


@_rule(c.Mute)
def _mute(state: RoomState, cmd: c.Mute, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    p = _target(state, cmd.id)
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
    return state.with_participant(q), Outcome(events=(_updated(q), told))


@_rule(c.LockMedia)
def _lock_media(state: RoomState, cmd: c.LockMedia, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    p = _target(state, cmd.id)
    if p.media_locked == cmd.locked:
        return state, Outcome()
    q = replace(p, media_locked=cmd.locked)
    return state.with_participant(q), Outcome(events=(_updated(q),))


@_rule(c.Remove)
def _remove(state: RoomState, cmd: c.Remove, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    if cmd.id == cmd.by:
        raise bad_request("Use leave to leave the meeting yourself.")
    p = state.find(cmd.id)
    if p is None:
        raise not_found()
    new, events = _depart(state, p, "removed", now)
    if cmd.ban:
        bans = {f"id:{p.id}"} | ({f"key:{p.browser_key_hash}"} if p.browser_key_hash else set())
        new = replace(new, bans=new.bans | bans)
    told = Event("you:removed", {"ban": cmd.ban}, ToParticipant(p.id))
    return new, Outcome(events=(told, *events), kicks=(Kick(p.id, "removed", p.conn),), emptied=new.is_empty)


@_rule(c.Lock)
def _lock(state: RoomState, cmd: c.Lock, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    if state.locked == cmd.locked:
        return state, Outcome()
    new = replace(state, locked=cmd.locked)
    return new, Outcome(events=(_room_updated(new),))


@_rule(c.SetWaitingRoom)
def _set_waiting_room(state: RoomState, cmd: c.SetWaitingRoom, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    if state.waiting_room == cmd.enabled:
        return state, Outcome()
    new = replace(state, waiting_room=cmd.enabled)
    events: tuple[Event, ...] = ()
    if not cmd.enabled and new.waiting:
        # Turning the waiting room off lets in everyone who was waiting, as people expect.
        new, admitted = _admit_all(new, tuple(new.waiting.values()))
        events = admitted.events
    return new, Outcome(events=(*events, _room_updated(new)))


@_rule(c.NextSpeaker)
def _next_speaker(state: RoomState, cmd: c.NextSpeaker, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    if cmd.limit_s is not None and cmd.limit_s <= 0:
        raise bad_request("A share timer must be a positive number of seconds.")
    if not state.hands:
        if state.speaker is None:
            return state, Outcome(result={"speaker": None})
        new = replace(state, speaker=None)
        return new, Outcome(events=(_room_updated(new),), result={"speaker": None})
    first = state.participants[state.hands[0]]
    q = replace(first, hand=None)
    new = replace(
        state.with_participant(q),
        hands=state.hands[1:],
        speaker=Speaker(id=q.id, since=now, limit_s=cmd.limit_s),
    )
    return new, Outcome(events=(_updated(q), _room_updated(new)), result={"speaker": q.id})


@_rule(c.LowerHandOf)
def _lower_hand_of(state: RoomState, cmd: c.LowerHandOf, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    return _lower(state, _target(state, cmd.id))


@_rule(c.SetRole)
def _set_role(state: RoomState, cmd: c.SetRole, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    p = _target(state, cmd.id)
    if p.role == cmd.role:
        return state, Outcome()
    if p.role is Role.FACILITATOR:
        others = [x for x in state.participants.values() if x.role is Role.FACILITATOR and x.id != p.id]
        if not others:
            raise bad_request("A meeting needs at least one facilitator.")
    q = replace(p, role=cmd.role)
    return state.with_participant(q), Outcome(events=(_updated(q),))


@_rule(c.End)
def _end(state: RoomState, cmd: c.End, now: int) -> tuple[RoomState, Outcome]:
    _facilitator(state, cmd.by)
    events: list[Event] = [Event("room:ended", {"by": cmd.by})]
    events += [Event("lobby:denied", {"reason": "ended"}, ToParticipant(p)) for p in state.waiting]
    kicks = tuple(
        Kick(x.id, "ended", x.conn) for x in (*state.participants.values(), *state.waiting.values())
    )
    # The room itself stays for the next meeting; the bans still hold there.
    new = replace(state.fresh(state.room, now), bans=state.bans)
    return new, Outcome(events=tuple(events), kicks=kicks, emptied=True)

"""The rules of a room: `apply(state, command, now) -> (state, outcome)`.

Pure and deterministic: no I/O, no clock, no randomness. The caller passes the time (ms since the epoch)
and any new id, commits the returned state atomically, then delivers the outcome's events.
A refused command raises `Refusal` and leaves the state as it was.

This module holds the rules for what members do for themselves; `rooms.facilitation` holds what
facilitators do to others and to the room.
"""

from __future__ import annotations

from dataclasses import replace

from rooms import commands as c
from rooms import facilitation
from rooms.errors import Refusal, bad_request, forbidden, not_found
from rooms.events import Event, Kick, Outcome, ToFacilitators, ToRoom
from rooms.model import Media, Participant, Role, RoomState
from rooms.roster import changed, depart, joined, lower_hand, presence, set_hand
from rooms.rulebook import Rulebook

_RULES = Rulebook(facilitation.RULES)


def apply(state: RoomState, command: c.Command, now: int) -> tuple[RoomState, Outcome]:
    """Apply one command. The version grows by one whenever the state changes."""
    new, outcome = _RULES.rule_for(type(command))(state, command, now)
    if new is not state:
        new = replace(new, version=state.version + 1)
    return new, outcome


def check_chat(state: RoomState, sender_id: str, to: str | None) -> Participant:
    """Who may chat with whom: a joined participant, to the room or to one other present participant."""
    sender = joined(state, sender_id)
    if to is not None:
        if to == sender_id:
            raise bad_request("A private message needs someone other than you.")
        if to not in state.participants:
            raise not_found("That person is not in the meeting any more.")
    return sender


def _clamp_media(media: Media, audio: bool, video: bool) -> tuple[bool, bool]:
    return audio and media is not Media.TEXT, video and media is Media.AV


# -- joining and leaving ---------------------------------------------------------------------------


@_RULES.rule(c.Join)
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
        event = Event("lobby:waiting", p, ToFacilitators())
        return new, Outcome(events=(event,), result={"id": p.id, "waiting": True})
    new = replace(state, participants={**state.participants, p.id: p}, emptied_at=None)
    event = Event("participant:joined", p, ToRoom(skip=p.id))
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
        events=(presence(state, p, "participant:updated", p),),
        kicks=kicks,
        result={"id": p.id, "waiting": waiting, "resumed": True},
    )


@_RULES.rule(c.Leave)
def _leave(state: RoomState, cmd: c.Leave, now: int) -> tuple[RoomState, Outcome]:
    p = state.find(cmd.id)
    if p is None:
        raise Refusal("not_joined", "You are not in this room.")
    new, events = depart(state, p, "left", now)
    return new, Outcome(events=tuple(events), emptied=new.is_empty)


@_RULES.rule(c.Disconnect)
def _disconnect(state: RoomState, cmd: c.Disconnect, now: int) -> tuple[RoomState, Outcome]:
    p = state.find(cmd.id)
    if p is None or p.conn != cmd.conn or p.away:
        return state, Outcome()
    q = replace(p, away=True, away_since=now, speaking=False)
    return state.with_participant(q), Outcome(events=(presence(state, q, "participant:updated", q),))


@_RULES.rule(c.Sweep)
def _sweep(state: RoomState, cmd: c.Sweep, now: int) -> tuple[RoomState, Outcome]:
    new = state
    events: list[Event] = []
    for p in (*state.participants.values(), *state.waiting.values()):
        lost = p.instance == cmd.instance and p.conn not in cmd.live_conns
        if not p.away and (p.instance in cmd.dead_instances or lost):
            q = replace(p, away=True, away_since=now, speaking=False)
            new = new.with_participant(q)
            events.append(presence(new, q, "participant:updated", q))
        elif p.away and p.away_since is not None and now - p.away_since >= cmd.grace_s * 1000:
            new, left = depart(new, p, "disconnected", now)
            events.extend(left)
    emptied = new.is_empty and not state.is_empty
    return new, Outcome(events=tuple(events), emptied=emptied)


# -- a member's own media and hand -----------------------------------------------------------------


@_RULES.rule(c.SetMedia)
def _set_media(state: RoomState, cmd: c.SetMedia, now: int) -> tuple[RoomState, Outcome]:
    p = joined(state, cmd.id)
    if (cmd.audio or cmd.video) and p.media is Media.TEXT:
        raise bad_request("You joined by text only, so there is no microphone or camera to turn on.")
    if cmd.video and p.media is Media.AUDIO:
        raise bad_request("You joined with audio only, so there is no camera to turn on.")
    if p.media_locked and ((cmd.audio and not p.audio) or (cmd.video and not p.video)):
        raise forbidden("A facilitator has paused your microphone and camera for now.")
    return changed(state, p, audio=cmd.audio, video=cmd.video, speaking=p.speaking and cmd.audio)


@_RULES.rule(c.SetSpeaking)
def _set_speaking(state: RoomState, cmd: c.SetSpeaking, now: int) -> tuple[RoomState, Outcome]:
    p = joined(state, cmd.id)
    return changed(state, p, speaking=cmd.speaking and p.audio)


@_RULES.rule(c.RaiseHand)
def _raise_hand(state: RoomState, cmd: c.RaiseHand, now: int) -> tuple[RoomState, Outcome]:
    p = joined(state, cmd.id)
    if p.hand is not None:
        return state, Outcome(result={"position": state.hands.index(p.id) + 1})
    new, outcome = set_hand(state, p, now)
    return new, replace(outcome, result={"position": len(new.hands)})


@_RULES.rule(c.LowerHand)
def _lower_hand(state: RoomState, cmd: c.LowerHand, now: int) -> tuple[RoomState, Outcome]:
    return lower_hand(state, joined(state, cmd.id))

"""The rules of a room: `apply(state, command, now) -> (state, outcome)`.

Pure and deterministic: no I/O, no clock, no randomness. The caller passes the time (ms since the epoch)
and any new id, commits the returned state atomically, then delivers the outcome's events.
A refused command raises `Refusal` and leaves the state as it was.

This module holds the rules for what members do for themselves; `rooms.facilitation` holds what
facilitators do to others and to the room, `rooms.safety` the safety pause, `rooms.agenda` the meeting's
format, `rooms.chat` the chat policy, `rooms.concerns` the concerns members raise and `rooms.media`
where the meeting's media goes.
"""

from __future__ import annotations

from dataclasses import replace

from rooms import agenda, chat, concerns, facilitation, media, safety
from rooms import commands as c
from rooms.chat import check_chat
from rooms.errors import Refusal, bad_request, forbidden
from rooms.events import Event, Kick, Outcome, ToFacilitators, ToParticipant, ToRoom
from rooms.model import Media, Participant, Role, RoomState
from rooms.roster import (
    changed,
    depart,
    facilitator_presence,
    joined,
    lower_hand,
    presence,
    room_updated,
    set_hand,
)
from rooms.rulebook import Rulebook

_RULES = Rulebook(facilitation.RULES, safety.RULES, agenda.RULES, chat.RULES, concerns.RULES, media.RULES)

__all__ = ["apply", "check_chat"]


def apply(state: RoomState, command: c.Command, now: int) -> tuple[RoomState, Outcome]:
    """Apply one command. The version grows by one whenever the state changes, and a room an event
    carries is at that version."""
    new, outcome = _RULES.rule_for(type(command))(state, command, now)
    if new is not state:
        told = facilitator_presence(state, new)
        if told:
            # The room is told once, of the room as it is after the command.
            kept = tuple(e for e in outcome.events if e.name != "room:updated")
            outcome = replace(outcome, events=(*kept, *told))
        version = state.version + 1
        new = replace(new, version=version)
        events = tuple(_at_version(e, version) for e in outcome.events)
        outcome = replace(outcome, events=events)
    return new, outcome


def _at_version(event: Event, version: int) -> Event:
    if isinstance(event.payload, RoomState):
        return replace(event, payload=replace(event.payload, version=version))
    return event


def _clamp_media(media: Media, audio: bool, video: bool) -> tuple[bool, bool]:
    return audio and media is not Media.TEXT, video and media is Media.AV


# -- joining and leaving ---------------------------------------------------------------------------


def _banned() -> Refusal:
    return Refusal("banned", "You can't rejoin this meeting.", scope="room")


def _removed() -> Refusal:
    return Refusal(
        "banned",
        "A facilitator has asked you to leave this meeting, so you can't rejoin it. "
        "If you need to, you can contact the group's organiser.",
        scope="meeting",
    )


@_RULES.rule(c.Join)
def _join(state: RoomState, cmd: c.Join, now: int) -> tuple[RoomState, Outcome]:
    bans = state.bans | cmd.banned_marks
    returning = False
    if cmd.resume_of is not None:
        pid, gen = cmd.resume_of
        if f"id:{pid}" in bans:
            raise _banned()
        old = state.find(pid)
        if old is not None and old.resume_gen == gen:
            return _resume(state, old, cmd)
        returning = f"id:{pid}" in state.removed
    if cmd.browser_key_hash:
        if f"key:{cmd.browser_key_hash}" in bans:
            raise _banned()
        returning = returning or f"key:{cmd.browser_key_hash}" in state.removed
    # Someone removed from this meeting who comes back is kept out: refused, or, where the room has a
    # waiting room, held there with a flag, so that a facilitator sees who it is and decides (the browser
    # may be a shared one, or the removal a mistake).
    if returning and not state.waiting_room:
        raise _removed()
    guidelines = _guidelines_accepted(state, cmd, None)
    one_to_one = state.room.one_to_one
    invite = _invitation(state, cmd) if one_to_one else None
    host = cmd.is_host and not one_to_one
    # An address is shared by a household, a treatment centre, a mobile network: someone coming from a
    # banned person's address is never refused for it, but waits for a facilitator, flagged.
    same_address = (
        not host and not one_to_one and cmd.address_hash is not None and f"addr:{cmd.address_hash}" in bans
    )
    flagged = returning or same_address
    if not host and not one_to_one:
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
        role=Role.FACILITATOR if host else Role.MEMBER,
        media=cmd.media,
        joined_at=now,
        instance=cmd.instance,
        conn=cmd.conn,
        audio=audio,
        video=video,
        browser_key_hash=cmd.browser_key_hash,
        address_hash=cmd.address_hash,
        returning_removed=flagged,
        guidelines_version=guidelines,
        invite=invite,
    )
    # Nobody could let anyone into a one-to-one room: its two invitations are its door.
    if flagged or (state.waiting_room and not host and not one_to_one):
        _check_waiting_from(state, cmd)
        new = replace(state, waiting={**state.waiting, p.id: p}, emptied_at=None)
        event = Event("lobby:waiting", p, ToFacilitators())
        result = {"id": p.id, "waiting": True, "facilitator_present": state.facilitator_present}
        return new, Outcome(events=(event,), result=result)
    new = replace(state, participants={**state.participants, p.id: p}, emptied_at=None)
    event = Event("participant:joined", p, ToRoom(skip=p.id))
    return new, Outcome(events=(event,), result={"id": p.id, "waiting": False})


def _check_waiting_from(state: RoomState, cmd: c.Join) -> None:
    """One address may not fill the waiting room: a handful of scripts could otherwise take every seat
    and bury the people who came to the meeting among them."""
    cap = cmd.max_waiting_per_address
    if cap is None or cmd.address_hash is None:
        return
    if sum(1 for w in state.waiting.values() if w.address_hash == cmd.address_hash) >= cap:
        raise Refusal(
            "room_full",
            "Too many people from your network are already waiting to be let in. "
            "Please try again once a facilitator has let them in.",
            scope="address",
        )


def _guidelines_accepted(state: RoomState, cmd: c.Join, accepted: int | None) -> int | None:
    """The version of the room's guidelines the joiner has accepted: `accepted` when that is the current
    one, else the current one if they accept it now; refused otherwise."""
    room = state.room
    if not room.guidelines or accepted == room.guidelines_version:
        return accepted
    if not cmd.accepted_guidelines:
        message = (
            "The group guidelines have changed. Please read and accept them again."
            if accepted is not None
            else "Please read and accept the group guidelines to join."
        )
        raise Refusal("bad_request", message, guidelines_version=room.guidelines_version)
    if cmd.guidelines_version is not None and cmd.guidelines_version != room.guidelines_version:
        raise Refusal(
            "bad_request",
            "The group guidelines have changed. Please read and accept them again.",
            guidelines_version=room.guidelines_version,
        )
    return room.guidelines_version


def _invitation(state: RoomState, cmd: c.Join) -> int:
    """Which of a one-to-one room's invitations brings the joiner, each for one person at a time."""
    if cmd.invite is None or not 0 <= cmd.invite < len(state.room.invite_key_hashes):
        raise forbidden("This meeting is only for the two people invited to it. Please use your own link.")
    if any(p.invite == cmd.invite for p in (*state.participants.values(), *state.waiting.values())):
        raise Refusal("room_full", "Someone is already in this meeting with this personal link.")
    return cmd.invite


def _resume(state: RoomState, old: Participant, cmd: c.Join) -> tuple[RoomState, Outcome]:
    # A resume token is only half of a seat: the browser it was given to must bring it back, so that a
    # token copied elsewhere (or left behind on a shared screen) opens nothing.
    if old.browser_key_hash is not None and cmd.browser_key_hash != old.browser_key_hash:
        raise forbidden("This seat belongs to another browser. Please join again without resuming.")
    p = replace(
        old,
        away=False,
        away_since=None,
        instance=cmd.instance,
        conn=cmd.conn,
        resume_gen=old.resume_gen + 1,
        guidelines_version=_guidelines_accepted(state, cmd, old.guidelines_version),
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
    if new.media_host is not None and new.media_host in cmd.dead_instances:
        new = media.lose_host(new)
        events.append(room_updated(new))
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


# -- a member's own turn ---------------------------------------------------------------------------


@_RULES.rule(c.DoneSpeaking)
def _done_speaking(state: RoomState, cmd: c.DoneSpeaking, now: int) -> tuple[RoomState, Outcome]:
    joined(state, cmd.id)
    # Not (or no longer) the speaker: the facilitator may have moved on just before; nothing to end.
    if state.speaker is None or state.speaker.id != cmd.id:
        return state, Outcome(result={"ended": False})
    new = replace(state, speaker=None)
    return new, Outcome(events=(room_updated(new),), result={"ended": True})


@_RULES.rule(c.PassTurn)
def _pass_turn(state: RoomState, cmd: c.PassTurn, now: int) -> tuple[RoomState, Outcome]:
    p = joined(state, cmd.id)
    if state.speaker is not None and state.speaker.id == p.id:
        new, outcome = _done_speaking(state, c.DoneSpeaking(p.id), now)
    elif p.hand is not None:
        new, outcome = lower_hand(state, p)
    else:
        return state, Outcome(result={"passed": False})
    return new, replace(outcome, result={"passed": True})


# -- the room's definition -------------------------------------------------------------------------


@_RULES.rule(c.Redefine)
def _redefine(state: RoomState, cmd: c.Redefine, now: int) -> tuple[RoomState, Outcome]:
    if cmd.room.id != state.room.id:
        raise bad_request("That is the definition of another room.")
    # A definition read before the meeting took a newer one (two instances, one of them slower) is not
    # allowed to take the meeting back.
    if cmd.room == state.room or cmd.room.revision < state.room.revision:
        return state, Outcome()
    if state.is_empty:
        # Between meetings the next one starts from the new definition; the chat keeps its expiry.
        return replace(replace(state, room=cmd.room).reset(now), emptied_at=state.emptied_at), Outcome()
    new = replace(state, room=cmd.room)
    events = (room_updated(new),) if cmd.room.title != state.room.title else ()
    return new, Outcome(events=events)


@_RULES.rule(c.Close)
def _close(state: RoomState, cmd: c.Close, now: int) -> tuple[RoomState, Outcome]:
    if state.is_empty:
        return state, Outcome()
    # Told as the end of the meeting, with nobody who ended it: the room itself is going.
    events: list[Event] = [Event("room:ended", {"by": None, "reason": "deleted"})]
    events += [Event("lobby:denied", {"reason": "ended"}, ToParticipant(p)) for p in state.waiting]
    kicks = tuple(
        Kick(x.id, "ended", x.conn) for x in (*state.participants.values(), *state.waiting.values())
    )
    return state.reset(now), Outcome(events=tuple(events), kicks=kicks, emptied=True)

"""Who is in a room: finding a participant, checking what they may do, taking them out, their raised hand,
and the events that tell the room about it.

Shared by the rules for members and the rules for facilitators.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from rooms.errors import Refusal, forbidden, not_found
from rooms.events import Event, Outcome, Payload, ToFacilitators, ToParticipant, ToRoom
from rooms.model import Participant, Role, RoomState


def participant_updated(p: Participant) -> Event:
    """Tell the room how `p` looks now."""
    return Event("participant:updated", p)


def changed(state: RoomState, p: Participant, **fields: Any) -> tuple[RoomState, Outcome]:
    """`p` with `fields` changed, and the room told; when that changes nothing, nothing happens."""
    q = replace(p, **fields)
    if q == p:
        return state, Outcome()
    return state.with_participant(q), Outcome(events=(participant_updated(q),))


def presence(state: RoomState, p: Participant, name: str, payload: Payload) -> Event:
    """A presence event goes to the room, or only to facilitators while `p` is in the waiting room."""
    audience = ToFacilitators() if p.id in state.waiting else ToRoom()
    return Event(name, payload, audience)


def room_updated(state: RoomState) -> Event:
    """Tell the room how the room itself looks now (lock, waiting room, hands, speaker, and the meeting's
    safety pause, agenda, facilitator presence and private-message policy)."""
    return Event("room:updated", state)


def facilitator_presence(before: RoomState, after: RoomState) -> list[Event]:
    """When the last facilitator has gone or dropped, or one is back, tell the room and each person
    waiting to be let in (whom room events do not reach), so that nobody is promised an admission that
    no one is there to give."""
    if before.facilitator_present == after.facilitator_present or after.is_empty:
        return []
    present = {"present": after.facilitator_present}
    return [
        room_updated(after),
        *(Event("lobby:facilitator", present, ToParticipant(pid)) for pid in after.waiting),
    ]


def join_order(people: Iterable[Participant]) -> list[Participant]:
    """`people` in the order they joined the meeting (a resume keeps the place)."""
    return sorted(people, key=lambda p: p.joined_at)


def joined(state: RoomState, pid: str) -> Participant:
    """The participant `pid`, who must be in the room itself, not in the waiting room."""
    p = state.participants.get(pid)
    if p is None:
        if pid in state.waiting:
            raise forbidden("You are in the waiting room; a facilitator will let you in.")
        raise Refusal("not_joined", "You are not in this room.")
    return p


def facilitator(state: RoomState, pid: str) -> Participant:
    """The participant `pid`, who must be in the room and a facilitator."""
    p = joined(state, pid)
    if p.role is not Role.FACILITATOR:
        raise forbidden()
    return p


def target(state: RoomState, pid: str) -> Participant:
    """The participant `pid` someone else acts on, who must be in the room."""
    p = state.participants.get(pid)
    if p is None:
        raise not_found()
    return p


def without(state: RoomState, pid: str, now: int) -> RoomState:
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
        # Whatever this meeting changed (lock, waiting room, safety pause, agenda position, policy,
        # removals) ends with it: the next meeting starts as the room is defined.
        new = new.reset(now)
    return new


def depart(state: RoomState, p: Participant, reason: str, now: int) -> tuple[RoomState, list[Event]]:
    """Take `p` out of the room for `reason`, with the events that say so."""
    events = [presence(state, p, "participant:left", {"id": p.id, "reason": reason})]
    new = without(state, p.id, now)
    if p.hand is not None or (state.speaker and state.speaker.id == p.id):
        events.append(room_updated(new))
    return new, events


def set_hand(state: RoomState, p: Participant, raised_at: int | None) -> tuple[RoomState, Outcome]:
    """Raise `p`'s hand at the end of the queue (at `raised_at`), or lower it when `raised_at` is None."""
    hands = tuple(h for h in state.hands if h != p.id)
    if raised_at is not None:
        hands += (p.id,)
    q = replace(p, hand=raised_at)
    new = replace(state.with_participant(q), hands=hands)
    return new, Outcome(events=(participant_updated(q), room_updated(new)))


def lower_hand(state: RoomState, p: Participant) -> tuple[RoomState, Outcome]:
    """Lower `p`'s hand if it is raised."""
    return (state, Outcome()) if p.hand is None else set_hand(state, p, None)

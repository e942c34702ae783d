"""Keeping the room safe when something goes wrong: the safety pause, muting everyone at once, and a
member's request to have their media back.

A facilitator's own lock, waiting-room or media-lock decision always wins over the pause: lifting the
pause undoes only what the pause itself did and what no facilitator has set since.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from rooms import commands as c
from rooms.errors import bad_request
from rooms.events import Event, Outcome, ToFacilitators, ToParticipant
from rooms.model import Media, Participant, Role, RoomState, SafetyPause
from rooms.roster import facilitator, joined, participant_updated, room_updated
from rooms.rulebook import Rulebook

RULES = Rulebook()
"""The safety rules, for `rooms.rules` to gather."""


def media_lock(p: Participant, locked: bool) -> Participant:
    """`p` with their media held muted or released; either answers any request to unmute."""
    return replace(p, media_locked=locked, unmute_requested=False)


def hushed(p: Participant, lock: bool) -> Participant:
    """`p` muted, and with `lock` held muted."""
    q = replace(p, audio=False, video=False, speaking=False)
    return media_lock(q, True) if lock else q


def unmute_request(p: Participant, at: int | None = None) -> Event:
    """Tell facilitators that `p` asks to be unmuted, or that the request has been answered."""
    payload: dict[str, object] = {"id": p.id, "requested": p.unmute_requested}
    if at is not None:
        payload["at"] = at
    return Event("media:unmute-requested", payload, ToFacilitators())


def told(by: str, before: Participant, after: Participant) -> list[Event]:
    """The events that say how `before` became `after` at a facilitator's hand: to the room, to
    facilitators when an unmute request was answered, and to the person when their tracks were muted."""
    if after == before:
        return []
    events = [participant_updated(after)]
    if before.unmute_requested and not after.unmute_requested:
        events.append(unmute_request(after))
    muted_audio, muted_video = before.audio and not after.audio, before.video and not after.video
    if muted_audio or muted_video:
        payload = {"by": by, "audio": muted_audio, "video": muted_video}
        events.append(Event("you:muted", payload, ToParticipant(after.id)))
    return events


def facilitator_set(
    state: RoomState, *, locked: bool = False, waiting_room: bool = False, media: Iterable[str] = ()
) -> RoomState:
    """`state` with the pause forgetting whatever a facilitator has just set themselves, so that lifting
    the pause leaves it as the facilitator set it."""
    pause = state.safety_pause
    if pause is None:
        return state
    forgot = SafetyPause(
        locked=None if locked else pause.locked,
        waiting_room=None if waiting_room else pause.waiting_room,
        media_locked=pause.media_locked - frozenset(media),
    )
    return state if forgot == pause else replace(state, safety_pause=forgot)


def held(state: RoomState, people: Iterable[Participant]) -> tuple[RoomState, list[Participant]]:
    """While the pause is on, members let in are muted and held muted like everyone else, and the pause
    remembers it set those locks."""
    people = list(people)
    pause = state.safety_pause
    if pause is None:
        return state, people
    out = [p if p.role is Role.FACILITATOR else hushed(p, lock=True) for p in people]
    newly = {p.id for p in people if p.role is not Role.FACILITATOR and not p.media_locked}
    return replace(state, safety_pause=replace(pause, media_locked=pause.media_locked | newly)), out


@RULES.rule(c.Safety)
def _safety(state: RoomState, cmd: c.Safety, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if cmd.on == state.safety:
        return state, Outcome()
    return _pause(state, cmd.by) if cmd.on else _lift(state, cmd.by)


def _pause(state: RoomState, by: str) -> tuple[RoomState, Outcome]:
    members = [p for p in state.participants.values() if p.role is not Role.FACILITATOR]
    pause = SafetyPause(
        locked=state.locked,
        waiting_room=state.waiting_room,
        media_locked=frozenset(p.id for p in members if not p.media_locked),
    )
    new = replace(state, locked=True, waiting_room=True, hands=(), safety_pause=pause)
    events: list[Event] = []
    for p in state.participants.values():
        q = replace(p, hand=None)
        if p.role is not Role.FACILITATOR:
            q = hushed(q, lock=True)
        new = new.with_participant(q)
        events += told(by, p, q)
    return new, Outcome(events=(*events, room_updated(new)))


def _lift(state: RoomState, by: str) -> tuple[RoomState, Outcome]:
    pause = state.safety_pause
    assert pause is not None
    # Whoever arrived during the pause stays in the waiting room even when it was off before: the
    # person the pause was for may be among them, so a facilitator lets each in.
    new = replace(
        state,
        locked=state.locked if pause.locked is None else pause.locked,
        waiting_room=state.waiting_room if pause.waiting_room is None else pause.waiting_room,
        safety_pause=None,
    )
    events: list[Event] = []
    for pid in pause.media_locked:
        p = state.participants.get(pid)
        if p is not None and p.media_locked:
            q = media_lock(p, False)
            new = new.with_participant(q)
            events += told(by, p, q)
    return new, Outcome(events=(*events, room_updated(new)))


@RULES.rule(c.MuteAll)
def _mute_all(state: RoomState, cmd: c.MuteAll, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    new = state
    events: list[Event] = []
    muted = []
    for p in state.participants.values():
        if p.role is Role.FACILITATOR:
            continue
        q = hushed(p, cmd.lock)
        if q != p:
            new = new.with_participant(q)
            events += told(cmd.by, p, q)
            muted.append(p.id)
    if cmd.lock:
        new = facilitator_set(new, media=muted)
    return new, Outcome(events=tuple(events), result={"muted": len(muted)})


@RULES.rule(c.RequestUnmute)
def _request_unmute(state: RoomState, cmd: c.RequestUnmute, now: int) -> tuple[RoomState, Outcome]:
    p = joined(state, cmd.id)
    if p.media is Media.TEXT:
        raise bad_request("You joined by text only, so there is no microphone or camera to turn on.")
    if not p.media_locked:
        raise bad_request("Your microphone isn't held muted: you can turn it on yourself.")
    if p.unmute_requested:
        return state, Outcome(result={"requested": True})
    q = replace(p, unmute_requested=True)
    return state.with_participant(q), Outcome(events=(unmute_request(q, now),), result={"requested": True})

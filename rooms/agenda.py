"""The meeting's format: an agenda of segments that a facilitator sets and steps through.

Entering a round fills the speaking queue with every member present, in the order they joined, so that
everyone is offered a turn and no one has to ask for one.
"""

from __future__ import annotations

from dataclasses import replace

from rooms import commands as c
from rooms.errors import bad_request
from rooms.events import Event, Outcome
from rooms.model import Role, RoomState, Segment, SegmentKind
from rooms.roster import facilitator, join_order, participant_updated, room_updated
from rooms.rulebook import Rulebook
from rooms.text import has_control_characters

RULES = Rulebook()
"""The agenda rules, for `rooms.rules` to gather."""


def check_agenda(segments: tuple[Segment, ...], limits: c.AgendaLimits) -> tuple[Segment, ...]:
    """The agenda with titles and texts trimmed (an empty text is none), or `Refusal` (bad_request)
    saying what is wrong. Also for a room's default agenda, before it is stored."""
    if len(segments) > limits.max_segments:
        raise bad_request(f"An agenda can have at most {limits.max_segments} parts.")
    return tuple(_check_segment(n, s, limits) for n, s in enumerate(segments, start=1))


def _check_segment(n: int, segment: Segment, limits: c.AgendaLimits) -> Segment:
    if not isinstance(segment.kind, SegmentKind):
        raise bad_request(f"Part {n} of the agenda must be a reading, a round, open sharing or a closing.")
    title = segment.title.strip()
    if not title or len(title) > limits.max_title_chars:
        most = limits.max_title_chars
        raise bad_request(f"Part {n} of the agenda needs a title of 1 to {most} characters.")
    if has_control_characters(title, newlines=False):
        raise bad_request(f"The title of part {n} of the agenda has characters that can't be shown.")
    text = segment.text.strip() if segment.text is not None else None
    if text is not None and len(text) > limits.max_text_chars:
        raise bad_request(f"The text of part {n} of the agenda is over {limits.max_text_chars} characters.")
    if text is not None and has_control_characters(text, newlines=True):
        raise bad_request(f"The text of part {n} of the agenda has characters that can't be shown.")
    limit_s = segment.limit_s
    if limit_s is not None and (
        isinstance(limit_s, bool) or not isinstance(limit_s, int) or not 0 < limit_s <= limits.max_limit_s
    ):
        raise bad_request(f"The share timer of part {n} must be 1 to {limits.max_limit_s} seconds.")
    return Segment(kind=segment.kind, title=title, text=text or None, limit_s=limit_s)


@RULES.rule(c.SetAgenda)
def _set_agenda(state: RoomState, cmd: c.SetAgenda, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    agenda = check_agenda(cmd.segments, cmd.limits)
    # Mending the agenda during the meeting keeps its place (without entering the segment again).
    segment = state.segment if state.segment is not None and state.segment < len(agenda) else None
    result = {"segments": len(agenda), "segment": segment}
    if (agenda, segment) == (state.agenda, state.segment):
        return state, Outcome(result=result)
    new = replace(state, agenda=agenda, segment=segment)
    return new, Outcome(events=(room_updated(new),), result=result)


@RULES.rule(c.StepAgenda)
def _step_agenda(state: RoomState, cmd: c.StepAgenda, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    index = cmd.index
    if index is not None and (isinstance(index, bool) or not 0 <= index < len(state.agenda)):
        raise bad_request("There is no such part in this meeting's agenda.")
    result = {"segment": index}
    # Two facilitators stepping to the same segment enter it once: a round is not filled again.
    if index == state.segment:
        return state, Outcome(result=result)
    new = replace(state, segment=index)
    events: list[Event] = []
    if index is not None and state.agenda[index].kind is SegmentKind.ROUND:
        new, events = _fill_round(new, now)
    return new, Outcome(events=(*events, room_updated(new)), result=result)


def _fill_round(state: RoomState, now: int) -> tuple[RoomState, list[Event]]:
    """Every member present (not facilitators, not those waiting or away) queued in join order; the
    floor is free for the first of them."""
    turn = [p.id for p in join_order(state.participants.values()) if p.role is Role.MEMBER and not p.away]
    new = replace(state, hands=tuple(turn), speaker=None)
    events = []
    for p in state.participants.values():
        q = replace(p, hand=now if p.id in turn else None)
        if q != p:
            new = new.with_participant(q)
            events.append(participant_updated(q))
    return new, events

"""A member's private word to the facilitators: "I'm worried about someone", "I need support after the
meeting". It reaches facilitators only, never the chat or anyone else's history, and stays in the room
state only until a facilitator has seen it (or the meeting ends)."""

from __future__ import annotations

from dataclasses import asdict, replace

from rooms import commands as c
from rooms.errors import Refusal, bad_request, not_found
from rooms.events import Event, Outcome, ToFacilitators, ToParticipant
from rooms.model import Concern, Participant, Role, RoomState
from rooms.roster import facilitator, joined
from rooms.rulebook import Rulebook
from rooms.text import has_control_characters

RULES = Rulebook()
"""The concern rules, for `rooms.rules` to gather."""


def may_read(p: Participant, concern: Concern) -> bool:
    """Facilitators read concerns, except one about themselves."""
    return p.role is Role.FACILITATOR and p.id != concern.about_id


@RULES.rule(c.RaiseConcern)
def _raise_concern(state: RoomState, cmd: c.RaiseConcern, now: int) -> tuple[RoomState, Outcome]:
    sender = joined(state, cmd.id)
    text = cmd.text.strip() if cmd.text is not None else None
    if text is not None and len(text) > cmd.max_chars:
        raise bad_request(f"Please keep it to {cmd.max_chars} characters; a facilitator can talk with you.")
    if text is not None and has_control_characters(text, newlines=True):
        raise bad_request("Your note has characters that can't be shown.")
    about = None
    if cmd.about is not None:
        about = state.participants.get(cmd.about)
        if about is None:
            raise not_found("That person is not in the meeting any more; you can say who you mean in words.")
    waiting = sum(1 for x in state.concerns.values() if x.sender_id == sender.id)
    if waiting >= cmd.max_open:
        raise Refusal(
            "rate_limited",
            "The facilitators haven't seen your earlier notes yet; they will, and then you can send more.",
        )
    if cmd.concern_id in state.concerns:
        raise bad_request("That note has already been sent.")
    concern = Concern(
        id=cmd.concern_id,
        sender_id=sender.id,
        sender_name=sender.name,
        at=now,
        about_id=about.id if about else None,
        about_name=about.name if about else None,
        text=text or None,
    )
    new = replace(state, concerns={**state.concerns, concern.id: concern})
    # The concern's own fields: what facilitators are shown of it is the wire's to decide. A concern
    # about a facilitator goes to the others only: it may be about how they lead.
    event = Event("concern:raised", asdict(concern), ToFacilitators(skip=concern.about_id))
    # "Delivered" only when a facilitator is there to read it now; otherwise the first one to come sees it.
    readers = [x for x in state.participants.values() if may_read(x, concern) and not x.away]
    result = {"id": concern.id, "delivered": bool(readers)}
    return new, Outcome(events=(event,), result=result)


@RULES.rule(c.ConcernSeen)
def _concern_seen(state: RoomState, cmd: c.ConcernSeen, now: int) -> tuple[RoomState, Outcome]:
    by = facilitator(state, cmd.by)
    concern = state.concerns.get(cmd.id)
    # Two facilitators marking the same concern: the second has nothing left to do. One about the
    # facilitator asking is, for them, no concern at all.
    if concern is None or not may_read(by, concern):
        return state, Outcome(result={"seen": False})
    new = replace(state, concerns={k: v for k, v in state.concerns.items() if k != cmd.id})
    payload = {"id": concern.id, "by": cmd.by}
    events = [Event("concern:seen", payload, ToFacilitators(skip=concern.about_id))]
    if concern.sender_id in state.participants:
        events.append(Event("concern:seen", payload, ToParticipant(concern.sender_id)))
    return new, Outcome(events=tuple(events), result={"seen": True})

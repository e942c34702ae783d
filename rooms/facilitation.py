"""What facilitators may do: let people in or turn them away, mute, pause someone's media, remove and ban,
lock the meeting, run the waiting room and the speaking queue, change roles, and end the meeting.

Every rule here first checks that the one asking is a facilitator.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from rooms import commands as c
from rooms.errors import bad_request, not_found
from rooms.events import Event, Kick, Outcome, ToParticipant, ToRoom
from rooms.model import Participant, Role, RoomState, Speaker
from rooms.roster import changed, depart, facilitator, lower_hand, participant_updated, room_updated, target
from rooms.rulebook import Rulebook
from rooms.safety import facilitator_set, held, media_lock, told

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


@RULES.rule(c.AdmitAll)
def _admit_everyone(state: RoomState, cmd: c.AdmitAll, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    people = _let_in_together(state)
    if not people:
        return state, Outcome(result={"admitted": 0})
    new, outcome = _admit_all(state, people)
    return new, replace(outcome, result={"admitted": len(people)})


def _let_in_together(state: RoomState) -> tuple[Participant, ...]:
    """Everyone waiting but those removed earlier in this meeting: letting one of them back in takes a
    facilitator's decision about that person, never a click meant for everyone."""
    return tuple(p for p in state.waiting.values() if not p.returning_removed)


def _admit_all(state: RoomState, people: tuple[Participant, ...]) -> tuple[RoomState, Outcome]:
    admitted = {p.id for p in people}
    # Letting in someone who came back after a removal forgives it: their browser is not flagged again.
    forgiven = {f"key:{p.browser_key_hash}" for p in people if p.returning_removed and p.browser_key_hash}
    state, entering = held(state, (replace(p, returning_removed=False) for p in people))
    new = replace(
        state,
        waiting={k: v for k, v in state.waiting.items() if k not in admitted},
        participants={**state.participants, **{p.id: p for p in entering}},
        removed=state.removed - forgiven,
    )
    events: list[Event] = []
    for p in entering:
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
    p = target(state, cmd.id)
    q = media_lock(p, cmd.locked)
    new = facilitator_set(state, media=(p.id,))
    if q == p:
        return new, Outcome()
    return new.with_participant(q), Outcome(events=tuple(told(cmd.by, p, q)))


@RULES.rule(c.Remove)
def _remove(state: RoomState, cmd: c.Remove, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if cmd.id == cmd.by:
        raise bad_request("Use leave to leave the meeting yourself.")
    p = state.find(cmd.id)
    if p is None:
        raise not_found()
    # The same browser in another tab is the same person: they leave together, or one tab would stay.
    tabs = [p] + [
        q
        for q in (*state.participants.values(), *state.waiting.values())
        if p.browser_key_hash and q.browser_key_hash == p.browser_key_hash and q.id not in (p.id, cmd.by)
    ]
    new, events, kicks = state, [], []
    for q in tabs:
        new, left = depart(new, q, "removed", now)
        events += [Event("you:removed", {"ban": cmd.ban}, ToParticipant(q.id)), *left]
        kicks.append(Kick(q.id, "removed", q.conn))
    # A removal keeps the person out for the rest of this meeting, a ban for every meeting in the room.
    # Only a ban holds against the address too: an address is shared (a household, a treatment centre),
    # and flagging everyone behind it is a price worth paying for a ban, not for a request to leave.
    new = replace(new, removed=new.removed | {m for q in tabs for m in _marks(q)})
    banned: frozenset[str] = frozenset()
    if cmd.ban:
        banned = frozenset(m for q in tabs for m in _marks(q, address=True))
        new = replace(new, bans=new.bans | banned)
        if not new.is_empty and not new.waiting_room:
            # Whoever comes next in this meeting waits to be let in: a banned person under a new name,
            # from a new address, still needs a facilitator to open the door.
            new = replace(facilitator_set(new, waiting_room=True), waiting_room=True)
            events.append(room_updated(new))
    outcome = Outcome(events=tuple(events), kicks=tuple(kicks), emptied=new.is_empty, banned=banned)
    return new, outcome


def _marks(p: Participant, address: bool = False) -> set[str]:
    """What a removal holds against: the seat and the browser; a ban, the address too."""
    marks = {f"id:{p.id}"}
    if p.browser_key_hash:
        marks.add(f"key:{p.browser_key_hash}")
    if address and p.address_hash:
        marks.add(f"addr:{p.address_hash}")
    return marks


@RULES.rule(c.Lock)
def _lock(state: RoomState, cmd: c.Lock, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if state.locked == cmd.locked:
        return state, Outcome()
    new = replace(facilitator_set(state, locked=True), locked=cmd.locked)
    return new, Outcome(events=(room_updated(new),))


@RULES.rule(c.SetWaitingRoom)
def _set_waiting_room(state: RoomState, cmd: c.SetWaitingRoom, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if state.waiting_room == cmd.enabled:
        return state, Outcome()
    new = replace(facilitator_set(state, waiting_room=True), waiting_room=cmd.enabled)
    events: tuple[Event, ...] = ()
    if not cmd.enabled and _let_in_together(new):
        # Turning the waiting room off lets in everyone who was waiting, as people expect.
        new, admitted = _admit_all(new, _let_in_together(new))
        events = admitted.events
    return new, Outcome(events=(*events, room_updated(new)))


@RULES.rule(c.NextSpeaker)
def _next_speaker(state: RoomState, cmd: c.NextSpeaker, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if cmd.limit_s is not None and cmd.limit_s <= 0:
        raise bad_request("A share timer must be a positive number of seconds.")
    if not state.hands:
        # With nobody waiting, the current turn (if any) ends; the answer says that nobody is waiting.
        nobody = {"speaker": None, "nobody_waiting": True}
        if state.speaker is None:
            return state, Outcome(result=nobody)
        new = replace(state, speaker=None)
        return new, Outcome(events=(room_updated(new),), result=nobody)
    first = state.participants[state.hands[0]]
    q = replace(first, hand=None)
    limit_s = cmd.limit_s
    if limit_s is None and state.segment is not None:
        # A round's shares are timed as its agenda segment says, unless the facilitator says otherwise.
        limit_s = state.agenda[state.segment].limit_s
    new = replace(
        state.with_participant(q),
        hands=state.hands[1:],
        speaker=Speaker(id=q.id, since=now, limit_s=limit_s),
    )
    return new, Outcome(events=(participant_updated(q), room_updated(new)), result={"speaker": q.id})


@RULES.rule(c.ReorderHands)
def _reorder_hands(state: RoomState, cmd: c.ReorderHands, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if sorted(cmd.order) != sorted(state.hands):
        raise bad_request("The queue has changed meanwhile; please look at it again and retry.")
    if tuple(cmd.order) == state.hands:
        return state, Outcome(result={"hands": list(state.hands)})
    new = replace(state, hands=tuple(cmd.order))
    return new, Outcome(events=(room_updated(new),), result={"hands": list(new.hands)})


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
    new, outcome = changed(state, p, role=cmd.role)
    if cmd.role is Role.FACILITATOR:
        # Later arrivals and concerns reach every facilitator as they come; those already waiting,
        # and the concerns no facilitator has seen yet, the new one learns of now, so that nobody
        # waits unseen and no concern goes unread.
        to_them = ToParticipant(p.id)
        waiting = tuple(Event("lobby:waiting", w, to_them) for w in state.waiting.values())
        concerns = tuple(
            Event("concern:raised", asdict(x), to_them) for x in state.concerns.values() if x.about_id != p.id
        )
        outcome = replace(outcome, events=(*outcome.events, *waiting, *concerns))
    return new, outcome


@RULES.rule(c.End)
def _end(state: RoomState, cmd: c.End, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    events: list[Event] = [Event("room:ended", {"by": cmd.by})]
    events += [Event("lobby:denied", {"reason": "ended"}, ToParticipant(p)) for p in state.waiting]
    kicks = tuple(
        Kick(x.id, "ended", x.conn) for x in (*state.participants.values(), *state.waiting.values())
    )
    # The room itself stays for the next meeting; the bans still hold there.
    new = state.reset(now)
    return new, Outcome(events=tuple(events), kicks=kicks, emptied=True)

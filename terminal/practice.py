"""The meeting's practice from the terminal: ending or passing one's own turn, sharing a milestone,
telling the facilitators something privately, and (for facilitators) the concerns they are told and
the steps through the agenda.

The web client offers each of these as a button or a dialog; a text-only participant takes part in
the same practice, so each is a slash command here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from signaling.protocol import (
    CONCERN_MAX,
    MILESTONE_MAX,
    ConcernRaise,
    HandPass,
    MilestoneShare,
    ModAgendaStep,
    ModConcernSeen,
    SpeakerDone,
)
from terminal.names import lookup_problem
from terminal.session import ChatClient, RequestError

TURN_HELP = (
    "  /done           end your turn when you have finished sharing\n"
    "  /pass           let your turn go (in a round, or with your hand raised)\n"
    "  /milestone TEXT share a milestone, like /milestone 30 days"
)

CARE_HELP = (
    "Only the facilitators read these; they never enter the chat:\n"
    "  /concern TEXT         tell the facilitators something privately\n"
    "  /worried NAME [TEXT]  tell them you're worried about someone here"
)

FACILITATOR_HELP = (
    "  /concerns                  list the concerns members told you that are not marked seen\n"
    "  /seen NUMBER               mark a concern seen (its sender is told)\n"
    "  /agenda next|back|NUMBER   go to the next, the previous or a numbered part of the agenda"
)

# As the web client words them, so that facilitators read the same note whichever client sent it.
WORRIED = "I'm worried about someone."

Command = Callable[[ChatClient, str], Awaitable[None]]


async def _send(client: ChatClient, message: Any) -> dict[str, Any] | None:
    """Send `message`; its ack, or None after saying why it was refused."""
    try:
        return await client.request(message)
    except RequestError as exc:
        client.say(f"That didn't work: {exc.message or exc.code}")
        return None


def _in_meeting(client: ChatClient) -> bool:
    if client.state != "in":
        client.say("You're not in the meeting yet.")
        return False
    return True


# -- one's own turn ---------------------------------------------------------------------------------


async def done(client: ChatClient, rest: str) -> None:
    if not _in_meeting(client):
        return
    ack = await _send(client, SpeakerDone())
    if ack is None:
        return
    if ack.get("ended"):
        client.say("Thank you for sharing.")
    else:
        client.say("You don't have the floor just now, so there is no turn to end.")


async def pass_turn(client: ChatClient, rest: str) -> None:
    if not _in_meeting(client):
        return
    ack = await _send(client, HandPass())
    if ack is None:
        return
    if ack.get("passed"):
        client.say("You passed. That's always fine.")
    else:
        client.say("You aren't in the speaking queue, so there is no turn to pass.")


# -- care -------------------------------------------------------------------------------------------


async def milestone(client: ChatClient, rest: str) -> None:
    label = " ".join(rest.split())
    if not label or len(label) > MILESTONE_MAX:
        client.say(
            f"Usage: /milestone TEXT — a milestone of 1 to {MILESTONE_MAX} characters,"
            " like /milestone 30 days"
        )
        return
    if not _in_meeting(client):
        return
    try:
        ack = await client.request(MilestoneShare(label=label))
    except RequestError as exc:
        # Kept by the server and on its way to everyone: it is shared, and must not be shared twice.
        if exc.stored is not None:
            client.print_chat(exc.stored)
        else:
            client.say(f"Not shared: {exc.message or exc.code}")
        return
    if isinstance(ack.get("message"), dict):
        client.print_chat(ack["message"])


async def concern(client: ChatClient, rest: str) -> None:
    text = rest.strip()
    if not text:
        client.say("Usage: /concern TEXT — what you'd like the facilitators to know, privately.")
        return
    await _tell_facilitators(client, text, None)


async def worried(client: ChatClient, rest: str) -> None:
    usage = "Usage: /worried NAME [TEXT] — someone here (see /who), and what worries you if you like."
    if not _in_meeting(client):
        return
    lookup = client.room.find(rest.strip())
    if lookup.id is None:
        client.say(lookup_problem(lookup, usage))
        return
    words = lookup.rest.strip()
    await _tell_facilitators(client, f"{WORRIED}\n\n{words}" if words else WORRIED, lookup.id)


async def _tell_facilitators(client: ChatClient, text: str, about: str | None) -> None:
    if not _in_meeting(client):
        return
    if client.room.is_facilitator:
        client.say("You're a facilitator: concerns come to you. Tell a co-facilitator by /msg instead.")
        return
    if len(text) > CONCERN_MAX:
        client.say(f"Not sent: please keep it to {CONCERN_MAX} characters; a facilitator can talk with you.")
        return
    ack = await _send(client, ConcernRaise(about=about, text=text))
    if ack is None:
        return
    if ack.get("delivered"):
        client.say("The facilitators have been told, privately. Thank you for letting them know.")
    else:
        client.say(
            "No facilitator is here right now. Your note is kept for them, and they'll see it when"
            " one arrives."
        )


# -- a facilitator's part ---------------------------------------------------------------------------


async def list_concerns(client: ChatClient, rest: str) -> None:
    for line in client.room.open_concern_lines():
        client.say(line)


async def seen(client: ChatClient, rest: str) -> None:
    number = rest.strip()
    if not (number.isdigit() and number.isascii()):
        client.say("Usage: /seen NUMBER — the concern's number, as /concerns shows it.")
        return
    concern_id = client.room.open_concern(int(number))
    if concern_id is None:
        client.say(f"No concern {int(number)} is waiting to be seen; /concerns lists those that are.")
        return
    ack = await _send(client, ModConcernSeen(id=concern_id))
    if ack is not None and not ack.get("seen"):
        client.room.concern_gone(concern_id)
        client.say(f"Concern {int(number)} was already marked seen by another facilitator.")


async def step_agenda(client: ChatClient, rest: str) -> None:
    """`/agenda next|back|NUMBER`: the part to go to, checked against the agenda this client holds
    (the server checks it again)."""
    room = client.room
    where = rest.strip().lower()
    if not room.agenda:
        client.say("This meeting has no agenda to step through.")
        return
    at = room.segment if room.segment is not None else -1
    count = len(room.agenda)
    if where == "next":
        index = at + 1
        if index >= count:
            client.say("This is the last part of the agenda.")
            return
    elif where == "back":
        index = at - 1
        if index < 0:
            client.say("There is no earlier part of the agenda to go back to.")
            return
    elif where.isdigit() and where.isascii():
        index = int(where) - 1
        if not 0 <= index < count:
            client.say(f"The agenda has {count} parts: /agenda NUMBER takes 1 to {count}.")
            return
    else:
        client.say("Usage: /agenda shows the agenda; a facilitator's /agenda next|back|NUMBER steps it.")
        return
    if index == room.segment:
        client.say(f"Part {index + 1} is the current part already.")
        return
    await _send(client, ModAgendaStep(index=index))


async def agenda(client: ChatClient, rest: str) -> None:
    """`/agenda` shows the agenda to anyone; with words after it, a facilitator steps it."""
    if not rest.strip():
        for line in client.room.agenda_lines():
            client.say(line)
        return
    if client.state != "in" or not client.room.is_facilitator:
        client.say("Only facilitators can step through the agenda; /agenda shows it.")
        return
    await step_agenda(client, rest)


MEMBER_COMMANDS: dict[str, Command] = {
    "done": done,
    "pass": pass_turn,
    "milestone": milestone,
    "concern": concern,
    "worried": worried,
    "agenda": agenda,
}

FACILITATOR_COMMANDS: dict[str, Command] = {
    "concerns": list_concerns,
    "seen": seen,
}

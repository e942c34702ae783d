"""Who may say what in the chat: messages to the room and private ones under the meeting's policy,
milestones, and a facilitator deleting a message.

The chat log itself lives outside the room state (in the store); these rules decide and announce, and the
caller writes to or deletes from the log.
"""

from __future__ import annotations

from dataclasses import replace

from rooms import commands as c
from rooms.errors import bad_request, forbidden, not_found
from rooms.events import Event, Outcome
from rooms.model import ChatKind, Participant, PrivateChat, Role, RoomState
from rooms.roster import facilitator, joined, room_updated
from rooms.rulebook import Rulebook
from rooms.text import has_control_characters

RULES = Rulebook()
"""The chat rules, for `rooms.rules` to gather."""


def check_chat(state: RoomState, sender_id: str, to: str | None) -> Participant:
    """Who may chat with whom: a joined participant, to the room or, as the meeting's private-message
    policy allows, to one other present participant."""
    sender = joined(state, sender_id)
    if to is not None:
        if to == sender_id:
            raise bad_request("A private message needs someone other than you.")
        recipient = state.participants.get(to)
        if recipient is None:
            raise not_found("That person is not in the meeting any more.")
        if state.private_chat is PrivateChat.NOBODY:
            raise forbidden("Private messages are turned off in this meeting.")
        if state.private_chat is PrivateChat.FACILITATORS and Role.FACILITATOR not in (
            sender.role,
            recipient.role,
        ):
            raise forbidden("In this meeting, private messages go only to or from a facilitator.")
    return sender


@RULES.rule(c.SetPrivateChat)
def _set_private_chat(state: RoomState, cmd: c.SetPrivateChat, now: int) -> tuple[RoomState, Outcome]:
    facilitator(state, cmd.by)
    if not isinstance(cmd.policy, PrivateChat):
        raise bad_request("Private messages are allowed for everyone, for facilitators only, or for nobody.")
    if cmd.policy is state.private_chat:
        return state, Outcome()
    new = replace(state, private_chat=cmd.policy)
    return new, Outcome(events=(room_updated(new),))


@RULES.rule(c.ShareMilestone)
def _share_milestone(state: RoomState, cmd: c.ShareMilestone, now: int) -> tuple[RoomState, Outcome]:
    """Changes nothing in the room: the answer says what the caller appends to the chat log, as a
    message of kind "milestone" to everyone, with the trimmed label as its text."""
    joined(state, cmd.id)
    label = cmd.label.strip()
    if not label or len(label) > cmd.max_chars:
        raise bad_request(f"A milestone is 1 to {cmd.max_chars} characters, like “30 days” or “1 year”.")
    if has_control_characters(label, newlines=False):
        raise bad_request("A milestone must be a single line of text.")
    return state, Outcome(result={"kind": ChatKind.MILESTONE.value, "text": label})


def _is_chat_id(message_id: str) -> bool:
    # As `rooms.model.chat_id` writes them.
    return len(message_id) == 16 and message_id.isascii() and message_id.isdigit()


@RULES.rule(c.DeleteChat)
def _delete_chat(state: RoomState, cmd: c.DeleteChat, now: int) -> tuple[RoomState, Outcome]:
    """Changes nothing in the room: the caller deletes the message from the chat log (answering
    not_found when it is not there), then delivers the event."""
    facilitator(state, cmd.by)
    if not _is_chat_id(cmd.id):
        raise bad_request("That is not the id of a chat message.")
    return state, Outcome(events=(Event("chat:deleted", {"id": cmd.id}),), result={"id": cmd.id})

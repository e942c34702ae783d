"""What a line typed into the terminal chat client does: a chat message, or a slash command."""

from __future__ import annotations

import asyncio
import secrets
import time

from signaling.protocol import ChatSend, ErrorCode, HandLower, HandRaise
from terminal import moderation, practice
from terminal.names import lookup_problem
from terminal.session import ChatClient, RequestError

# Pauses between tries of a chat message while the server is unreachable: about half a minute in all.
RESEND_PAUSES_S = (1.0, 2.0, 4.0, 8.0, 15.0)

HELP = (
    "Type a message and press Enter to send it to everyone.\n"
    "  /hand           raise or lower your hand\n"
    f"{practice.TURN_HELP}\n"
    "  /who            list the people here\n"
    "  /msg NAME text  send a private message to one person\n"
    "  /agenda         show the meeting's agenda\n"
    "  /quit           leave the meeting\n"
    "  /help           show this help"
)


def help_text(client: ChatClient) -> str:
    """The commands this person may use: telling the facilitators for members, a facilitator's own
    for facilitators (who are the ones told)."""
    if client.state == "in" and client.room.is_facilitator:
        return f"{HELP}\n{moderation.FACILITATOR_HELP}\n{practice.FACILITATOR_HELP}"
    return f"{HELP}\n{practice.CARE_HELP}"


async def handle_line(client: ChatClient, line: str) -> None:
    """Act on one typed line: send it as chat, or run the slash command it names."""
    text = line.rstrip("\r\n")
    if not text.strip():
        return
    if text.startswith("/"):
        command, _, rest = text[1:].partition(" ")
        command = command.lower()
        if command == "quit":
            await client.leave()
        elif command == "who":
            client.print_roster()
        elif command == "hand":
            await toggle_hand(client)
        elif command == "msg":
            await private_message(client, rest)
        elif command == "help":
            client.say(help_text(client))
        elif command in practice.MEMBER_COMMANDS:
            await practice.MEMBER_COMMANDS[command](client, rest)
        elif command in moderation.COMMANDS or command in practice.FACILITATOR_COMMANDS:
            if client.state != "in" or not client.room.is_facilitator:
                client.say(f"Only facilitators can use /{command}.")
            else:
                run = moderation.COMMANDS.get(command) or practice.FACILITATOR_COMMANDS[command]
                await run(client, rest)
        else:
            client.say(f"Unknown command /{command}.\n{help_text(client)}")
        return
    if client.state != "in":
        client.say("You're not in the meeting yet; nothing was sent.")
        return
    await send_chat(client, text)


async def send_chat(client: ChatClient, text: str, to: str | None = None) -> None:
    """Send, and while the server is unreachable keep trying under the same key: the server keeps
    one copy even if an earlier try got through unheard. Lines typed meanwhile wait their turn, so
    messages keep their order."""
    message = ChatSend(text=text, to=to, key=secrets.token_hex(12))
    for pause in (*RESEND_PAUSES_S, None):
        try:
            ack = await client.request(message)
        except RequestError as exc:
            if exc.stored is not None:
                client.print_chat(exc.stored)
                return
            if exc.code == ErrorCode.UNAVAILABLE and pause is not None:
                if pause == RESEND_PAUSES_S[0]:
                    client.say("Not sent yet (the server is unreachable); trying again…")
                await asyncio.sleep(pause)
                continue
            if exc.code == ErrorCode.RATE_LIMITED:
                client.say("You're sending messages quickly. Wait a moment, then send again.")
            else:
                client.say(f"Not sent: {exc.message or exc.code}")
            return
        if isinstance(ack.get("message"), dict):
            client.print_chat(ack["message"])
        return


async def private_message(client: ChatClient, rest: str) -> None:
    # Names may contain spaces: the longest name that starts the line wins.
    lookup = client.room.find(rest.strip())
    if lookup.id is None:
        client.say(lookup_problem(lookup, "Usage: /msg NAME text — NAME must be someone here (see /who)."))
        return
    if not lookup.rest:
        client.say(f"Usage: /msg {client.room.name_of(lookup.id)} your message")
        return
    refusal = client.room.private_refusal(lookup.id)
    if refusal is not None:
        client.say(f"Not sent: {refusal}")
        return
    await send_chat(client, lookup.rest, to=lookup.id)


async def toggle_hand(client: ChatClient) -> None:
    me = client.room.participants.get(client.room.self_id or "")
    raised = bool(me and me.get("hand") is not None)
    try:
        await client.request(HandLower() if raised else HandRaise())
    except RequestError as exc:
        client.say(f"That didn't work: {exc.message or exc.code}")
        return
    if me is not None:
        me["hand"] = None if raised else int(time.time() * 1000)
    client.say("Your hand is lowered." if raised else "Your hand is raised.")

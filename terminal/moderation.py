"""What a facilitator can do from the terminal: the protocol's `mod:*` events as slash commands.

People are named as the terminal shows them ("Ana (2)" when two share a name). Most commands print
nothing when they work: the room's own events say what changed, to every facilitator alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from signaling.protocol import (
    ModAdmit,
    ModAdmitAll,
    ModDeleteChat,
    ModDeny,
    ModEnd,
    ModLock,
    ModLockMedia,
    ModLowerHand,
    ModMute,
    ModMuteAll,
    ModNextSpeaker,
    ModPrivateChat,
    ModRemove,
    ModReorderHands,
    ModRole,
    ModSafety,
    ModWaitingRoom,
)
from terminal.names import lookup_problem
from terminal.session import ChatClient, RequestError
from terminal.view import ordinal

FACILITATOR_HELP = (
    "As a facilitator (NAME as /who shows it):\n"
    "  /admit NAME                let someone in from the waiting room\n"
    "  /deny NAME                 turn someone away from the waiting room\n"
    "  /mute NAME [camera] [keep] mute someone's microphone (and camera); keep: they stay muted\n"
    "  /release NAME              let someone you kept muted unmute again\n"
    "  /remove NAME [ban]         remove someone; ban: they can't come back to this room\n"
    "  /lower NAME                lower someone's hand\n"
    "  /move NAME PLACE           move someone to PLACE (1: first) in the speaking queue\n"
    "  /next [SECONDS]            give the floor to the first raised hand, with an optional share timer\n"
    "  /lock, /unlock             stop or allow new people joining\n"
    "  /waiting on|off            turn the waiting room on or off (off lets everyone waiting in)\n"
    "  /role NAME facilitator|member  make someone a co-facilitator, or a member again\n"
    "  /admitall                  let everyone waiting in\n"
    "  /muteall [keep]            mute everyone but facilitators; keep: they stay muted\n"
    "  /safety on|off             pause the room (lock it, hold everyone muted) or resume it\n"
    "  /private everyone|facilitators|nobody  who may send private messages\n"
    "  /delete NAME               remove NAME's latest chat message, for everyone\n"
    "  /end                       end the meeting for everyone"
)

Command = Callable[[ChatClient, str], Awaitable[None]]


async def _send(client: ChatClient, message: Any) -> dict[str, Any] | None:
    """Send `message`; its ack, or None after saying why it was refused."""
    try:
        return await client.request(message)
    except RequestError as exc:
        client.say(f"That didn't work: {exc.message or exc.code}")
        return None


def _someone(
    client: ChatClient,
    rest: str,
    usage: str,
    options: set[str] | None = None,
    among: Literal["here", "waiting", "anyone"] = "here",
) -> tuple[str, set[str]] | None:
    """The person `rest` names and the options typed after the name (only words from `options`);
    None after saying what was wrong."""
    lookup = client.room.find(rest.strip(), among)
    if lookup.id is None:
        client.say(lookup_problem(lookup, usage))
        return None
    words = {w.lower() for w in lookup.rest.split()}
    if not words <= (options or set()):
        client.say(usage)
        return None
    return lookup.id, words


async def admit(client: ChatClient, rest: str) -> None:
    found = _someone(client, rest, "Usage: /admit NAME (someone waiting: see /who).", among="waiting")
    if found:
        await _send(client, ModAdmit(id=found[0]))


async def deny(client: ChatClient, rest: str) -> None:
    found = _someone(client, rest, "Usage: /deny NAME (someone waiting: see /who).", among="waiting")
    if found:
        await _send(client, ModDeny(id=found[0]))


async def mute(client: ChatClient, rest: str) -> None:
    usage = "Usage: /mute NAME [camera] [keep] (someone here: see /who)."
    found = _someone(client, rest, usage, {"camera", "keep"})
    if not found:
        return
    pid, options = found
    name = client.room.name_of(pid)
    if client.room.participants[pid].get("media") == "text":
        client.say(f"{name} takes part by text only: there is nothing to mute.")
        return
    if await _send(client, ModMute(id=pid, audio=True, video="camera" in options)) is None:
        return
    if "keep" in options:
        if await _send(client, ModLockMedia(id=pid, locked=True)) is not None:
            client.say(f"You muted {name}; they stay muted until you type /release {name}.")
        return
    client.say(f"You muted {name}; they can unmute themselves.")


async def release(client: ChatClient, rest: str) -> None:
    found = _someone(client, rest, "Usage: /release NAME (someone kept muted: see /who).")
    if not found:
        return
    pid = found[0]
    if not client.room.participants[pid].get("media_locked"):
        client.say(f"{client.room.name_of(pid)} isn't kept muted.")
        return
    await _send(client, ModLockMedia(id=pid, locked=False))


async def remove(client: ChatClient, rest: str) -> None:
    usage = "Usage: /remove NAME [ban] (someone here or waiting: see /who)."
    found = _someone(client, rest, usage, {"ban"}, among="anyone")
    if not found:
        return
    pid, options = found
    name = client.room.name_of(pid)
    ban = "ban" in options
    if await _send(client, ModRemove(id=pid, ban=ban)) is not None and ban:
        client.say(f"{name} can't come back to this room.")


async def lower(client: ChatClient, rest: str) -> None:
    found = _someone(client, rest, "Usage: /lower NAME (someone with a hand raised: see /who).")
    if not found:
        return
    pid = found[0]
    if client.room.participants[pid].get("hand") is None:
        client.say(f"{client.room.name_of(pid)} doesn't have a hand raised.")
        return
    await _send(client, ModLowerHand(id=pid))


async def next_speaker(client: ChatClient, rest: str) -> None:
    rest = rest.strip()
    if rest and not (rest.isdigit() and int(rest) > 0):
        client.say("Usage: /next [SECONDS] — the share timer, a whole number of seconds.")
        return
    ack = await _send(client, ModNextSpeaker(limit_s=int(rest) if rest else None))
    if ack is not None and ack.get("speaker") is None:
        client.say("Nobody has a hand raised, so nobody was given the floor.")


async def move(client: ChatClient, rest: str) -> None:
    usage = "Usage: /move NAME PLACE — someone in the speaking queue, and their new place (1: first)."
    # The name may hold spaces: the place is the last word.
    name, _, place = rest.strip().rpartition(" ")
    found = _someone(client, name, usage) if place.isdigit() and place.isascii() else None
    if found is None:
        if not (place.isdigit() and place.isascii()):
            client.say(usage)
        return
    pid = found[0]
    hands = list(client.room.hands)
    if pid not in hands:
        client.say(f"{client.room.name_of(pid)} isn't in the speaking queue.")
        return
    to = int(place) - 1
    if not 0 <= to < len(hands):
        client.say(f"The speaking queue has {len(hands)} places: PLACE is 1 to {len(hands)}.")
        return
    hands.remove(pid)
    hands.insert(to, pid)
    ack = await _send(client, ModReorderHands(order=tuple(hands)))
    if ack is not None:
        now = list(ack.get("hands") or hands)
        place_now = now.index(pid) + 1 if pid in now else to + 1
        client.say(f"{client.room.name_of(pid)} is now {ordinal(place_now)} in the speaking queue.")


async def mute_all(client: ChatClient, rest: str) -> None:
    choice = rest.strip().lower()
    if choice not in ("", "keep"):
        client.say("Usage: /muteall [keep] — keep: they stay muted until you /release them.")
        return
    ack = await _send(client, ModMuteAll(lock=choice == "keep"))
    if ack is None:
        return
    muted = int(ack.get("muted") or 0)
    who = "1 person" if muted == 1 else f"{muted} people"
    client.say(f"{who} muted{' and kept muted' if choice else ''}." if muted else "Nobody needed muting.")


async def lock(client: ChatClient, rest: str) -> None:
    await _set_lock(client, True)


async def unlock(client: ChatClient, rest: str) -> None:
    await _set_lock(client, False)


async def _set_lock(client: ChatClient, locked: bool) -> None:
    if client.room.locked == locked:
        client.say("The meeting is already locked." if locked else "The meeting isn't locked.")
        return
    await _send(client, ModLock(locked=locked))


async def waiting_room(client: ChatClient, rest: str) -> None:
    choice = rest.strip().lower()
    if choice not in ("on", "off"):
        state = "on" if client.room.waiting_room else "off"
        client.say(f"The waiting room is {state}. Usage: /waiting on|off")
        return
    enabled = choice == "on"
    if client.room.waiting_room == enabled:
        client.say(f"The waiting room is already {choice}.")
        return
    await _send(client, ModWaitingRoom(enabled=enabled))


async def role(client: ChatClient, rest: str) -> None:
    usage = "Usage: /role NAME facilitator|member (someone here: see /who)."
    found = _someone(client, rest, usage, {"facilitator", "member"})
    if not found:
        return
    pid, options = found
    if len(options) != 1:
        client.say(usage)
        return
    new_role = options.pop()
    if client.room.participants[pid].get("role") == new_role:
        client.say(f"{client.room.name_of(pid)} is already a {new_role}.")
        return
    await _send(client, ModRole(id=pid, role="facilitator" if new_role == "facilitator" else "member"))


async def admit_all(client: ChatClient, rest: str) -> None:
    if not client.room.waiting:
        client.say("Nobody is waiting to be let in.")
        return
    await _send(client, ModAdmitAll())


async def safety(client: ChatClient, rest: str) -> None:
    choice = rest.strip().lower()
    if choice not in ("on", "off"):
        state = "paused" if client.room.safety else "not paused"
        client.say(f"The room is {state}. Usage: /safety on|off")
        return
    on = choice == "on"
    if client.room.safety == on:
        client.say("The room is already paused." if on else "The room isn't paused.")
        return
    await _send(client, ModSafety(on=on))


async def private_chat(client: ChatClient, rest: str) -> None:
    choice = rest.strip().lower()
    if choice == "everyone":
        policy: Literal["everyone", "facilitators", "nobody"] = "everyone"
    elif choice == "facilitators":
        policy = "facilitators"
    elif choice == "nobody":
        policy = "nobody"
    else:
        client.say(
            f"Private messages: {client.room.private_chat}. Usage: /private everyone|facilitators|nobody"
        )
        return
    if client.room.private_chat == policy:
        client.say(f"Private messages are already set to {policy}.")
        return
    await _send(client, ModPrivateChat(policy=policy))


async def delete_chat(client: ChatClient, rest: str) -> None:
    found = _someone(client, rest, "Usage: /delete NAME — removes their latest chat message.", among="anyone")
    if not found:
        return
    message_id = client.room.last_chat_by.get(found[0])
    if message_id is None:
        client.say(f"{client.room.name_of(found[0])} has no chat message to remove.")
        return
    await _send(client, ModDeleteChat(id=message_id))


async def end(client: ChatClient, rest: str) -> None:
    await _send(client, ModEnd())


COMMANDS: dict[str, Command] = {
    "admit": admit,
    "deny": deny,
    "mute": mute,
    "release": release,
    "remove": remove,
    "lower": lower,
    "move": move,
    "muteall": mute_all,
    "next": next_speaker,
    "lock": lock,
    "unlock": unlock,
    "waiting": waiting_room,
    "role": role,
    "admitall": admit_all,
    "safety": safety,
    "private": private_chat,
    "delete": delete_chat,
    "end": end,
}

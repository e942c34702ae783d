"""The room as the terminal chat client shows it: who is here, the hand queue, the chat, as text.

Pure: each server event goes in with the time it arrived, the lines to print come out. The session
decides when to print them.
"""

from __future__ import annotations

import time
import unicodedata
from typing import Any

from signaling.protocol import ErrorCode

# Speaking flips several times a second while someone talks; say so once per stretch of talk.
SPEAKING_QUIET_S = 20.0

MODES = {"av": "camera and microphone", "audio": "audio only", "text": "text only"}

REFUSALS: dict[str, str] = {
    ErrorCode.WRONG_PASSCODE: "That passcode didn't match. Check it and try again with --passcode.",
    ErrorCode.ROOM_LOCKED: "The facilitator has locked this meeting, so nobody new can join right now.",
    ErrorCode.ROOM_FULL: "This meeting is full right now.",
    ErrorCode.BANNED: "You can't join this meeting: a facilitator removed you from it.",
    ErrorCode.NOT_FOUND: "There is no meeting at this link. Please check it.",
}


# What a terminal would act on, or draw so as to mislead, instead of printing it: C0 and C1 controls
# (escape sequences, the bell, a carriage return that overwrites the line), format characters (bidi
# overrides that reorder text, zero-width characters that make two names look alike), lone surrogates
# (which cannot be printed at all) and the Unicode line and paragraph separators.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def clean(text: str) -> str:
    """One line of text from other people (a name, a title), safe to print: each control, bidi or
    zero-width character shows as �, so it can neither act on the terminal nor hide or reorder text."""
    return "".join(REPLACEMENT if unicodedata.category(ch) in UNSAFE_CATEGORIES else ch for ch in text)


def clean_lines(text: str) -> list[str]:
    """Text from other people that may span lines (chat, guidelines), as lines made safe by `clean`.

    Any line ending counts as one; tabs are kept, since they only move the cursor forward.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return ["\t".join(clean(part) for part in line.split("\t")) for line in lines]


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


DURATION_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def retention_sentence(room: dict[str, Any]) -> str:
    """How long the chat outlives the meeting, as the join screen says it."""
    seconds = int(room.get("chat_retention_s") or 0)
    if seconds <= 0:
        return "The chat is deleted as soon as the last person leaves."
    size, unit = next((size, unit) for size, unit in DURATION_UNITS if seconds >= size)
    n = round(seconds / size)
    return f"The chat is deleted {n} {unit}{'' if n == 1 else 's'} after the last person leaves."


def meeting_preview(room: dict[str, Any]) -> list[str]:
    """What the terminal shows of a meeting before joining it: its title and group guidelines."""
    lines = [f"Meeting: {clean(str(room['title']))}", f"Nothing is recorded. {retention_sentence(room)}"]
    guidelines = str(room.get("guidelines") or "").strip()
    if guidelines:
        lines.append("Group guidelines:")
        lines.extend(f"  {line}" for line in clean_lines(guidelines))
        lines.append("By joining you accept these group guidelines.")
    return lines


class RoomView:
    """The terminal's copy of a room, kept up to date from server events.

    Event methods return the notices the change is worth, as lines of text.
    """

    def __init__(self) -> None:
        self.self_id: str | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        self.hands: list[str] = []
        self.speaker_id: str | None = None
        self.seen_chat: set[str] = set()
        self.last_chat_id: str | None = None
        self.spoke_at: dict[str, float] = {}

    def load(self, room: dict[str, Any]) -> None:
        """Take the people, hand queue and speaker from a full room snapshot."""
        self.participants = {p["id"]: p for p in room.get("participants", [])}
        self.hands = list(room.get("hands", []))
        speaker = room.get("speaker")
        self.speaker_id = speaker["id"] if speaker else None

    def name_of(self, pid: str | None) -> str:
        p = self.participants.get(pid or "")
        return clean(str(p["name"])) if p else "someone"

    def describe(self, p: dict[str, Any]) -> str:
        facts = []
        if p.get("role") == "facilitator":
            facts.append("facilitator")
        media = str(p.get("media"))
        facts.append(MODES.get(media, ""))
        if media != "text" and not p.get("audio"):
            facts.append("muted")
        if p.get("hand") is not None:
            position = self.hands.index(p["id"]) + 1 if p["id"] in self.hands else 0
            facts.append(f"hand raised, {ordinal(position)} in queue" if position else "hand raised")
        if p.get("speaking") and not p.get("away"):
            facts.append("speaking")
        if p.get("away"):
            facts.append("away")
        name = clean(str(p["name"])) + (" (you)" if p["id"] == self.self_id else "")
        facts = [f for f in facts if f]
        return f"{name} — {', '.join(facts)}" if facts else name

    def roster(self) -> list[str]:
        """The people here, in the order they joined, one line each under a heading."""
        people = sorted(self.participants.values(), key=lambda p: p.get("joined_at", 0))
        return [f"People here ({len(people)}):", *(f"  {self.describe(p)}" for p in people)]

    def chat(self, m: dict[str, Any]) -> list[str]:
        """A chat message as lines, or none if it was shown already (it may come again on resume)."""
        if m["id"] in self.seen_chat:
            return []
        self.seen_chat.add(m["id"])
        if self.last_chat_id is None or m["id"] > self.last_chat_id:
            self.last_chat_id = m["id"]
        at = time.strftime("%H:%M", time.localtime(m["at"] / 1000))
        sender = clean(str(m["from"]["name"]))
        mine = m["from"]["id"] == self.self_id
        if m.get("to"):
            who = f"you → {self.name_of(m['to'])}" if mine else f"{sender} → you"
            prefix = f"[{at}] (private) {who}: "
        else:
            prefix = f"[{at}] {sender}{' (you)' if mine else ''}: "
        lines = clean_lines(str(m["text"]))
        return [prefix + lines[0], *(" " * len(prefix) + line for line in lines[1:])]

    def joined(self, p: dict[str, Any]) -> list[str]:
        known = p["id"] in self.participants
        self.participants[p["id"]] = p
        if not known and p["id"] != self.self_id:
            return [f"{self.describe(p)} joined."]
        return []

    def left(self, pid: str | None, reason: str | None) -> list[str]:
        """Someone else left; leaving oneself ends the session, which is not the view's to say."""
        name = self.name_of(pid)
        self.participants.pop(pid or "", None)
        self.hands = [h for h in self.hands if h != pid]
        if reason == "disconnected":
            return [f"{name} lost their connection and left."]
        return [f"{name} left."]

    def updated(self, p: dict[str, Any], now: float) -> list[str]:
        """A participant changed; `now` is a monotonic clock reading, for quieting speaking notices."""
        before = self.participants.get(p["id"])
        self.participants[p["id"]] = p
        if before is None or p["id"] == self.self_id:
            return []
        name = clean(str(p["name"]))
        notices = []
        if before.get("hand") is None and p.get("hand") is not None:
            notices.append(f"{name} raised their hand.")
        elif before.get("hand") is not None and p.get("hand") is None:
            notices.append(f"{name} lowered their hand.")
        if not before.get("away") and p.get("away"):
            notices.append(f"{name} lost their connection; they may be back shortly.")
        elif before.get("away") and not p.get("away"):
            notices.append(f"{name} is back.")
        if before.get("role") != p.get("role") and p.get("role") == "facilitator":
            notices.append(f"{name} is now a facilitator.")
        if p.get("speaking") and not before.get("speaking"):
            if now - self.spoke_at.get(p["id"], -SPEAKING_QUIET_S) >= SPEAKING_QUIET_S:
                notices.append(f"{name} is speaking.")
            self.spoke_at[p["id"]] = now
        elif p.get("speaking"):
            self.spoke_at[p["id"]] = now
        return notices

    def room_updated(self, update: dict[str, Any]) -> list[str]:
        if "hands" in update and update["hands"] is not None:
            self.hands = list(update["hands"])
        notices = []
        if "speaker" in update:
            speaker = update["speaker"]
            new_id = speaker["id"] if speaker else None
            if new_id and new_id != self.speaker_id:
                if new_id == self.self_id:
                    notices.append("It's your turn to share. Type what you'd like to say.")
                else:
                    notices.append(f"{self.name_of(new_id)} is sharing now.")
            self.speaker_id = new_id
        return notices

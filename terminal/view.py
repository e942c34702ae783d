"""The room as the terminal chat client shows it: who is here, the hand queue, the chat, as text.

Pure: each server event goes in with the time it arrived, the lines to print come out. The session
decides when to print them.
"""

from __future__ import annotations

import time
import unicodedata
from typing import Any, Literal

from signaling.protocol import ErrorCode
from terminal.names import Lookup, Names

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


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def share_time(seconds: int) -> str:
    """A share timer's length, exactly: "90" is "1 minute 30 seconds"."""
    minutes, rest = divmod(seconds, 60)
    parts = ([_count(minutes, "minute")] if minutes else []) + ([_count(rest, "second")] if rest else [])
    return " ".join(parts) or _count(0, "second")


PRIVATE_POLICIES = {
    "everyone": "Private messages: anyone may send one to anyone here.",
    "facilitators": "Private messages now go only to or from a facilitator.",
    "nobody": "Private messages are turned off in this meeting.",
}

SEGMENT_KINDS = {"reading": "reading", "round": "round", "open": "open sharing", "closing": "closing"}


def meeting_preview(room: dict[str, Any]) -> list[str]:
    """What the terminal shows of a meeting before joining it: its title and group guidelines."""
    lines = [f"Meeting: {clean(str(room['title']))}", f"Nothing is recorded. {retention_sentence(room)}"]
    guidelines = str(room.get("guidelines") or "").strip()
    if guidelines:
        lines.append("Group guidelines:")
        lines.extend(f"  {line}" for line in clean_lines(guidelines))
    return lines


def passcode_failures(event: dict[str, Any]) -> list[str]:
    """To facilitators: someone is guessing the passcode, and the server has shut the door to it."""
    if event.get("scope") == "room":
        return [
            "Many wrong passcodes are being tried for this meeting, so passcodes are paused for a"
            " while. You can /lock the meeting."
        ]
    return ["Someone has tried too many wrong passcodes. Their network has to wait before trying again."]


class RoomView:
    """The terminal's copy of a room, kept up to date from server events.

    Event methods return the notices the change is worth, as lines of text. People are named by
    their labels (`terminal.names`), so two who share a name are told apart.
    """

    def __init__(self) -> None:
        self.self_id: str | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        # Seen by facilitators only: the server tells nobody else who is waiting.
        self.waiting: dict[str, dict[str, Any]] = {}
        self.hands: list[str] = []
        self.speaker_id: str | None = None
        self.locked = False
        self.waiting_room = False
        self.seen_chat: set[str] = set()
        self.last_chat_id: str | None = None
        self.spoke_at: dict[str, float] = {}
        self.names = Names()
        self.title = ""
        self.safety = False
        self.facilitator_present = True
        self.private_chat = "everyone"
        self.agenda: list[dict[str, Any]] = []
        self.segment: int | None = None
        self.version = 0
        # Kept so a message deleted by a facilitator stays gone when history is read again on resume.
        self.deleted_chat: set[str] = set()
        # Each sender's latest message still shown, so a facilitator can delete it by the sender's name.
        self.last_chat_by: dict[str, str] = {}
        # Concerns shown to this facilitator, numbered as shown.
        self.concerns: dict[str, int] = {}
        # Those of them no facilitator has marked seen yet, by id, in the order shown.
        self.open_concerns: dict[str, dict[str, Any]] = {}

    def load(self, room: dict[str, Any]) -> None:
        """Take the people, hand queue, speaker and settings from a full room snapshot."""
        self.participants = {p["id"]: p for p in _by_arrival(room.get("participants", []))}
        self.waiting = {p["id"]: p for p in _by_arrival(room.get("waiting", []))}
        self.hands = list(room.get("hands", []))
        speaker = room.get("speaker")
        self.speaker_id = speaker["id"] if speaker else None
        self.locked = bool(room.get("locked"))
        self.waiting_room = bool(room.get("waiting_room"))
        self.title = str(room.get("title") or "")
        self.safety = bool(room.get("safety"))
        self.facilitator_present = bool(room.get("facilitator_present", True))
        self.private_chat = str(room.get("private_chat") or "everyone")
        self.agenda = list(room.get("agenda") or [])
        segment = room.get("segment")
        self.segment = segment if isinstance(segment, int) else None
        version = room.get("version")
        self.version = version if isinstance(version, int) else 0

    def status(self) -> list[str]:
        """What is going on in the room that a newcomer should know at once: a pause, an absent
        facilitator, the private-message policy, the current part of the agenda and who is sharing."""
        lines = []
        if self.safety:
            lines.append("The facilitator has paused the room for a moment.")
        if not self.facilitator_present:
            lines.append("The facilitator has stepped away.")
        if self.private_chat != "everyone":
            lines.append(PRIVATE_POLICIES[self.private_chat])
        lines += self.segment_lines()
        if self.speaker_id:
            who = "You are" if self.speaker_id == self.self_id else f"{self.name_of(self.speaker_id)} is"
            lines.append(f"{who} sharing now.")
        return lines

    def segment_lines(self) -> list[str]:
        """The current part of the agenda: its title, and a reading's text."""
        if self.segment is None or not 0 <= self.segment < len(self.agenda):
            return []
        part = self.agenda[self.segment]
        kind = SEGMENT_KINDS.get(str(part.get("kind")), "")
        lines = [f"Now: {clean(str(part.get('title', '')))}" + (f" ({kind})" if kind else "")]
        text = str(part.get("text") or "").strip()
        if text:
            lines += [f"  {line}" for line in clean_lines(text)]
        return lines

    def turn_hints(self, speaker_before: str | None, segment_before: int | None) -> list[str]:
        """What one can do about a change of turn: the floor just given to oneself, or a round just
        entered, in which every member is queued without asking."""
        hints = []
        if self.speaker_id == self.self_id and speaker_before != self.self_id:
            hints.append("Type /done when you have finished, or /pass to let your turn go.")
        segment = self.segment
        if segment is not None and segment != segment_before and 0 <= segment < len(self.agenda):
            part = self.agenda[segment]
            if part.get("kind") == "round" and not self.is_facilitator:
                hints.append("Everyone gets a turn, in the order they joined. You can /pass.")
        return hints

    def agenda_lines(self) -> list[str]:
        """The whole agenda, the current part marked."""
        if not self.agenda:
            return ["This meeting has no agenda."]
        lines = [f"Agenda ({len(self.agenda)} parts):"]
        for i, part in enumerate(self.agenda):
            kind = SEGMENT_KINDS.get(str(part.get("kind")), "")
            mark = " (now)" if i == self.segment else ""
            lines.append(
                f"  {i + 1}. {clean(str(part.get('title', '')))}" + (f" — {kind}" if kind else "") + mark
            )
        return lines

    def private_refusal(self, to: str) -> str | None:
        """Why the meeting's private-message policy forbids a message to `to`, or None if it allows it."""
        if self.private_chat == "nobody":
            return "Private messages are turned off in this meeting."
        if self.private_chat == "facilitators":
            recipient = self.participants.get(to) or {}
            if not self.is_facilitator and recipient.get("role") != "facilitator":
                return "In this meeting, private messages go only to or from a facilitator."
        return None

    def stale(self, event: dict[str, Any]) -> bool:
        """An event older than the newest change applied, which must not undo it; else notes its version."""
        version = event.get("version")
        if not isinstance(version, int):
            return False
        if version < self.version:
            return True
        self.version = version
        return False

    @property
    def is_facilitator(self) -> bool:
        me = self.participants.get(self.self_id or "")
        return bool(me and me.get("role") == "facilitator")

    def me(self) -> dict[str, Any] | None:
        return self.participants.get(self.self_id or "")

    def _present(self) -> dict[str, str]:
        return {pid: clean(str(p["name"])) for pid, p in (*self.participants.items(), *self.waiting.items())}

    def label(self, p: dict[str, Any]) -> str:
        """`p`'s name as shown here: safe to print, and told apart from anyone sharing it."""
        return self.names.label(str(p["id"]), clean(str(p["name"])), self._present())

    def name_of(self, pid: str | None) -> str:
        p = self.participants.get(pid or "") or self.waiting.get(pid or "")
        return self.label(p) if p else "someone"

    def find(self, text: str, among: Literal["here", "waiting", "anyone"] = "here") -> Lookup:
        """The person (not oneself) whose name starts `text`: among the people here, those waiting,
        or anyone."""
        people = {
            **(self.participants if among != "waiting" else {}),
            **(self.waiting if among != "here" else {}),
        }
        names = {pid: clean(str(p["name"])) for pid, p in people.items() if pid != self.self_id}
        return self.names.find(text, names, self._present())

    def describe(self, p: dict[str, Any]) -> str:
        facts = []
        if p.get("role") == "facilitator":
            facts.append("facilitator")
        media = str(p.get("media"))
        facts.append(MODES.get(media, ""))
        if media != "text" and not p.get("audio"):
            facts.append("muted")
        if p.get("media_locked"):
            facts.append("kept muted by a facilitator")
        if p.get("hand") is not None:
            position = self.hands.index(p["id"]) + 1 if p["id"] in self.hands else 0
            facts.append(f"hand raised, {ordinal(position)} in queue" if position else "hand raised")
        if p.get("speaking") and not p.get("away"):
            facts.append("speaking")
        if p.get("away"):
            facts.append("away")
        name = self.label(p) + (" (you)" if p["id"] == self.self_id else "")
        facts = [f for f in facts if f]
        return f"{name} — {', '.join(facts)}" if facts else name

    def roster(self) -> list[str]:
        """The people here, in the order they joined, one line each under a heading; and for a
        facilitator, who is waiting to be let in."""
        people = _by_arrival(self.participants.values())
        lines = [f"People here ({len(people)}):", *(f"  {self.describe(p)}" for p in people)]
        if self.is_facilitator and self.waiting:
            waiting = _by_arrival(self.waiting.values())
            lines += [f"Waiting to be let in ({len(waiting)}):", *(f"  {self.describe(p)}" for p in waiting)]
        return lines

    def chat(self, m: dict[str, Any]) -> list[str]:
        """A chat message as lines, or none if it was shown already (it may come again on resume)."""
        if m["id"] in self.seen_chat or m["id"] in self.deleted_chat:
            return []
        self.seen_chat.add(m["id"])
        if self.last_chat_id is None or m["id"] > self.last_chat_id:
            self.last_chat_id = m["id"]
        self.last_chat_by[str(m["from"]["id"])] = str(m["id"])
        at = time.strftime("%H:%M", time.localtime(m["at"] / 1000))
        sender = self.label({"id": m["from"]["id"], "name": m["from"]["name"]})
        mine = m["from"]["id"] == self.self_id
        if m.get("kind") == "milestone":
            label = " ".join(clean_lines(str(m["text"])))
            who = "You share" if mine else f"{sender} shares"
            return [f"[{at}] ★ {who} a milestone: {label}"]
        if m.get("to"):
            who = f"you → {self.name_of(m['to'])}" if mine else f"{sender} → you"
            prefix = f"[{at}] (private) {who}: "
        else:
            prefix = f"[{at}] {sender}{' (you)' if mine else ''}: "
        lines = clean_lines(str(m["text"]))
        return [prefix + lines[0], *(" " * len(prefix) + line for line in lines[1:])]

    def chat_deleted(self, message_id: str) -> list[str]:
        """A facilitator deleted a message: say so once, and never show it again."""
        if message_id in self.deleted_chat:
            return []
        self.deleted_chat.add(message_id)
        self.last_chat_by = {who: mid for who, mid in self.last_chat_by.items() if mid != message_id}
        return ["A facilitator removed a message."]

    def lobby_facilitator(self, present: bool) -> list[str]:
        """Told while waiting: whether a facilitator is there to let one in."""
        if present:
            return ["A facilitator is here and will let you in shortly."]
        return ["No facilitator is here just now; you'll be let in when one arrives."]

    def concern_raised(self, concern: dict[str, Any]) -> list[str]:
        """A member's private concern, shown to facilitators only."""
        if concern["id"] in self.concerns:
            return []
        self.concerns[concern["id"]] = len(self.concerns) + 1
        self.open_concerns[concern["id"]] = concern
        return [f"Private to facilitators: {self._concern_words(concern)}"]

    def concern_told(self, concern: dict[str, Any]) -> list[str]:
        """A concern as it reaches a facilitator: `concern_raised`, with how to mark it seen."""
        lines = self.concern_raised(concern)
        if lines:
            number = self.concerns[concern["id"]]
            lines.append(f"(Concern {number}: type /seen {number} once you have taken it in.)")
        return lines

    def concerns_waiting(self, concerns: list[dict[str, Any]]) -> list[str]:
        """The concerns a snapshot says are still open (a facilitator entering or coming back): those
        not shown yet, told; those seen meanwhile, forgotten."""
        still = {str(c["id"]) for c in concerns}
        for gone in [cid for cid in self.open_concerns if cid not in still]:
            self.concern_gone(gone)
        return [line for c in concerns for line in self.concern_told(c)]

    def concern_gone(self, concern_id: str) -> None:
        self.open_concerns.pop(concern_id, None)

    def open_concern(self, number: int) -> str | None:
        """The id of the open concern shown as `number`, if it is still open."""
        return next((cid for cid in self.open_concerns if self.concerns.get(cid) == number), None)

    def open_concern_lines(self) -> list[str]:
        """The concerns no facilitator has marked seen yet, numbered as they were shown."""
        if not self.open_concerns:
            return ["No concerns are waiting to be seen."]
        lines = [f"Concerns not yet marked seen ({len(self.open_concerns)}):"]
        for cid, concern in self.open_concerns.items():
            lines.append(f"  {self.concerns[cid]}. {self._concern_words(concern)}")
        return lines

    def _concern_words(self, concern: dict[str, Any]) -> str:
        sender = self.label(concern["from"])
        about = concern.get("about")
        worry = f"is worried about {self.label(about)}" if about else "has a concern"
        text = " ".join(line.strip() for line in clean_lines(str(concern.get("text") or "")) if line.strip())
        return f"{sender} {worry}" + (f": {text}" if text else ".")

    def concern_seen(self, concern_id: str, by: str) -> list[str]:
        """A facilitator has seen a concern: to facilitators, whose; to the member, theirs."""
        if concern_id in self.concerns:
            self.concern_gone(concern_id)
            return [f"{self.name_of(by)} has seen concern {self.concerns[concern_id]}."]
        if self.is_facilitator:
            # Raised before this facilitator arrived: nothing they were shown.
            return []
        return ["A facilitator has seen your concern."]

    def synced(self, room: dict[str, Any]) -> list[str]:
        """The room as it is after this server lost touch with the others: the changes to say, and who
        is here now."""
        if self.stale(room):
            return []
        notices = self.room_updated({k: v for k, v in room.items() if k != "version"})
        self.load(room)
        return [*notices, *self.roster()]

    def lobby_waiting(self, p: dict[str, Any]) -> list[str]:
        """Someone is in the waiting room (only facilitators are told)."""
        known = p["id"] in self.waiting
        self.waiting[p["id"]] = p
        if known:
            return []
        name = self.label(p)
        earlier = (
            " (a facilitator removed them earlier in this meeting)" if p.get("returning_removed") else ""
        )
        return [f"{name} is waiting to be let in{earlier}: /admit {name} or /deny {name}."]

    def unmute_requested(self, request: dict[str, Any]) -> list[str]:
        """To facilitators: someone kept muted asks to unmute (an answered request needs no line)."""
        if not request.get("requested"):
            return []
        name = self.name_of(str(request.get("id")))
        return [f"{name} asks to unmute: /release {name} lets them."]

    def joined(self, p: dict[str, Any]) -> list[str]:
        known = p["id"] in self.participants
        self.waiting.pop(p["id"], None)
        self.participants[p["id"]] = p
        if not known and p["id"] != self.self_id:
            return [f"{self.describe(p)} joined."]
        return []

    def left(self, pid: str | None, reason: str | None) -> list[str]:
        """Someone else left; leaving oneself ends the session, which is not the view's to say."""
        name = self.name_of(pid)
        was_waiting = self.waiting.pop(pid or "", None) is not None
        self.participants.pop(pid or "", None)
        self.hands = [h for h in self.hands if h != pid]
        if was_waiting:
            if reason == "removed":
                return [f"{name} was not let in."]
            return [f"{name} left the waiting room."]
        if reason == "disconnected":
            return [f"{name} lost their connection and left."]
        if reason == "removed":
            return [f"{name} was removed from the meeting."]
        return [f"{name} left."]

    def updated(self, p: dict[str, Any], now: float) -> list[str]:
        """A participant changed; `now` is a monotonic clock reading, for quieting speaking notices."""
        if self.stale(p):
            return []
        if p["id"] in self.waiting:
            self.waiting[p["id"]] = p
            return []
        before = self.participants.get(p["id"])
        self.participants[p["id"]] = p
        if before is None:
            return []
        if p["id"] == self.self_id:
            if before.get("role") != p.get("role"):
                if p.get("role") == "facilitator":
                    return ["You're now a facilitator: /help lists what you can do."]
                return ["You're no longer a facilitator."]
            return []
        name = self.label(p)
        notices = []
        if before.get("hand") is None and p.get("hand") is not None:
            notices.append(f"{name} raised their hand.")
        elif before.get("hand") is not None and p.get("hand") is None:
            notices.append(f"{name} lowered their hand.")
        if not before.get("away") and p.get("away"):
            notices.append(f"{name} lost their connection; they may be back shortly.")
        elif before.get("away") and not p.get("away"):
            notices.append(f"{name} is back.")
        if before.get("role") != p.get("role"):
            if p.get("role") == "facilitator":
                notices.append(f"{name} is now a facilitator.")
            else:
                notices.append(f"{name} is no longer a facilitator.")
        if p.get("media_locked") and not before.get("media_locked"):
            notices.append(f"{name} is kept muted by a facilitator.")
        elif before.get("media_locked") and not p.get("media_locked"):
            notices.append(f"{name} may unmute again.")
        if p.get("speaking") and not before.get("speaking"):
            if now - self.spoke_at.get(p["id"], -SPEAKING_QUIET_S) >= SPEAKING_QUIET_S:
                notices.append(f"{name} is speaking.")
            self.spoke_at[p["id"]] = now
        elif p.get("speaking"):
            self.spoke_at[p["id"]] = now
        return notices

    def room_updated(self, update: dict[str, Any]) -> list[str]:
        if self.stale(update):
            return []
        if "hands" in update and update["hands"] is not None:
            self.hands = list(update["hands"])
        notices = []
        if "locked" in update and bool(update["locked"]) != self.locked:
            self.locked = bool(update["locked"])
            notices.append(
                "The meeting is locked: nobody new can join."
                if self.locked
                else "The meeting is unlocked: new people can join again."
            )
        if "waiting_room" in update and bool(update["waiting_room"]) != self.waiting_room:
            self.waiting_room = bool(update["waiting_room"])
            notices.append(
                "The waiting room is on: newcomers wait to be let in."
                if self.waiting_room
                else "The waiting room is off: newcomers come straight in."
            )
        if "speaker" in update:
            speaker = update["speaker"]
            new_id = speaker["id"] if speaker else None
            if new_id and new_id != self.speaker_id:
                limit = speaker.get("limit_s")
                timer = f" (share time: {share_time(int(limit))})" if limit else ""
                if new_id == self.self_id:
                    notices.append(f"It's your turn to share{timer}. Type what you'd like to say.")
                else:
                    notices.append(f"{self.name_of(new_id)} is sharing now{timer}.")
            self.speaker_id = new_id
        if isinstance(update.get("title"), str) and update["title"] != self.title:
            self.title = update["title"]
            notices.append(f"The meeting is now called “{clean(self.title)}”.")
        if "safety" in update and bool(update["safety"]) != self.safety:
            self.safety = bool(update["safety"])
            notices.append(
                "The facilitator has paused the room for a moment."
                if self.safety
                else "The facilitator has resumed the meeting."
            )
        if (
            "facilitator_present" in update
            and bool(update["facilitator_present"]) != self.facilitator_present
        ):
            self.facilitator_present = bool(update["facilitator_present"])
            notices.append(
                "The facilitator is back."
                if self.facilitator_present
                else "The facilitator has stepped away."
            )
        policy = update.get("private_chat")
        if policy in PRIVATE_POLICIES and policy != self.private_chat:
            self.private_chat = str(policy)
            notices.append(PRIVATE_POLICIES[self.private_chat])
        if "agenda" in update and update["agenda"] is not None:
            self.agenda = list(update["agenda"])
        if "segment" in update:
            segment = update["segment"] if isinstance(update["segment"], int) else None
            if segment != self.segment:
                self.segment = segment
                notices += self.segment_lines()
        return notices


def _by_arrival(people: Any) -> list[dict[str, Any]]:
    return sorted(people, key=lambda p: (p.get("joined_at", 0), str(p["id"])))

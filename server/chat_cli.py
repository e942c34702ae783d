"""`circle chat URL --name NAME`: take part in a meeting by text, from a terminal.

The terminal client joins as a text-only participant, prints the people present, the chat and who
comes, goes, raises a hand or speaks, and sends what is typed. A dropped connection is resumed with
the resume token, and chat said meanwhile is fetched with `chat:history {after}`, so nothing is
missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import secrets
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import socketio

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_REMOVED = 3
EXIT_INTERRUPTED = 130

REQUEST_TIMEOUT_S = 10.0
# Speaking flips several times a second while someone talks; say so once per stretch of talk.
SPEAKING_QUIET_S = 20.0

HELP = (
    "Type a message and press Enter to send it to everyone.\n"
    "  /hand           raise or lower your hand\n"
    "  /who            list the people here\n"
    "  /msg NAME text  send a private message to one person\n"
    "  /quit           leave the meeting\n"
    "  /help           show this help"
)

MODES = {"av": "camera and microphone", "audio": "audio only", "text": "text only"}

REFUSALS = {
    "wrong_passcode": "That passcode didn't match. Check it and try again with --passcode.",
    "room_locked": "The facilitator has locked this meeting, so nobody new can join right now.",
    "room_full": "This meeting is full right now.",
    "banned": "You can't join this meeting: a facilitator removed you from it.",
    "not_found": "There is no meeting at this link. Please check it.",
}


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MeetingLink:
    """What a member or facilitator link names: the server, the room and maybe a host key."""

    base_url: str
    room_id: str
    host_key: str | None

    @classmethod
    def parse(cls, url: str) -> MeetingLink:
        parts = urlsplit(url.strip())
        segments = [s for s in parts.path.split("/") if s]
        if parts.scheme not in ("http", "https") or len(segments) != 2 or segments[0] != "r":
            raise ValueError("expected a meeting link such as http://host:8080/r/ROOM")
        host_key = parse_qs(parts.fragment).get("host", [None])[0]
        return cls(f"{parts.scheme}://{parts.netloc}", segments[1], host_key)


def clean(text: str) -> str:
    """Text from other people, made safe for a terminal: no escape sequences or other controls."""
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf") else "\N{REPLACEMENT CHARACTER}"
        for ch in text
    )


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class ChatClient:
    def __init__(self, link: MeetingLink, name: str, passcode: str | None, out: TextIO = sys.stdout) -> None:
        self.link = link
        self.name = name
        self.passcode = passcode
        self.out = out
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=4,
            randomization_factor=0.3,
        )
        self.browser_key = secrets.token_hex(16)
        self.resume_token: str | None = None
        self.self_id: str | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        self.hands: list[str] = []
        self.speaker_id: str | None = None
        self.seen_chat: set[str] = set()
        self.last_chat_id: str | None = None
        self.spoke_at: dict[str, float] = {}
        self.state = "connecting"  # → waiting | in → done
        self.exit_code = EXIT_OK
        self.done = asyncio.Event()
        self.admitted = asyncio.Event()
        self._bind()

    # -- output ------------------------------------------------------------------------------

    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    def notice(self, line: str) -> None:
        self.say(f"* {line}")

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

    def print_roster(self) -> None:
        people = sorted(self.participants.values(), key=lambda p: p.get("joined_at", 0))
        self.say(f"People here ({len(people)}):")
        for p in people:
            self.say(f"  {self.describe(p)}")

    def print_chat(self, m: dict[str, Any]) -> None:
        if m["id"] in self.seen_chat:
            return
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
        lines = clean(str(m["text"])).split("\n")
        self.say(prefix + lines[0])
        for line in lines[1:]:
            self.say(" " * len(prefix) + line)

    # -- requests ----------------------------------------------------------------------------

    async def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.sio.connected:
            raise RequestError("unavailable", "You're offline; reconnecting.")
        try:
            ack = await self.sio.call(event, payload, timeout=REQUEST_TIMEOUT_S)
        except socketio.exceptions.TimeoutError as exc:
            raise RequestError("unavailable", "The server did not answer in time.") from exc
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = (ack or {}).get("error", {}) if isinstance(ack, dict) else {}
            raise RequestError(str(error.get("code", "internal")), str(error.get("message", "")))
        return ack

    async def send_join(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "room": self.link.room_id,
            "name": self.name,
            "media": "text",
            "accept_guidelines": True,
            "browser_key": self.browser_key,
        }
        if self.passcode:
            payload["passcode"] = self.passcode
        if self.link.host_key:
            payload["host_key"] = self.link.host_key
        if self.resume_token:
            payload["resume_token"] = self.resume_token
        return await self.request("join", payload)

    # -- the room's state --------------------------------------------------------------------

    def apply_snapshot(self, room: dict[str, Any]) -> None:
        self.participants = {p["id"]: p for p in room.get("participants", [])}
        self.hands = list(room.get("hands", []))
        speaker = room.get("speaker")
        self.speaker_id = speaker["id"] if speaker else None

    def enter(self, room: dict[str, Any], resume_token: str) -> None:
        self.state = "in"
        self.resume_token = resume_token
        self.apply_snapshot(room)
        self.say(f"You're in “{clean(str(room.get('title', '')))}”.")
        self.print_roster()
        chat = room.get("chat", [])
        if chat:
            self.say("Chat so far:")
            for m in chat:
                self.print_chat(m)
        self.say("Type /help for commands.")

    def finish(self, message: str, code: int) -> None:
        if self.state == "done":
            return
        self.state = "done"
        self.say(message)
        self.exit_code = code
        self.done.set()

    # -- server events -----------------------------------------------------------------------

    def _bind(self) -> None:
        sio = self.sio
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("chat:message", self._on_chat)
        sio.on("participant:joined", self._on_joined)
        sio.on("participant:left", self._on_left)
        sio.on("participant:updated", self._on_updated)
        sio.on("room:updated", self._on_room_updated)
        sio.on("lobby:waiting", self._on_lobby_waiting)
        sio.on("lobby:admitted", self._on_admitted)
        sio.on("lobby:denied", self._on_denied)
        sio.on("room:ended", self._on_ended)
        sio.on("you:removed", self._on_removed)
        sio.on("you:muted", self._on_muted)

    async def _on_connect(self) -> None:
        if self.state in ("in", "waiting"):
            # Re-join from a task: an ack cannot arrive while this handler holds the connection.
            asyncio.get_running_loop().create_task(self._resume())

    async def _on_disconnect(self, *_: Any) -> None:
        if self.state in ("in", "waiting"):
            self.notice("Connection lost; reconnecting…")

    async def _resume(self) -> None:
        try:
            ack = await self.send_join()
        except RequestError as exc:
            if exc.code in REFUSALS:
                self.finish(f"You couldn't rejoin: {REFUSALS[exc.code]}", EXIT_REFUSED)
            else:
                self.notice(f"Rejoining failed ({exc.message or exc.code}); trying again…")
                await asyncio.sleep(2)
                if self.sio.connected and self.state != "done":
                    await self._resume()
            return
        self.resume_token = ack.get("resume_token") or self.resume_token
        if ack.get("waiting"):
            self.state = "waiting"
            self.notice("Back in the waiting room.")
            return
        self.state = "in"
        self.self_id = ack["self"]["id"]
        self.apply_snapshot(ack["room"])
        self.notice("Reconnected.")
        for m in ack["room"].get("chat", []):
            self.print_chat(m)
        try:
            payload = {"after": self.last_chat_id} if self.last_chat_id else {}
            history = await self.request("chat:history", payload)
            for m in history.get("messages", []):
                self.print_chat(m)
        except RequestError as exc:
            self.notice(f"Couldn't fetch the chat missed while offline ({exc.code}).")

    async def _on_chat(self, m: dict[str, Any]) -> None:
        self.print_chat(m)

    async def _on_joined(self, p: dict[str, Any]) -> None:
        known = p["id"] in self.participants
        self.participants[p["id"]] = p
        if not known and p["id"] != self.self_id:
            self.notice(f"{self.describe(p)} joined.")

    async def _on_left(self, data: dict[str, Any]) -> None:
        pid = data.get("id")
        if pid == self.self_id:
            if data.get("reason") == "ended":
                self.finish("The meeting has ended. Thank you for being here.", EXIT_OK)
            elif data.get("reason") == "removed":
                self.finish("A facilitator removed you from the meeting.", EXIT_REMOVED)
            return
        name = self.name_of(pid)
        self.participants.pop(pid or "", None)
        self.hands = [h for h in self.hands if h != pid]
        if data.get("reason") == "disconnected":
            self.notice(f"{name} lost their connection and left.")
        else:
            self.notice(f"{name} left.")

    async def _on_updated(self, p: dict[str, Any]) -> None:
        before = self.participants.get(p["id"])
        self.participants[p["id"]] = p
        if before is None or p["id"] == self.self_id:
            return
        name = clean(str(p["name"]))
        if before.get("hand") is None and p.get("hand") is not None:
            self.notice(f"{name} raised their hand.")
        elif before.get("hand") is not None and p.get("hand") is None:
            self.notice(f"{name} lowered their hand.")
        if not before.get("away") and p.get("away"):
            self.notice(f"{name} lost their connection; they may be back shortly.")
        elif before.get("away") and not p.get("away"):
            self.notice(f"{name} is back.")
        if before.get("role") != p.get("role") and p.get("role") == "facilitator":
            self.notice(f"{name} is now a facilitator.")
        if p.get("speaking") and not before.get("speaking"):
            now = time.monotonic()
            if now - self.spoke_at.get(p["id"], -SPEAKING_QUIET_S) >= SPEAKING_QUIET_S:
                self.notice(f"{name} is speaking.")
            self.spoke_at[p["id"]] = now
        elif p.get("speaking"):
            self.spoke_at[p["id"]] = time.monotonic()

    async def _on_room_updated(self, update: dict[str, Any]) -> None:
        if "hands" in update and update["hands"] is not None:
            self.hands = list(update["hands"])
        if "speaker" in update:
            speaker = update["speaker"]
            new_id = speaker["id"] if speaker else None
            if new_id and new_id != self.speaker_id:
                if new_id == self.self_id:
                    self.notice("It's your turn to share. Type what you'd like to say.")
                else:
                    self.notice(f"{self.name_of(new_id)} is sharing now.")
            self.speaker_id = new_id

    async def _on_lobby_waiting(self, p: dict[str, Any]) -> None:
        self.notice(f"{clean(str(p['name']))} is waiting to be let in.")

    async def _on_admitted(self, data: dict[str, Any]) -> None:
        if self.state != "waiting":
            return
        self.enter(data["room"], data["resume_token"])
        self.admitted.set()

    async def _on_denied(self, data: dict[str, Any]) -> None:
        self.finish("The facilitator couldn't let you into this meeting this time.", EXIT_REFUSED)
        self.admitted.set()

    async def _on_ended(self, data: dict[str, Any]) -> None:
        self.finish("The meeting has ended. Thank you for being here.", EXIT_OK)

    async def _on_removed(self, data: dict[str, Any]) -> None:
        suffix = " You can't rejoin it." if data.get("ban") else ""
        self.finish(f"A facilitator removed you from the meeting.{suffix}", EXIT_REMOVED)

    async def _on_muted(self, data: dict[str, Any]) -> None:
        self.notice("A facilitator muted you.")

    # -- typed input -------------------------------------------------------------------------

    async def handle_line(self, line: str) -> None:
        text = line.rstrip("\r\n")
        if not text.strip():
            return
        if text.startswith("/"):
            command, _, rest = text[1:].partition(" ")
            command = command.lower()
            if command == "quit":
                await self.leave()
            elif command == "who":
                self.print_roster()
            elif command == "hand":
                await self.toggle_hand()
            elif command == "msg":
                await self.private_message(rest)
            elif command == "help":
                self.say(HELP)
            else:
                self.say(f"Unknown command /{command}.\n{HELP}")
            return
        if self.state != "in":
            self.say("You're not in the meeting yet; nothing was sent.")
            return
        await self.send_chat(text)

    async def send_chat(self, text: str, to: str | None = None) -> None:
        payload: dict[str, Any] = {"text": text}
        if to:
            payload["to"] = to
        try:
            ack = await self.request("chat:send", payload)
        except RequestError as exc:
            if exc.code == "rate_limited":
                self.say("You're sending messages quickly. Wait a moment, then send again.")
            else:
                self.say(f"Not sent: {exc.message or exc.code}")
            return
        if isinstance(ack.get("message"), dict):
            self.print_chat(ack["message"])

    async def private_message(self, rest: str) -> None:
        rest = rest.strip()

        def starts_line(p: dict[str, Any]) -> bool:
            name = str(p["name"])
            head = rest[: len(name)]
            return head.lower() == name.lower() and rest[len(name) : len(name) + 1] in ("", " ")

        # Names may contain spaces: the longest name that starts the line wins.
        candidates = [p for p in self.participants.values() if p["id"] != self.self_id and starts_line(p)]
        longest = max((len(str(p["name"])) for p in candidates), default=0)
        matches = [p for p in candidates if len(str(p["name"])) == longest]
        if not matches:
            self.say("Usage: /msg NAME text — NAME must be someone here (see /who).")
            return
        if len(matches) > 1:
            self.say(
                f"More than one person here is called {clean(str(matches[0]['name']))}, so the "
                "message was not sent."
            )
            return
        target = matches[0]
        text = rest[len(str(target["name"])) :].strip()
        if not text:
            self.say(f"Usage: /msg {clean(str(target['name']))} your message")
            return
        await self.send_chat(text, to=target["id"])

    async def toggle_hand(self) -> None:
        me = self.participants.get(self.self_id or "")
        raised = bool(me and me.get("hand") is not None)
        try:
            await self.request("hand:lower" if raised else "hand:raise", {})
        except RequestError as exc:
            self.say(f"That didn't work: {exc.message or exc.code}")
            return
        if me is not None:
            me["hand"] = None if raised else int(time.time() * 1000)
        self.say("Your hand is lowered." if raised else "Your hand is raised.")

    async def leave(self) -> None:
        if self.sio.connected:
            with contextlib.suppress(RequestError):
                await self.request("leave", {})
        self.finish("You left the meeting. Take care.", EXIT_OK)

    # -- the whole session -------------------------------------------------------------------

    async def fetch_room(self) -> dict[str, Any] | None:
        url = f"{self.link.base_url}/api/rooms/{quote(self.link.room_id, safe='')}"
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as response:
            if response.status == 404:
                return None
            response.raise_for_status()
            return dict(await response.json())

    async def main(self, lines: asyncio.Queue[str | None]) -> int:
        try:
            room = await self.fetch_room()
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.say(f"Couldn't reach the meeting server at {self.link.base_url} ({type(exc).__name__}).")
            return EXIT_REFUSED
        if room is None:
            self.say(REFUSALS["not_found"])
            return EXIT_REFUSED
        self.say(f"Meeting: {clean(str(room['title']))}")
        guidelines = str(room.get("guidelines") or "").strip()
        if guidelines:
            self.say("Group guidelines:")
            for line in clean(guidelines).split("\n"):
                self.say(f"  {line}")
            self.say("By joining you accept these group guidelines.")
        if room.get("passcode_required") and not self.passcode:
            if not sys.stdin.isatty():
                self.say("This meeting needs a passcode: run again with --passcode.")
                return EXIT_USAGE
            self.passcode = await asyncio.to_thread(getpass.getpass, "Passcode: ")

        try:
            await self.sio.connect(
                self.link.base_url,
                socketio_path="socket.io",
                transports=["websocket"],
                wait_timeout=REQUEST_TIMEOUT_S,
            )
        except socketio.exceptions.ConnectionError as exc:
            self.say(f"Couldn't connect to the meeting server ({exc}).")
            return EXIT_REFUSED
        try:
            return await self._session(lines)
        finally:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()

    async def _session(self, lines: asyncio.Queue[str | None]) -> int:
        try:
            ack = await self.send_join()
        except RequestError as exc:
            self.say(REFUSALS.get(exc.code, f"Couldn't join: {exc.message or exc.code}"))
            return EXIT_REFUSED
        self.self_id = ack["self"]["id"]
        self.resume_token = ack.get("resume_token")
        if ack.get("waiting"):
            self.state = "waiting"
            self.say("You're in the waiting room. The facilitator will let you in shortly.")
        else:
            self.enter(ack["room"], ack["resume_token"])

        done = asyncio.ensure_future(self.done.wait())
        while not self.done.is_set():
            next_line = asyncio.ensure_future(lines.get())
            finished, _ = await asyncio.wait({next_line, done}, return_when=asyncio.FIRST_COMPLETED)
            if next_line not in finished:
                next_line.cancel()
                break
            line = next_line.result()
            if line is None:  # end of input: leave as /quit would
                await self.leave()
                break
            await self.handle_line(line)
        done.cancel()
        return self.exit_code


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    # A thread, because a blocking read of a terminal or pipe works everywhere the same way.
    for line in sys.stdin:
        loop.call_soon_threadsafe(lines.put_nowait, line)
    loop.call_soon_threadsafe(lines.put_nowait, None)


def run(url: str, name: str, passcode: str | None = None) -> int:
    """Join the meeting at `url` as a text-only participant; return the process exit code."""
    try:
        link = MeetingLink.parse(url)
    except ValueError as exc:
        print(f"circle chat: {exc}", file=sys.stderr)
        return EXIT_USAGE
    name = name.strip()
    if not name:
        print("circle chat: --name must not be empty", file=sys.stderr)
        return EXIT_USAGE

    async def session() -> int:
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
        return await ChatClient(link, name, passcode).main(lines)

    try:
        return asyncio.run(session())
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED

"""The terminal chat client's time in a meeting: connect, join text-only, follow the room, leave.

A dropped connection is resumed with the resume token, and chat said meanwhile is fetched with
`chat:history {after}`, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO
from urllib.parse import quote

import aiohttp
import socketio

from signaling.protocol import ChatHistory, ErrorCode, Join, Leave, ServerEvent
from terminal.keyboard import Keyboard
from terminal.link import MeetingLink
from terminal.view import REFUSALS, RoomView, clean, meeting_preview, passcode_failures

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_REMOVED = 3
EXIT_INTERRUPTED = 130

REQUEST_TIMEOUT_S = 10.0

LineHandler = Callable[[str], Awaitable[None]]


class RequestError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        stored: dict[str, Any] | None = None,
        guidelines_version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # A chat message the server kept although the request failed: it is sent.
        self.stored = stored
        # With a refused join: the guidelines changed, and this is their version now.
        self.guidelines_version = guidelines_version


class ChatClient:
    """One text-only participant in one meeting, printing what happens there to `out`."""

    def __init__(
        self,
        link: MeetingLink,
        name: str,
        passcode: str | None,
        browser_key: str | None = None,
        accept_guidelines: bool = False,
        out: TextIO = sys.stdout,
    ) -> None:
        self.link = link
        # Given up front (--accept-guidelines), or answered when the guidelines are shown.
        self.guidelines_accepted = accept_guidelines
        # The version of the guidelines shown and accepted, sent with every join: if they change while
        # this client is away, its rejoin is refused rather than taken as accepting the new text.
        self.guidelines_version: int | None = None
        self.name = name
        self.passcode = passcode
        self.out = out
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=4,
            randomization_factor=0.3,
        )
        self.browser_key = browser_key
        self.resume_token: str | None = None
        self.room = RoomView()
        self.state = "connecting"  # → waiting | in → done
        self.exit_code = EXIT_OK
        self.done = asyncio.Event()
        self.admitted = asyncio.Event()
        # From a dropped connection until the new one has rejoined: only `join` may be sent, since
        # the server does not know this connection yet.
        self.rejoining = False
        self._bind()

    # -- output ------------------------------------------------------------------------------

    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    def notice(self, line: str) -> None:
        self.say(f"* {line}")

    def notices(self, lines: list[str]) -> None:
        for line in lines:
            self.notice(line)

    def print_roster(self) -> None:
        for line in self.room.roster():
            self.say(line)

    def print_chat(self, m: dict[str, Any]) -> None:
        for line in self.room.chat(m):
            self.say(line)

    # -- requests ----------------------------------------------------------------------------

    async def request(self, message: Any) -> dict[str, Any]:
        """Send `message` (a client → server event of `signaling.protocol`) and return its ack; a
        refusal or an unanswered request raises RequestError."""
        event = type(message).event
        # Unset optional fields are left out: the server takes a missing field as its default.
        payload = {k: v for k, v in dataclasses.asdict(message).items() if v is not None}
        if not self.sio.connected or (self.rejoining and event != Join.event):
            raise RequestError(ErrorCode.UNAVAILABLE, "You're offline; reconnecting.")
        try:
            ack = await self.sio.call(event, payload, timeout=REQUEST_TIMEOUT_S)
        except socketio.exceptions.TimeoutError as exc:
            raise RequestError(ErrorCode.UNAVAILABLE, "The server did not answer in time.") from exc
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = (ack or {}).get("error", {}) if isinstance(ack, dict) else {}
            stored = error.get("stored")
            version = error.get("guidelines_version")
            raise RequestError(
                str(error.get("code", ErrorCode.INTERNAL)),
                str(error.get("message", "")),
                stored if isinstance(stored, dict) else None,
                version if isinstance(version, int) else None,
            )
        return ack

    async def send_join(self) -> dict[str, Any]:
        return await self.request(
            Join(
                room=self.link.room_id,
                name=self.name,
                media="text",
                accept_guidelines=self.guidelines_accepted,
                passcode=self.passcode or None,
                host_key=self.link.host_key,
                resume_token=self.resume_token,
                browser_key=self.browser_key,
                guidelines_version=self.guidelines_version,
                invite=self.link.invite,
                token=self.link.token,
            )
        )

    # -- being in the room -------------------------------------------------------------------

    def enter(self, room: dict[str, Any], resume_token: str) -> None:
        self.state = "in"
        self.resume_token = resume_token
        self.room.load(room)
        self.say(f"You're in “{clean(str(room.get('title', '')))}”.")
        if self.room.is_facilitator:
            self.say("You're a facilitator here: /help lists what you can do.")
        self.print_roster()
        self.notices(self.room.status())
        self.notices(self.room.concerns_waiting(room.get("concerns") or []))
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

    async def leave(self) -> None:
        if self.sio.connected:
            with contextlib.suppress(RequestError):
                await self.request(Leave())
        self.finish("You left the meeting. Take care.", EXIT_OK)

    # -- server events -----------------------------------------------------------------------

    def _bind(self) -> None:
        sio = self.sio
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on(ServerEvent.CHAT_MESSAGE, self._on_chat)
        sio.on(ServerEvent.PARTICIPANT_JOINED, self._on_joined)
        sio.on(ServerEvent.PARTICIPANT_LEFT, self._on_left)
        sio.on(ServerEvent.PARTICIPANT_UPDATED, self._on_updated)
        sio.on(ServerEvent.ROOM_UPDATED, self._on_room_updated)
        sio.on(ServerEvent.LOBBY_WAITING, self._on_lobby_waiting)
        sio.on(ServerEvent.LOBBY_ADMITTED, self._on_admitted)
        sio.on(ServerEvent.LOBBY_DENIED, self._on_denied)
        sio.on(ServerEvent.ROOM_ENDED, self._on_ended)
        sio.on(ServerEvent.YOU_REMOVED, self._on_removed)
        sio.on(ServerEvent.YOU_MUTED, self._on_muted)
        sio.on(ServerEvent.SERVER_CLOSING, self._on_server_closing)
        sio.on(ServerEvent.CHAT_DELETED, self._on_chat_deleted)
        sio.on(ServerEvent.LOBBY_FACILITATOR, self._on_lobby_facilitator)
        sio.on(ServerEvent.CONCERN_RAISED, self._on_concern_raised)
        sio.on(ServerEvent.CONCERN_SEEN, self._on_concern_seen)
        sio.on(ServerEvent.ROOM_SYNC, self._on_room_sync)
        sio.on(ServerEvent.UNMUTE_REQUESTED, self._on_unmute_requested)
        sio.on(ServerEvent.LOBBY_PASSCODE_FAILURES, self._on_passcode_failures)

    async def _on_connect(self) -> None:
        if self.state in ("in", "waiting"):
            # Re-join from a task: an ack cannot arrive while this handler holds the connection.
            asyncio.get_running_loop().create_task(self._resume())

    async def _on_disconnect(self, *_: Any) -> None:
        if self.state in ("in", "waiting") and not self.rejoining:
            self.rejoining = True
            self.notice("Connection lost; reconnecting…")

    async def _on_server_closing(self, *_: Any) -> None:
        if self.state in ("in", "waiting") and not self.rejoining:
            self.rejoining = True
            self.notice("The server is restarting; reconnecting…")
            # From a task: this handler runs on the connection being closed.
            asyncio.get_running_loop().create_task(self._reconnect_elsewhere())

    async def _reconnect_elsewhere(self) -> None:
        """Leave the closing server and connect again: behind a load balancer that reaches another
        instance, where the resume token keeps this seat. socket.io would not reconnect on its own
        after the server closed the connection."""
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        pause = 0.2
        while self.state in ("in", "waiting") and not self.sio.connected:
            await asyncio.sleep(pause * random.uniform(1, 1.5))
            try:
                await self._connect()
            except socketio.exceptions.ConnectionError:
                pause = min(pause * 2, 4.0)

    async def _resume(self) -> None:
        try:
            ack = await self.send_join()
        except RequestError as exc:
            if exc.guidelines_version is not None:
                message = (
                    "The group guidelines changed while you were away. Run circle chat again to read them."
                )
                self.finish(message, EXIT_REFUSED)
            elif exc.code in REFUSALS:
                self.finish(f"You couldn't rejoin: {REFUSALS[exc.code]}", EXIT_REFUSED)
            elif exc.code == ErrorCode.FORBIDDEN:
                self.finish(f"You couldn't rejoin: {exc.message}", EXIT_REFUSED)
            else:
                self.notice(f"Rejoining failed ({exc.message or exc.code}); trying again…")
                await asyncio.sleep(2)
                if self.sio.connected and self.state != "done":
                    await self._resume()
            return
        self.resume_token = ack.get("resume_token") or self.resume_token
        self.rejoining = False
        if ack.get("waiting"):
            self.state = "waiting"
            self.notice("Back in the waiting room.")
            return
        self.state = "in"
        self.room.self_id = ack["self"]["id"]
        self.room.load(ack["room"])
        self.notice("Reconnected.")
        self.notices(self.room.concerns_waiting(ack["room"].get("concerns") or []))
        for m in ack["room"].get("chat", []):
            self.print_chat(m)
        try:
            # A page at a time, each after the last one's newest message, until none is left.
            after = self.room.last_chat_id
            while True:
                history = await self.request(ChatHistory(after=after))
                messages = history.get("messages", [])
                for m in messages:
                    self.print_chat(m)
                if not history.get("more") or not messages:
                    break
                after = messages[-1]["id"]
        except RequestError as exc:
            self.notice(f"Couldn't fetch the chat missed while offline ({exc.code}).")

    async def _on_chat(self, m: dict[str, Any]) -> None:
        self.print_chat(m)

    async def _on_chat_deleted(self, data: dict[str, Any]) -> None:
        self.notices(self.room.chat_deleted(str(data.get("id"))))

    async def _on_lobby_facilitator(self, data: dict[str, Any]) -> None:
        if self.state == "waiting":
            self.notices(self.room.lobby_facilitator(bool(data.get("present"))))

    async def _on_concern_raised(self, data: dict[str, Any]) -> None:
        self.notices(self.room.concern_told(data))

    async def _on_concern_seen(self, data: dict[str, Any]) -> None:
        self.notices(self.room.concern_seen(str(data.get("id")), str(data.get("by"))))

    async def _on_unmute_requested(self, data: dict[str, Any]) -> None:
        self.notices(self.room.unmute_requested(data))

    async def _on_room_sync(self, room: dict[str, Any]) -> None:
        if self.state != "in":
            return
        for line in self.room.synced(room):
            self.say(line)

    async def _on_joined(self, p: dict[str, Any]) -> None:
        self.notices(self.room.joined(p))

    async def _on_left(self, data: dict[str, Any]) -> None:
        pid = data.get("id")
        if pid == self.room.self_id:
            if data.get("reason") == "ended":
                self.finish("The meeting has ended. Thank you for being here.", EXIT_OK)
            elif data.get("reason") == "removed":
                self.finish("A facilitator removed you from the meeting.", EXIT_REMOVED)
            return
        self.notices(self.room.left(pid, data.get("reason")))

    async def _on_updated(self, p: dict[str, Any]) -> None:
        self.notices(self.room.updated(p, time.monotonic()))

    async def _on_room_updated(self, update: dict[str, Any]) -> None:
        if self.state != "in":
            # Sent as this client joined, ahead of the answer whose snapshot holds it already: read
            # against an empty room it would announce the whole room as changes.
            return
        speaker, segment = self.room.speaker_id, self.room.segment
        self.notices(self.room.room_updated(update))
        self.notices(self.room.turn_hints(speaker, segment))

    async def _on_passcode_failures(self, data: dict[str, Any]) -> None:
        self.notices(passcode_failures(data))

    async def _on_lobby_waiting(self, p: dict[str, Any]) -> None:
        self.notices(self.room.lobby_waiting(p))

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

    # -- the whole session -------------------------------------------------------------------

    async def fetch_room(self) -> dict[str, Any] | None:
        url = f"{self.link.base_url}/api/rooms/{quote(self.link.room_id, safe='')}"
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as response:
            if response.status == 404:
                return None
            response.raise_for_status()
            return dict(await response.json())

    async def main(self, keyboard: Keyboard, handle_line: LineHandler) -> int:
        """Join, pass each typed line to `handle_line` until the session ends; return the exit code.

        The end of the input leaves the meeting.
        """
        try:
            room = await self.fetch_room()
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.say(f"Couldn't reach the meeting server at {self.link.base_url} ({type(exc).__name__}).")
            return EXIT_REFUSED
        if room is None:
            self.say(REFUSALS[ErrorCode.NOT_FOUND])
            return EXIT_REFUSED
        for line in meeting_preview(room):
            self.say(line)
        version = room.get("guidelines_version")
        self.guidelines_version = version if isinstance(version, int) else None
        if str(room.get("guidelines") or "").strip() and not await self._accept_guidelines(keyboard):
            return self.exit_code
        if room.get("passcode_required") and not self.passcode:
            if not sys.stdin.isatty():
                self.say("This meeting needs a passcode: run again with --passcode.")
                return EXIT_USAGE
            self.passcode = await asyncio.to_thread(getpass.getpass, "Passcode: ")

        try:
            await self._connect()
        except socketio.exceptions.ConnectionError as exc:
            self.say(f"Couldn't connect to the meeting server ({exc}).")
            return EXIT_REFUSED
        try:
            return await self._session(keyboard, handle_line)
        finally:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()

    async def _connect(self) -> None:
        await self.sio.connect(
            self.link.base_url,
            socketio_path="socket.io",
            transports=["websocket"],
            wait_timeout=REQUEST_TIMEOUT_S,
        )

    async def _accept_guidelines(self, keyboard: Keyboard) -> bool:
        """Ask the member to accept the group guidelines just shown; whether they did."""
        if self.guidelines_accepted:
            self.say("You accept these group guidelines (--accept-guidelines).")
            return True
        self.say("Do you accept these group guidelines? Type y to accept and join, or n to leave.")
        while True:
            answer = await keyboard.next_line()
            if answer is None:
                self.say("This meeting asks you to accept its group guidelines: run again and answer y,")
                self.say("or pass --accept-guidelines.")
                self.exit_code = EXIT_USAGE
                return False
            answer = answer.strip().lower()
            if answer in ("y", "yes"):
                self.guidelines_accepted = True
                return True
            if answer in ("n", "no"):
                self.say("You haven't joined: the group asks everyone to accept its guidelines. Take care.")
                self.exit_code = EXIT_REFUSED
                return False
            self.say("Please type y to accept the group guidelines, or n to leave.")

    async def _session(self, keyboard: Keyboard, handle_line: LineHandler) -> int:
        try:
            ack = await self.send_join()
        except RequestError as exc:
            self.say(REFUSALS.get(exc.code, f"Couldn't join: {exc.message or exc.code}"))
            return EXIT_REFUSED
        self.room.self_id = ack["self"]["id"]
        self.resume_token = ack.get("resume_token")
        if ack.get("waiting"):
            self.state = "waiting"
            if ack.get("facilitator_present") is False:
                self.say("You're in the waiting room.")
                self.notices(self.room.lobby_facilitator(False))
            else:
                self.say("You're in the waiting room. The facilitator will let you in shortly.")
        else:
            self.enter(ack["room"], ack["resume_token"])

        done = asyncio.ensure_future(self.done.wait())
        while not self.done.is_set():
            next_line = asyncio.ensure_future(keyboard.next_line())
            finished, _ = await asyncio.wait({next_line, done}, return_when=asyncio.FIRST_COMPLETED)
            if next_line not in finished:
                next_line.cancel()
                break
            line = next_line.result()
            if line is None:  # end of input: leave as /quit would
                await self.leave()
                break
            await handle_line(line)
        done.cancel()
        return self.exit_code

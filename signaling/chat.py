"""Chat: sending, history, and making good what an instance's members missed while it could not hear
the others.

A chat message is delivered to an instance's sockets once, however it arrives there (live, held back
by an instance that could not publish and sent later, or read back from the log after a gap). Where
the bus and the store can, a message goes to the other instances in the same step as its append (one
round trip instead of two), and only this instance's members are left to deliver it to.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from rooms import ChatMessage, Refusal, RoomState, apply, check_chat
from rooms import commands as cmd
from rooms.model import ChatKind
from signaling import events as ev
from signaling import protocol as p
from signaling import views
from signaling.config import SignalingConfig
from signaling.connections import Conn
from signaling.delivery import Delivery
from signaling.meetings import Meetings
from signaling.ports import ID_PLACEHOLDER, ChatDraft, DeletedMessage, Store, Unavailable
from signaling.to_command import to_command

log = logging.getLogger("circle.signaling")

CHAT_EVENT = ev.ChatMessageSent.event
# Between attempts to read a room's chat back while the store is unavailable.
RETRY_MIN_S = 0.05
RETRY_MAX_S = 2.0

ChatKey = tuple[str, str, int]


def chat_key(message: ChatMessage) -> ChatKey:
    return (message.sender_id, message.id, message.at)


class Chat:
    """Chat for the rooms `rooms_here()` names (those with a member connected to this instance).

    Of what was delivered here, the last `config.chat_dedup_messages` are remembered (far more than a
    gap holds), to drop a second copy. After a gap, chat from `config.gap_margin_s` before it is read
    back too: clocks of different machines disagree a little."""

    def __init__(
        self, config: SignalingConfig, meetings: Meetings, rooms_here: Callable[[], frozenset[str]]
    ) -> None:
        self._config = config
        self._meetings = meetings
        self._rooms_here = rooms_here
        self._delivered: OrderedDict[ChatKey, None] = OrderedDict()

    @property
    def _store(self) -> Store:
        return self._meetings.store

    @property
    def _delivery(self) -> Delivery:
        return self._meetings.delivery

    async def send(self, conn: Conn, msg: p.ChatSend) -> dict[str, Any]:
        p.within("text", msg.text, self._config.max_chat_chars)
        room_id = conn.room_id
        if room_id is None:
            raise Refusal("not_joined", "Join a room first.")
        at = self._meetings.clock()

        def draft(state: RoomState | None) -> ChatDraft:
            # The rules' check, on the room the store appends to (it may ask again if that changed).
            pid, state = self._meetings.joined(conn, state)
            sender = check_chat(state, pid, msg.to)

            def make(message_id: str) -> ChatMessage:
                return ChatMessage(message_id, sender.id, sender.name, msg.text, at, msg.to)

            publication = self._delivery.chat_publication(state, make(ID_PLACEHOLDER))
            return ChatDraft(make, state.room.max_messages, publication)

        try:
            message, published = await self._store.append_checked_chat(room_id, draft, msg.key)
        except DeletedMessage:
            # Sent before, under this key, and deleted by a facilitator since: it stays deleted.
            raise Refusal("forbidden", "A facilitator has deleted this message from the chat.") from None
        try:
            if not published:
                await self._delivery.chat(room_id, message)
            elif self._remember(chat_key(message)):
                # The other instances have it already, sent with its append: only ours are left.
                await self._delivery.chat_here(room_id, message)
        except Unavailable as exc:
            # Kept, but not yet sent to every instance: the sender must not send it again (it is in
            # chat:history, and the bus delivers it to the others when the backend returns). A
            # repeat under its key is delivered again: clients drop a message id they already have.
            raise Unavailable("chat kept, not delivered", stored=views.chat_view(message)) from exc
        return {"message": views.encode(views.chat_view(message))}

    async def delete(self, conn: Conn, msg: p.ModDeleteChat) -> dict[str, Any]:
        """A facilitator deletes a message they can see, for everyone who could see it: from the log
        (so from every history and join snapshot too), then from every page."""
        pid, state = await self._meetings.joined_state(conn)
        # The rules decide who may (a facilitator) and what (a message id); the room does not change.
        _, outcome = apply(state, to_command(pid, msg), self._meetings.clock())
        message = await self._store.delete_chat(state.room.id, msg.id, pid)
        if message is None:
            raise Refusal("not_found", "That message is no longer in the chat.")
        await self._delivery.chat_deleted(state.room.id, message)
        return dict(outcome.result)

    async def milestone(self, conn: Conn, msg: p.MilestoneShare) -> dict[str, Any]:
        """A milestone is a chat message to everyone, of kind "milestone", kept as the chat is."""
        pid, state = await self._meetings.joined_state(conn)
        at = self._meetings.clock()
        # The rule changes nothing in the room: it checks the label and says what to append.
        _, outcome = apply(state, cmd.ShareMilestone(pid, msg.label, self._config.max_milestone_chars), at)
        sender = state.participants[pid]
        label = str(outcome.result["text"])

        def make(message_id: str) -> ChatMessage:
            return ChatMessage(message_id, sender.id, sender.name, label, at, kind=ChatKind.MILESTONE)

        message = await self._store.append_chat(state.room.id, make, state.room.max_messages)
        try:
            await self._delivery.chat(state.room.id, message)
        except Unavailable as exc:
            # As for any chat message: kept, and on its way; sharing it again would show it twice.
            raise Unavailable("milestone kept, not delivered", stored=views.chat_view(message)) from exc
        return {"message": views.encode(views.chat_view(message))}

    async def history(self, conn: Conn, msg: p.ChatHistory) -> dict[str, Any]:
        """A page of at most `config.chat_history_page_messages`: an answer's size stays bounded
        however long the log and its messages are."""
        pid, state = await self._meetings.joined_state(conn)
        size = self._config.chat_history_page_messages
        messages = [m for m in await self._store.chat_after(state.room.id, msg.after) if m.visible_to(pid)]
        if msg.before is not None:
            # Ids compare as strings in send order, so a cursor need not still be in the log.
            messages = [m for m in messages if m.id < msg.before]
            page, more = messages[-size:], len(messages) > size
        else:
            page, more = messages[:size], len(messages) > size
        return {"messages": [views.encode(views.chat_view(m)) for m in page], "more": more}

    # -- once per instance, across gaps ---------------------------------------------------------------

    def first_delivery(self, event: str, payload: Any) -> bool:
        """Whether an event is new to this instance's sockets: false for a chat message already
        delivered here (the bus asks before each delivery)."""
        if event != CHAT_EVENT:
            return True
        try:
            key: ChatKey = (str(payload["from"]["id"]), str(payload["id"]), int(payload["at"]))
        except (KeyError, TypeError, ValueError):
            return True
        return self._remember(key)

    def _remember(self, key: ChatKey) -> bool:
        """False if `key` was delivered here already; else remembers it."""
        if key in self._delivered:
            return False
        self._delivered[key] = None
        if len(self._delivered) > self._config.chat_dedup_messages:
            self._delivered.popitem(last=False)
        return True

    async def catch_up(self, since: float) -> None:
        """After the bus could not hear the other instances since `since` (Unix seconds): deliver to
        this instance's members the chat said meanwhile, and send each of their rooms as it is now
        (`room:sync`), for the joins, leaves and hands missed."""
        since_ms = int((since - self._config.gap_margin_s) * 1000)
        for room_id in sorted(self._rooms_here()):
            messages = await self._read_back(room_id)
            missed = [m for m in messages if m.at >= since_ms and self._remember(chat_key(m))]
            for m in missed:
                await self._delivery.chat_here(room_id, m)
            if missed:
                log.info(
                    "delivered %d chat messages missed during a gap",
                    len(missed),
                    extra={"count": len(missed)},
                )
            state = await self._store.load(room_id)
            if state is not None:
                await self._delivery.sync_here(state)

    async def _read_back(self, room_id: str) -> list[ChatMessage]:
        delay = RETRY_MIN_S
        while True:
            try:
                return await self._store.chat_after(room_id, None)
            except Unavailable:
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)

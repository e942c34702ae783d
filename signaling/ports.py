"""What signalling needs from the infrastructure, as interfaces the server's adapters implement.

- `Store`: rooms, their live state, chat, presence and bans (memory and SQLite for one instance, Redis
  for a cluster);
- `Bus`: delivery between instances (the socket.io client manager's transport);
- `Publication`: an emit the bus packed for the store to publish with the write it announces;
- `Unavailable`: what both raise when their backend cannot be reached or did not answer in time;
- `DeletedMessage`: what a store raises when a deleted chat message is sent again under its key;
- `Metrics`: what signalling counts, for the server to export (`NO_METRICS` when nobody does).

Signalling holds these; `server/` wires in the implementations, so that nothing here depends on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from rooms import ChatMessage, Refusal, RoomDefinition, RoomState
from rooms.model import chat_id

T = TypeVar("T")


class Unavailable(Exception):
    """The backend (Redis) cannot be reached or did not answer in time. `details` are sent to the
    client with the `unavailable` error (`stored`: a chat message kept but not yet delivered)."""

    def __init__(self, *args: object, **details: Any) -> None:
        super().__init__(*args)
        self.details = details


ID_PLACEHOLDER = chat_id(0)
"""Stands for a chat message's id until the store assigns it (the same width as every id)."""


@dataclass(frozen=True, slots=True)
class Publication:
    """An emit packed by the bus (`Bus.publication`) for the store to publish in the same step as the
    write that gives it its id (`Store.append_and_publish_chat`): one round trip instead of two.
    `packed` ends with `ID_PLACEHOLDER`, which the store overwrites with the id, and goes to each of
    `channels`: none when no other instance needs it. Signalling passes it on without looking inside;
    only the bus and the store it was made for know what it holds."""

    channels: tuple[str, ...]
    packed: bytes


class RoomGone(Refusal):
    """`transact` found no room to write to: it was deleted (perhaps while this command was on its
    way). Nothing is written: a meeting never outlives its room."""

    def __init__(self) -> None:
        super().__init__("not_found", "This room no longer exists.")


@dataclass(frozen=True, slots=True)
class ChatDraft:
    """A chat message as the room's live state lets it be sent (`Store.append_checked_chat`): how to
    build it (`make`, as for `Store.append_chat`), how many messages the room keeps, and what to
    publish with it (None: nothing)."""

    make: Callable[[str], ChatMessage]
    max_messages: int
    publication: Publication | None = None


class DeletedMessage(Exception):
    """`append_chat` was asked to send again, under its key, a message a facilitator has deleted:
    it stays deleted."""


class Store(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True while the backend answers; always True in memory."""
        ...

    async def signing_key(self, configured: str | None) -> str:
        """The key that signs resume tokens: `configured`, else one shared by every instance."""
        ...

    async def create_room(self, room: RoomDefinition) -> None: ...

    async def get_room(self, room_id: str) -> RoomDefinition | None: ...

    async def list_rooms(self) -> list[RoomDefinition]:
        """Every room's definition, in no particular order."""
        ...

    async def update_room(self, room: RoomDefinition) -> bool:
        """Replace the definition of an existing room; False, with nothing written, if it is gone."""
        ...

    async def delete_room(self, room_id: str, *, only_if_empty: bool = False) -> bool:
        """Remove a room: its definition, its live state and its chat. With `only_if_empty`, only while
        nobody is in it (someone who joined since it was seen empty keeps it). Whether it was removed."""
        ...

    async def load(self, room_id: str) -> RoomState | None:
        """The live state of a room that has had a meeting, else None."""
        ...

    async def transact(
        self, room: RoomDefinition, fn: Callable[[RoomState], tuple[RoomState, T]], now: int
    ) -> tuple[RoomState, T]:
        """Atomic read-modify-write of one room's state. `fn` is pure and may run more than once
        (on a conflicting write); an exception from it commits nothing. A state `fn` returns unchanged
        (the same object) is not written. Raises `RoomGone` when the room has been deleted."""
        ...

    async def live_rooms(self) -> list[str]:
        """Ids of rooms with live state, for the sweeper."""
        ...

    async def append_chat(
        self,
        room_id: str,
        make: Callable[[str], ChatMessage],
        max_messages: int,
        key: str | None = None,
    ) -> ChatMessage:
        """Append a message and return it with its ordered id. `make(id)` builds the message; a store
        may call it before the id is assigned, with an empty id, and put the id into the returned
        message's `id` afterwards, so `make` must use the id for nothing else.

        With `key`: if the same sender appended the same message under the same key within the
        store's resend window and it is still retained, that message is returned and nothing is
        appended, so a sender who never heard whether a send went through can send it again; if it
        was deleted (`delete_chat`) meanwhile, `DeletedMessage` is raised and nothing is appended."""
        ...

    async def delete_chat(self, room_id: str, message_id: str, viewer: str) -> ChatMessage | None:
        """Delete message `message_id` if it is retained and participant `viewer` may see it
        (`ChatMessage.visible_to`); the message deleted, else None (also when it was already gone)."""
        ...

    async def append_and_publish_chat(
        self,
        room_id: str,
        make: Callable[[str], ChatMessage],
        max_messages: int,
        key: str | None,
        publication: Publication,
    ) -> tuple[ChatMessage, bool]:
        """`append_chat`, publishing `publication` with the new message's id written in, in the same
        step. The flag is true when it went out: never for a repeat under `key` (returned as
        `append_chat` would, published when it was first sent), nor when the backend refused the
        publish or cannot publish. The caller emits what was not published the usual way."""
        ...

    async def append_checked_chat(
        self,
        room_id: str,
        draft: Callable[[RoomState | None], ChatDraft],
        key: str | None,
    ) -> tuple[ChatMessage, bool]:
        """`append_and_publish_chat` (`append_chat` without a publication) of the message that
        `draft(state)` decides on from the room's live state (None: no meeting), in one step with
        making sure that `state` is still the room's: the message is never appended to a room that has
        changed since it was checked. `draft` may run more than once, each time with the state to
        check against, and may raise to refuse the message; a refusal stands only once the store has
        made sure it was given the current state."""
        ...

    async def chat_after(self, room_id: str, after: str | None) -> list[ChatMessage]:
        """Every retained message after `after` (all without it), in order."""
        ...

    async def recent_chat(self, room_id: str, limit: int) -> list[ChatMessage]: ...

    async def clear_chat(self, room_id: str) -> None: ...

    async def heartbeat(self, instance_id: str, ttl_s: float) -> None:
        """Say that this instance is alive for the next `ttl_s` seconds."""
        ...

    async def dead_instances(self, instances: Iterable[str]) -> frozenset[str]:
        """Those of `instances` whose heartbeat has expired."""
        ...

    async def add_bans(self, room_id: str, marks: Iterable[str], ttl_s: float) -> None:
        """Ban `marks` ("id:…", "key:…", "addr:…": ids and hashes, never an address) from the room for
        `ttl_s` seconds, on every instance and across restarts. A mark banned again lasts the longer."""
        ...

    async def banned(self, room_id: str, marks: Iterable[str]) -> frozenset[str]:
        """Those of `marks` the room's bans hold now (expired bans hold nothing)."""
        ...


GapHandler = Callable[[float], Awaitable[None]]
"""Called with the time (Unix seconds) since when this instance may have missed deliveries."""

Screen = Callable[[str, Any], bool]
"""Asked with an event's name and payload before it is delivered to this instance's sockets."""

NoticeHandler = Callable[[dict[str, Any]], None]
"""Hears a notice another instance sent (`Bus.notify`); called in arrival order, it must not block."""


class Bus(Protocol):
    """Delivery between instances. Emits to channels reach sockets on every instance; what a bus
    cannot do (hear the others without a gap) it reports, and signalling makes good."""

    @property
    def hears_cluster(self) -> bool:
        """False while this instance's sockets would miss what other instances send them."""
        ...

    @property
    def spans_instances(self) -> bool:
        """True when other instances may hold members of the same room (a cluster)."""
        ...

    def on_gap(self, handler: GapHandler) -> None:
        """After a gap in hearing the other instances, run `handler(since)` once it hears them again."""
        ...

    def screen(self, deliver: Screen) -> None:
        """Deliver an emit to this instance's sockets only when `deliver(event, payload)` is true."""
        ...

    def on_notice(self, handler: NoticeHandler) -> None:
        """Hear the notices other instances send to this one, or to all (`notify`)."""
        ...

    async def notify(self, notice: dict[str, Any], to: str | None = None) -> None:
        """Send `notice` (plain str/int/bool/None/bytes/list/dict values) to instance `to`, or to every
        other instance. Raises `Unavailable` when it cannot go out; a notice is about now, so one that
        failed is never sent later. With no other instance there is nobody to hear it."""
        ...

    def publication(
        self, event: str, payload: dict[str, Any], channel: str | list[str], instances: Collection[str]
    ) -> Publication | None:
        """What emitting `event` with `payload` to `channel` would publish to the other instances,
        packed for the store to publish with the write that completes it; `payload`'s last field
        must be last in it (`ID_PLACEHOLDER`, as its id). `instances`: every instance where someone
        `channel` reaches may be connected; it goes to those alone. None when it must be emitted the
        usual way: earlier emits still wait to go out, or there is no other instance."""
        ...

    async def close(self) -> None: ...


class Metrics(Protocol):
    """What signalling reports as it works. Only names from fixed vocabularies and numbers pass
    through here: never a room, a participant, a connection id or anything anyone wrote."""

    def event_handled(self, event: str, error: str | None, seconds: float) -> None:
        """An event was answered: `event` is a protocol event name or "unknown", `error` the error
        code answered (None on success), `seconds` how long handling took up to the answer (for
        `chat:send`, until its message was handed to socket.io for delivery)."""
        ...

    def drain_began(self) -> None:
        """This instance began to stop: it refuses new connections and tells its clients to move."""
        ...

    def drain_closed(self, connections: int) -> None:
        """At the end of a drain, the server closed `connections` that had not left on their own."""
        ...


class _NoMetrics:
    def event_handled(self, event: str, error: str | None, seconds: float) -> None:
        return None

    def drain_began(self) -> None:
        return None

    def drain_closed(self, connections: int) -> None:
        return None


NO_METRICS: Metrics = _NoMetrics()
"""Counts nothing: signalling without an exporter."""

"""Engine.IO frames and Socket.IO packets as a client sends them, read without trusting them.

python-socketio and python-engineio decode what arrives as if it were well formed; anything else
raises deep inside them, goes unanswered and leaves a traceback in the log. Here each frame is looked
at first. What breaks the transport itself (a frame that is no Engine.IO packet, binary data, a
packet type a client never sends, a header that cannot be read) closes the connection; a packet whose
header can be read but whose content cannot (truncated JSON, nesting too deep, numbers too long, an
event that is not a list led by its name) is answered `bad_request` where the client expects an
answer: in its namespace, as the acknowledgement it asked for.

Circle's protocol is JSON only: binary packets, whose attachments python-socketio would hold in
memory until their count arrives, are refused outright.
"""

from __future__ import annotations

from typing import Any

# Engine.IO frames a client sends besides messages ("4…"): close, ping, pong (with the upgrade's
# probe), upgrade, noop.
_CONTROL_FRAMES = frozenset({"1", "2", "3", "2probe", "3probe", "5", "6"})

_TYPE_DIGITS = frozenset("0123456")
_ID_DIGITS = frozenset("0123456789")

CONNECT, DISCONNECT, EVENT, ACK = 0, 1, 2, 3
# Socket.IO packet types a client may send in Circle (CONNECT_ERROR is the server's; 5 and 6 binary).
_CLIENT_TYPES = frozenset({CONNECT, DISCONNECT, EVENT, ACK})

# Event names socket.io keeps for itself: python-socketio would run its own connect and disconnect
# handlers for a client that sent them as events.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "disconnecting"})

# python-socketio reads at most this many digits of an acknowledgement id.
MAX_ID_DIGITS = 100


class PacketError(Exception):
    """A packet that cannot be handled. `reason` is fixed text for the log (never the frame's
    content), `message` the sentence for the client. With a `namespace`, the client is answered
    there (as acknowledgement `ack_id`, if it asked for one); without, the connection is closed."""

    def __init__(
        self, reason: str, message: str, namespace: str | None = None, ack_id: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.namespace = namespace
        self.ack_id = ack_id

    @property
    def fatal(self) -> bool:
        """Whether the connection is closed rather than answered."""
        return self.namespace is None


def frame_problem(frame: Any) -> str | None:
    """Why an Engine.IO frame from a client breaks the transport, or None if it may be decoded."""
    if not isinstance(frame, str):
        return "binary frame"
    if frame.startswith("4"):
        # A message carries a Socket.IO packet, which starts with its type.
        return None if frame[1:2] in _TYPE_DIGITS else "message without a socket.io packet"
    return None if frame in _CONTROL_FRAMES else "unknown engine.io frame"


def _header(data: str) -> tuple[int, str, int | None]:
    """The type, namespace and acknowledgement id of a packet whose type is known; PacketError
    (fatal) if the header cannot be read."""
    kind = int(data[0])
    at = 1
    namespace = "/"
    if data.startswith("/", at):
        end = data.find(",", at)
        end = len(data) if end == -1 else end
        namespace = data[at:end].split("?", 1)[0]
        at = end + 1
    digits = at
    while digits < len(data) and data[digits] in _ID_DIGITS:
        digits += 1
    if digits - at > MAX_ID_DIGITS:
        raise PacketError("acknowledgement id too long", "The packet's id is too long.")
    ack_id = int(data[at:digits]) if digits > at else None
    return kind, namespace, ack_id


def read(packet_class: Any, data: Any) -> Any:
    """`data` (an Engine.IO message's content) as a python-socketio packet of `packet_class`, checked
    as far as socket.io itself relies on; PacketError otherwise."""
    if not isinstance(data, str):
        raise PacketError("binary packet", "Circle's protocol has no binary packets.")
    if not data or data[0] not in _TYPE_DIGITS:
        raise PacketError("unknown packet type", "Not a socket.io packet.")
    kind, namespace, ack_id = _header(data)
    if kind not in _CLIENT_TYPES:
        raise PacketError("packet type not taken from clients", "This packet type is not accepted.")
    try:
        packet = packet_class(encoded_packet=data)
    except RecursionError:
        raise PacketError(
            "nesting too deep", "The message is nested too deeply.", namespace, ack_id
        ) from None
    except ValueError:
        # Truncated or invalid JSON, or a number over python-engineio's hundred digits.
        raise PacketError("invalid JSON", "The message is not valid JSON.", namespace, ack_id) from None
    if kind == EVENT:
        payload = packet.data
        if not isinstance(payload, list) or not payload or not isinstance(payload[0], str):
            raise PacketError(
                "event not a list led by its name",
                "An event is a list: its name, then one object.",
                namespace,
                ack_id,
            )
        if payload[0] in RESERVED_EVENTS:
            raise PacketError("reserved event name", "Unknown event.", namespace, ack_id)
    elif kind == ACK and not isinstance(packet.data, list):
        raise PacketError("acknowledgement not a list", "An acknowledgement is a list.", namespace, ack_id)
    return packet

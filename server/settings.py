"""Every setting of a Circle server, in one frozen dataclass.

Each setting `foo_bar` is also the environment variable `CIRCLE_FOO_BAR` and the `circle serve` flag
`--foo-bar`. Durations end in `_s`, sizes in `_bytes`. Precedence: flag, then environment, then default.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from signaling.addresses import parse_networks
from signaling.config import SignalingConfig
from signaling.protocol import (
    AGENDA_SEGMENTS_MAX,
    AGENDA_TEXT_MAX,
    AGENDA_TITLE_MAX,
    CHAT_MAX,
    CONCERN_MAX,
    MILESTONE_MAX,
    NAME_MAX,
    PASSCODE_MAX,
    SHARE_TIMER_MAX_S,
)

# The browser client installs with Circle as the data-only package `web`; wherever that is (a
# checkout, a virtualenv, an image) is where its files are.
WEB_DIR = Path(str(importlib.resources.files("web")))
LOG_FORMATS = ("text", "json")
JOIN_SECRET_MIN_BYTES = 32


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata={"help": "address to listen on"})
    port: int = field(default=8080, metadata={"help": "TCP port (0 picks a free one)"})
    data_dir: Path = field(
        default=Path("./data"), metadata={"help": "where room definitions are kept (SQLite)"}
    )
    public_url: str | None = field(
        default=None,
        metadata={
            "help": "base URL in the links handed out, and the origin browsers must come from"
            " (default http://host:port; unset, browsers must use an IP address or localhost)"
        },
    )
    admin_token: str | None = field(
        default=None, metadata={"help": "token for the admin API; generated and printed if unset"}
    )
    secret_key: str | None = field(
        default=None,
        metadata={"help": "key that signs resume tokens; the same on every instance of a cluster"},
    )
    join_token_secret: str | None = field(
        default=None,
        metadata={
            "help": "shared with a community site: checks the join tokens (HS256) it signs; at least"
            " 32 characters; without it, join tokens are refused"
        },
    )
    redis_url: str | None = field(
        default=None, metadata={"help": "redis://HOST:PORT/DB to run as one of several instances"}
    )
    instance_id: str | None = field(default=None, metadata={"help": "this instance's name in logs"})
    cors_allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata={"help": "further browser origins allowed (comma-separated) besides public_url's"},
    )
    web_dir: Path = field(default=WEB_DIR, metadata={"help": "the browser client's files"})
    log_level: str = field(default="INFO", metadata={"help": "DEBUG, INFO, WARNING or ERROR"})
    max_log_lines_per_kind: int = field(
        default=20,
        metadata={
            "help": "log lines of one kind (bad input of one code, a malformed packet) written per"
            " log_kind_window_s; the rest are counted and the count logged after"
        },
    )
    log_kind_window_s: float = field(
        default=60.0, metadata={"help": "the window max_log_lines_per_kind counts lines in"}
    )
    log_format: str = field(
        default="text",
        metadata={
            "help": "text, or json: one JSON object a line (time, level, logger, message, ids, counts)"
        },
    )

    max_frame_bytes: int = field(
        default=65536,
        metadata={"help": "largest socket.io frame accepted; larger cuts the connection"},
    )
    max_participants: int = field(default=50, metadata={"help": "default room capacity"})
    min_room_participants: int = field(
        default=2, metadata={"help": "smallest capacity a room may be created with"}
    )
    max_room_participants: int = field(
        default=1000, metadata={"help": "largest capacity a room may be created with"}
    )
    max_name_chars: int = field(
        default=NAME_MAX, metadata={"help": f"longest display name (the protocol allows {NAME_MAX})"}
    )
    max_chat_chars: int = field(
        default=CHAT_MAX, metadata={"help": f"longest chat message (the protocol allows {CHAT_MAX})"}
    )
    chat_burst: int = field(default=10, metadata={"help": "chat messages allowed in a burst"})
    chat_rate_per_s: float = field(default=2.0, metadata={"help": "sustained chat messages per second"})
    signal_burst: int = field(
        default=200, metadata={"help": "WebRTC signalling messages (signal events) allowed in a burst"}
    )
    signal_rate_per_s: float = field(
        default=50.0, metadata={"help": "sustained WebRTC signalling messages (signal events) per second"}
    )
    action_burst: int = field(
        default=200,
        metadata={"help": "other events (hands, media state, facilitator tools, unknown) allowed in a burst"},
    )
    action_rate_per_s: float = field(
        default=50.0, metadata={"help": "sustained other events (not join, chat or signal) per second"}
    )
    history_burst: int = field(
        default=10, metadata={"help": "chat history requests (chat:history pages) allowed in a burst"}
    )
    history_rate_per_s: float = field(
        default=2.0, metadata={"help": "sustained chat history requests (chat:history pages) per second"}
    )
    join_burst: int = field(default=5, metadata={"help": "join attempts allowed in a burst"})
    join_rate_per_s: float = field(
        default=0.2,
        metadata={"help": "sustained join attempts per second (slows passcode guessing)"},
    )
    hand_burst: int = field(
        default=10, metadata={"help": "hand raises and lowers one connection may send in a burst"}
    )
    hand_rate_per_s: float = field(
        default=1.0, metadata={"help": "sustained hand raises and lowers per second, per connection"}
    )
    hand_room_burst: int = field(
        default=100,
        metadata={"help": "hand raises and lowers in one room, everyone together, allowed in a burst"},
    )
    hand_room_rate_per_s: float = field(
        default=10.0,
        metadata={"help": "sustained hand raises and lowers per second in one room, everyone together"},
    )
    trusted_proxies: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "reverse proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For"
            " names the client; none: the socket's peer is the client"
        },
    )
    ban_ttl_s: float = field(
        default=30 * 86400,
        metadata={"help": "how long a ban (and the hashed address it holds against) is kept"},
    )
    one_to_one_unused_ttl_s: float = field(
        default=30 * 86400,
        metadata={"help": "a one-to-one room nobody has joined this long after it was made is deleted"},
    )
    max_connections_per_address: int = field(
        default=50,
        metadata={"help": "open socket.io connections from one address, per instance"},
    )
    join_deadline_s: float = field(
        default=30.0,
        metadata={
            "help": "a socket.io connection that has not joined a room this long after opening is closed"
        },
    )
    http_idle_timeout_s: float = field(
        default=20.0,
        metadata={
            "help": "an HTTP connection that sends no complete request head for this long is closed"
            " (slow clients, idle keep-alive)"
        },
    )
    join_address_burst: int = field(
        default=30, metadata={"help": "join attempts from one address, all its connections, in a burst"}
    )
    join_address_rate_per_s: float = field(
        default=1.0, metadata={"help": "sustained join attempts per second from one address"}
    )
    max_waiting_per_address: int = field(
        default=20, metadata={"help": "people from one address a room's waiting room may hold at once"}
    )
    chat_address_burst: int = field(
        default=30,
        metadata={"help": "chat messages from one address in one room, all its connections, in a burst"},
    )
    chat_address_rate_per_s: float = field(
        default=5.0, metadata={"help": "sustained chat messages per second from one address in one room"}
    )
    min_passcode_chars: int = field(default=6, metadata={"help": "shortest passcode a room may be given"})
    passcode_delay_s: float = field(
        default=1.0,
        metadata={
            "help": "wait before the next try after a second wrong passcode from one address for a room;"
            " doubles with each further one"
        },
    )
    passcode_max_delay_s: float = field(
        default=60.0, metadata={"help": "longest wait between passcode tries from one address"}
    )
    passcode_lockout_failures: int = field(
        default=10,
        metadata={"help": "wrong passcodes in a row from one address that lock it out of the room"},
    )
    passcode_lockout_s: float = field(
        default=900.0,
        metadata={"help": "how long an address is locked out of a room after too many wrong passcodes"},
    )
    passcode_room_burst: int = field(
        default=30, metadata={"help": "wrong passcodes for one room, from every address together, in a burst"}
    )
    passcode_room_rate_per_s: float = field(
        default=0.5,
        metadata={"help": "sustained wrong passcodes per second for one room, from every address together"},
    )
    host_check_burst: int = field(
        default=5, metadata={"help": "facilitator-link checks (host-check) allowed in a burst, per address"}
    )
    host_check_rate_per_s: float = field(
        default=0.2, metadata={"help": "sustained facilitator-link checks per second, per address"}
    )
    resume_grace_s: float = field(
        default=30.0, metadata={"help": "how long a dropped member keeps their seat"}
    )
    retention_s: int = field(
        default=0,
        metadata={"help": "default: how long chat outlives an emptied room (0: wiped at once)"},
    )
    max_retention_s: int = field(
        default=30 * 86400, metadata={"help": "longest chat retention a room may be created with"}
    )
    chat_max_messages: int = field(default=500, metadata={"help": "most chat messages a room keeps"})
    chat_resend_window_s: float = field(
        default=600.0,
        metadata={"help": "how long a chat message's resend key is remembered, so a resend is kept once"},
    )
    chat_snapshot_messages: int = field(
        default=100, metadata={"help": "recent chat messages sent with the room on join"}
    )
    chat_history_page_messages: int = field(
        default=100, metadata={"help": "most chat messages in one chat:history answer (a page)"}
    )
    max_send_queue_bytes: int = field(
        default=4 * 1024 * 1024,
        metadata={
            "help": "most bytes waiting to be sent to one connection; a client this far behind is"
            " disconnected"
        },
    )
    send_deadline_s: float = field(
        default=10.0,
        metadata={
            "help": "how long a connection may stay backed up (64 KiB or more waiting for it) before it is"
            " disconnected, checked when more is sent to it"
        },
    )
    sweep_interval_s: float = field(
        default=1.0, metadata={"help": "how often away members and expired chat are looked at"}
    )
    heartbeat_s: float = field(default=2.0, metadata={"help": "how often an instance says it is alive"})
    instance_ttl_s: float = field(
        default=10.0, metadata={"help": "an instance silent this long is taken for dead"}
    )
    redis_timeout_s: float = field(default=2.0, metadata={"help": "bound on every Redis call"})
    bus_outbox_max_messages: int = field(
        default=10_000,
        metadata={"help": "events kept while they cannot reach other instances (the oldest go first)"},
    )
    bus_outbox_max_age_s: float = field(
        default=60.0,
        metadata={"help": "how long an event waits to reach other instances before it is dropped"},
    )
    gap_margin_s: float = field(
        default=2.0,
        metadata={"help": "after a gap in hearing other instances, chat this much older is read back too"},
    )
    chat_dedup_messages: int = field(
        default=5000,
        metadata={"help": "delivered chat messages an instance remembers, so that each arrives once"},
    )
    shutdown_grace_s: float = field(
        default=5.0, metadata={"help": "how long shutdown waits for clients to be told"}
    )
    stun_urls: tuple[str, ...] = field(
        default=(), metadata={"help": "STUN URLs for browsers (comma-separated); none by default"}
    )
    turn_urls: tuple[str, ...] = field(
        default=(), metadata={"help": "TURN URLs (comma-separated), used with turn_secret"}
    )
    turn_secret: str | None = field(
        default=None,
        metadata={"help": "shared secret of the TURN server (coturn static-auth-secret)"},
    )
    turn_ttl_s: int = field(default=3600, metadata={"help": "lifetime of TURN credentials"})

    # The meeting's format and care.
    max_agenda_segments: int = field(
        default=20,
        metadata={"help": f"most parts an agenda may have (the protocol allows {AGENDA_SEGMENTS_MAX})"},
    )
    max_agenda_title_chars: int = field(
        default=80,
        metadata={"help": f"longest title of an agenda part (the protocol allows {AGENDA_TITLE_MAX})"},
    )
    max_agenda_text_chars: int = field(
        default=4000,
        metadata={
            "help": f"longest text of an agenda part, e.g. a reading (the protocol allows {AGENDA_TEXT_MAX})"
        },
    )
    max_agenda_limit_s: int = field(
        default=3600,
        metadata={
            "help": f"longest share timer an agenda's round may set (the protocol allows {SHARE_TIMER_MAX_S})"
        },
    )
    max_milestone_chars: int = field(
        default=MILESTONE_MAX,
        metadata={"help": f"longest milestone label, e.g. '30 days' (the protocol allows {MILESTONE_MAX})"},
    )
    max_concern_chars: int = field(
        default=1000,
        metadata={
            "help": f"longest note with a concern for the facilitators (the protocol allows {CONCERN_MAX})"
        },
    )
    max_open_concerns: int = field(
        default=3, metadata={"help": "concerns one member may have waiting unseen by a facilitator"}
    )
    crisis_resources: Path | None = field(
        default=None,
        metadata={
            "help": "JSON file of crisis resources shown under 'Need help now?': a list of"
            " {name, phone?, text?, url?, region?}; a default says to call the local emergency number"
        },
    )
    mesh_max_participants: int = field(
        default=4,
        metadata={"help": "most members with media a room holds in mesh; one more moves it to the SFU"},
    )
    media_route_timeout_s: float = field(
        default=5.0,
        metadata={
            "help": "how long a signal to the SFU waits for the instance hosting the room's media to"
            " answer, in a cluster"
        },
    )
    media_public_ip: str = field(
        default="127.0.0.1",
        metadata={"help": "the address browsers send media to (the only address of the server they see)"},
    )
    media_udp_port_min: int = field(
        default=0, metadata={"help": "lowest UDP port for SFU media (0 with media_udp_port_max 0: any)"}
    )
    media_udp_port_max: int = field(default=0, metadata={"help": "highest UDP port for SFU media"})
    sfu_subscriber_key_delay_s: float = field(
        default=0.15,
        metadata={"help": "wait after a subscriber's DTLS handshake before media is sent to it"},
    )
    sfu_keyframe_debounce_s: float = field(
        default=0.5, metadata={"help": "keyframe requests within this long of the last one are merged"}
    )
    sfu_keyframe_retry_s: float = field(
        default=1.0, metadata={"help": "a keyframe request is repeated after this long without one"}
    )
    sfu_history_packets: int = field(
        default=1024,
        metadata={"help": "packets kept per video track for resends and replay (a power of two, ≥ 64)"},
    )
    sfu_replay_max_age_s: float = field(
        default=1.0, metadata={"help": "oldest keyframe replayed to a new subscriber"}
    )
    sfu_nack_interval_s: float = field(
        default=0.1, metadata={"help": "how often packets missing from a publisher are asked for again"}
    )
    sfu_nack_tries: int = field(
        default=8, metadata={"help": "times one missing packet is asked for before it is given up"}
    )
    sfu_resend_max_packets: int = field(
        default=128, metadata={"help": "most packets resent for one NACK from a subscriber"}
    )
    sfu_max_candidates: int = field(
        default=32, metadata={"help": "ICE candidates a member may trickle for one SFU connection"}
    )
    sfu_max_video_bitrate_bps: int = field(
        default=1_500_000, metadata={"help": "most a publisher is asked to send per video track"}
    )
    sfu_report_interval_s: float = field(
        default=1.0, metadata={"help": "mean interval of the SFU's receiver reports to publishers"}
    )
    sfu_speaking_threshold_dbov: int = field(
        default=-45, metadata={"help": "audio at least this loud (dBov, 0 is full scale) counts as speech"}
    )
    sfu_speaking_onset_s: float = field(
        default=0.15, metadata={"help": "speech for this long before someone counts as speaking"}
    )
    sfu_speaking_gap_s: float = field(
        default=0.3, metadata={"help": "quiet shorter than this does not break a run of speech"}
    )
    sfu_speaking_hold_s: float = field(default=0.8, metadata={"help": "quiet for this long ends speaking"})

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("_s", "_bytes", "_burst")) or f.name.startswith("max_"):
                if isinstance(value, int | float) and value < 0:
                    raise SettingsError(f"{f.name} must not be negative")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"log_format must be one of: {', '.join(LOG_FORMATS)}")
        if not 0 <= self.port <= 65535:
            raise SettingsError("port must be between 0 and 65535")
        if self.heartbeat_s >= self.instance_ttl_s:
            raise SettingsError("heartbeat_s must be well under instance_ttl_s")
        if self.max_frame_bytes < 1024:
            raise SettingsError("max_frame_bytes must be at least 1024")
        if not 1 <= self.max_name_chars <= NAME_MAX:
            raise SettingsError(f"max_name_chars must be between 1 and {NAME_MAX}")
        if self.chat_history_page_messages < 1:
            raise SettingsError("chat_history_page_messages must be at least 1")
        if self.max_send_queue_bytes < 64 * 1024:
            # Below this, a join's room snapshot alone could be taken for a reader that fell behind.
            raise SettingsError("max_send_queue_bytes must be at least 65536")
        if not 1 <= self.max_chat_chars <= CHAT_MAX:
            raise SettingsError(f"max_chat_chars must be between 1 and {CHAT_MAX}")
        if not 1 <= self.min_room_participants <= self.max_participants <= self.max_room_participants:
            raise SettingsError(
                "max_participants must be between min_room_participants and max_room_participants"
            )
        if (
            self.join_token_secret is not None
            and len(self.join_token_secret.encode()) < JOIN_SECRET_MIN_BYTES
        ):
            # HS256 is only as strong as its key: a short one can be guessed from a single token.
            raise SettingsError(f"join_token_secret must be at least {JOIN_SECRET_MIN_BYTES} characters")
        if self.retention_s > self.max_retention_s:
            raise SettingsError("retention_s must not exceed max_retention_s")
        if not 1 <= self.min_passcode_chars <= PASSCODE_MAX:
            raise SettingsError(f"min_passcode_chars must be between 1 and {PASSCODE_MAX}")
        for name in ("max_connections_per_address", "max_waiting_per_address", "passcode_lockout_failures"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1")
        for name in ("join_deadline_s", "http_idle_timeout_s", "ban_ttl_s"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name} must be more than 0")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise SettingsError(f"trusted_proxies: {exc}") from None
        for name, most in (
            ("max_agenda_segments", AGENDA_SEGMENTS_MAX),
            ("max_agenda_title_chars", AGENDA_TITLE_MAX),
            ("max_agenda_text_chars", AGENDA_TEXT_MAX),
            ("max_agenda_limit_s", SHARE_TIMER_MAX_S),
            ("max_milestone_chars", MILESTONE_MAX),
            ("max_concern_chars", CONCERN_MAX),
        ):
            if not 1 <= getattr(self, name) <= most:
                raise SettingsError(f"{name} must be between 1 and {most}")
        if self.max_agenda_limit_s < 1 or self.max_open_concerns < 1:
            raise SettingsError("max_agenda_limit_s and max_open_concerns must be at least 1")
        if self.mesh_max_participants < 0:
            raise SettingsError("mesh_max_participants must not be negative")
        if self.one_to_one_unused_ttl_s <= 0:
            raise SettingsError("one_to_one_unused_ttl_s must be positive")
        if self.media_route_timeout_s <= 0:
            raise SettingsError("media_route_timeout_s must be positive")
        try:
            self.signaling_config().sfu_config()
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def with_overrides(self, **values: Any) -> Settings:
        return replace(self, **values)

    def signaling_config(self) -> SignalingConfig:
        """The settings signalling reads (each under its own name)."""
        return SignalingConfig(**{f.name: getattr(self, f.name) for f in fields(SignalingConfig)})


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings)]


def setting_help(name: str) -> str:
    return str({f.name: f for f in fields(Settings)}[name].metadata.get("help", ""))


def parse_value(name: str, raw: str) -> Any:
    """Parse a setting from its text form (environment variable or flag)."""
    kind = get_type_hints(Settings)[name]
    text = raw.strip()
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is bool:
            return text.lower() in ("1", "true", "yes", "on")
        if kind is Path:
            return Path(text)
        if kind == Path | None:
            return Path(text) if text else None
        if kind == tuple[str, ...]:
            return tuple(part.strip() for part in text.split(",") if part.strip())
        return text or None
    except ValueError as exc:
        raise SettingsError(f"{name}: {raw!r} is not a valid value") from exc


def load(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, then `CIRCLE_*` environment variables, then explicit overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name in setting_names():
        raw = env.get(f"CIRCLE_{name.upper()}")
        if raw is not None:
            values[name] = parse_value(name, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)

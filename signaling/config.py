"""The settings signalling reads, as one frozen value.

`server.settings.Settings` is the one documented place for every setting (its help, environment
variable, flag and default); it builds this value with `Settings.signaling_config()`. Each field here
has the name and meaning of the setting it comes from, so no default is repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SignalingConfig:
    chat_burst: int
    chat_rate_per_s: float
    signal_burst: int
    signal_rate_per_s: float
    action_burst: int
    action_rate_per_s: float
    history_burst: int
    history_rate_per_s: float
    join_burst: int
    join_rate_per_s: float
    resume_grace_s: float
    chat_snapshot_messages: int
    chat_history_page_messages: int
    max_name_chars: int
    max_chat_chars: int
    chat_dedup_messages: int
    gap_margin_s: float
    stun_urls: tuple[str, ...]
    turn_urls: tuple[str, ...]
    turn_secret: str | None
    turn_ttl_s: int
    cors_allowed_origins: tuple[str, ...]
    public_url: str | None
    hand_burst: int
    hand_rate_per_s: float
    hand_room_burst: int
    hand_room_rate_per_s: float
    trusted_proxies: tuple[str, ...]
    ban_ttl_s: float
    max_connections_per_address: int
    join_deadline_s: float
    join_address_burst: int
    join_address_rate_per_s: float
    max_waiting_per_address: int
    chat_address_burst: int
    chat_address_rate_per_s: float
    passcode_delay_s: float
    passcode_max_delay_s: float
    passcode_lockout_failures: int
    passcode_lockout_s: float
    passcode_room_burst: int
    passcode_room_rate_per_s: float
    join_token_secret: str | None

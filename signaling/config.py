"""The settings signalling reads, as one frozen value.

`server.settings.Settings` is the one documented place for every setting (its help, environment
variable, flag and default); it builds this value with `Settings.signaling_config()`. Each field here
has the name and meaning of the setting it comes from, so no default is repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass

from signaling.sfu.config import SfuConfig
from signaling.sfu.speaking import SpeakingRule


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
    max_log_lines_per_kind: int
    log_kind_window_s: float
    hand_burst: int
    hand_rate_per_s: float
    hand_room_burst: int
    hand_room_rate_per_s: float
    trusted_proxies: tuple[str, ...]
    ban_ttl_s: float
    one_to_one_unused_ttl_s: float
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
    max_agenda_segments: int
    max_agenda_title_chars: int
    max_agenda_text_chars: int
    max_agenda_limit_s: int
    max_milestone_chars: int
    max_concern_chars: int
    max_open_concerns: int
    mesh_max_participants: int
    media_route_timeout_s: float
    media_public_ip: str
    media_udp_port_min: int
    media_udp_port_max: int
    sfu_subscriber_key_delay_s: float
    sfu_keyframe_debounce_s: float
    sfu_keyframe_retry_s: float
    sfu_history_packets: int
    sfu_replay_max_age_s: float
    sfu_nack_interval_s: float
    sfu_nack_tries: int
    sfu_resend_max_packets: int
    sfu_max_candidates: int
    sfu_max_video_bitrate_bps: int
    sfu_report_interval_s: float
    sfu_speaking_threshold_dbov: int
    sfu_speaking_onset_s: float
    sfu_speaking_gap_s: float
    sfu_speaking_hold_s: float

    def sfu_config(self) -> SfuConfig:
        """The SFU's configuration (raises `ValueError` for values it cannot work with)."""
        return SfuConfig(
            media_public_ip=self.media_public_ip,
            media_udp_port_min=self.media_udp_port_min,
            media_udp_port_max=self.media_udp_port_max,
            subscriber_key_delay_s=self.sfu_subscriber_key_delay_s,
            keyframe_debounce_s=self.sfu_keyframe_debounce_s,
            keyframe_retry_s=self.sfu_keyframe_retry_s,
            history_packets=self.sfu_history_packets,
            replay_max_age_s=self.sfu_replay_max_age_s,
            nack_interval_s=self.sfu_nack_interval_s,
            nack_tries=self.sfu_nack_tries,
            resend_max_packets=self.sfu_resend_max_packets,
            max_candidates=self.sfu_max_candidates,
            max_video_bitrate_bps=self.sfu_max_video_bitrate_bps,
            report_interval_s=self.sfu_report_interval_s,
            speaking=SpeakingRule(
                threshold_dbov=self.sfu_speaking_threshold_dbov,
                onset_s=self.sfu_speaking_onset_s,
                gap_s=self.sfu_speaking_gap_s,
                hold_s=self.sfu_speaking_hold_s,
            ),
        )

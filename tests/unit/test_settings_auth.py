from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings, SettingsError, load
from signaling import credentials as auth


def test_every_setting_is_also_an_environment_variable() -> None:
    s = load(
        {
            "CIRCLE_PORT": "9000",
            "CIRCLE_CHAT_BURST": "3",
            "CIRCLE_RESUME_GRACE_S": "1.5",
            "CIRCLE_DATA_DIR": "/tmp/x",
            "CIRCLE_STUN_URLS": "stun:a:3478, stun:b:3478",
        }
    )
    assert (s.port, s.chat_burst, s.resume_grace_s) == (9000, 3, 1.5)
    assert s.data_dir == Path("/tmp/x") and s.stun_urls == ("stun:a:3478", "stun:b:3478")


def test_explicit_values_win_over_the_environment() -> None:
    assert load({"CIRCLE_PORT": "9000"}, port=9001).port == 9001


def test_nonsense_settings_are_refused_with_a_reason() -> None:
    with pytest.raises(SettingsError, match="port"):
        load({"CIRCLE_PORT": "eighty"})
    with pytest.raises(SettingsError, match="heartbeat_s"):
        Settings(heartbeat_s=10, instance_ttl_s=5)
    with pytest.raises(SettingsError):
        Settings(chat_burst=-1)


def test_a_join_token_secret_too_short_to_be_safe_is_refused() -> None:
    with pytest.raises(SettingsError, match="join_token_secret"):
        load({"CIRCLE_JOIN_TOKEN_SECRET": "x" * 31})
    assert load({"CIRCLE_JOIN_TOKEN_SECRET": "x" * 32}).signaling_config().join_token_secret == "x" * 32


def test_a_log_format_is_text_or_json_and_nothing_else() -> None:
    assert load({"CIRCLE_LOG_FORMAT": "json"}).log_format == "json"
    assert Settings().log_format == "text"
    with pytest.raises(SettingsError, match="log_format"):
        load({"CIRCLE_LOG_FORMAT": "xml"})


def test_limits_that_contradict_each_other_or_the_protocol_are_refused() -> None:
    for bad in (
        {"max_name_chars": 41},
        {"max_chat_chars": 2001},
        {"max_name_chars": 0},
        {"min_room_participants": 60},
        {"max_room_participants": 10},
        {"retention_s": 100, "max_retention_s": 60},
    ):
        with pytest.raises(SettingsError):
            Settings(**bad)  # type: ignore[arg-type]


def test_signalling_reads_its_settings_from_the_one_settings_object() -> None:
    s = load({"CIRCLE_ACTION_BURST": "7", "CIRCLE_GAP_MARGIN_S": "0.5"})
    config = s.signaling_config()
    assert (config.action_burst, config.gap_margin_s) == (7, 0.5)
    assert config.resume_grace_s == s.resume_grace_s and config.max_chat_chars == s.max_chat_chars


def test_resume_tokens_verify_only_with_the_same_key_and_unaltered() -> None:
    signer = auth.Signer("k1")
    token = signer.resume_token("room", "pid", 3)
    assert signer.check_resume_token(token) == auth.ResumeClaim("room", "pid", 3)
    assert auth.Signer("k2").check_resume_token(token) is None
    body, mac = token.split(".")
    forged = auth.Signer("k1").resume_token("room", "other", 3).split(".")[0] + "." + mac
    assert signer.check_resume_token(forged) is None
    assert signer.check_resume_token("garbage") is None


def test_passcodes_are_salted_and_checked() -> None:
    stored = auth.passcode_hash("serenity")
    assert "serenity" not in stored and stored != auth.passcode_hash("serenity")
    assert auth.passcode_matches("serenity", stored)
    assert not auth.passcode_matches("Serenity", stored)
    assert not auth.passcode_matches("x", "not-a-hash")


def test_turn_credentials_follow_the_coturn_rest_scheme() -> None:
    import base64
    import hashlib
    import hmac

    user, password = auth.turn_credentials("secret", "pid", 600, now=1000)
    assert user == "1600:pid"
    expected = base64.b64encode(hmac.new(b"secret", b"1600:pid", hashlib.sha1).digest()).decode()
    assert password == expected


def test_every_sfu_setting_reaches_the_sfu_under_its_own_meaning() -> None:
    s = load(
        {
            "CIRCLE_MEDIA_PUBLIC_IP": "192.0.2.7",
            "CIRCLE_MEDIA_UDP_PORT_MIN": "40000",
            "CIRCLE_MEDIA_UDP_PORT_MAX": "40099",
            "CIRCLE_SFU_HISTORY_PACKETS": "256",
            "CIRCLE_SFU_MAX_CANDIDATES": "4",
            "CIRCLE_SFU_RESEND_MAX_PACKETS": "16",
            "CIRCLE_SFU_SPEAKING_THRESHOLD_DBOV": "-50",
            "CIRCLE_MESH_MAX_PARTICIPANTS": "2",
        }
    )
    sfu = s.signaling_config().sfu_config()
    assert sfu.media_public_ip == "192.0.2.7" and sfu.media_ports == range(40000, 40100)
    assert (sfu.history_packets, sfu.max_candidates, sfu.resend_max_packets) == (256, 4, 16)
    assert sfu.speaking.threshold_dbov == -50
    assert s.signaling_config().mesh_max_participants == 2


def test_sfu_settings_it_cannot_work_with_are_refused_at_start() -> None:
    for bad in (
        {"media_public_ip": "media.example.org"},
        {"media_udp_port_min": 40000, "media_udp_port_max": 39999},
        {"media_udp_port_min": 80, "media_udp_port_max": 90},
        {"sfu_history_packets": 1000},
        {"sfu_history_packets": 32},
        {"sfu_max_candidates": 0},
        {"sfu_resend_max_packets": 0},
        {"sfu_keyframe_retry_s": 0},
        {"sfu_nack_interval_s": -1},
        {"mesh_max_participants": -1},
    ):
        with pytest.raises(SettingsError):
            Settings(**bad)  # type: ignore[arg-type]


def test_history_page_and_send_queue_settings_refuse_values_that_cannot_work() -> None:
    s = load({"CIRCLE_CHAT_HISTORY_PAGE_MESSAGES": "25", "CIRCLE_MAX_SEND_QUEUE_BYTES": "1048576"})
    config = s.signaling_config()
    assert (config.chat_history_page_messages, s.max_send_queue_bytes) == (25, 1048576)
    with pytest.raises(SettingsError, match="chat_history_page_messages"):
        load({"CIRCLE_CHAT_HISTORY_PAGE_MESSAGES": "0"})
    with pytest.raises(SettingsError, match="max_send_queue_bytes"):
        load({"CIRCLE_MAX_SEND_QUEUE_BYTES": "4096"})

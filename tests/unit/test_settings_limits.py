"""The limits per address and per room are settings like every other, with nonsense refused."""

from __future__ import annotations

import pytest

from server.settings import Settings, SettingsError, load


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"trusted_proxies": ("10.0.0.1", "nginx")}, "trusted_proxies: 'nginx'"),
        ({"min_passcode_chars": 0}, "min_passcode_chars"),
        ({"min_passcode_chars": 129}, "min_passcode_chars"),
        ({"max_connections_per_address": 0}, "max_connections_per_address"),
        ({"max_waiting_per_address": 0}, "max_waiting_per_address"),
        ({"passcode_lockout_failures": 0}, "passcode_lockout_failures"),
        ({"join_deadline_s": 0}, "join_deadline_s"),
        ({"http_idle_timeout_s": 0}, "http_idle_timeout_s"),
        ({"ban_ttl_s": 0}, "ban_ttl_s"),
        ({"chat_address_rate_per_s": -1}, "chat_address_rate_per_s"),
    ],
)
def test_nonsense_limits_are_refused_with_the_setting_named(values: dict[str, object], reason: str) -> None:
    with pytest.raises(SettingsError, match=reason):
        Settings(**values)  # type: ignore[arg-type]


def test_trusted_proxies_come_from_the_environment_as_a_list() -> None:
    settings = load({"CIRCLE_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1", "CIRCLE_BAN_TTL_S": "3600"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1") and settings.ban_ttl_s == 3600
    assert settings.signaling_config().trusted_proxies == ("10.0.0.0/8", "127.0.0.1")


def test_the_defaults_leave_room_for_a_treatment_centre_on_one_address() -> None:
    # Fifteen members behind one address, each perhaps with a second device or a tab reconnecting.
    s = Settings()
    assert s.max_connections_per_address >= 2 * 15
    assert s.max_waiting_per_address >= 15
    assert s.join_address_burst >= 2 * 15
    assert s.trusted_proxies == () and s.min_passcode_chars == 6

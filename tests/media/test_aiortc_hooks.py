"""The SFU's reliance on aiortc/aioice internals is checked, so an upgrade cannot break it silently."""

from __future__ import annotations

import pytest

from signaling.sfu import aiortc_hooks


def test_every_private_aiortc_and_aioice_name_the_sfu_uses_exists() -> None:
    assert aiortc_hooks.missing_private_names() == []


def test_a_private_name_that_is_gone_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiortc.rtcdtlstransport import RTCDtlsTransport

    names = (*aiortc_hooks._PRIVATE_NAMES, (RTCDtlsTransport, "_renamed_in_a_later_release", "attr"))
    monkeypatch.setattr(aiortc_hooks, "_PRIVATE_NAMES", names)
    assert aiortc_hooks.missing_private_names() == ["RTCDtlsTransport._renamed_in_a_later_release"]

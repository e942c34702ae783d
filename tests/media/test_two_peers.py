"""Two members through the SFU: each decodes the other's picture and hears the other's sound."""

from __future__ import annotations

from tests.media.conftest import Meeting
from tests.media.peers import wait_for


async def test_two_members_decode_each_others_video_and_receive_audio(meeting: Meeting) -> None:
    ada = await meeting.join("ada")
    bo = await meeting.join("bo")

    await wait_for(lambda: ada.frames["bo"] >= 10 and bo.frames["ada"] >= 10, timeout_s=10)
    await wait_for(lambda: ada.audio_frames["bo"] >= 10 and bo.audio_frames["ada"] >= 10, timeout_s=5)
    assert set(ada.frames) == {"bo"} and set(bo.frames) == {"ada"}
    assert not ada.errors and not bo.errors

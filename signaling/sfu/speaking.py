"""Who is speaking, from the audio level (RFC 6464) each audio packet carries: nothing is decoded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpeakingRule:
    threshold_dbov: int = -45
    """A packet at least this loud counts as speech (0 dBov is full scale, -127 silence)."""
    onset_s: float = 0.15
    """Speech for this long (brief dips allowed) before someone counts as speaking, so a cough or a
    door does not light the indicator."""
    gap_s: float = 0.3
    """Quiet shorter than this does not break a run of speech (the pauses between words)."""
    hold_s: float = 0.8
    """Quiet for this long ends speaking."""


class _Voice:
    __slots__ = ("run_start", "last_loud", "speaking")

    def __init__(self) -> None:
        self.run_start = 0.0
        self.last_loud = -1e9
        self.speaking = False


class SpeakingDetector:
    """Calls `on_change(participant, speaking)` when a participant starts or stops speaking."""

    def __init__(self, rule: SpeakingRule, on_change: Callable[[str, bool], None]) -> None:
        self._rule = rule
        self._loudest_level = -rule.threshold_dbov
        self._on_change = on_change
        self._voices: dict[str, _Voice] = {}

    def level(self, participant: str, level: int, now_s: float) -> None:
        """One audio packet's level byte (voice-activity flag and -dBov) arrived."""
        voice = self._voices.get(participant)
        if voice is None:
            voice = self._voices[participant] = _Voice()
        rule = self._rule
        if level & 0x7F <= self._loudest_level:
            if now_s - voice.last_loud > rule.gap_s:
                voice.run_start = now_s
            voice.last_loud = now_s
            if not voice.speaking and now_s - voice.run_start >= rule.onset_s:
                voice.speaking = True
                self._on_change(participant, True)
        elif voice.speaking and now_s - voice.last_loud > rule.hold_s:
            voice.speaking = False
            self._on_change(participant, False)

    def tick(self, now_s: float) -> None:
        """End speaking for those whose audio went quiet or stopped arriving."""
        for participant, voice in self._voices.items():
            if voice.speaking and now_s - voice.last_loud > self._rule.hold_s:
                voice.speaking = False
                self._on_change(participant, False)

    def forget(self, participant: str) -> None:
        """Stop tracking `participant` (reporting them silent if they were speaking)."""
        voice = self._voices.pop(participant, None)
        if voice is not None and voice.speaking:
            self._on_change(participant, False)

    def is_speaking(self, participant: str) -> bool:
        voice = self._voices.get(participant)
        return voice is not None and voice.speaking

"""Wire messages of room commands, mapped to the commands of `rooms`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rooms import commands as cmd
from rooms.model import PrivateChat, Role, Segment, SegmentKind
from signaling import protocol as p
from signaling.config import SignalingConfig
from signaling.credentials import new_id


@dataclass(frozen=True, slots=True)
class Limits:
    """The server's own bounds (its settings) on what a command may carry, within the wire's."""

    agenda: cmd.AgendaLimits = cmd.AgendaLimits()
    milestone_chars: int = cmd.MILESTONE_MAX_CHARS
    concern_chars: int = cmd.CONCERN_MAX_CHARS
    open_concerns: int = cmd.CONCERN_MAX_OPEN

    @classmethod
    def of(cls, config: SignalingConfig) -> Limits:
        return cls(
            agenda=agenda_limits(config),
            milestone_chars=config.max_milestone_chars,
            concern_chars=config.max_concern_chars,
            open_concerns=config.max_open_concerns,
        )


def agenda_limits(config: SignalingConfig) -> cmd.AgendaLimits:
    return cmd.AgendaLimits(
        max_segments=config.max_agenda_segments,
        max_title_chars=config.max_agenda_title_chars,
        max_text_chars=config.max_agenda_text_chars,
        max_limit_s=config.max_agenda_limit_s,
    )


def segments(wire: tuple[p.AgendaSegment, ...]) -> tuple[Segment, ...]:
    """An agenda as the rules hold it (which check it against the limits)."""
    return tuple(Segment(SegmentKind(s.kind), s.title, s.text, s.limit_s) for s in wire)


DEFAULT_LIMITS = Limits()


def to_command(
    pid: str, msg: Any, limits: Limits = DEFAULT_LIMITS, new_concern_id: Callable[[], str] = new_id
) -> cmd.Command:
    match msg:
        case p.MediaState(audio=audio, video=video):
            return cmd.SetMedia(pid, audio, video)
        case p.MediaSpeaking(speaking=speaking):
            return cmd.SetSpeaking(pid, speaking)
        case p.HandRaise():
            return cmd.RaiseHand(pid)
        case p.HandLower():
            return cmd.LowerHand(pid)
        case p.ModAdmit(id=target):
            return cmd.Admit(pid, target)
        case p.ModDeny(id=target):
            return cmd.Deny(pid, target)
        case p.ModMute(id=target, audio=audio, video=video):
            return cmd.Mute(pid, target, audio, video)
        case p.ModLockMedia(id=target, locked=locked):
            return cmd.LockMedia(pid, target, locked)
        case p.ModRemove(id=target, ban=ban):
            return cmd.Remove(pid, target, ban)
        case p.ModLock(locked=locked):
            return cmd.Lock(pid, locked)
        case p.ModWaitingRoom(enabled=enabled):
            return cmd.SetWaitingRoom(pid, enabled)
        case p.ModNextSpeaker(limit_s=limit_s):
            return cmd.NextSpeaker(pid, limit_s)
        case p.ModLowerHand(id=target):
            return cmd.LowerHandOf(pid, target)
        case p.ModRole(id=target, role=role):
            return cmd.SetRole(pid, target, Role(role))
        case p.ModEnd():
            return cmd.End(pid)
        # Keeping the room safe.
        case p.ModSafety(on=on):
            return cmd.Safety(pid, on)
        case p.ModAdmitAll():
            return cmd.AdmitAll(pid)
        case p.ModMuteAll(lock=lock):
            return cmd.MuteAll(pid, lock)
        case p.MediaRequestUnmute():
            return cmd.RequestUnmute(pid)
        case p.ModReorderHands(order=order):
            return cmd.ReorderHands(pid, order)
        case p.ModDeleteChat(id=message_id):
            return cmd.DeleteChat(pid, message_id)
        case p.ModPrivateChat(policy=policy):
            return cmd.SetPrivateChat(pid, PrivateChat(policy))
        # The meeting's format and care.
        case p.ModAgenda(segments=wire):
            return cmd.SetAgenda(pid, segments(wire), limits.agenda)
        case p.ModAgendaStep(index=index):
            return cmd.StepAgenda(pid, index)
        case p.SpeakerDone():
            return cmd.DoneSpeaking(pid)
        case p.HandPass():
            return cmd.PassTurn(pid)
        case p.MilestoneShare(label=label):
            return cmd.ShareMilestone(pid, label, limits.milestone_chars)
        case p.ConcernRaise(about=about, text=text):
            return cmd.RaiseConcern(
                pid, new_concern_id(), about, text, limits.concern_chars, limits.open_concerns
            )
        case p.ModConcernSeen(id=concern):
            return cmd.ConcernSeen(pid, concern)
    raise p.ProtocolError("bad_request", "Unknown event.")

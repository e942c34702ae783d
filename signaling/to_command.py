"""Wire messages of room commands, mapped to the commands of `rooms`."""

from __future__ import annotations

from typing import Any

from rooms import commands as cmd
from rooms.model import PrivateChat, Role
from signaling import protocol as p


def to_command(pid: str, msg: Any) -> cmd.Command:
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
    raise p.ProtocolError("bad_request", "Unknown event.")

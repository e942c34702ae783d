"""A meeting link as people paste it: `http://host/r/ROOM`, or the facilitator's `…/r/ROOM#host=KEY`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class MeetingLink:
    """What a member or facilitator link names: the server, the room and maybe a host key."""

    base_url: str
    room_id: str
    host_key: str | None

    @classmethod
    def parse(cls, url: str) -> MeetingLink:
        parts = urlsplit(url.strip())
        segments = [s for s in parts.path.split("/") if s]
        if parts.scheme not in ("http", "https") or len(segments) != 2 or segments[0] != "r":
            raise ValueError("expected a meeting link such as http://host:8080/r/ROOM")
        host_key = parse_qs(parts.fragment).get("host", [None])[0]
        return cls(f"{parts.scheme}://{parts.netloc}", segments[1], host_key)

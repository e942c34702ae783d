"""A meeting link as people paste it: `http://host/r/ROOM`, the facilitator's `…/r/ROOM#host=KEY`, a
one-to-one room's personal `…#invite=KEY`, or a community site's `…#token=TOKEN`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class MeetingLink:
    """What a member or facilitator link names: the server, the room and maybe a host key, a personal
    invitation or a join token."""

    base_url: str
    room_id: str
    host_key: str | None
    invite: str | None = None
    token: str | None = None

    @classmethod
    def parse(cls, url: str) -> MeetingLink:
        parts = urlsplit(url.strip())
        segments = [s for s in parts.path.split("/") if s]
        if parts.scheme not in ("http", "https") or len(segments) != 2 or segments[0] != "r":
            raise ValueError("expected a meeting link such as http://host:8080/r/ROOM")
        fragment = parse_qs(parts.fragment)
        host_key, invite, token = (fragment.get(k, [None])[0] for k in ("host", "invite", "token"))
        return cls(f"{parts.scheme}://{parts.netloc}", segments[1], host_key, invite, token)

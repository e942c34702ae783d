"""What the SFU reads from session descriptions, and the codec filter applied to members' offers.

Only VP8 and Opus are ever negotiated: the SFU forwards packets as they come and never transcodes, so
every member must be able to decode what every other member sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling.sfu.errors import SfuError

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

ACCEPTED = {"audio": "OPUS", "video": "VP8"}
ACCEPTED_TEXT = "Opus audio and VP8 video"


@dataclass(frozen=True, slots=True)
class Codec:
    payload_type: int
    name: str
    """Upper case, as in `a=rtpmap` (`VP8`, `OPUS`, `RTX`)."""
    clock_rate: int
    apt: int | None = None
    """For RTX: the payload type it repairs."""


@dataclass(frozen=True, slots=True)
class Section:
    """One m= section."""

    kind: str
    port: int
    mid: str | None
    direction: str
    codecs: tuple[Codec, ...]
    extensions: dict[str, int] = field(default_factory=dict)
    """Header extension URI → id."""
    ssrcs: tuple[int, ...] = ()
    fid: tuple[int, int] | None = None
    """(media SSRC, RTX SSRC) from `a=ssrc-group:FID`."""
    msid: str | None = None
    """The stream id of `a=msid`."""
    cname: str | None = None
    """The CNAME of the section's first `a=ssrc`."""

    def codec(self, name: str) -> Codec | None:
        return next((c for c in self.codecs if c.name == name), None)

    def rtx_for(self, payload_type: int) -> Codec | None:
        return next((c for c in self.codecs if c.name == "RTX" and c.apt == payload_type), None)

    @property
    def sends(self) -> bool:
        """Whether the side that wrote this section sends media in it."""
        return self.port != 0 and self.direction in ("sendonly", "sendrecv")

    @property
    def receives(self) -> bool:
        """Whether the side that wrote this section receives media in it."""
        return self.port != 0 and self.direction in ("recvonly", "sendrecv")


@dataclass(frozen=True, slots=True)
class Description:
    sections: tuple[Section, ...]
    ice_ufrag: str | None

    def by_mid(self, mid: str) -> Section | None:
        return next((s for s in self.sections if s.mid == mid), None)


def parse(sdp: str) -> Description:
    """Parse what the SFU needs from `sdp`; raises `SfuError` when it is not a session description."""
    lines = [line.rstrip("\r") for line in sdp.split("\n") if line.strip()]
    if not lines or not lines[0].startswith("v="):
        raise SfuError("bad_request", "That is not a session description (SDP).")
    session_ufrag: str | None = None
    blocks: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        elif line.startswith("a=ice-ufrag:"):
            session_ufrag = line.split(":", 1)[1]
    sections = tuple(_section(block) for block in blocks)
    ufrag = next((u for u in (_ufrag(b) for b in blocks) if u), session_ufrag)
    return Description(sections=sections, ice_ufrag=ufrag)


def _ufrag(block: list[str]) -> str | None:
    return next((line.split(":", 1)[1] for line in block if line.startswith("a=ice-ufrag:")), None)


def _section(block: list[str]) -> Section:
    parts = block[0][2:].split()
    if len(parts) < 3:
        raise SfuError("bad_request", "A media section (m= line) of that description is malformed.")
    kind = parts[0]
    try:
        port = int(parts[1])
        formats = [int(f) for f in parts[3:]] if kind in ("audio", "video") else []
    except ValueError:
        raise SfuError("bad_request", "A media section (m= line) of that description is malformed.") from None
    mid = None
    direction = "sendrecv"
    names: dict[int, tuple[str, int]] = {}
    apts: dict[int, int] = {}
    extensions: dict[str, int] = {}
    ssrcs: list[int] = []
    fid = None
    msid = None
    cname = None
    try:
        for line in block[1:]:
            if line.startswith("a=mid:"):
                mid = line[6:].strip()
            elif line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = line[2:]
            elif line.startswith("a=rtpmap:"):
                pt, _, rest = line[9:].partition(" ")
                name, _, clock = rest.partition("/")
                names[int(pt)] = (name.upper(), int(clock.split("/")[0]))
            elif line.startswith("a=fmtp:"):
                pt, _, params = line[7:].partition(" ")
                for param in params.split(";"):
                    key, _, value = param.strip().partition("=")
                    if key == "apt":
                        apts[int(pt)] = int(value)
            elif line.startswith("a=extmap:"):
                ident, _, rest = line[9:].partition(" ")
                extensions[rest.split()[0]] = int(ident.split("/")[0])
            elif line.startswith("a=ssrc:"):
                ssrc_text, _, attribute = line[7:].partition(" ")
                ssrc = int(ssrc_text)
                if ssrc not in ssrcs:
                    ssrcs.append(ssrc)
                if cname is None and attribute.startswith("cname:"):
                    cname = attribute[6:].strip()
            elif line.startswith("a=ssrc-group:FID "):
                items = [int(x) for x in line[17:].split()]
                if len(items) == 2:
                    fid = (items[0], items[1])
            elif line.startswith("a=msid:"):
                msid = line[7:].split()[0]
    except (ValueError, IndexError):
        raise SfuError("bad_request", "An attribute of that description is malformed.") from None
    codecs = tuple(
        Codec(payload_type=pt, name=names[pt][0], clock_rate=names[pt][1], apt=apts.get(pt))
        for pt in formats
        if pt in names
    )
    return Section(
        kind=kind,
        port=port,
        mid=mid,
        direction=direction,
        codecs=codecs,
        extensions=extensions,
        ssrcs=tuple(ssrcs),
        fid=fid,
        msid=msid,
        cname=cname,
    )


def restrict_offer(sdp: str) -> tuple[str, Description]:
    """Keep only Opus in audio sections and VP8 (with its RTX) in video sections of a member's offer,
    and drop candidates with `.local` names (the server cannot resolve a member's mDNS name; it learns
    the address from the member's connectivity checks instead).

    Raises `SfuError` (`bad_request`) for a section with neither codec, a data channel, or a stopped
    (port 0) section, saying which codecs are accepted."""
    description = parse(sdp)
    if not description.sections:
        raise SfuError("bad_request", "That offer has no media; send your microphone or camera tracks.")
    keep: dict[int, set[int]] = {}
    for index, section in enumerate(description.sections):
        if section.kind not in ACCEPTED:
            raise SfuError(
                "bad_request",
                f"The server forwards only audio and video ({ACCEPTED_TEXT}); "
                f"remove the {section.kind} section.",
            )
        if section.port == 0:
            raise SfuError(
                "bad_request",
                "A stopped media section cannot be sent to the server; "
                "set its direction to inactive instead.",
            )
        wanted = section.codec(ACCEPTED[section.kind])
        if wanted is None:
            offered = ", ".join(sorted({c.name for c in section.codecs if c.name != "RTX"})) or "none"
            raise SfuError(
                "bad_request",
                f"The server accepts only {ACCEPTED_TEXT}; this {section.kind} section offers {offered}.",
            )
        kept = {wanted.payload_type}
        rtx = section.rtx_for(wanted.payload_type)
        if rtx is not None:
            kept.add(rtx.payload_type)
        keep[index] = kept
    out: list[str] = []
    index = -1
    for raw in sdp.split("\n"):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.startswith("m="):
            index += 1
            parts = line.split()
            formats = [f for f in parts[3:] if int(f) in keep[index]]
            line = " ".join(parts[:3] + formats)
        elif index >= 0 and _drops(line, keep[index]):
            continue
        elif line.startswith("a=candidate:") and is_mdns_candidate(line):
            continue
        out.append(line)
    filtered = "\r\n".join(out) + "\r\n"
    return filtered, parse(filtered)


def _drops(line: str, kept: set[int]) -> bool:
    for prefix in ("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"):
        if line.startswith(prefix):
            pt = line[len(prefix) :].split(" ", 1)[0]
            return pt != "*" and (not pt.isdigit() or int(pt) not in kept)
    return False


def is_mdns_candidate(candidate: str) -> bool:
    """Whether an ICE candidate line names its address with an mDNS `.local` name."""
    parts = candidate.removeprefix("a=").removeprefix("candidate:").split()
    return len(parts) > 4 and parts[4].endswith(".local")

"""Join tokens: a community site sends its members straight into a room with a token it signed.

A token is a JWT signed with HS256 and the secret the site shares with this server
(`join_token_secret`). Its claims: `room` (the room's id), `name` (shown to everyone, fixed), `role`
(`member` or `facilitator`), `exp` (Unix seconds) and, optionally, `media` (the most the person may use:
`av`, `audio` or `text`). The token stands in for the passcode and, with the facilitator role, for the
host key. Every way a token can be wrong is refused `forbidden`, with a sentence that says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from rooms import Refusal
from rooms.errors import forbidden
from rooms.model import Media, Role
from rooms.text import has_control_characters

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("room", "name", "role", "exp")

_ASK_AGAIN = "Please ask the site that sent you for a new one."

# From least to most: a token's `media` caps the mode its holder asks for.
_MEDIA_ORDER = (Media.TEXT, Media.AUDIO, Media.AV)


@dataclass(frozen=True, slots=True)
class JoinClaim:
    """What a valid token says about its holder."""

    name: str
    role: Role
    media: Media | None = None

    def allowed_media(self, asked: Media) -> Media:
        """The mode to join with: the one asked for, lowered to the token's `media` where that is less."""
        if self.media is None:
            return asked
        return min(asked, self.media, key=_MEDIA_ORDER.index)


def check_join_token(token: str, secret: str | None, room_id: str, max_name_chars: int) -> JoinClaim:
    """The claim of a token valid for `room_id`, or `Refusal` (forbidden) saying what is wrong with it."""
    if not secret:
        raise forbidden("This server doesn't accept join links from other sites.")
    claims = _decode(token, secret)
    if claims["room"] != room_id:
        raise forbidden("This join link is for another meeting.")
    name = claims["name"]
    if not isinstance(name, str) or not name.strip():
        raise _invalid("it gives no name")
    name = name.strip()
    if len(name) > max_name_chars or has_control_characters(name, newlines=False):
        raise _invalid(f"its name must be 1 to {max_name_chars} plain characters")
    try:
        role = Role(claims["role"])
    except (ValueError, TypeError):
        raise _invalid("its role must be member or facilitator") from None
    media = claims.get("media")
    if media is not None:
        try:
            media = Media(media)
        except (ValueError, TypeError):
            raise _invalid("its media must be av, audio or text") from None
    return JoinClaim(name=name, role=role, media=media)


def _decode(token: str, secret: str) -> dict[str, Any]:
    options: Any = {"require": list(REQUIRED_CLAIMS)}
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=options)
    except jwt.ExpiredSignatureError:
        raise forbidden(f"This join link has expired. {_ASK_AGAIN}") from None
    except jwt.InvalidSignatureError:
        raise forbidden(
            f"This join link's signature doesn't match: it wasn't signed for this server. {_ASK_AGAIN}"
        ) from None
    except jwt.InvalidAlgorithmError:
        raise forbidden(f"This join link isn't signed the way this server expects ({ALGORITHM}).") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _invalid(f"it has no {exc.claim}") from None
    except jwt.ImmatureSignatureError:
        raise forbidden("This join link isn't valid yet.") from None
    except jwt.InvalidTokenError:
        raise forbidden(f"This join link is damaged or incomplete. {_ASK_AGAIN}") from None
    if not isinstance(claims, dict):
        raise _invalid("it holds no claims")
    return claims


def _invalid(why: str) -> Refusal:
    return forbidden(f"This join link isn't valid: {why}.")

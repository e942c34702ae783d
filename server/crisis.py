"""Crisis resources: where someone can turn right now, shown under "Need help now?" on every page.

A deployment lists its own in a JSON file (the `crisis_resources` setting), read and checked once at
start-up so that a mistake stops the server with a clear message rather than showing a broken panel
to someone in distress. Without one, an international default says to call the local emergency number.
The page shows these as plain text and plain links: nothing is fetched from anywhere else.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from server.settings import SettingsError


@dataclass(frozen=True, slots=True)
class CrisisResource:
    """One place to turn: a `phone` number to call, a `text` line (or how to reach them by text), a
    `url`, and the `region` it serves."""

    name: str
    phone: str | None = None
    text: str | None = None
    url: str | None = None
    region: str | None = None

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v is not None}


DEFAULT_RESOURCES: tuple[CrisisResource, ...] = (
    CrisisResource(
        name="Emergency services",
        text="Your local emergency number: for example 112 in Europe and many other countries, "
        "911 in North America, 999 in the United Kingdom, 000 in Australia.",
        region="Anywhere",
    ),
    CrisisResource(
        name="Find a helpline",
        text="Free, confidential helplines by phone, text or chat, listed by country.",
        url="https://findahelpline.com",
        region="International",
    ),
)

CRISIS_KEY: web.AppKey[tuple[CrisisResource, ...]] = web.AppKey("crisis_resources", tuple)

_FIELDS = ("name", "phone", "text", "url", "region")
# Digits and the separators people write numbers with: the page turns it into a tel: link.
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]*$")


class CrisisResourcesError(SettingsError):
    """The crisis resources file cannot be used; the message says where and why."""


def load_crisis_resources(path: Path | None) -> tuple[CrisisResource, ...]:
    """The resources in the JSON file at `path` (the default ones without a path)."""
    if path is None:
        return DEFAULT_RESOURCES
    where = f"crisis_resources ({path})"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CrisisResourcesError(f"{where}: cannot be read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CrisisResourcesError(f"{where}: is not valid JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise CrisisResourcesError(f"{where}: must be a JSON list of at least one resource")
    return tuple(_resource(f"{where}: resource {n}", item) for n, item in enumerate(data, start=1))


def _resource(where: str, item: Any) -> CrisisResource:
    if not isinstance(item, dict):
        raise CrisisResourcesError(f"{where} must be an object with a name")
    unknown = sorted(set(item) - set(_FIELDS))
    if unknown:
        known = ", ".join(_FIELDS)
        raise CrisisResourcesError(f"{where} has an unknown field {unknown[0]!r} (known: {known})")
    values: dict[str, str | None] = {}
    for key in _FIELDS:
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise CrisisResourcesError(f"{where}: {key} must be text")
        values[key] = value.strip() if value is not None and value.strip() else None
    name, phone, url = values["name"], values["phone"], values["url"]
    if name is None:
        raise CrisisResourcesError(f"{where} needs a name")
    if phone is not None and not _PHONE.match(phone):
        raise CrisisResourcesError(f"{where}: phone must be a number (digits, spaces, + ( ) - . /)")
    if url is not None and not url.lower().startswith(("https://", "http://")):
        # Anything else (javascript:, data:) would run or show something other than a web page.
        raise CrisisResourcesError(f"{where}: url must start with https:// or http://")
    if not any((phone, values["text"], url)):
        raise CrisisResourcesError(f"{where} needs a phone, a text or a url: some way to reach it")
    return CrisisResource(name, phone, values["text"], url, values["region"])


def crisis_json(resources: tuple[CrisisResource, ...]) -> list[dict[str, str]]:
    return [r.to_json() for r in resources]

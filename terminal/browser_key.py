"""The terminal client's browser key: one per user, kept in their config folder, sent on every join.

A ban holds against the browser key, so a key made afresh at every run would let a removed person
walk straight back in; the web client keeps its key in the browser's storage for the same reason.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path

from signaling.protocol import Join

KEY_FILE = "browser-key"
_LIMITS = {f.name: f.metadata for f in dataclasses.fields(Join)}["browser_key"]
KEY_MIN_LEN, KEY_MAX_LEN = int(_LIMITS["min_len"]), int(_LIMITS["max_len"])
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]+")


@dataclasses.dataclass(frozen=True)
class BrowserKey:
    """The key to send, and why it is good for this run only when it could not be kept."""

    value: str
    problem: str | None = None


def config_dir(environ: Mapping[str, str]) -> Path:
    """Circle's folder in the user's configuration: `$XDG_CONFIG_HOME/circle`, else `~/.config/circle`."""
    base = environ.get("XDG_CONFIG_HOME", "")
    # The XDG base directory spec says to ignore a relative path there.
    if base and os.path.isabs(base):
        return Path(base) / "circle"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".config" / "circle"


def new_key() -> str:
    return secrets.token_urlsafe(32)


def _read(path: Path) -> str:
    value = path.read_text(encoding="ascii", errors="replace").strip()
    if not (KEY_MIN_LEN <= len(value) <= KEY_MAX_LEN and _KEY_SHAPE.fullmatch(value)):
        raise ValueError(
            f"it should hold {KEY_MIN_LEN} to {KEY_MAX_LEN} letters, digits, '-' or '_'; delete it to"
            " have a new one made"
        )
    return value


def load_or_create(folder: Path) -> BrowserKey:
    """The key kept in `folder`, made there (readable by the user alone) the first time.

    A key file that cannot be read or written is left as it is, and this run uses a key of its own.
    """
    path = folder / KEY_FILE
    try:
        return BrowserKey(_read(path))
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        return BrowserKey(new_key(), f"couldn't use {path}: {_reason(exc)}")
    key = new_key()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        made = _place(path, key)
    except OSError as exc:
        return BrowserKey(key, f"couldn't keep a key in {path}: {_reason(exc)}")
    if made:
        return BrowserKey(key)
    # Another run made the key meanwhile: use theirs.
    try:
        return BrowserKey(_read(path))
    except (OSError, ValueError) as exc:
        return BrowserKey(key, f"couldn't use {path}: {_reason(exc)}")


def _place(path: Path, key: str) -> bool:
    """Write `key` to `path` unless the file exists; whether it was written."""
    # Written whole under a temporary name (mkstemp makes it 0600), then linked into place: the link
    # fails if another run made the key meanwhile, and nobody ever reads half a key.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key + "\n")
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def keep_browser_key(environ: Mapping[str, str]) -> BrowserKey:
    """This user's browser key, from the folder `config_dir` names."""
    try:
        folder = config_dir(environ)
    except RuntimeError as exc:  # no home folder to be found
        return BrowserKey(new_key(), f"couldn't find a folder to keep a key in: {exc}")
    return load_or_create(folder)

"""The files the browser client needs: the meeting page, and every stylesheet, script and module it
loads, followed through `import` statements to the last one.

One walk serves two readers: the server checks its own files at start-up (a missing module would
otherwise surface as a blank page in someone's browser), and the tests and CI fetch the same
files over HTTP. Standard library only, so CI can run it with the system's python3.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

# Relative references resolve against a page's URL; any origin will do as long as it is one.
_ORIGIN = "http://circle.invalid"

# Static and re-exporting imports (`import x from "m"`, `import "m"`, `export {a} from "m"`, minified
# or spread over lines) can only stand at the start of a statement: first on a line or after `;` or
# `}`, which keeps the same words inside a string or a comment from counting. Dynamic imports of a
# literal (`import("m")`) may stand anywhere an expression can.
_JS_IMPORT = re.compile(
    r"""(?:^|(?<=[;}]))[ \t]*(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?(["'])([^"'\n]+)\1"""
    r"""|(?<![\w$.])import\s*\(\s*(["'])([^"'\n]+)\3\s*\)""",
    re.MULTILINE,
)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)|url\(\s*["']?([^"')\s]+)""")

# The <link> kinds a browser fetches while loading the page.
_FETCHED_LINKS = {"stylesheet", "modulepreload", "preload", "icon", "manifest"}


class _PageReferences(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "source") and a.get("src"):
            self.found.append(a["src"] or "")
        elif tag == "link" and a.get("href") and _FETCHED_LINKS & set((a.get("rel") or "").lower().split()):
            self.found.append(a["href"] or "")


def references(path: str, text: str) -> list[str]:
    """The same-origin paths that the document at `path` loads, resolved against it, in order.
    Inline data (`data:`, `blob:`) is not a file; another origin is never loaded (the page's
    Content-Security-Policy forbids it), so neither is listed."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in (".js", ".mjs"):
        raw = [m.group(2) or m.group(4) for m in _JS_IMPORT.finditer(text)]
    elif suffix == ".css":
        raw = [m.group(1) or m.group(2) for m in _CSS_IMPORT.finditer(text)]
    elif suffix in ("", ".html"):
        parser = _PageReferences()
        parser.feed(text)
        parser.close()
        raw = parser.found
    else:
        return []
    base = _ORIGIN + path
    paths: list[str] = []
    for ref in raw:
        url = urlsplit(urljoin(base, ref.strip()))
        if url.scheme + "://" + url.netloc == _ORIGIN and url.path not in paths:
            paths.append(url.path)
    return paths


@dataclass(frozen=True)
class Walk:
    """What a walk from a page found: every path it loaded, and each missing one with the path that
    referred to it."""

    loaded: list[str]
    missing: list[tuple[str, str]]


def walk(page: str, load: Callable[[str], str | None]) -> Walk:
    """Load `page` and, transitively, everything it references. `load(path)` returns the file's text
    (binary files may come back garbled: only pages, scripts and stylesheets are read for
    references), or None when there is no such file."""
    loaded: list[str] = []
    missing: list[tuple[str, str]] = []
    queue: list[tuple[str, str]] = [(page, "")]
    seen = {page}
    while queue:
        path, referrer = queue.pop(0)
        text = load(path)
        if text is None:
            missing.append((path, referrer))
            continue
        loaded.append(path)
        for ref in references(path, text):
            if ref not in seen:
                seen.add(ref)
                queue.append((ref, path))
    return Walk(loaded, missing)

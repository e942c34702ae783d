"""Serves the browser client: the meeting page at /r/{room} and web/ under /static/.

Every response here carries a strict Content-Security-Policy: the client loads nothing from any
other origin and runs no inline script, so a chat message or a name that slips past the client's
text-only rendering still cannot run code.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from server import client_files

if TYPE_CHECKING:
    from server.settings import Settings

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": (
        "camera=(self), microphone=(self), display-capture=(), geolocation=(), payment=(), usb=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Only these kinds of file are served from web/; anything else (package.json, lockfiles,
# dotfiles, editor backups) stays private even though it lives in the same folder.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
}

# web/node_modules holds the tests' npm packages in a checkout; it is never served, even where it
# holds a file of a servable kind.
PRIVATE_DIRS = {"node_modules"}

# The page a member opens; its files are walked from here. Any room id names the same page.
MEETING_PAGE = "/r/room"


class WebClientIncomplete(Exception):
    """The browser client's folder lacks a file the meeting page needs."""

    def __init__(self, web_dir: Path, missing: list[tuple[str, str]]) -> None:
        listed = ", ".join(
            f"{path} (loaded by {referrer})" if referrer else path for path, referrer in missing
        )
        super().__init__(
            f"the web client in {web_dir} is incomplete; missing: {listed}. "
            "Reinstall Circle, or point CIRCLE_WEB_DIR (--web-dir) at a complete copy of web/."
        )
        self.missing = missing


# Someone who opens the server's address, or a link cut short before the room, meets a calm page that
# says what to do, not a bare "404: Not Found". Static text only: nothing from the request is in it.
NOT_A_MEETING_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>Circle</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/css/circle.css">
</head>
<body>
  <header class="topbar"><span class="brand">Circle</span></header>
  <main id="main">
    <section class="screen join">
      <div class="card">
        <h1>This isn't a meeting link</h1>
        <p class="lede">Circle meetings are reached through the link your group shares, which ends in
          <code>/r/</code> and the meeting's code. Please check that you have the whole link, or ask
          whoever invited you to send it again.</p>
        <p>If you are in danger or need help right now, call your local emergency number.</p>
      </div>
    </section>
  </main>
</body>
</html>
"""


def _headers(content_type: str) -> dict[str, str]:
    headers = dict(SECURITY_HEADERS)
    headers["Content-Type"] = content_type
    # The client is small and changes with every deploy; revalidating is cheap and avoids a
    # member being stuck on a stale mix of modules after an upgrade.
    headers["Cache-Control"] = "no-cache"
    return headers


def _error(status: int, code: str, message: str) -> web.Response:
    headers = dict(SECURITY_HEADERS)
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def _file_response(path: Path) -> web.StreamResponse:
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    if content_type is None:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return web.FileResponse(path, headers=_headers(content_type))


def _regular_file_within(root: Path, path: Path) -> Path | None:
    """`path` with every symlink followed, if that is a regular file inside `root` (resolved)."""
    try:
        resolved = path.resolve(strict=True)
        regular = resolved.is_file()
    except (OSError, ValueError, RuntimeError):
        # Missing, a NUL byte in the name, or a symlink loop.
        return None
    return resolved if regular and root in resolved.parents else None


def _resolve_static(web_dir: Path, relative: str) -> Path | None:
    """The file under web_dir that `relative` names, or None if it may not be served: only regular
    files of a servable kind that lie inside web_dir once every symlink is followed."""
    parts = Path(relative).parts
    if not parts or any(p in ("..", "") or p.startswith(".") for p in parts):
        return None
    if parts[0] in PRIVATE_DIRS:
        return None
    if Path(relative).suffix.lower() not in CONTENT_TYPES:
        return None
    root = web_dir.resolve()
    return _regular_file_within(root, root / relative)


def _served_file(web_dir: Path, path: str) -> Path | None:
    """The file that answers a GET of `path`, or None if there is none."""
    if path.startswith("/r/"):
        return _resolve_static(web_dir, "index.html")
    if path.startswith("/static/"):
        return _resolve_static(web_dir, path.removeprefix("/static/"))
    return None


def check_web_dir(web_dir: Path) -> None:
    """Raise WebClientIncomplete unless every file the meeting page loads is here and servable."""

    def load(path: str) -> str | None:
        file = _served_file(web_dir, path)
        return file.read_text(encoding="utf-8", errors="replace") if file is not None else None

    missing = client_files.walk(MEETING_PAGE, load).missing
    if missing:
        raise WebClientIncomplete(web_dir, missing)


def add_web_routes(app: web.Application, settings: Settings) -> None:
    """Register the meeting page (/r/{room}) and the client's static files (/static/...), once the
    client's folder is known to be complete (WebClientIncomplete otherwise)."""
    web_dir = Path(settings.web_dir)
    check_web_dir(web_dir)

    async def meeting_page(request: web.Request) -> web.StreamResponse:
        index = _resolve_static(web_dir, "index.html")
        if index is None:
            return _error(503, "unavailable", "The web client is not installed on this server.")
        return _file_response(index)

    async def static_file(request: web.Request) -> web.StreamResponse:
        path = _resolve_static(web_dir, request.match_info["path"])
        if path is None:
            return _error(404, "not_found", "No such file.")
        return _file_response(path)

    async def no_meeting_here(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text=NOT_A_MEETING_PAGE, headers=_headers("text/html; charset=utf-8"))

    for path in ("/", "/r", "/r/"):
        app.router.add_get(path, no_meeting_here)
    app.router.add_get("/r/{room}", meeting_page)
    app.router.add_get("/static/{path:.+}", static_file)

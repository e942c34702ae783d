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

# Third-party browser files come from npm (web/node_modules, installed from the lockfile) and
# are mapped one by one: node_modules as a whole is never exposed.
VENDOR_FILES = {
    "socket.io.esm.min.js": Path("node_modules/socket.io-client/dist/socket.io.esm.min.js"),
}

PRIVATE_DIRS = {"node_modules"}


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


def add_web_routes(app: web.Application, settings: Settings) -> None:
    """Register the meeting page (/r/{room}) and the client's static files (/static/...)."""
    web_dir = Path(settings.web_dir)

    async def meeting_page(request: web.Request) -> web.StreamResponse:
        index = _resolve_static(web_dir, "index.html")
        if index is None:
            return _error(503, "unavailable", "The web client is not installed on this server.")
        return _file_response(index)

    async def vendor_file(request: web.Request) -> web.StreamResponse:
        relative = VENDOR_FILES.get(request.match_info["name"])
        if relative is None:
            return _error(404, "not_found", "No such file.")
        path = _regular_file_within(web_dir.resolve(), web_dir / relative)
        if path is None:
            return _error(
                503,
                "unavailable",
                "The web client's dependencies are not installed: run `npm ci` in web/.",
            )
        return _file_response(path)

    async def static_file(request: web.Request) -> web.StreamResponse:
        path = _resolve_static(web_dir, request.match_info["path"])
        if path is None:
            return _error(404, "not_found", "No such file.")
        return _file_response(path)

    app.router.add_get("/r/{room}", meeting_page)
    app.router.add_get("/static/vendor/{name}", vendor_file)
    app.router.add_get("/static/{path:.+}", static_file)

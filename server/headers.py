"""Headers on every HTTP answer, the API's and socket.io's included: the protections the web
client's pages carry (`server.webclient` sets its own, fuller set first) where they apply to JSON,
and no caching of what the server did not say may be cached. An answer holding a host key (room
creation) or a resume token (a socket.io long-polling response) must never sit in a browser's or a
proxy's cache."""

from __future__ import annotations

from aiohttp import web

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # An answer here loads nothing and is never shown in a frame.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """For `on_response_prepare`: each header the answer does not set already."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)

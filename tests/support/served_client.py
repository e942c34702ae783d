"""A running Circle, checked from outside as a member's browser meets it: create a room, open its
member page, and fetch every file that page loads, following module imports to the last one.

Standard library only, so that CI can run it against a server started by the README's command:

    python3 -m tests.support.served_client healthy URL
    python3 -m tests.support.served_client meeting URL --admin-token TOKEN
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from server.client_files import walk

# Only loopback is ever asked here; a proxy configured for the machine must not stand in between.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def healthy(url: str) -> bool:
    """Whether `GET /healthz` answers 200 now."""
    try:
        with _HTTP.open(f"{url}/healthz", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def create_room(url: str, admin_token: str, title: str = "A first circle") -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/api/rooms",
        data=json.dumps({"title": title}).encode(),
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        method="POST",
    )
    with _HTTP.open(request, timeout=10) as response:
        if response.status != 201:
            raise AssertionError(f"POST /api/rooms answered {response.status}")
        return dict(json.load(response))


def fetch_meeting(url: str, room_id: str) -> dict[str, int]:
    """Every path the member page of `room_id` loads, with the status it was answered with."""
    statuses: dict[str, int] = {}

    def load(path: str) -> str | None:
        try:
            with _HTTP.open(url + path, timeout=10) as response:
                statuses[path] = int(response.status)
                return bytes(response.read()).decode("utf-8", errors="replace")
        except urllib.error.HTTPError as exc:
            statuses[path] = exc.code
            return None

    walk(f"/r/{room_id}", load)
    return statuses


def _meeting(url: str, admin_token: str) -> int:
    room = create_room(url, admin_token)
    statuses = fetch_meeting(url, room["id"])
    for path, status in statuses.items():
        print(f"{status} {path}")
    bad = {path: status for path, status in statuses.items() if status != 200}
    if bad or len(statuses) < 2:
        print(f"the member page did not load completely: {bad or 'it loads no file'}", file=sys.stderr)
        return 1
    print(f"the member page and the {len(statuses) - 1} files it loads all answered 200")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.support.served_client")
    sub = parser.add_subparsers(dest="check", required=True)
    sub.add_parser("healthy", help="exit 0 if /healthz answers 200").add_argument("url")
    meeting = sub.add_parser("meeting", help="create a room; its page and every file it loads answer 200")
    meeting.add_argument("url")
    meeting.add_argument("--admin-token", required=True)
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    if args.check == "healthy":
        return 0 if healthy(url) else 1
    return _meeting(url, args.admin_token)


if __name__ == "__main__":
    sys.exit(main())

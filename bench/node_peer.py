"""The Node peer's set-up: node on the PATH, and its npm packages installed from `bench/node`'s
lockfile (`npm ci`) whenever they are missing or the lockfile changed.

    python -m bench.node_peer    # install now (scripts/setup --dev does, before tests lose the network)
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

DIR = Path(__file__).resolve().parent / "node"
SERVER = DIR / "server.js"
_STAMP = DIR / "node_modules" / ".circle-installed"


def node_path() -> str | None:
    return shutil.which("node")


def _lock_hash() -> str:
    return hashlib.sha256((DIR / "package-lock.json").read_bytes()).hexdigest()


def installed() -> bool:
    try:
        return _STAMP.read_text().strip() == _lock_hash()
    except OSError:
        return False


def ensure_installed() -> str | None:
    """None when the Node peer can run, else why not (after trying `npm ci` if needed)."""
    if node_path() is None:
        return "node is not installed"
    if installed():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    try:
        run = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefer-offline"],
            cwd=DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm ci in {DIR} failed: {exc}"
    if run.returncode != 0:
        last = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:] or ["(no output)"]
        return f"npm ci in {DIR} failed: {last[0]}"
    _STAMP.write_text(_lock_hash() + "\n")
    return None


def main() -> int:
    why = ensure_installed()
    if why:
        print(f"bench: the Node peer cannot run: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The third-party browser files Circle serves are kept in web/vendor/, so that `pip install` and the
image need no npm. Each must stay the very file of the release web/package-lock.json pins: npm
installs that release into web/node_modules (scripts/setup --dev), and the copies must match it
byte for byte. To upgrade: change the pin in web/package.json, `npm install` in web/, then copy the
file from web/node_modules/ over the one in web/vendor/.
"""

from __future__ import annotations

import json
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"

# Each file in web/vendor/, and the npm package and path inside it that it is a copy of.
VENDORED = {"socket.io.esm.min.js": ("socket.io-client", "dist/socket.io.esm.min.js")}


def test_every_vendored_file_is_accounted_for() -> None:
    assert sorted(p.name for p in (WEB / "vendor").iterdir()) == sorted(VENDORED)


def test_vendored_files_are_byte_identical_to_the_lockfile_pinned_release() -> None:
    pins = json.loads((WEB / "package.json").read_text())["dependencies"]
    locked = json.loads((WEB / "package-lock.json").read_text())["packages"]
    for name, (package, inside) in VENDORED.items():
        version = locked[f"node_modules/{package}"]["version"]
        assert pins[package] == version, f"{package}: package.json pins {pins[package]}, lockfile {version}"
        installed = WEB / "node_modules" / package
        assert installed.is_dir(), f"{installed} is missing: scripts/setup --dev installs it (npm ci)"
        assert json.loads((installed / "package.json").read_text())["version"] == version, (
            f"web/node_modules holds another {package} than the lockfile's: run scripts/setup --dev"
        )
        vendored = (WEB / "vendor" / name).read_bytes()
        assert vendored == (installed / inside).read_bytes(), (
            f"web/vendor/{name} differs from {package} {version}'s {inside}: copy it from web/node_modules"
        )
        assert f"v{version}".encode() in vendored[:200], "the file's own banner names the pinned release"

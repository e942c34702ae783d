"""A real coturn (`turnserver`) on free loopback ports, configured from the deployment's own template
(`deploy/turnserver.conf`), so the TURN server the tests relay through is the one the docs deploy.

    turn = TurnServer(tmp_dir)
    turn.start()
    settings = turn.circle_settings()      # turn_urls and turn_secret for Circle
    ...
    turn.stop()
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import string
import subprocess
import time
from pathlib import Path
from typing import Any

from harness.processes import tails, terminate
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "turnserver.conf"

# Only what a loopback test needs on top of the deployed configuration; nothing here loosens what
# the template denies except loopback itself, which the relay must reach on a machine whose only
# address is 127.0.0.1.
TEST_ONLY = """
# -- test only, never in production --
# Every peer of a test is on 127.0.0.1, which coturn refuses to relay to unless told otherwise.
allow-loopback-peers
# No certificate here: the TLS listener stays off (the cert and pkey paths are never opened).
no-tls
userdb={userdb}
pidfile={pidfile}
"""

# Relay ports come from below the kernel's ephemeral range, so no other socket of the test (Chromium,
# Circle, Redis) can be holding one of them.
RELAY_PORTS = range(20000, 32000)
RELAY_PORT_COUNT = 100


def template_placeholders() -> list[str]:
    """The names the template expects from its environment, in order of first use."""
    names = re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", TEMPLATE.read_text())
    return list(dict.fromkeys(names))


def render_template(values: dict[str, str]) -> str:
    """The template with every placeholder filled in; a missing value is an error, not a blank."""
    return string.Template(TEMPLATE.read_text()).substitute(values)


def _udp_and_tcp_free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _free_listening_port() -> int:
    """A port free for both UDP and TCP, since TURN listens on both."""
    for _ in range(50):
        port = free_port()
        if _udp_and_tcp_free(port):
            return port
    raise RuntimeError("no port free for both UDP and TCP")


def _free_relay_range() -> tuple[int, int]:
    for _ in range(50):
        low = random.randrange(RELAY_PORTS.start, RELAY_PORTS.stop - RELAY_PORT_COUNT, 2)
        high = low + RELAY_PORT_COUNT - 1
        if all(_udp_and_tcp_free(port) for port in range(low, high + 1)):
            return low, high
    raise RuntimeError("no free range of relay ports")


def _stun_binding_answered(port: int) -> bool:
    """Whether a STUN Binding request to 127.0.0.1:port gets a success response."""
    transaction = os.urandom(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(request, ("127.0.0.1", port))
            answer = s.recv(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == transaction


class TurnServer:
    """A private `turnserver` on 127.0.0.1 with Circle's shared-secret credentials; its log is kept
    in `log_path` (coturn writes client addresses there, which is why the template sends it nowhere
    in production)."""

    def __init__(self, directory: Path, secret: str = "test-turn-secret", realm: str = "circle.test") -> None:
        self.dir = directory
        self.secret = secret
        self.realm = realm
        self.port = _free_listening_port()
        self.tls_port = _free_listening_port()
        self.min_port, self.max_port = _free_relay_range()
        self.conf_path = directory / "turnserver.conf"
        self.log_path = directory / "turnserver.log"
        self.output_path = directory / "turnserver.out"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def circle_settings(self) -> dict[str, Any]:
        """The settings that point Circle at this server."""
        return {"turn_urls": (self.url,), "turn_secret": self.secret}

    def template_values(self) -> dict[str, str]:
        return {
            "TURN_LISTEN_IP": "127.0.0.1",
            "TURN_PORT": str(self.port),
            "TURNS_PORT": str(self.tls_port),
            "TURN_RELAY_IP": "127.0.0.1",
            "TURN_PUBLIC_IP": "127.0.0.1",
            "TURN_MIN_PORT": str(self.min_port),
            "TURN_MAX_PORT": str(self.max_port),
            "TURN_SECRET": self.secret,
            "TURN_REALM": self.realm,
            "TURN_CERT": str(self.dir / "no-cert.pem"),
            "TURN_PKEY": str(self.dir / "no-key.pem"),
            "TURN_LOG_FILE": str(self.log_path),
        }

    def start(self, timeout: float = 10.0) -> TurnServer:
        exe = shutil.which("turnserver") or "/usr/bin/turnserver"
        if not Path(exe).exists():
            raise RuntimeError("turnserver not found: `scripts/setup --dev` installs coturn")
        self.dir.mkdir(parents=True, exist_ok=True)
        extra = TEST_ONLY.format(userdb=self.dir / "turndb", pidfile=self.dir / "turnserver.pid")
        self.conf_path.write_text(render_template(self.template_values()) + extra)
        with open(self.output_path, "ab") as output:
            self.proc = subprocess.Popen(
                [exe, "-c", str(self.conf_path)], stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"turnserver exited with {self.proc.returncode}:\n{self.output()}")
            if _stun_binding_answered(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"turnserver did not answer in {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)
            self.proc = None

    def output(self) -> str:
        """The server's log and anything it printed, for a failing test's message."""
        return tails([self.log_path, self.output_path])


__all__ = ["TEMPLATE", "TurnServer", "render_template", "template_placeholders"]

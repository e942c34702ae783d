"""A real nginx (Debian's package) in front of Circle instances, configured from the deployment's own
template (`deploy/nginx.conf.template`) and a throwaway self-signed certificate, on free loopback
ports, so that the proxy the tests go through is the one the docs deploy.

    cert = SelfSignedCertificate.make(tmp_dir)
    nginx = Nginx(tmp_dir, [a.port, b.port], cert)
    nginx.start()
    nginx.public_url                      # https://127.0.0.1:PORT, Circle's public_url
    ...
    nginx.stop()

Only the few lines nginx needs around the template (its http {} block, a pid file, temp folders,
the user its workers run as) are the test's own, standing in for Debian's /etc/nginx/nginx.conf
or the nginx image's.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.processes import tails, terminate
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"

# A placeholder is upper-case in braces; nginx's own variables are lower-case and never braced here.
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

# What each instance's line in the upstream block carries (docs/deployment.md shows the same).
UPSTREAM_PARAMETERS = "max_fails=1 fail_timeout=10s"

WRAPPER = """# -- test only: what Debian's /etc/nginx/nginx.conf does around the template --
daemon off;
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{
    worker_connections 1024;
}}
http {{
    default_type application/octet-stream;
    # As Debian's does: every request logged, unless the template says otherwise.
    access_log {dir}/access.log;
    client_body_temp_path {dir}/temp/body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
    include {dir}/circle.conf;
}}
"""


def template_placeholders() -> list[str]:
    """The names the template expects from its environment, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(TEMPLATE.read_text())))


def render_template(values: dict[str, str]) -> str:
    """The template with every placeholder filled in (as `envsubst` with the list of placeholders
    does); a missing value is an error, not a blank."""
    missing = [name for name in template_placeholders() if name not in values]
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], TEMPLATE.read_text())


def upstream_servers(ports: list[int]) -> str:
    """The value of CIRCLE_UPSTREAMS for instances on these loopback ports."""
    return " ".join(f"server 127.0.0.1:{port} {UPSTREAM_PARAMETERS};" for port in ports)


@dataclass(frozen=True)
class SelfSignedCertificate:
    """A certificate for 127.0.0.1 and localhost, signed by its own key, valid for a day."""

    cert_path: Path
    key_path: Path

    @classmethod
    def make(cls, directory: Path) -> SelfSignedCertificate:
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "circle.test")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        made = cls(directory / "fullchain.pem", directory / "privkey.pem")
        made.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        made.key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        made.key_path.chmod(0o600)
        return made

    def client_context(self) -> ssl.SSLContext:
        """A TLS context that trusts this certificate and nothing else, checking the host name."""
        return ssl.create_default_context(cafile=str(self.cert_path))


class Nginx:
    """A private nginx master process in the foreground, in front of Circle instances on
    `upstream_ports`; its error log is `error_log_path`."""

    def __init__(self, directory: Path, upstream_ports: list[int], cert: SelfSignedCertificate) -> None:
        self.dir = directory
        self.upstream_ports = upstream_ports
        self.cert = cert
        self.https_port = free_port()
        self.http_port = free_port()
        self.conf_path = directory / "nginx.conf"
        self.error_log_path = directory / "error.log"
        self.output_path = directory / "nginx.out"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def public_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def template_values(self) -> dict[str, str]:
        return {
            "SERVER_NAME": "127.0.0.1",
            "PUBLIC_URL": self.public_url,
            "HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
            "HTTPS_LISTEN": f"127.0.0.1:{self.https_port}",
            "TLS_CERT": str(self.cert.cert_path),
            "TLS_KEY": str(self.cert.key_path),
            "CIRCLE_UPSTREAMS": upstream_servers(self.upstream_ports),
            "NGINX_ERROR_LOG": str(self.error_log_path),
        }

    def write_config(self) -> Path:
        for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.dir / "temp" / temp).mkdir(parents=True, exist_ok=True)
        (self.dir / "circle.conf").write_text(render_template(self.template_values()))
        # As root, nginx would run its workers as "nobody", which cannot write to the test's folders.
        user = "user root root;" if os.geteuid() == 0 else ""
        self.conf_path.write_text(WRAPPER.format(dir=self.dir, user=user))
        return self.conf_path

    def start(self, timeout: float = 10.0) -> Nginx:
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(exe).exists():
            raise RuntimeError("nginx not found: `scripts/setup --dev` installs it")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        with open(self.output_path, "ab") as output:
            self.proc = subprocess.Popen(
                [exe, "-p", str(self.dir), "-c", str(self.conf_path), "-e", str(self.error_log_path)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        context = self.cert.client_context()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.public_url}/healthz", timeout=1, context=context) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not answer in {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)
            self.proc = None

    def output(self) -> str:
        """nginx's error log and anything it printed, for a failing test's message."""
        return tails([self.error_log_path, self.output_path])


__all__ = [
    "TEMPLATE",
    "Nginx",
    "SelfSignedCertificate",
    "render_template",
    "template_placeholders",
    "upstream_servers",
]

"""`rediss://` on the lean connection (`server.resp`), as on redis-py: a Redis behind TLS is reached
when its certificate checks out against the CA the URL names, refused when it does not, and reached
unchecked only when the URL says `ssl_cert_reqs=none`."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from redis.exceptions import ConnectionError

from harness.processes import HOST, Process, free_port, redis_server_path
from server.resp import RespClient, Subscription
from tests.support.nginx import SelfSignedCertificate


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A redis-server that speaks only TLS, on a free loopback port, and its certificate."""
    binary = redis_server_path()
    assert binary is not None
    made = SelfSignedCertificate.make(tmp_path / "tls")
    cert, key = made.cert_path, made.key_path
    port = free_port()
    argv = [
        binary,
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--bind",
        HOST,
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    argv += ["--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert)]
    argv += ["--tls-auth-clients", "no", "--dir", str(tmp_path)]
    server = Process("redis-tls", argv, tmp_path / "redis.log")
    server.launch()
    try:
        for _ in range(200):
            if server.proc is not None and server.proc.poll() is not None:
                pytest.fail(f"redis-server with TLS did not start:\n{server.log_tail()}")
            try:
                socket.create_connection((HOST, port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port, cert
    finally:
        server.stop()


async def test_a_tls_redis_is_reached_only_as_its_url_says(tls_redis: tuple[int, Path]) -> None:
    port, cert = tls_redis
    url = f"rediss://{HOST}:{port}/0?ssl_ca_certs={quote(str(cert))}"
    client = RespClient(url, 2.0)
    sub = await Subscription.open(url, ["tls:ch"], timeout_s=2.0, ping_every_s=1.0, silence_s=1.0)
    unchecked = RespClient(f"rediss://{HOST}:{port}/0?ssl_cert_reqs=none", 2.0)
    unknown = RespClient(f"rediss://{HOST}:{port}/0", 2.0)
    plain = RespClient(f"redis://{HOST}:{port}/0", 0.5)
    try:
        assert await client.execute("PING") == b"PONG"
        assert await client.publish("tls:ch", b"over tls") == 1
        async with asyncio.timeout(5):
            assert await sub.next() == b"over tls"
        assert await unchecked.execute("PING") == b"PONG"
        # A certificate no CA the client trusts vouches for: refused, as redis-py refuses it.
        with pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await unknown.execute("PING")
        with pytest.raises((ConnectionError, TimeoutError)):
            async with asyncio.timeout(2):
                await plain.execute("PING")
    finally:
        await sub.close()
        for c in (client, unchecked, unknown, plain):
            await c.aclose()

"""Where a client comes from: the socket's peer, or what a trusted proxy says; kept only as a keyed hash."""

from __future__ import annotations

import pytest

from signaling.addresses import AddressHasher, client_address, parse_networks

NGINX = parse_networks(["127.0.0.1", "10.0.0.0/8"])


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert client_address("192.0.2.7", "198.51.100.1", NGINX) == "192.0.2.7"
    assert client_address("192.0.2.7", "198.51.100.1", ()) == "192.0.2.7"
    assert client_address("127.0.0.1", "198.51.100.1", NGINX) == "198.51.100.1"
    assert client_address("127.0.0.1", None, NGINX) == "127.0.0.1"


def test_behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() -> None:
    # The client wrote the leftmost entry itself; each proxy of ours appended what it saw.
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.1, 10.1.2.3", NGINX) == "198.51.100.1"
    assert client_address("127.0.0.1", "10.1.2.3, 10.4.5.6", NGINX) == "10.1.2.3"
    # A hop no proxy of ours could have written stops the walk at the last one we trust.
    assert client_address("127.0.0.1", "198.51.100.1, garbage", NGINX) == "127.0.0.1"
    assert client_address("127.0.0.1", "[2001:db8::1]:443", NGINX) == "2001:db8::1"
    assert client_address("127.0.0.1", "192.0.2.9:5123", NGINX) == "192.0.2.9"


def test_an_unknown_peer_is_no_address() -> None:
    assert client_address(None, "198.51.100.1", NGINX) is None
    assert client_address("", None, NGINX) is None


def test_address_hashes_are_keyed_and_hide_the_address() -> None:
    one, other = AddressHasher("secret one"), AddressHasher("secret two")
    h = one.hash("198.51.100.1")
    assert h is not None and "198.51.100.1" not in h and len(h) == 32
    assert one.hash("198.51.100.1") == h and one.hash("198.51.100.2") != h
    assert other.hash("198.51.100.1") != h
    assert one.hash(None) is None and one.hash("not an address") is None


def test_an_ipv6_address_counts_by_its_64_and_a_mapped_ipv4_as_itself() -> None:
    hasher = AddressHasher("secret")
    assert hasher.hash("2001:db8:1:2::a") == hasher.hash("2001:db8:1:2:ffff::b")
    assert hasher.hash("2001:db8:1:2::a") != hasher.hash("2001:db8:1:3::a")
    assert hasher.hash("::ffff:198.51.100.1") == hasher.hash("198.51.100.1")


def test_a_trusted_proxy_that_is_not_an_address_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="'nginx'"):
        parse_networks(["10.0.0.1", "nginx"])

"""Buckets shared by many connections, keyed by what they have in common."""

from __future__ import annotations

from signaling.quotas import KeyedBuckets


def test_each_key_has_its_own_bucket() -> None:
    buckets = KeyedBuckets(burst=2, rate_per_s=1.0)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0, 0, 1000]
    assert buckets.take("b", 0.0) == 0
    assert buckets.take("a", 1.0) == 0


def test_waiting_is_told_without_taking_a_token() -> None:
    buckets = KeyedBuckets(burst=1, rate_per_s=2.0)
    assert buckets.wait_ms("a", 0.0) == 0
    assert buckets.take("a", 0.0) == 0
    assert buckets.wait_ms("a", 0.0) == 500
    assert buckets.wait_ms("a", 0.5) == 0
    assert buckets.take("a", 0.5) == 0


def test_a_bounded_number_of_keys_is_remembered() -> None:
    buckets = KeyedBuckets(burst=1, rate_per_s=0.001, max_keys=10)
    for n in range(100):
        buckets.take(f"k{n}", 0.0)
    assert len(buckets) == 10
    assert buckets.take("k99", 0.0) > 0
    assert buckets.take("k0", 0.0) == 0

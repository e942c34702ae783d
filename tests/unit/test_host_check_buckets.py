"""Facilitator-link checks are limited per client address, and the addresses remembered for it stay
as few as those that asked within one refill time, however many ask over a day."""

from __future__ import annotations

from server.host_check import AddressBuckets


def test_each_address_has_its_own_burst_then_rate() -> None:
    buckets = AddressBuckets(burst=2, rate_per_s=1.0)
    assert [buckets.take("10.0.0.1", 0.0) for _ in range(3)] == [0, 0, 1000]
    assert buckets.take("10.0.0.2", 0.0) == 0
    assert buckets.take("10.0.0.1", 1.0) == 0


def test_addresses_that_have_refilled_are_forgotten() -> None:
    buckets = AddressBuckets(burst=2, rate_per_s=1.0)
    now = 0.0
    for n in range(10_000):
        now += 0.01  # a hundred new addresses a second, each asking once
        assert buckets.take(f"10.0.{n // 256}.{n % 256}", now) == 0
    # Only those that asked within the last two seconds (a refill) can still be remembered, and the
    # table is pruned each time it doubles.
    assert len(buckets) <= 2 * 200 + 1
    # An address forgotten is as one never seen: a full burst again.
    assert [buckets.take("10.0.0.0", now) for _ in range(3)] == [0, 0, 1000]

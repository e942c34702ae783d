"""Token buckets: a burst, then a sustained rate. One per connection and kind of event."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class TokenBucket:
    burst: int
    rate_per_s: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> int:
        """0 when allowed, else how many ms until one token is back."""
        if self.tokens < 0:
            self.tokens, self.updated = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0
        if self.rate_per_s <= 0:
            return 60_000
        return max(1, math.ceil((1.0 - self.tokens) / self.rate_per_s * 1000))

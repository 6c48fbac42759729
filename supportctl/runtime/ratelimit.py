"""Send rates per channel: an asyncio token bucket, and one bucket per rate-limited channel.

A bucket holds up to `burst` tokens and gains `rate` tokens a second; each send takes one.
Waiting is one sleep until the next token is due, never a busy loop, and waiters are served in
the order they came (an asyncio.Lock is fair). Time comes from a monotonic function and sleeping
from an async sleep function, both replaceable, so tests drive the bucket without a wall clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# a refill computed after sleeping exactly the deficit can land a hair below one token
_EPSILON = 1e-9


class TokenBucket:
    """`rate` acquisitions a second on average, up to `burst` at once after a quiet spell."""

    def __init__(self, rate: float, burst: int, *, monotonic: Monotonic = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of messages a second, not {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._monotonic()
        elapsed = max(0.0, now - self._last)  # a clock that steps back adds nothing
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._last = now

    @property
    def tokens(self) -> float:
        """Tokens available now (fractions are a token on its way)."""
        self._refill()
        return self._tokens

    def delay(self) -> float:
        """Seconds until a token is available to a caller that does not queue behind others."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.rate)

    def try_acquire(self) -> bool:
        """Take a token if one is available now and nobody is waiting for one."""
        if self._lock.locked():
            return False
        self._refill()
        if self._tokens >= 1.0 - _EPSILON:
            self._tokens -= 1.0
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a token and take it. Cancelling a waiter takes nothing."""
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1.0 - _EPSILON:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


class ChannelRateLimiter:
    """One token bucket per channel with a configured rate; other channels are not limited.

    `rates` maps a channel id to `(messages per second, burst)`.
    """

    def __init__(self, rates: Mapping[str, tuple[float, int]] | None = None, *,
                 monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self._buckets: dict[str, TokenBucket] = {}
        for channel, (rate, burst) in (rates or {}).items():
            self._buckets[channel] = TokenBucket(rate, burst, monotonic=monotonic, sleep=sleep)

    def bucket(self, channel: str) -> TokenBucket | None:
        """The channel's bucket, None when it is not rate limited."""
        return self._buckets.get(channel)

    def set_rate(self, channel: str, rate: float | None, burst: int = 1) -> None:
        """Limit a channel (a new bucket, full), or lift its limit with `rate` None."""
        if rate is None:
            self._buckets.pop(channel, None)
        else:
            self._buckets[channel] = TokenBucket(rate, burst, monotonic=self._monotonic,
                                                 sleep=self._sleep)

    async def acquire(self, channel: str) -> None:
        """Wait until the channel may send one more message."""
        bucket = self._buckets.get(channel)
        if bucket is not None:
            await bucket.acquire()

"""Token buckets driven by a fake monotonic clock: no wall-clock timing anywhere."""

from __future__ import annotations

import asyncio

import pytest

from supportctl.runtime.ratelimit import ChannelRateLimiter, TokenBucket


class FakeTime:
    """A monotonic clock that moves only when someone sleeps on it."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_burst_then_one_token_per_interval() -> None:
    async def main() -> list[float]:
        t = FakeTime()
        bucket = TokenBucket(2.0, 3, monotonic=t.monotonic, sleep=t.sleep)
        times = []
        for _ in range(7):
            await bucket.acquire()
            times.append(t.now - 100.0)
        return times

    times = asyncio.run(main())
    assert times == pytest.approx([0, 0, 0, 0.5, 1.0, 1.5, 2.0])


def test_concurrent_waiters_are_spaced_and_served_in_order() -> None:
    async def main() -> tuple[list[int], list[float], list[float]]:
        t = FakeTime()
        bucket = TokenBucket(4.0, 1, monotonic=t.monotonic, sleep=t.sleep)
        order: list[int] = []
        times: list[float] = []

        async def take(i: int) -> None:
            await bucket.acquire()
            order.append(i)
            times.append(t.now - 100.0)

        await asyncio.gather(*(take(i) for i in range(5)))
        return order, times, t.sleeps

    order, times, sleeps = asyncio.run(main())
    assert order == [0, 1, 2, 3, 4]
    assert times == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert len(sleeps) == 4  # one sleep per wait: no polling


def test_tokens_refill_while_idle_up_to_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(1.0, 2, monotonic=t.monotonic, sleep=t.sleep)
    assert bucket.try_acquire() and bucket.try_acquire()
    assert not bucket.try_acquire()
    assert bucket.delay() == pytest.approx(1.0)
    t.now += 0.5
    assert bucket.delay() == pytest.approx(0.5)
    t.now += 100
    assert bucket.tokens == pytest.approx(2.0)
    t.now -= 50  # a clock stepping back adds nothing and takes nothing
    assert bucket.tokens == pytest.approx(2.0)


def test_cancelled_waiter_takes_no_token() -> None:
    async def main() -> float:
        t = FakeTime()
        gate = asyncio.Event()

        async def blocked_sleep(seconds: float) -> None:
            await gate.wait()

        bucket = TokenBucket(1.0, 1, monotonic=t.monotonic, sleep=blocked_sleep)
        await bucket.acquire()
        waiter = asyncio.create_task(bucket.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        t.now += 1.0
        return bucket.tokens

    assert asyncio.run(main()) == pytest.approx(1.0)


def test_channel_limiter_limits_only_configured_channels() -> None:
    async def main() -> tuple[float, float]:
        t = FakeTime()
        limiter = ChannelRateLimiter({"wa": (1.0, 1)}, monotonic=t.monotonic, sleep=t.sleep)
        for _ in range(10):
            await limiter.acquire("web")
        unlimited = t.now - 100.0
        for _ in range(3):
            await limiter.acquire("wa")
        return unlimited, t.now - 100.0

    unlimited, limited = asyncio.run(main())
    assert unlimited == 0
    assert limited == pytest.approx(2.0)


def test_limiter_rates_can_change() -> None:
    t = FakeTime()
    limiter = ChannelRateLimiter(monotonic=t.monotonic, sleep=t.sleep)
    assert limiter.bucket("wa") is None
    limiter.set_rate("wa", 5.0, 2)
    bucket = limiter.bucket("wa")
    assert bucket is not None and (bucket.rate, bucket.burst) == (5.0, 2)
    limiter.set_rate("wa", None)
    assert limiter.bucket("wa") is None


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1),
                                             (float("nan"), 1), (1, 0)])
def test_invalid_rates_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)

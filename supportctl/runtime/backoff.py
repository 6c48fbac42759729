"""What the background workers (outbox, inbox, notifications) share: when to try again, and
how to wait for work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def full_jitter(attempts: int, base: float, cap: float, random: Callable[[], float]) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: uniformly random up to an
    exponentially growing bound (`base`, doubled per attempt, at most `cap`), so that many
    failures at once do not come back at once."""
    return random() * min(cap, base * 2.0 ** max(0, attempts - 1))


async def idle(wake: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    """Wait until there may be work (`wake`), the worker must stop, or `timeout` seconds."""
    waits = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()

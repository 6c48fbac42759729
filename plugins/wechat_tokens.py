"""WeChat access tokens, fetched once and shared until shortly before they expire.

WeChat allows 2,000 token fetches a day per account, and a fetch invalidates the previous token
after a grace period of a few minutes, so every send must share one token rather than fetch its
own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from supportctl.plugins.channel import SendError

Fetched = tuple[str, float] | SendError
"""A fetch's outcome: (token, seconds it is valid for), or why there is none."""

MARGIN = 300.0  # seconds: a token is replaced this long before WeChat says it expires


class AccessTokens:
    """The current access token of one account; `clock` counts seconds (monotonic)."""

    def __init__(self, fetch: Callable[[], Awaitable[Fetched]],
                 clock: Callable[[], float], margin: float = MARGIN) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._token: str | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _current(self) -> str | None:
        return self._token if self._token is not None and self._clock() < self._until else None

    async def get(self) -> str | SendError:
        """A token valid for a while yet; concurrent callers wait for one fetch."""
        token = self._current()
        if token is not None:
            return token
        async with self._lock:
            token = self._current()  # fetched by the caller we waited for
            if token is not None:
                return token
            self.fetches += 1
            fetched = await self._fetch()
            if isinstance(fetched, SendError):
                return fetched
            token, lifetime = fetched
            # a lifetime shorter than twice the margin is used for half its length instead
            usable = lifetime - self._margin if lifetime > 2 * self._margin else lifetime / 2
            self._token, self._until = token, self._clock() + usable
            return token

    def forget(self, token: str) -> None:
        """Drop `token`, which WeChat refused; a newer one fetched meanwhile is kept."""
        if self._token == token:
            self._token = None

"""Serving a stack for real on 127.0.0.1 inside a test: the server with a frozen clock and a
SQLite file, and fakes of the providers' APIs as aiohttp apps on loopback.

The outbox and timer workers are not started: tests drive them by hand (`send_all`) so that
each step is deterministic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from supportctl.runtime.app import create_app
from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.server import Server
from supportctl.settings import Settings


@asynccontextmanager
async def listening(app: web.Application) -> AsyncIterator[str]:
    """Run an aiohttp app on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@dataclass
class Running:
    server: Server
    url: str
    http: ClientSession

    async def send_all(self) -> int:
        """Run the outbox once: how many queued messages were handled."""
        return await self.server.outbox.run_once()

    def agent(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def serving(stack: Path, database: Path, clock: FrozenClock,
                  environment: Mapping[str, str], **settings_given: Any
                  ) -> AsyncIterator[Running]:
    """`stack` served on a free loopback port, its `${VARIABLES}` from `environment`, with
    settings as given (no admin token unless given)."""
    settings = Settings(**{"database_url": f"sqlite:///{database}", "admin_token": None,
                           **settings_given})
    server = await Server.start(settings, stack, dict(environment), clock=clock)
    try:
        async with listening(create_app(server)) as url, ClientSession() as http:
            yield Running(server, url, http)
    finally:
        await server.stop()

"""Which requests get an access log line (SUPPORTCTL_ACCESS_LOG): by default only failures, so
that a busy webhook does not write a line per delivery."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import ClientSession, web

from supportctl.runtime.app import access_logging


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def lines(which: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    async def main() -> None:
        app = web.Application()
        app.router.add_get("/ok", _ok)
        runner_options = access_logging(which)
        runner = web.AppRunner(app, **runner_options)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            async with ClientSession() as http:
                for path in ("/ok", "/missing"):
                    async with http.get(f"http://{host}:{port}{path}") as answer:
                        await answer.read()
        finally:
            await runner.cleanup()

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        asyncio.run(main())
    return [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]


def test_access_log_lines_by_setting(caplog: pytest.LogCaptureFixture) -> None:
    everything = lines("all", caplog)
    assert len(everything) == 2 and any('"GET /ok' in line for line in everything)
    failures = lines("errors", caplog)
    assert len(failures) == 1 and '"GET /missing' in failures[0] and " 404 " in failures[0]
    assert lines("off", caplog) == []

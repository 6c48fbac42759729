"""`supportctl serve [PATH]`: run the runtime that applies the stack to real conversations."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

import structlog
from aiohttp import web

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from supportctl.config import reporters
from supportctl.config.sources import UnreadableStack
from supportctl.envfile import stack_environment
from supportctl.logs import configure_logging
from supportctl.runtime.live import PluginRuntimeError, StackRefused
from supportctl.settings import Settings, SettingsError, load_settings
from supportctl.store import StoreError

SUMMARY = "run the runtime: channel webhooks, menus, routing, agent API (SQLite by default)"

log = structlog.get_logger("supportctl.server")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", metavar="PATH", default=None,
                        help="stack file or folder (default: SUPPORTCTL_STACK, else stack.yaml)")
    parser.add_argument("--host", default=None, help="address to listen on (SUPPORTCTL_HOST)")
    parser.add_argument("--port", type=int, default=None, help="TCP port (SUPPORTCTL_PORT)")


def run(args: argparse.Namespace) -> int:
    overrides = {"SUPPORTCTL_HOST": args.host,
                 "SUPPORTCTL_PORT": None if args.port is None else str(args.port)}
    try:
        settings = load_settings({**os.environ, **{k: v for k, v in overrides.items() if v}})
        env = stack_environment()
    except SettingsError as exc:
        print(f"supportctl serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.path) if args.path is not None else settings.stack
    configure_logging(settings.log_format, settings.log_level)
    try:
        return asyncio.run(serve(settings, path, env))
    except KeyboardInterrupt:
        return EXIT_OK


async def serve(settings: Settings, path: Path, env: Mapping[str, str],
                ready: asyncio.Event | None = None) -> int:
    from supportctl.runtime.app import access_logging, create_app
    from supportctl.runtime.server import Server

    try:
        server = await Server.start(settings, path, env)
    except UnreadableStack as exc:
        print(f"supportctl serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StackRefused as refused:
        print(reporters.text(refused.diagnostics, colour=sys.stderr.isatty()), file=sys.stderr)
        print(f"supportctl serve: {path} has errors; not starting (supportctl validate "
              f"{path} shows the same)", file=sys.stderr)
        return EXIT_INVALID
    except PluginRuntimeError as exc:
        print(f"supportctl serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"supportctl serve: database: {exc}", file=sys.stderr)
        return EXIT_USAGE
    app = create_app(server)
    runner = web.AppRunner(app, **access_logging(settings.access_log),
                           shutdown_timeout=settings.shutdown_grace, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        await server.stop()
        print(f"supportctl serve: cannot listen on {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)
        return EXIT_USAGE
    server.run_workers()
    host, port = runner.addresses[0][:2]
    log.info("serving", url=f"http://{host}:{port}", stack=str(path),
             version=server.live().version)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[object]] = set()

    def reload() -> None:
        task: asyncio.Task[object] = asyncio.create_task(server.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload)
    if ready is not None:
        ready.set()
    await stop.wait()
    log.info("shutting down: finishing requests and sends", grace=settings.shutdown_grace)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(sig)
    await runner.cleanup()  # stops listening, ends streams, waits for requests in flight
    await server.stop()  # the outbox finishes what it holds
    log.info("stopped")
    return EXIT_OK

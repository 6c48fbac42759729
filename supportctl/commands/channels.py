"""`supportctl channels register [PATH]`: point the providers' webhooks at this server.

Channels whose provider has an API for it (Telegram's setWebhook) are registered; for the
others the command prints the URL to enter in the provider's console. The stack is loaded
exactly as `serve` loads it, so what is registered is what will be served.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import ClientSession, ClientTimeout

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from supportctl.config import reporters
from supportctl.config.sources import UnreadableStack
from supportctl.envfile import stack_environment
from supportctl.plugins.channel import ChannelRuntime, RegistrationFailed
from supportctl.runtime.live import LiveStack, PluginRuntimeError, StackRefused, load_live
from supportctl.settings import SettingsError, load_settings

SUMMARY = "set up channels with their providers: `channels register` sets their webhooks"
COMMAND = "supportctl channels register"


class Refused(Exception):
    """The command cannot go on; the message says why (exit code `code`)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    register = actions.add_parser(
        "register", help="tell each provider with an API for it where to deliver webhooks",
        description="tell each channel's provider to deliver to "
                    "PUBLIC_URL/channels/ID/webhook (Telegram: setWebhook with the secret "
                    "token); for providers without such an API, print the URL to enter in "
                    "their console")
    register.add_argument("path", nargs="?", metavar="PATH", default=None,
                          help="stack file or folder (default: SUPPORTCTL_STACK, else "
                               "stack.yaml)")
    register.add_argument("--public-url", metavar="URL", default=None,
                          help="the server's external base URL (default: "
                               "SUPPORTCTL_PUBLIC_URL, else the stack's workspace.public_url)")
    register.add_argument("--channel", metavar="ID", action="append", default=None,
                          help="only this channel (repeat for several)")
    register.add_argument("--dry-run", action="store_true",
                          help="print what would be done without calling any provider")


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(os.environ)
        env = stack_environment()
    except SettingsError as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.path) if args.path is not None else settings.stack
    given = args.public_url
    if given is not None and not _absolute(given):
        print(f"{COMMAND}: --public-url must be an absolute http:// or https:// URL, not "
              f"{given!r}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(register_all(path, env, given or settings.public_url,
                                        args.channel, dry_run=args.dry_run))
    except Refused as refused:
        print(f"{COMMAND}: {refused}", file=sys.stderr)
        return refused.code


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


async def register_all(path: Path, env: Mapping[str, str], public_url: str | None,
                       only: Sequence[str] | None, *, dry_run: bool = False) -> int:
    """Register the webhook of each chosen channel; print a line per channel."""
    # the same session settings as the server's, so the runtimes behave as when serving
    failed = 0
    async with ClientSession(timeout=ClientTimeout(total=30)) as http:
        live = _load(path, env, http)
        try:
            base = public_url or live.stack.workspace.public_url
            if base is None:
                raise Refused("no public URL: pass --public-url, set SUPPORTCTL_PUBLIC_URL, "
                              "or set workspace.public_url in the stack")
            for channel_id in _chosen(live, only):
                url = f"{base.rstrip('/')}/channels/{channel_id}/webhook"
                line, ok = await _register(live, channel_id, url, dry_run)
                failed += not ok
                print(f"{channel_id} ({live.channel_type(channel_id)}): {line}")
        finally:
            for runtime in live.channels.values():
                await runtime.close()
    if failed:
        print(f"{COMMAND}: {failed} channel(s) not registered", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def _load(path: Path, env: Mapping[str, str], http: ClientSession) -> LiveStack:
    """The stack as `serve` loads it; refused for the same reasons, with the same output."""
    try:
        return load_live(path, env, datetime.now(UTC), http=http)
    except UnreadableStack as exc:
        raise Refused(str(exc)) from exc
    except StackRefused as refused:
        print(reporters.text(refused.diagnostics, colour=sys.stderr.isatty()), file=sys.stderr)
        raise Refused(f"{path} has errors; nothing registered (supportctl validate {path} "
                      "shows the same)", EXIT_INVALID) from refused
    except PluginRuntimeError as exc:
        raise Refused(str(exc)) from exc


def _chosen(live: LiveStack, only: Sequence[str] | None) -> list[str]:
    known = list(live.stack.channels)
    if only is None:
        return known
    unknown = [channel_id for channel_id in only if channel_id not in known]
    if unknown:
        raise Refused(f"no channel {', '.join(map(repr, unknown))} in the stack (it has: "
                      f"{', '.join(known) or 'none'})")
    return list(dict.fromkeys(only))


async def _register(live: LiveStack, channel_id: str, url: str,
                    dry_run: bool) -> tuple[str, bool]:
    """What was done for one channel, and whether it went well."""
    runtime = live.channels.get(channel_id)
    if runtime is None:
        return "skipped: this version of supportctl has no runtime for it", True
    if not runtime.has_webhook:
        return f"no webhook: it serves its own API under /channels/{channel_id}/", True
    if dry_run:
        if _has_registration(runtime):
            return f"would register {url}", True
        return _console(url), True
    try:
        done = await runtime.register_webhook(url)
    except RegistrationFailed as exc:
        return f"failed: {exc}", False
    return (_console(url), True) if done is None else (f"registered: {done}", True)


def _has_registration(runtime: ChannelRuntime) -> bool:
    # a runtime without its own register_webhook inherits the base's "no API" answer; asking
    # the class spares a dry run any call to the provider
    return type(runtime).register_webhook is not ChannelRuntime.register_webhook


def _console(url: str) -> str:
    return f"not supported: set the URL in the provider's console: {url}"

"""`supportctl channels register` through the CLI, against a fake Telegram Bot API on loopback.

The command runs its own event loop (as it does from a shell), so the fake API runs on another
thread with its own loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from conftest import FIXTURES, CliResult

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE

Run = Callable[..., CliResult]
STACK = FIXTURES / "stacks" / "telegram.yaml"
TOKEN = "6012345678:AAE-register-test"
SECRET = "register-secret_token"
PUBLIC = "https://support.bergkaffee.example"  # the stack's workspace.public_url


class FakeBotApi:
    """setWebhook of one bot, on a loopback port served from a thread of its own."""

    def __init__(self, answer: dict[str, Any] | None = None, status: int = 200) -> None:
        self.answer = answer or {"ok": True, "result": True, "description": "Webhook was set"}
        self.status = status
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def method(self, request: web.Request) -> web.Response:
        self.calls.append((request.match_info["method"], await request.json()))
        return web.json_response(self.answer, status=self.status)

    @contextmanager
    def serving(self) -> Iterator[str]:
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post(f"/bot{TOKEN}/{{method}}", self.method)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        host, port = runner.addresses[0][:2]
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{host}:{port}"
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.run_until_complete(runner.cleanup())
            loop.close()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No settings or stack variables from the environment; an empty current directory."""
    for name in list(os.environ):
        if name.startswith(("SUPPORTCTL_", "TELEGRAM_", "TG_", "WA_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def stack_env(monkeypatch: pytest.MonkeyPatch, api: str) -> None:
    for name, value in variables(api).items():
        monkeypatch.setenv(name, value)


def variables(api: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET, "TG_API_BASE": api,
            "WA_ACCESS_TOKEN": "wa-token", "WA_APP_SECRET": "wa-secret",
            "WA_VERIFY_TOKEN": "wa-verify", "WA_API_BASE": "http://127.0.0.1:9",
            "SLACK_WEBHOOK_URL": "https://hooks.slack.example/T0/B0/x"}


def lines(result: CliResult) -> dict[str, str]:
    """Each channel's line of output, by channel id."""
    found = {}
    for line in result.out.splitlines():
        channel, _, rest = line.partition(" ")
        found[channel] = rest
    return found


def test_register_sets_the_telegram_webhook_and_names_the_console_urls(
        run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBotApi()
    with fake.serving() as api:
        stack_env(monkeypatch, api)
        result = run_cli("channels", "register", STACK, "--public-url",
                         "https://chat.example.org/")
    assert result.code == EXIT_OK, result.err
    assert fake.calls == [("setWebhook", {
        "url": "https://chat.example.org/channels/telegram/webhook", "secret_token": SECRET,
        "allowed_updates": ["message", "callback_query"]})]
    out = lines(result)
    assert list(out) == ["whatsapp", "webchat", "telegram"]
    assert out["telegram"].startswith("(telegram): registered: Webhook was set")
    assert out["whatsapp"] == ("(whatsapp): not supported: set the URL in the provider's "
                               "console: https://chat.example.org/channels/whatsapp/webhook")
    assert out["webchat"] == "(webchat): no webhook: it serves its own API under /channels/webchat/"
    assert TOKEN not in result.out + result.err and SECRET not in result.out + result.err


def test_the_public_url_comes_from_the_settings_else_the_stack(
        run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBotApi()
    with fake.serving() as api:
        stack_env(monkeypatch, api)
        monkeypatch.setenv("SUPPORTCTL_PUBLIC_URL", "https://from-settings.example")
        assert run_cli("channels", "register", STACK, "--channel", "telegram").code == EXIT_OK
        monkeypatch.delenv("SUPPORTCTL_PUBLIC_URL")
        assert run_cli("channels", "register", STACK, "--channel", "telegram").code == EXIT_OK
    assert [body["url"] for _, body in fake.calls] == [
        "https://from-settings.example/channels/telegram/webhook",
        f"{PUBLIC}/channels/telegram/webhook"]


def test_only_the_channels_asked_for(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBotApi()
    with fake.serving() as api:
        stack_env(monkeypatch, api)
        result = run_cli("channels", "register", STACK, "--channel", "telegram")
        unknown = run_cli("channels", "register", STACK, "--channel", "telgram")
    assert list(lines(result)) == ["telegram"]
    assert len(fake.calls) == 1
    assert unknown.code == EXIT_USAGE
    assert "no channel 'telgram' in the stack (it has: whatsapp, webchat, telegram)" in (
        unknown.err)


def test_a_dry_run_calls_no_provider(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBotApi()
    with fake.serving() as api:
        stack_env(monkeypatch, api)
        result = run_cli("channels", "register", STACK, "--dry-run")
    assert result.code == EXIT_OK
    assert fake.calls == []
    assert lines(result)["telegram"] == (
        f"(telegram): would register {PUBLIC}/channels/telegram/webhook")
    assert lines(result)["whatsapp"].startswith("(whatsapp): not supported:")


def test_a_refusal_is_printed_and_exits_1(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBotApi({"ok": False, "error_code": 400,
                       "description": "Bad Request: bad webhook: Failed to resolve host"}, 400)
    with fake.serving() as api:
        stack_env(monkeypatch, api)
        result = run_cli("channels", "register", STACK)
    assert result.code == EXIT_INVALID
    assert lines(result)["telegram"] == (
        "(telegram): failed: setWebhook failed: Bad Request: bad webhook: Failed to resolve host")
    assert "1 channel(s) not registered" in result.err


def test_an_unreachable_api_fails_without_showing_the_token(
        run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeBotApi().serving() as api:
        pass  # closed again: nothing listens there now
    stack_env(monkeypatch, api)
    result = run_cli("channels", "register", STACK, "--channel", "telegram")
    assert result.code == EXIT_INVALID
    assert lines(result)["telegram"].startswith("(telegram): failed: setWebhook failed: ")
    assert TOKEN not in result.out + result.err


def test_variables_come_from_the_env_file_as_for_serve(
        run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeBotApi()
    with fake.serving() as api:
        (tmp_path / ".env").write_text(
            "".join(f"{name}={value}\n" for name, value in variables(api).items()))
        result = run_cli("channels", "register", STACK, "--channel", "telegram")
    assert result.code == EXIT_OK, result.err
    assert fake.calls[0][1]["secret_token"] == SECRET


def test_a_stack_serve_would_refuse_is_refused_the_same_way(
        run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBotApi()
    with fake.serving() as api:
        stack_env(monkeypatch, api)
        monkeypatch.delenv("TELEGRAM_SECRET_TOKEN")
        result = run_cli("channels", "register", STACK)
    assert result.code == EXIT_INVALID
    assert "TELEGRAM_SECRET_TOKEN" in result.err
    assert "has errors; nothing registered" in result.err
    assert fake.calls == [] and result.out == ""


def test_a_public_url_that_is_not_absolute_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("channels", "register", STACK, "--public-url", "support.example")
    assert result.code == EXIT_USAGE
    assert "--public-url must be an absolute http:// or https:// URL" in result.err


def test_no_public_url_anywhere_is_a_usage_error(
        run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(STACK.read_text().replace(f"  public_url: {PUBLIC}\n", ""))
    stack_env(monkeypatch, "http://127.0.0.1:9")
    result = run_cli("channels", "register", stack)
    assert result.code == EXIT_USAGE
    assert "no public URL: pass --public-url" in result.err

"""POST /-/reload: the stack file checked again and swapped in whole, or refused and the old one
kept; served for real on 127.0.0.1 with the lifecycle stack copied to a temporary folder."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from supportctl.plugins.channel import ContactRef, InboundMessage
from supportctl.runtime.app import create_app
from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.payloads import display_text
from supportctl.runtime.server import Server
from supportctl.settings import Settings
from supportctl.store.records import Direction

STACK = Path(__file__).resolve().parent.parent / "fixtures" / "stacks" / "lifecycle.yaml"
ENV = {"SLACK_WEBHOOK_URL": "https://hooks.slack.example/reload"}
TOKEN = "reload-admin-token"
MONDAY_23 = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # nobody on shift: out-of-hours reply
OFFLINE = "Nobody is in right now; we are back at {{next_open}}."


@dataclass
class Served:
    server: Server
    url: str
    http: ClientSession
    stack: Path

    async def reload(self, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        async with self.http.post(f"{self.url}/-/reload", headers=headers) as response:
            return response.status, await response.json()

    async def version(self) -> str:
        async with self.http.get(f"{self.url}/readyz") as response:
            assert response.status == 200
            ready: dict[str, str] = await response.json()
        return ready["stack"]

    async def metrics(self) -> str:
        async with self.http.get(f"{self.url}/metrics") as response:
            return await response.text()

    async def out_of_hours_reply(self, user: str) -> str:
        """What a new customer is answered now (out of hours)."""
        store = self.server.store
        await self.server.receipts.accept("chat", [InboundMessage(
            "chat", f"{user}:1", ContactRef(user, language="en"), self.server.clock.now(),
            text="Hello?")])
        contact = await store.resolve_contact("chat", user, self.server.clock.now())
        conversation = await store.latest_conversation(contact.id)
        assert conversation is not None
        (reply,) = [m for m in await store.list_messages(conversation.id)
                    if m.direction is Direction.OUT]
        return display_text(reply.payload)


@asynccontextmanager
async def served(tmp: Path) -> AsyncIterator[Served]:
    stack = tmp / "stack.yaml"
    shutil.copyfile(STACK, stack)
    settings = Settings(database_url=f"sqlite:///{tmp}/s.db", admin_token=TOKEN)
    server = await Server.start(settings, stack, ENV, clock=FrozenClock(MONDAY_23))
    runner = web.AppRunner(create_app(server))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        async with ClientSession() as http:
            yield Served(server, f"http://{host}:{port}", http, stack)
    finally:
        await runner.cleanup()
        await server.stop()


def run(body: Callable[[Path], Coroutine[Any, Any, None]], tmp_path: Path) -> None:
    asyncio.run(body(tmp_path))


def edit(stack: Path, old: str, new: str) -> None:
    text = stack.read_text()
    assert old in text
    stack.write_text(text.replace(old, new))


def test_reload_swaps_in_the_edited_stack(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        async with served(tmp) as s:
            before = await s.version()
            assert before == s.server.live().version
            assert (await s.out_of_hours_reply("ada")).startswith("Nobody is in right now")
            edit(s.stack, OFFLINE, "We are closed until {{next_open}}.")
            status, answer = await s.reload()
            assert status == 200, answer
            assert answer["status"] == "reloaded"
            after = answer["version"]
            assert after != before
            assert await s.version() == after
            metrics = await s.metrics()
            assert "supportctl_config_last_reload_successful 1.0" in metrics
            assert 'supportctl_config_reloads_total{result="success"} 1.0' in metrics
            # the desk answers with the new stack
            assert await s.out_of_hours_reply("bob") == (
                "We are closed until 2026-11-24 08:00 UTC.")

    run(body, tmp_path)


def test_an_invalid_edit_is_refused_and_the_old_stack_keeps_serving(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        async with served(tmp) as s:
            before = await s.version()
            edit(s.stack, OFFLINE, "Closed until {{next_open}}.")
            edit(s.stack, "- name: everyone-else\n    to: support",
                 "- name: everyone-else\n    to: nobody")
            status, answer = await s.reload()
            assert status == 500
            assert "reload refused" in answer["error"]
            assert answer["version"] == before
            diagnostics = answer["diagnostics"]
            assert diagnostics, answer
            assert all(d["severity"] == "error" for d in diagnostics)
            assert any("nobody" in d["message"] for d in diagnostics), diagnostics
            assert {d["file"] for d in diagnostics} == {str(s.stack)}
            assert all(d["line"] > 0 for d in diagnostics)
            assert await s.version() == before
            metrics = await s.metrics()
            assert "supportctl_config_last_reload_successful 0.0" in metrics
            assert 'supportctl_config_reloads_total{result="failure"} 1.0' in metrics
            # still the old stack: its texts, its routing
            assert (await s.out_of_hours_reply("cy")).startswith("Nobody is in right now")
            # fixed: the next reload goes through
            edit(s.stack, "to: nobody", "to: support")
            status, answer = await s.reload()
            assert status == 200
            assert await s.version() == answer["version"] != before
            assert "supportctl_config_last_reload_successful 1.0" in await s.metrics()

    run(body, tmp_path)


def test_a_stack_file_gone_is_refused_like_an_invalid_one(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        async with served(tmp) as s:
            before = await s.version()
            s.stack.rename(tmp / "moved.yaml")
            status, answer = await s.reload()
            assert status == 500
            assert "no such file" in answer["error"], answer
            assert answer["version"] == before
            assert await s.version() == before
            assert "supportctl_config_last_reload_successful 0.0" in await s.metrics()

    run(body, tmp_path)


def test_reload_needs_the_admin_token(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        async with served(tmp) as s:
            before = await s.version()
            edit(s.stack, OFFLINE, "Closed until {{next_open}}.")
            for token in (None, "wrong-token", ""):
                status, answer = await s.reload(token)
                assert status == 401, token
                assert answer == {"error": "admin token required"}
            async with s.http.post(f"{s.url}/-/reload",
                                   headers={"Authorization": TOKEN}) as response:
                assert response.status == 401  # not a bearer token
                assert response.headers["WWW-Authenticate"] == "Bearer"
            assert await s.version() == before
            assert 'supportctl_config_reloads_total{result="success"}' not in await s.metrics()

    run(body, tmp_path)

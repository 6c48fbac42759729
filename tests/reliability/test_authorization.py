"""Who may do what, tried all at once against a running server (tests/fixtures/stacks/load.yaml):
agents acting on other teams' conversations, tokens revoked or of agents removed while their
event streams are open, the admin endpoint, web-chat tokens used for someone else."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from aiohttp import ClientResponse
from load_stack import STACK, Load, run

from supportctl.store import SQLiteStore

ADMIN = "admin-token-for-the-fault-suite"
ENDS_WITHIN = 3.0  # seconds: a stream must end within a second of losing its token; slack


async def stream(load: Load, agent: str) -> ClientResponse:
    response = await load.r.http.get(f"{load.r.url}/api/v1/events",
                                     headers=await load.agent_token(agent))
    assert response.status == 200
    assert await asyncio.wait_for(response.content.readline(), 5) == b": connected\n"
    return response


async def ended(response: ClientResponse) -> float:
    """Seconds until the server ends the stream (everything sent until then is read)."""
    started = time.monotonic()
    await asyncio.wait_for(response.content.read(), ENDS_WITHIN + 2)
    return time.monotonic() - started


async def status(load: Load, method: str, path: str, agent: str,
                 body: dict[str, str] | None = None) -> int:
    async with load.r.http.request(method, f"{load.r.url}{path}", json=body,
                                   headers=await load.agent_token(agent)) as answer:
        return answer.status


def test_agents_act_only_on_conversations_they_may_see(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        tokens = await asyncio.gather(*(load.customer("least", f"P{n}") for n in range(4)),
                                      *(load.customer("turns", f"T{n}") for n in range(3)))
        await asyncio.gather(*(load.write("least" if n < 4 else "turns", token, "Hello", "m1")
                               for n, token in enumerate(tokens)))
        pair = await load.conversations("least")
        trio = await load.conversations("turns")
        actions = [("GET", ""), ("POST", "/reply"), ("POST", "/template"),
                   ("POST", "/transfer"), ("POST", "/close"), ("POST", "/reopen"),
                   ("POST", "/notes")]
        bodies = {"/reply": {"text": "x"}, "/template": {"template": "welcome"},
                  "/transfer": {"team": "trio"}, "/notes": {"text": "x"}}
        # tom of the trio tries everything on the pair's conversations, all at once
        tried = await asyncio.gather(*(
            status(load, method, f"/api/v1/conversations/{c.id}{path}", "tom",
                   bodies.get(path)) for c in pair for method, path in actions))
        assert set(tried) == {404}  # as if they did not exist
        assert {c.status for c in await load.conversations("least")} == {c.status
                                                                           for c in pair}
        async with load.r.http.get(f"{load.r.url}/api/v1/conversations",
                                   headers=await load.agent_token("tom")) as answer:
            listed = {c["id"] for c in (await answer.json())["conversations"]}
        assert listed == {c.id for c in trio}
        seen = await asyncio.gather(*(status(load, "GET", f"/api/v1/conversations/{c.id}",
                                             "sam") for c in pair + trio))
        assert set(seen) == {200}  # the supervisor sees every conversation
    run(body, tmp_path)


def test_revoking_a_token_ends_its_open_event_stream_within_a_second(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        pia, paul = await stream(load, "pia"), await stream(load, "paul")
        # `supportctl token revoke pia` is another process on the same database
        other = await SQLiteStore.open(tmp_path / "load.db")
        try:
            assert await other.revoke_tokens("agent", "pia", load.clock.now()) == 1
        finally:
            await other.close()
        assert await ended(pia) < ENDS_WITHIN
        assert await status(load, "GET", "/api/v1/me", "pia") == 401
        # paul's stream is still open and still gets what he may see
        token = await load.customer("least", "Quinn")
        await load.write("least", token, "Hello", "m1")
        line = b""
        while not line.startswith(b"event: "):
            line = await asyncio.wait_for(paul.content.readline(), 5)
            assert line, "paul's stream ended too"
        paul.close()
    run(body, tmp_path)


def test_an_agent_removed_by_a_reload_loses_the_stream_and_the_api(tmp_path: Path) -> None:
    edited = tmp_path / "stack.yaml"
    edited.write_text(STACK.read_text())

    async def body(load: Load) -> None:
        headers = await load.agent_token("tara")
        tara = await stream(load, "tara")
        text = edited.read_text()
        edited.write_text(text.replace("  tara: {name: Tara Tell, languages: [en], max_open: 50}\n",
                                       "").replace("agents: [tom, tim, tara]",
                                                   "agents: [tom, tim]"))
        result = await load.r.server.reload()
        assert result.ok, result.diagnostics
        assert await ended(tara) < ENDS_WITHIN
        async with load.r.http.get(f"{load.r.url}/api/v1/me", headers=headers) as answer:
            assert answer.status == 401
            assert "not in the stack" in (await answer.json())["error"]
    run(body, tmp_path, edited)


def test_the_admin_endpoint_needs_the_admin_token(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        async def reload(token: str | None) -> int:
            headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
            async with load.r.http.post(f"{load.r.url}/-/reload", headers=headers) as answer:
                return answer.status

        refused = await asyncio.gather(*(reload(t) for t in (None, "", "wrong", ADMIN + "x",
                                                             ADMIN[:-1])),
                                       *(reload(f"guess-{n}") for n in range(20)))
        assert set(refused) == {401}
        agent = await load.agent_token("sam")  # an agent's token is not the admin's
        async with load.r.http.post(f"{load.r.url}/-/reload", headers=agent) as answer:
            assert answer.status == 401
        assert await reload(ADMIN) == 200
    run(body, tmp_path, admin_token=ADMIN)


def test_web_chat_tokens_read_only_their_own_conversation(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        ada, bob = await load.customer("menu", "Ada"), await load.customer("menu", "Bob")
        await asyncio.gather(load.write("menu", ada, "Ada's secret", "a1"),
                             load.write("menu", bob, "Bob's secret", "b1"))

        async def history(channel: str, token: str) -> tuple[int, list[str]]:
            async with load.r.http.get(f"{load.r.url}/channels/{channel}/messages",
                                       headers={"Authorization": f"Bearer {token}"}) as answer:
                if answer.status != 200:
                    return answer.status, []
                return 200, [m["text"] for m in (await answer.json())["messages"]]

        mine, theirs, forged, elsewhere = await asyncio.gather(
            history("menu", ada), history("menu", bob), history("menu", "wct_forged"),
            history("turns", ada))
        assert mine[0] == 200 and "Ada's secret" in mine[1] and "Bob's secret" not in mine[1]
        assert theirs[0] == 200 and "Ada's secret" not in theirs[1]
        assert forged == (401, []) and elsewhere == (401, [])  # a token is for its channel
    run(body, tmp_path)


def test_an_authorization_header_that_is_not_utf8_is_refused_not_a_crash(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        host, port = load.r.url.removeprefix("http://").split(":")
        for path in ("/api/v1/me", "/-/reload"):
            reader, writer = await asyncio.open_connection(host, int(port))
            method = b"POST" if path == "/-/reload" else b"GET"
            writer.write(method + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                         b"Authorization: Bearer \xff\xfe\xc3\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            assert answer.startswith(b"HTTP/1.1 401"), answer[:80]
    run(body, tmp_path, admin_token=ADMIN)


def test_an_expired_web_chat_session_ends_its_open_stream_within_a_second(
        tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        ada, bob = await load.customer("menu", "Ada"), await load.customer("menu", "Bob")
        streams = {}
        for name, token in (("ada", ada), ("bob", bob)):
            streams[name] = await load.r.http.get(
                f"{load.r.url}/channels/menu/stream",
                headers={"Authorization": f"Bearer {token}"})
            assert streams[name].status == 200
        await load.write("menu", bob, "still here", "b1")  # bob's token is used now
        load.clock.advance(timedelta(days=30) - timedelta(minutes=1))
        await load.write("menu", bob, "and now", "b2")
        load.clock.advance(timedelta(minutes=2))  # ada unused for longer than token_ttl: 30d
        assert await ended(streams["ada"]) < ENDS_WITHIN
        line = b""
        while b"and now" not in line:  # bob's stream goes on
            line = await asyncio.wait_for(streams["bob"].content.readline(), 5)
            assert line, "bob's stream ended too"
        streams["bob"].close()
    run(body, tmp_path)

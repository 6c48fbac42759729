"""The agent API (/api/v1) over real HTTP on 127.0.0.1, against a real server on SQLite."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator

from supportctl.plugins.channel import ContactRef, InboundMessage
from supportctl.runtime import agent_api
from supportctl.runtime.app import create_app
from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.server import Server
from supportctl.settings import Settings
from supportctl.store.tokens import hash_token

STACK = Path(__file__).resolve().parent.parent / "fixtures" / "stacks" / "agent_api.yaml"
ENV = {"WA_TOKEN": "wa-access-token-1234", "WA_APP_SECRET": "wa-app-secret-1234",
       "WA_VERIFY_TOKEN": "wa-verify-1234"}
MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
AGENTS = ("anna", "bob", "sara")
TIMEOUT = 5.0

JSONBody = dict[str, Any]


@dataclass
class Env:
    server: Server
    client: TestClient[Any, Any]
    clock: FrozenClock
    tokens: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def auth(self, agent: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[agent]}"}

    async def get(self, path: str, agent: str = "anna", **params: str) -> tuple[int, Any]:
        response = await self.client.get(path, headers=self.auth(agent), params=params)
        return response.status, await response.json()

    async def post(self, path: str, body: Any = None, agent: str = "anna"
                   ) -> tuple[int, Any]:
        response = await self.client.post(path, headers=self.auth(agent), json=body)
        return response.status, await response.json()

    async def customer_writes(self, channel: str, user: str, text: str,
                              name: str = "Max Muster") -> str:
        """A customer's message through the desk, as a webhook delivers it; the conversation."""
        n = next(self._ids)
        external = f"{user}:m{n}" if channel == "web" else f"wamid.{n}"
        delivery = await self.server.receipts.accept(channel, [InboundMessage(
            channel, external, ContactRef(user, name=name, language="en"),
            self.clock.now(), text=text)])
        assert len(delivery.jobs) == 1
        contact = await self.server.store.find_identity(channel, user)
        assert contact is not None
        latest = await self.server.store.latest_conversation(contact.contact_id)
        assert latest is not None
        return latest.id


def run(tmp_path: Path, body: Callable[[Env], Awaitable[None]]) -> None:
    async def main() -> None:
        clock = FrozenClock(MONDAY_NOON)
        settings = Settings(database_url=f"sqlite:///{tmp_path}/s.db",
                            _env_file=None)
        server = await Server.start(settings, STACK, env=ENV, clock=clock)
        client: TestClient[Any, Any] = TestClient(TestServer(create_app(server),
                                                             host="127.0.0.1"))
        await client.start_server()
        env = Env(server, client, clock)
        for agent in (*AGENTS, "ghost"):
            env.tokens[agent] = f"sct_test_token_of_{agent}"
            await server.store.add_token("agent", agent, hash_token(env.tokens[agent]),
                                         clock.now())
        try:
            await body(env)
        finally:
            await client.close()
            await server.stop()

    asyncio.run(main())


def conversation_ids(listing: JSONBody) -> list[str]:
    return [c["id"] for c in listing["conversations"]]


# --- authentication ----------------------------------------------------------------------------

def test_requests_without_a_valid_token_are_refused_with_401(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        cases: list[dict[str, str]] = [
            {}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"},
            {"Authorization": "Bearer "}, env.auth("ghost"),  # an agent not in the stack
        ]
        for headers in cases:
            response = await env.client.get("/api/v1/me", headers=headers)
            assert response.status == 401, headers
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "error" in await response.json()
        await env.server.store.revoke_tokens("agent", "anna", env.clock.now())
        response = await env.client.get("/api/v1/conversations", headers=env.auth("anna"))
        assert response.status == 401

    run(tmp_path, body)


def test_me_names_the_agent_their_teams_and_role(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        assert await env.get("/api/v1/me") == (200, {
            "id": "anna", "name": "Anna Schmidt", "email": None, "languages": ["en"],
            "teams": ["general"], "supervisor": False})
        status, sara = await env.get("/api/v1/me", agent="sara")
        assert status == 200 and sara["supervisor"] is True and sara["teams"] == ["leads"]

    run(tmp_path, body)


# --- visibility --------------------------------------------------------------------------------

def test_agents_see_their_teams_conversations_and_supervisors_see_all(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        web = await env.customer_writes("web", "visitor-1", "Where is my order?")
        env.clock.advance(timedelta(minutes=1))
        wa = await env.customer_writes("wa", "4915112345678", "Do you ship to Austria?")

        status, listing = await env.get("/api/v1/conversations")
        assert status == 200 and conversation_ids(listing) == [web]
        first = listing["conversations"][0]
        assert first["status"] == "open" and first["team"] == "general"
        assert first["agent"] == "anna" and first["channel"] == "web"
        assert first["rule"] == "everyone-else" and first["window_open"] is True
        assert first["contact"]["name"] == "Max Muster"
        assert first["contact"]["language"] == "en"
        assert first["last_customer_message"] == MONDAY_NOON.isoformat()

        assert conversation_ids((await env.get("/api/v1/conversations", agent="bob"))[1]) == [wa]
        # newest first
        assert conversation_ids((await env.get("/api/v1/conversations", agent="sara"))[1]) == \
            [wa, web]
        status, filtered = await env.get("/api/v1/conversations", agent="sara", team="sales")
        assert conversation_ids(filtered) == [wa]
        assert conversation_ids((await env.get("/api/v1/conversations", agent="sara",
                                               status="closed"))[1]) == []
        assert conversation_ids((await env.get("/api/v1/conversations", agent="sara",
                                               limit="1"))[1]) == [wa]

        # the other team's conversation does not exist as far as anna can tell
        status, answer = await env.get(f"/api/v1/conversations/{wa}")
        assert status == 404 and "error" in answer
        assert (await env.get("/api/v1/conversations/nope"))[0] == 404
        for action, payload in (("reply", {"text": "hi"}), ("close", None),
                                ("notes", {"text": "x"}), ("transfer", {"team": "general"})):
            status, _ = await env.post(f"/api/v1/conversations/{wa}/{action}", payload)
            assert status == 404, action
        assert (await env.get(f"/api/v1/conversations/{wa}", agent="sara"))[0] == 200

    run(tmp_path, body)


def test_list_parameters_are_checked(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        for params in ({"status": "done"}, {"limit": "0"}, {"limit": "many"},
                       {"limit": "100000"}):
            status, answer = await env.get("/api/v1/conversations", **params)
            assert status == 422, params
            assert next(iter(params)) in answer["error"]

    run(tmp_path, body)


# --- actions -----------------------------------------------------------------------------------

def test_reply_template_and_note_show_in_the_conversation(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        cid = await env.customer_writes("web", "visitor-1", "Where is my order?")
        base = f"/api/v1/conversations/{cid}"

        status, message = await env.post(f"{base}/reply", {"text": "On its way!"})
        assert status == 201
        assert message["direction"] == "out" and message["text"] == "On its way!"
        assert message["author"] == "anna" and message["status"] == "queued"

        status, sent = await env.post(f"{base}/template", {"template": "greeting"})
        assert status == 201
        assert sent["text"] == "Hello Max Muster, this is Anna Schmidt."
        assert sent["payload"]["template_id"] == "greeting"

        status, note = await env.post(f"{base}/notes", {"text": "VIP customer"})
        assert status == 201 and note["author"] == "anna" and note["text"] == "VIP customer"

        status, detail = await env.get(base)
        assert status == 200
        assert [(m["direction"], m["text"]) for m in detail["messages"]] == [
            ("in", "Where is my order?"), ("out", "On its way!"),
            ("out", "Hello Max Muster, this is Anna Schmidt.")]
        assert detail["messages"][0]["author"] is None
        assert [(n["author"], n["text"]) for n in detail["notes"]] == [("anna", "VIP customer")]
        assert "note" in [e["kind"] for e in detail["events"]]
        assert "opened" in [e["kind"] for e in detail["events"]]
        assert detail["csat"] is None
        assert detail["templates_available"] == ["csat", "follow_up", "greeting"]
        # notes never reach the customer
        assert all(m["text"] != "VIP customer" for m in detail["messages"])

    run(tmp_path, body)


def test_bodies_are_validated(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        cid = await env.customer_writes("web", "visitor-1", "Hello")
        base = f"/api/v1/conversations/{cid}"
        response = await env.client.post(f"{base}/reply", data=b"{not json",
                                         headers={**env.auth("anna"),
                                                  "Content-Type": "application/json"})
        assert response.status == 400 and "JSON" in (await response.json())["error"]
        cases: list[tuple[str, Any, str]] = [
            ("reply", {}, "text"), ("reply", {"text": 5}, "text"), ("reply", {"text": " "}, "text"),
            ("reply", ["text"], "object"), ("notes", {"txt": "x"}, "text"),
            ("template", {}, "template"), ("template", {"template": "nope"}, "template"),
            ("transfer", {}, "team"), ("transfer", {"team": "nope"}, "team"),
            ("transfer", {"agent": "nope"}, "agent"),
        ]
        for action, payload, named in cases:
            status, answer = await env.post(f"{base}/{action}", payload)
            assert status == 422, (action, payload)
            assert named in answer["error"], (action, answer)
        status, answer = await env.post(f"{base}/template", {"template": "nope"})
        assert "greeting" in answer["error"]  # the known ones are listed

    run(tmp_path, body)


def test_transfer_to_another_team_moves_it_out_of_sight(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        cid = await env.customer_writes("web", "visitor-1", "I want to buy 500 units")
        status, moved = await env.post(f"/api/v1/conversations/{cid}/transfer",
                                       {"team": "sales"})
        assert status == 200
        assert (moved["team"], moved["agent"], moved["status"]) == ("sales", "bob", "open")
        assert (await env.get(f"/api/v1/conversations/{cid}"))[0] == 404
        assert conversation_ids((await env.get("/api/v1/conversations", agent="bob"))[1]) == \
            [cid]
        status, detail = await env.get(f"/api/v1/conversations/{cid}", agent="bob")
        transfers = [e["data"] for e in detail["events"] if e["kind"] == "transfer"]
        assert transfers == [{"by": "anna", "team": "sales", "agent": "bob"}]

        # to an agent by name (a supervisor may act on anything)
        status, back = await env.post(f"/api/v1/conversations/{cid}/transfer",
                                      {"team": "general", "agent": "anna"}, agent="sara")
        assert status == 200 and (back["team"], back["agent"]) == ("general", "anna")

    run(tmp_path, body)


def test_close_asks_csat_and_reopen_brings_it_back(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        cid = await env.customer_writes("web", "visitor-1", "Thanks, all good")
        base = f"/api/v1/conversations/{cid}"
        status, closed = await env.post(f"{base}/close")
        assert status == 200 and closed["status"] == "closed" and closed["closed_at"]

        status, answer = await env.post(f"{base}/reply", {"text": "one more thing"})
        assert status == 409 and "closed" in answer["error"]
        assert (await env.post(f"{base}/close"))[0] == 409
        closed_list = (await env.get("/api/v1/conversations", status="closed"))[1]
        assert conversation_ids(closed_list) == [cid]

        env.clock.advance(timedelta(minutes=2))
        await env.customer_writes("web", "visitor-1", "5")  # the CSAT answer
        detail = (await env.get(base))[1]
        assert detail["messages"][-2]["text"] == "How did we do? Reply 1 to 5."
        assert detail["csat"]["score"] == 5 and detail["csat"]["comment"] == "5"

        status, reopened = await env.post(f"{base}/reopen")
        assert status == 200 and reopened["status"] == "open"
        assert reopened["agent"] == "anna" and reopened["closed_at"] is None
        assert (await env.post(f"{base}/reopen"))[0] == 409
        assert (await env.post(f"{base}/reply", {"text": "How can I help?"}))[0] == 201

    run(tmp_path, body)


def test_closed_whatsapp_window_refuses_free_text_and_names_the_template(
        tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        cid = await env.customer_writes("wa", "4915112345678", "Is my refund done?")
        base = f"/api/v1/conversations/{cid}"
        assert (await env.post(f"{base}/reply", {"text": "Checking"}, agent="bob"))[0] == 201

        env.clock.advance(timedelta(hours=25))
        status, answer = await env.post(f"{base}/reply", {"text": "Done!"}, agent="bob")
        assert status == 409
        assert answer["templates"] == ["follow_up"]
        assert "follow_up" in answer["error"] and "window" in answer["error"]

        detail = (await env.get(base, agent="bob"))[1]
        assert detail["window_open"] is False
        assert detail["templates_available"] == ["follow_up"]
        assert (await env.post(f"{base}/template", {"template": "greeting"},
                               agent="bob"))[0] == 409

        status, sent = await env.post(f"{base}/template", {"template": "follow_up"},
                                      agent="bob")
        assert status == 201
        assert sent["payload"]["template"] == {"name": "support_follow_up",
                                               "language": "en_US", "params": ["Max Muster"]}
        assert sent["text"] == "[template support_follow_up (en_US): Max Muster]"

    run(tmp_path, body)


# --- live events -------------------------------------------------------------------------------

async def next_event(response: ClientResponse) -> tuple[str, JSONBody]:
    """The next SSE event of the stream (comments skipped), within TIMEOUT."""

    async def read() -> tuple[str, JSONBody]:
        kind, data = "message", ""
        while True:
            line = (await response.content.readline()).decode()
            assert line, "the stream ended"
            line = line.rstrip("\n")
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif line == "" and data:
                return kind, json.loads(data)

    return await asyncio.wait_for(read(), TIMEOUT)


def test_event_stream_delivers_what_the_agent_may_see(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        streams = {agent: await env.client.get("/api/v1/events", headers=env.auth(agent))
                   for agent in ("anna", "bob")}
        for response in streams.values():
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/event-stream")
        web = await env.customer_writes("web", "visitor-1", "Hello")
        wa = await env.customer_writes("wa", "4915112345678", "Hallo")

        # the customer's message, then its assignment, as one change published after commit
        kind, item = await next_event(streams["anna"])
        assert (kind, item["conversation_id"], item["direction"]) == ("message", web, "in")
        kind, item = await next_event(streams["anna"])
        assert kind == "assigned"
        assert item == {"type": "assigned", "conversation_id": web, "team": "general",
                        "agent": "anna"}
        # bob's first events are about his own conversation: anna's were filtered out
        kind, item = await next_event(streams["bob"])
        assert (kind, item["conversation_id"], item["agent"]) == ("message", wa, "bob")
        kind, item = await next_event(streams["bob"])
        assert (kind, item["conversation_id"], item["agent"]) == ("assigned", wa, "bob")

        # the stream ends when the server shuts down
        env.server.bus.close()
        for response in streams.values():
            rest = await asyncio.wait_for(response.content.read(), TIMEOUT)
            assert b"event:" not in rest
            response.close()

    run(tmp_path, body)


def test_event_stream_keeps_alive_and_ends_when_the_client_leaves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_api, "KEEPALIVE", 0.05)

    async def body(env: Env) -> None:
        response = await env.client.get("/api/v1/events", headers=env.auth("sara"))
        assert response.status == 200
        lines: list[bytes] = []
        while b": keepalive\n" not in lines:
            lines.append(await asyncio.wait_for(response.content.readline(), TIMEOUT))
        assert env.server.bus.subscribers("agents") == 1
        response.close()
        for _ in range(100):  # the next keepalive finds the client gone
            if env.server.bus.subscribers("agents") == 0:
                break
            await asyncio.sleep(0.02)
        assert env.server.bus.subscribers("agents") == 0

    run(tmp_path, body)


def test_event_stream_needs_a_token(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        response = await env.client.get("/api/v1/events")
        assert response.status == 401

    run(tmp_path, body)


# --- the OpenAPI document ----------------------------------------------------------------------

def test_a_supervisor_merges_two_contacts_of_one_person(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        web = await env.customer_writes("web", "visitor-7", "Hi, it's Max from the chat")
        wa = await env.customer_writes("wa", "4915100000007", "Max here, on WhatsApp")
        store = env.server.store
        keep = (await store.get_conversation(web)).contact_id
        drop = (await store.get_conversation(wa)).contact_id
        assert keep != drop
        status, refused = await env.post("/api/v1/contacts/merge", {"keep": keep, "drop": drop})
        assert status == 403 and "supervisors" in refused["error"]
        status, wrong = await env.post("/api/v1/contacts/merge",
                                       {"keep": keep, "drop": "nobody"}, agent="sara")
        assert status == 422 and wrong["error"].startswith("drop:")
        status, merged = await env.post("/api/v1/contacts/merge",
                                        {"keep": keep, "drop": drop}, agent="sara")
        assert status == 200 and merged["id"] == keep
        assert sorted(i["channel"] for i in merged["identities"]) == ["wa", "web"]
        assert (await store.get_conversation(wa)).contact_id == keep

    run(tmp_path, body)


def test_openapi_document_describes_every_route_and_nothing_else(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        response = await env.client.get("/api/v1/openapi.json")  # no token needed
        assert response.status == 200
        document = json.loads(await response.text())
        assert document["openapi"] == "3.1.0"
        registered = {(route.resource.canonical, route.method.lower())
                      for route in env.client.app.router.routes()
                      if route.resource is not None
                      and route.resource.canonical.startswith("/api/v1")}
        described = {(path, method) for path, item in document["paths"].items()
                     for method in item}
        assert registered == described
        assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        for schema in document["components"]["schemas"].values():
            Draft202012Validator.check_schema(schema)

        # real answers match their schemas
        def check(answer: Any, name: str) -> None:
            schema = {"$ref": f"#/components/schemas/{name}",
                      "components": document["components"]}
            Draft202012Validator(schema).validate(answer)

        cid = await env.customer_writes("web", "visitor-1", "Hello")
        await env.post(f"/api/v1/conversations/{cid}/notes", {"text": "note"})
        check((await env.get("/api/v1/me"))[1], "Me")
        check((await env.get("/api/v1/conversations"))[1], "ConversationList")
        check((await env.get(f"/api/v1/conversations/{cid}"))[1], "ConversationDetail")
        check((await env.post(f"/api/v1/conversations/{cid}/reply", {"text": "x"}))[1],
              "Message")
        check((await env.post(f"/api/v1/conversations/{cid}/reply", {}))[1], "Error")

    run(tmp_path, body)

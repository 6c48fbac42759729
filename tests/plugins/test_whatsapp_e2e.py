"""WhatsApp end to end: the shop stack served on 127.0.0.1, signed deliveries built from the
payload fixtures, a fake Graph API on loopback, and the agent API reading the result.

The outbox is driven by hand (`send_all`) with a frozen clock, so retries happen when the test
moves the clock past their backoff.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from serving import Running, listening, serving
from supportctl_plugins.whatsapp_runtime import signature

from supportctl.runtime.clock import FrozenClock
from supportctl.store.tokens import hash_token

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PAYLOADS = FIXTURES / "payloads" / "whatsapp"
STACK = FIXTURES / "stacks" / "shop.yaml"
# Monday 23 November 2026, 10:00 in Hamburg: jana and tobias (both speak German) are on shift
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
APP_SECRET = "e2e-app-secret"
PHONE_ID = "106540352242922"
SHEENA = "16505551234"
HANG = "hang"  # a scripted answer of the fake: never answer, so the client times out


@dataclass
class FakeGraph:
    """The Graph API's `/messages`, answering 200 with a new wamid unless a scripted failure
    is next: `(status, body)` or HANG."""

    script: list[tuple[int, dict[str, Any]] | str] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.attempts.append(body)
        answer = self.script.pop(0) if self.script else None
        if answer == HANG:
            await self.release.wait()
            answer = (503, {})
        if isinstance(answer, tuple):
            return web.json_response(answer[1], status=answer[0])
        self.sent.append(body)
        who = body.get("to") or body.get("recipient")
        return web.json_response({"messaging_product": "whatsapp",
                                  "contacts": [{"input": who, "wa_id": who}],
                                  "messages": [{"id": f"wamid.OUT{len(self.sent)}"}]})


def graph_error(status: int, code: int, details: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": f"(#{code}) error", "type": "OAuthException",
                              "code": code, "error_data": {"messaging_product": "whatsapp",
                                                           "details": details},
                              "fbtrace_id": "AbCdEf"}}


@dataclass
class WhatsApp:
    """The served stack, its fake Graph API and the clock, with the customer's side."""

    r: Running
    graph: FakeGraph
    clock: FrozenClock
    tokens: dict[str, str] = field(default_factory=dict)

    async def post(self, body: bytes) -> int:
        headers = {"X-Hub-Signature-256": signature(APP_SECRET, body),
                   "Content-Type": "application/json"}
        async with self.r.http.post(f"{self.r.url}/channels/whatsapp/webhook", data=body,
                                    headers=headers) as response:
            status: int = response.status
            return status

    async def says(self, fixture: str, wamid: str, **fields: Any) -> None:
        """The customer sends the fixture's message, changed by `fields`, now."""
        assert await self.post(message(fixture, wamid, self.clock.now(), **fields)) == 200

    async def statuses(self, *updates: tuple[str, str, datetime]) -> None:
        assert await self.post(statuses(*updates)) == 200

    async def agent(self, name: str) -> dict[str, str]:
        if name not in self.tokens:
            self.tokens[name] = f"sct_wa_e2e_{name}"
            await self.r.server.store.add_token("agent", name, hash_token(self.tokens[name]),
                                                self.clock.now())
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    async def api(self, method: str, path: str, agent: str = "petra",
                  body: dict[str, Any] | None = None) -> tuple[int, Any]:
        async with self.r.http.request(method, f"{self.r.url}/api/v1{path}", json=body,
                                       headers=await self.agent(agent)) as response:
            return response.status, await response.json()

    async def only_conversation(self) -> dict[str, Any]:
        status, found = await self.api("GET", "/conversations")
        assert status == 200
        (conversation,) = found["conversations"]
        detail: dict[str, Any] = (await self.api("GET", f"/conversations/{conversation['id']}"))[1]
        return detail


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
            "changes": [{"field": "messages", "value": value}]}]}


def message(fixture: str, wamid: str, at: datetime, **fields: Any) -> bytes:
    """A delivery of the fixture's message to the shop's number, as `wamid` sent at `at`."""
    value = json.loads((PAYLOADS / fixture).read_text())["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    value["messages"][0].update(id=wamid, timestamp=str(int(at.timestamp())), **fields)
    return json.dumps(envelope(value)).encode()


def statuses(*updates: tuple[str, str, datetime]) -> bytes:
    """One delivery of (wamid, status, at) updates, in the order given."""
    value = json.loads((PAYLOADS / "statuses.json").read_text())["entry"][0]["changes"][0]
    value = value["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    first = value["statuses"][0]
    value["statuses"] = [{**copy.deepcopy(first), "id": wamid, "status": status,
                          "timestamp": str(int(at.timestamp()))}
                         for wamid, status, at in updates]
    return json.dumps(envelope(value)).encode()


@asynccontextmanager
async def whatsapp(tmp: Path) -> AsyncIterator[WhatsApp]:
    clock = FrozenClock(MONDAY_10)
    graph = FakeGraph()
    fake = web.Application()
    fake.router.add_post("/v21.0/{phone}/messages", graph.messages)
    environment = {"WA_ACCESS_TOKEN": "e2e-access-token", "WA_APP_SECRET": APP_SECRET,
                   "WA_VERIFY_TOKEN": "e2e-verify", "SLACK_WEBHOOK_URL": "https://hooks.example/x"}
    async with listening(fake) as graph_url, serving(
            STACK, tmp / "support.db", clock, {**environment, "WA_API_BASE": graph_url}) as running:
        try:
            yield WhatsApp(running, graph, clock)
        finally:  # a hanging answer ends before the fake shuts down (it would wait for it)
            graph.release.set()


def run(body: Callable[[WhatsApp], Awaitable[None]], tmp_path: Path) -> None:
    async def served() -> None:
        async with whatsapp(tmp_path) as wa:
            await body(wa)

    asyncio.run(served())


def button_reply(option: dict[str, Any]) -> dict[str, Any]:
    return {"interactive": {"type": "button_reply", "button_reply": option["reply"]}}


def list_reply(row: dict[str, Any]) -> dict[str, Any]:
    return {"interactive": {"type": "list_reply",
                            "list_reply": {"id": row["id"], "title": row["title"]}}}


def rows(sent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert sent["interactive"]["type"] == "list"
    return {row["title"]: row for row in sent["interactive"]["action"]["sections"][0]["rows"]}


def buttons(sent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert sent["interactive"]["type"] == "button"
    return {b["reply"]["title"]: b for b in sent["interactive"]["action"]["buttons"]}


# --- a whole conversation -----------------------------------------------------------------------


async def menus_to_an_answer_and_a_person(wa: WhatsApp) -> dict[str, Any]:
    """Text, the main menu as a list, a submenu as buttons, an FAQ answer, back, and a person."""
    await wa.says("text.json", "wamid.IN1", text={"body": "Hallo"})
    await wa.r.send_all()
    main = rows(wa.graph.sent[-1])
    assert list(main) == ["Bestellung & Versand", "Kaffee & Zubereitung", "Für Cafés & Büros",
                          "Mit jemandem sprechen"]
    await wa.says("interactive_list_reply.json", "wamid.IN2",
                  **list_reply(main["Kaffee & Zubereitung"]))
    await wa.r.send_all()
    coffee = buttons(wa.graph.sent[-1])
    assert list(coffee) == ["Mahlgrad", "Abo ändern", "Bohnen lagern"]
    await wa.says("interactive_button_reply.json", "wamid.IN3", **button_reply(coffee["Mahlgrad"]))
    await wa.r.send_all()
    answer = wa.graph.sent[-1]
    assert answer["type"] == "text"
    assert answer["text"]["body"].startswith("Espresso: fein wie Mehl.")
    await wa.says("text.json", "wamid.IN4", text={"body": "0"})  # back to the main menu
    await wa.r.send_all()
    await wa.says("interactive_list_reply.json", "wamid.IN5",
                  **list_reply(rows(wa.graph.sent[-1])["Mit jemandem sprechen"]))
    await wa.r.send_all()
    return await wa.only_conversation()


def test_a_customer_from_the_menus_to_an_agent_statuses_and_csat(tmp_path: Path) -> None:
    async def body(wa: WhatsApp) -> None:
        conversation = await menus_to_an_answer_and_a_person(wa)
        assert conversation["status"] == "open"
        assert conversation["agent"] in ("jana", "tobias")  # German speakers on shift
        assert conversation["contact"]["name"] == "Sheena Nelson"
        assert conversation["window_open"] is True
        agent, cid = conversation["agent"], conversation["id"]
        status, _ = await wa.api("POST", f"/conversations/{cid}/reply", agent,
                                 {"text": "Hallo Sheena, wie kann ich helfen?"})
        assert status == 201
        await wa.r.send_all()
        reply = wa.graph.sent[-1]
        assert (reply["to"], reply["text"]["body"]) == (SHEENA,
                                                        "Hallo Sheena, wie kann ich helfen?")
        wamid = f"wamid.OUT{len(wa.graph.sent)}"
        now = wa.clock.now()
        at = [now + timedelta(seconds=s) for s in (1, 2, 30)]
        await wa.statuses((wamid, "sent", at[0]), (wamid, "delivered", at[1]))
        assert await delivery_of(wa, cid, wamid) == ("delivered", None)
        # read, then a delivered that Meta sent earlier but that arrives last
        await wa.statuses((wamid, "read", at[2]), (wamid, "delivered", at[1]))
        assert await delivery_of(wa, cid, wamid) == ("read", at[2])
        await closed_then_csat_by_template_button(wa, agent, cid)

    run(body, tmp_path)


async def delivery_of(wa: WhatsApp, cid: str, wamid: str) -> tuple[str, datetime | None]:
    """The status of the outbound message the Graph API knows as `wamid`, and when it was read."""
    detail = (await wa.api("GET", f"/conversations/{cid}"))[1]
    number = int(wamid.removeprefix("wamid.OUT"))
    sent = wa.graph.sent[number - 1]
    (found,) = [m for m in detail["messages"]
                if m["direction"] == "out" and m["text"] == sent["text"]["body"]]
    read = found["read_at"]
    return found["status"], datetime.fromisoformat(read) if read else None


async def closed_then_csat_by_template_button(wa: WhatsApp, agent: str, cid: str) -> None:
    """A day later the window is closed: the CSAT question goes as the approved template, and
    the customer answers with its quick-reply button."""
    wa.clock.set(wa.clock.now() + timedelta(hours=25))
    status, _ = await wa.api("POST", f"/conversations/{cid}/close", agent)
    assert status == 200
    await wa.r.send_all()
    question = wa.graph.sent[-1]
    assert question["type"] == "template"
    assert question["template"]["name"] == "support_csat"
    assert question["template"]["language"] == {"code": "de"}
    await wa.says("button.json", "wamid.IN6", button={"payload": "csat-5", "text": "5"})
    await wa.r.send_all()
    assert wa.graph.sent[-1]["text"]["body"].startswith("Danke!")  # inside the new window
    detail = (await wa.api("GET", f"/conversations/{cid}"))[1]
    assert detail["status"] == "closed"
    assert detail["csat"]["score"] == 5


def test_statuses_out_of_order_in_one_delivery_keep_the_latest(tmp_path: Path) -> None:
    async def body(wa: WhatsApp) -> None:
        await wa.says("text.json", "wamid.IN1", text={"body": "Hallo"})
        await wa.r.send_all()
        (conversation,) = (await wa.api("GET", "/conversations"))[1]["conversations"]
        now = wa.clock.now()
        # the order of statuses.json: read first, sent last
        await wa.statuses(("wamid.OUT1", "read", now + timedelta(seconds=40)),
                          ("wamid.OUT1", "delivered", now + timedelta(seconds=5)),
                          ("wamid.OUT1", "sent", now + timedelta(seconds=1)))
        detail = (await wa.api("GET", f"/conversations/{conversation['id']}"))[1]
        menu = next(m for m in detail["messages"] if m["direction"] == "out")
        assert menu["status"] == "read"
        assert [datetime.fromisoformat(menu[k]) - now for k in ("delivered_at", "read_at")] == [
            timedelta(seconds=5), timedelta(seconds=40)]

    run(body, tmp_path)


# --- failures of the Graph API -----------------------------------------------------------------


def test_a_500_and_a_timeout_are_retried_until_the_api_recovers(tmp_path: Path) -> None:
    async def body(wa: WhatsApp) -> None:
        wa.graph.script = [graph_error(500, 2, "Service temporarily unavailable"), HANG]
        runtime = wa.r.server.live().channels["whatsapp"]
        async with ClientSession(timeout=ClientTimeout(total=0.5)) as impatient:
            runtime.http = impatient  # the server's own session waits 30 s before giving up
            await wa.says("text.json", "wamid.IN1", text={"body": "Hallo"})
            for attempt in range(1, 4):
                assert await wa.r.send_all() == 1
                assert len(wa.graph.attempts) == attempt
                wa.clock.set(wa.clock.now() + timedelta(minutes=5))  # past any backoff
        assert await wa.r.send_all() == 0  # nothing left to retry
        assert len(wa.graph.sent) == 1
        assert wa.graph.attempts == [wa.graph.sent[0]] * 3  # the same menu each time
        menu = next(m for m in (await wa.only_conversation())["messages"]
                    if m["direction"] == "out")
        assert menu["status"] == "sent"

    run(body, tmp_path)


WINDOW_CLOSED = graph_error(400, 131047, "Message failed to send because more than 24 hours "
                                         "have passed since the customer last replied to this "
                                         "number.")


async def refused_for_the_window(wa: WhatsApp) -> dict[str, Any]:
    """A customer handed to an agent, whose reply Meta refuses with 131047."""
    await menus_to_an_answer_and_a_person(wa)
    conversation = await wa.only_conversation()
    wa.graph.script = [WINDOW_CLOSED]
    status, _ = await wa.api("POST", f"/conversations/{conversation['id']}/reply",
                             conversation["agent"], {"text": "Noch da?"})
    assert status == 201
    await wa.r.send_all()
    return await wa.only_conversation()


def test_a_send_refused_with_131047_records_that_the_window_closed(tmp_path: Path) -> None:
    async def body(wa: WhatsApp) -> None:
        conversation = await refused_for_the_window(wa)
        reply = conversation["messages"][-1]
        assert (reply["text"], reply["status"]) == ("Noch da?", "failed")
        assert reply["error"].startswith("131047: Message failed to send because more than 24")
        (closed,) = [e for e in conversation["events"] if e["kind"] == "window_closed"]
        assert closed["data"]["code"] == "131047"
        assert await wa.r.send_all() == 0  # permanent: not retried

    run(body, tmp_path)


def test_after_131047_the_window_is_closed_until_the_customer_writes_again(
        tmp_path: Path) -> None:
    async def body(wa: WhatsApp) -> None:
        conversation = await refused_for_the_window(wa)
        assert conversation["window_open"] is False  # Meta said so, whatever our clock says
        status, refused = await wa.api("POST", f"/conversations/{conversation['id']}/reply",
                                       conversation["agent"], {"text": "Hallo?"})
        assert status == 409 and "templates" in refused
        wa.clock.advance(timedelta(minutes=1))
        await wa.says("text.json", "wamid.back")
        assert (await wa.only_conversation())["window_open"] is True

    run(body, tmp_path)


# --- a full batch -----------------------------------------------------------------------------


def full_batch() -> bytes:
    """1,000 text messages from 1,000 customers in one delivery of over 3 MB, as Meta batches
    them after an outage."""
    value = json.loads((PAYLOADS / "text.json").read_text())["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    template, at = value["messages"][0], str(int(MONDAY_10.timestamp()))
    contacts, messages = [], []
    for n in range(1000):
        phone = f"4917{n:08d}"
        contacts.append({"profile": {"name": f"Kunde {n}"}, "wa_id": phone,
                         "user_id": f"DE.{n:020d}"})
        messages.append({**template, "from": phone, "from_user_id": f"DE.{n:020d}",
                         "id": f"wamid.BATCH{n:04d}", "timestamp": at,
                         "text": {"body": f"Bestellung {n}: " + "Kaffee " * 440}})
    value.update(contacts=contacts, messages=messages)
    return json.dumps(envelope(value)).encode()


def test_a_3_mb_batch_of_1000_messages_is_stored_once_each(tmp_path: Path) -> None:
    async def body(wa: WhatsApp) -> None:
        batch = full_batch()
        assert len(batch) > 3 * 1024 * 1024  # aiohttp's default 1 MiB would answer 413
        assert await wa.post(batch) == 200
        assert await wa.post(batch) == 200  # Meta delivers it again: nothing new
        # the webhook answers once the batch is stored; the receipts worker processes the rest
        for _ in range(1000):
            if await wa.r.server.receipts.run_once() == 0:
                break
        conversations = await wa.r.server.store.list_conversations(channel="whatsapp",
                                                                   limit=2000)
        assert len(conversations) == 1000
        inbound = [m for c in conversations
                   for m in await wa.r.server.store.list_messages(c.id)
                   if m.direction.value == "in"]
        assert sorted(m.external_id or "" for m in inbound) == [
            f"wamid.BATCH{n:04d}" for n in range(1000)]

    run(body, tmp_path)

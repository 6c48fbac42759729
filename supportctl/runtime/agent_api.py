"""The agent API under `/api/v1`: what agents, supervisors and their tools act through.

Every endpoint but `/api/v1/openapi.json` needs `Authorization: Bearer <token>`, a token of kind
`agent` whose subject is an agent of the stack now served (a token of an agent removed from the
stack stops working at the reload). An agent sees the conversations of their teams and those they
hold; a supervisor sees every conversation. A conversation the agent may not see answers 404, as
one that does not exist. Errors are `{"error": ...}`: 400 malformed JSON, 401 no valid token,
404, 409 an action that cannot be done now (closed window, closed conversation), 422 a field
missing or invalid (the message names it). docs/agent-api.md has curl examples; the OpenAPI
document (supportctl/runtime/openapi.py) describes every route.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from supportctl.plugins.json_values import unicode_text
from supportctl.runtime import openapi
from supportctl.runtime.desk import may_see, teams_of
from supportctl.runtime.feed import AGENTS_TOPIC
from supportctl.runtime.lifecycle.agents import ActionRefused
from supportctl.runtime.lifecycle.sending import (
    NoRuntime,
    WindowClosed,
    templates_for,
    window_open,
)
from supportctl.runtime.live import LiveStack
from supportctl.runtime.payloads import PayloadError, display_text
from supportctl.runtime.responses import error
from supportctl.runtime.server import Server
from supportctl.store.interface import NotFound
from supportctl.store.records import (
    JSON,
    Contact,
    Conversation,
    ConversationStatus,
    Event,
    Message,
    TokenKind,
)
from supportctl.store.tokens import hash_token

log = structlog.get_logger("supportctl.agent_api")

PREFIX = "/api/v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# the store lists oldest first: this many are read to pick the newest `limit` of them
SCAN = 10_000
KEEPALIVE = 15.0  # seconds between `: keepalive` comments on the event stream
# an open event stream checks its token this often: revoking it ends the stream within a second
RECHECK = 1.0
MAX_TEXT = 10_000  # characters of a reply or a note

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AgentHandler = Callable[[web.Request, "Caller"], Awaitable[web.StreamResponse]]


class Invalid(Exception):
    """A request that cannot be read (400), names no conversation the caller sees (404), or
    whose fields are missing or invalid (422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated agent and the stack that answers this request."""

    agent: str
    live: LiveStack
    now: datetime
    token_hash: str = ""

    @property
    def supervisor(self) -> bool:
        return self.live.stack.agents[self.agent].supervisor

    def sees(self, conversation: Conversation) -> bool:
        return may_see(self.live, self.agent, conversation)


def unauthorized(message: str) -> web.Response:
    return web.json_response({"error": message}, status=401,
                             headers={"WWW-Authenticate": 'Bearer realm="supportctl"'})


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# --- request reading ---------------------------------------------------------------------------

async def body_of(request: web.Request) -> dict[str, Any]:
    """The JSON object in the body: 400 when it is not JSON, 422 when it is not an object."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(422, "the body must be a JSON object")
    return data


def text_field(data: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(422, f"field {name!r} is required")
        return None
    if not isinstance(value, str):
        raise Invalid(422, f"field {name!r} must be a string")
    if not value.strip():
        raise Invalid(422, f"field {name!r} must not be empty")
    if len(value) > MAX_TEXT:
        raise Invalid(422, f"field {name!r} is longer than {MAX_TEXT} characters")
    return value


def limit_of(query: Mapping[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise Invalid(422, "parameter 'limit' must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(422, f"parameter 'limit' must be between 1 and {MAX_LIMIT}")
    return limit


def bearer(request: web.Request) -> str | None:
    # bytes that are not UTF-8 arrive as lone surrogates: no token, not a 500
    header = unicode_text(request.headers.get("Authorization", ""))
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


# --- JSON of records ---------------------------------------------------------------------------

def contact_json(contact: Contact | None) -> JSON | None:
    if contact is None:
        return None
    return {"id": contact.id, "name": contact.name, "language": contact.language}


def last_customer_message(conversation: Conversation) -> str | None:
    times = conversation.last_customer_message
    if not times:
        return None
    at = times.get(conversation.channel) or max(times.values())
    return at.isoformat()


def message_json(message: Message) -> JSON:
    try:
        text = display_text(message.payload)
    except PayloadError:
        text = ""
    return {"id": message.id, "direction": message.direction.value, "channel": message.channel,
            "text": text, "payload": message.payload, "status": message.status.value,
            "author": message.author, "created_at": iso(message.created_at),
            "sent_at": iso(message.sent_at), "delivered_at": iso(message.delivered_at),
            "read_at": iso(message.read_at), "error": message.error}


def event_json(event: Event) -> JSON:
    return {"id": event.id, "kind": event.kind, "data": event.data, "at": iso(event.at)}


def note_json(event: Event) -> JSON:
    return {"id": event.id, "author": event.data.get("author"), "text": event.data.get("text"),
            "at": iso(event.at)}


class Api:
    """The handlers, bound to one server."""

    def __init__(self, server: Server) -> None:
        self.server = server

    # --- plumbing --------------------------------------------------------------------------

    def authed(self, handler: AgentHandler) -> Handler:
        """The handler behind the bearer token check, with the API's errors mapped."""

        async def handle(request: web.Request) -> web.StreamResponse:
            token = bearer(request)
            if token is None:
                return unauthorized("an agent token is required: Authorization: Bearer <token>")
            live, now = self.server.live(), self.server.clock.now()
            found = await self.server.store.use_token(TokenKind.AGENT.value, hash_token(token),
                                                      now)
            if found is None:
                return unauthorized("the token is unknown or revoked")
            if found.subject not in live.stack.agents:
                return unauthorized(f"agent {found.subject!r} is not in the stack served now")
            caller = Caller(found.subject, live, now, found.token_hash)
            try:
                return await handler(request, caller)
            except Invalid as exc:
                return error(exc.status, str(exc))
            except WindowClosed as exc:
                return error(409, str(exc), templates=exc.templates)
            except NoRuntime as exc:
                return error(409, str(exc))
            except ActionRefused as exc:
                return error(409, str(exc))

        return handle

    async def visible(self, caller: Caller, request: web.Request) -> Conversation:
        """The conversation of the path; 404 when there is none or the caller may not see it."""
        conversation_id = request.match_info["id"]
        try:
            conversation = await self.server.store.get_conversation(conversation_id)
        except NotFound:
            conversation = None
        if conversation is None or not caller.sees(conversation):
            raise Invalid(404, f"no conversation {conversation_id!r}")
        return conversation

    async def contacts(self, conversations: list[Conversation]) -> dict[str, Contact]:
        found: dict[str, Contact] = {}
        for conversation in conversations:
            if conversation.contact_id not in found:
                with contextlib.suppress(NotFound):
                    found[conversation.contact_id] = await self.server.store.get_contact(
                        conversation.contact_id)
        return found

    def conversation_json(self, caller: Caller, conversation: Conversation,
                          contact: Contact | None) -> JSON:
        return {"id": conversation.id, "status": conversation.status.value,
                "channel": conversation.channel, "team": conversation.team,
                "agent": conversation.agent, "rule": conversation.rule,
                "contact": contact_json(contact), "opened_at": iso(conversation.opened_at),
                "closed_at": iso(conversation.closed_at),
                "updated_at": iso(conversation.updated_at),
                "window_open": window_open(caller.live, conversation, caller.now, human=True),
                "last_customer_message": last_customer_message(conversation)}

    async def one(self, caller: Caller, conversation: Conversation) -> JSON:
        contacts = await self.contacts([conversation])
        return self.conversation_json(caller, conversation, contacts.get(conversation.contact_id))

    def templates_available(self, caller: Caller, conversation: Conversation) -> list[str]:
        """Templates an agent can send now: any with a text or a native version for the channel
        inside the window; outside it only those with a native version."""
        live = caller.live
        if conversation.channel not in live.channels:
            return []
        if not window_open(live, conversation, caller.now, human=True):
            return templates_for(live, conversation.channel)
        kind = live.channel_type(conversation.channel)
        return sorted(tid for tid, template in live.stack.templates.items()
                      if template.text or live.texts.has_native(tid, kind))

    # --- endpoints -------------------------------------------------------------------------

    async def me(self, _request: web.Request, caller: Caller) -> web.StreamResponse:
        model = caller.live.stack.agents[caller.agent]
        return web.json_response({"id": caller.agent, "name": model.name,
                                  "email": model.email, "languages": list(model.languages),
                                  "teams": sorted(teams_of(caller.live, caller.agent)),
                                  "supervisor": model.supervisor})

    async def conversations(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        query = request.query
        status: ConversationStatus | None = None
        if query.get("status"):
            try:
                status = ConversationStatus(query["status"])
            except ValueError:
                raise Invalid(422, "parameter 'status' must be one of: "
                              + ", ".join(s.value for s in ConversationStatus)) from None
        team = query.get("team") or None
        agent = query.get("agent") or None
        limit = limit_of(query)
        store = self.server.store
        if caller.supervisor:
            found = await store.list_conversations(status=status, team=team, agent=agent,
                                                   limit=SCAN)
        else:
            mine = sorted(teams_of(caller.live, caller.agent))
            found = await store.list_conversations(status=status, team=team, agent=agent,
                                                   teams=mine, limit=SCAN)
            if agent in (None, caller.agent):
                held = await store.list_conversations(status=status, team=team,
                                                      agent=caller.agent, limit=SCAN)
                known = {c.id for c in found}
                found += [c for c in held if c.id not in known]
        visible = [c for c in found if caller.sees(c)]
        visible.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
        visible = visible[:limit]
        contacts = await self.contacts(visible)
        return web.json_response({"conversations": [
            self.conversation_json(caller, c, contacts.get(c.contact_id)) for c in visible]})

    async def conversation(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        conversation = await self.visible(caller, request)
        store = self.server.store
        body = await self.one(caller, conversation)
        messages = await store.list_messages(conversation.id)
        events = await store.list_events(conversation.id)
        csat = await store.get_csat(conversation.id)
        body.update({
            "messages": [message_json(m) for m in messages],
            "notes": [note_json(e) for e in events if e.kind == "note"],
            "events": [event_json(e) for e in events],
            "csat": ({"score": csat.score, "comment": csat.comment, "at": iso(csat.at)}
                     if csat is not None else None),
            "templates_available": self.templates_available(caller, conversation)})
        return web.json_response(body)

    async def reply(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        conversation = await self.visible(caller, request)
        text = text_field(await body_of(request), "text")
        assert text is not None
        message = await self.server.desk.reply(conversation.id, caller.agent, text)
        return web.json_response(message_json(message), status=201)

    async def template(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        conversation = await self.visible(caller, request)
        template_id = text_field(await body_of(request), "template")
        assert template_id is not None
        try:
            message = await self.server.desk.send_template(conversation.id, caller.agent,
                                                           template_id)
        except ActionRefused as exc:
            if template_id not in caller.live.stack.templates:
                raise Invalid(422, f"field 'template': {exc}") from None
            raise
        return web.json_response(message_json(message), status=201)

    async def transfer(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        conversation = await self.visible(caller, request)
        data = await body_of(request)
        team = text_field(data, "team", required=False)
        agent = text_field(data, "agent", required=False)
        stack = caller.live.stack
        if team is None and agent is None:
            raise Invalid(422, "field 'team' or 'agent' is required: say where to")
        if team is not None and team not in stack.teams:
            raise Invalid(422, f"field 'team': no team {team!r}; known: "
                          + ", ".join(sorted(stack.teams)))
        if agent is not None and agent not in stack.agents:
            raise Invalid(422, f"field 'agent': no agent {agent!r}; known: "
                          + ", ".join(sorted(stack.agents)))
        moved = await self.server.desk.transfer(conversation.id, caller.agent, team=team,
                                                agent=agent)
        return web.json_response(await self.one(caller, moved))

    async def close(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        conversation = await self.visible(caller, request)
        closed = await self.server.desk.close(conversation.id, caller.agent)
        return web.json_response(await self.one(caller, closed))

    async def reopen(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        conversation = await self.visible(caller, request)
        reopened = await self.server.desk.reopen_by(conversation.id, caller.agent)
        return web.json_response(await self.one(caller, reopened))

    async def add_note(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        conversation = await self.visible(caller, request)
        text = text_field(await body_of(request), "text")
        assert text is not None
        note = await self.server.desk.note(conversation.id, caller.agent, text)
        return web.json_response(note_json(note), status=201)

    async def merge_contacts(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Supervisors join two contacts the channels could not match (same person, no
        verified phone or email in common)."""
        if not caller.supervisor:
            return error(403, "merging contacts is for supervisors")
        data = await body_of(request)
        keep, drop = text_field(data, "keep"), text_field(data, "drop")
        assert keep is not None and drop is not None
        if keep == drop:
            raise Invalid(422, "drop: must be another contact than keep")
        store = self.server.store
        for field, contact_id in (("keep", keep), ("drop", drop)):
            try:
                await store.get_contact(contact_id)
            except NotFound:
                raise Invalid(422, f"{field}: no contact {contact_id!r}") from None
        merged = await store.merge_contacts(keep, drop, caller.now)
        return web.json_response({
            **(contact_json(merged) or {}),
            "identities": [{"channel": i.channel, "external_user_id": i.external_user_id}
                           for i in merged.identities]})

    async def events(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Server-Sent Events of what happens to the conversations the agent may see, until
        the client leaves, the server stops, or the token stops working (revoked, or its agent
        removed from the stack) - within RECHECK seconds of that."""
        response = web.StreamResponse(status=200, headers={
            "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no"})
        # subscribed before the headers go out: a client that has them misses nothing
        async with self.server.bus.subscribe(AGENTS_TOPIC) as items:
            await response.prepare(request)
            try:
                await response.write(b": connected\n\n")
                await self._pump(response, caller, items)
                transport = request.transport
                if transport is not None and not transport.is_closing():
                    await response.write_eof()
            except ConnectionError:
                pass  # the client left
        return response

    async def _still_allowed(self, caller: Caller) -> bool:
        if caller.agent not in self.server.live().stack.agents:
            return False  # removed from the stack by a reload: the token no longer works
        return await self.server.store.token_valid(TokenKind.AGENT.value, caller.token_hash,
                                                   self.server.clock.now())

    async def _pump(self, response: web.StreamResponse, caller: Caller,
                    items: AsyncIterator[Any]) -> None:
        following: asyncio.Future[Any] | None = None
        written = checked = time.monotonic()
        try:
            while True:
                if following is None:
                    following = asyncio.ensure_future(anext(items))
                done, _ = await asyncio.wait({following}, timeout=min(RECHECK, KEEPALIVE))
                if time.monotonic() - checked >= RECHECK:  # at most once a second, however busy
                    if not await self._still_allowed(caller):
                        log.info("event stream ended: the token no longer works",
                                 agent=caller.agent)
                        return
                    checked = time.monotonic()
                if not done:
                    if time.monotonic() - written >= KEEPALIVE:
                        await response.write(b": keepalive\n\n")
                        written = time.monotonic()
                    continue
                try:
                    item = following.result()
                except StopAsyncIteration:
                    return  # the bus closed (shutdown) or dropped a slow reader
                finally:
                    following = None
                live = self.server.live()
                if isinstance(item, dict) and await self._item_visible(live, caller.agent, item):
                    data = json.dumps(item, default=str, ensure_ascii=False)
                    kind = str(item.get("type", "message")).replace("\n", " ")
                    await response.write(f"event: {kind}\ndata: {data}\n\n".encode())
                    written = time.monotonic()
        finally:
            if following is not None:
                following.cancel()

    async def _item_visible(self, live: LiveStack, agent: str, item: Mapping[str, Any]) -> bool:
        model = live.stack.agents[agent]
        if model.supervisor:
            return True
        if "team" in item or "agent" in item:
            return item.get("agent") == agent or item.get("team") in teams_of(live, agent)
        conversation_id = item.get("conversation_id")
        if not isinstance(conversation_id, str):
            return False
        try:
            conversation = await self.server.store.get_conversation(conversation_id)
        except NotFound:
            return False
        return may_see(live, agent, conversation)

    async def openapi_json(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(openapi.document())


def setup(app: web.Application, server: Server) -> None:
    """Add the `/api/v1` routes for `server` to `app`."""
    api = Api(server)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/me", api.authed(api.me)),
        ("GET", "/conversations", api.authed(api.conversations)),
        ("GET", "/conversations/{id}", api.authed(api.conversation)),
        ("POST", "/conversations/{id}/reply", api.authed(api.reply)),
        ("POST", "/conversations/{id}/template", api.authed(api.template)),
        ("POST", "/conversations/{id}/transfer", api.authed(api.transfer)),
        ("POST", "/conversations/{id}/close", api.authed(api.close)),
        ("POST", "/conversations/{id}/reopen", api.authed(api.reopen)),
        ("POST", "/conversations/{id}/notes", api.authed(api.add_note)),
        ("POST", "/contacts/merge", api.authed(api.merge_contacts)),
        ("GET", "/events", api.authed(api.events)),
        ("GET", "/openapi.json", api.openapi_json),
    ]
    for method, path, handler in routes:
        if method == "GET":
            app.router.add_get(PREFIX + path, handler, allow_head=False)
        else:
            app.router.add_route(method, PREFIX + path, handler)

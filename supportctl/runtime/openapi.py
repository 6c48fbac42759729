"""The OpenAPI 3.1 document of the agent API, served at `/api/v1/openapi.json`.

Written by hand beside supportctl/runtime/agent_api.py; a test checks that every route the API
registers is described here and that nothing else is.
"""

from __future__ import annotations

import copy
from typing import Any

from supportctl import __version__ as VERSION

JSON = dict[str, Any]

STATUSES = ["open", "queued", "waiting", "closed"]


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: JSON) -> JSON:
    return {"anyOf": [schema, {"type": "null"}]}


TIME = {"type": "string", "format": "date-time"}
TEXT = {"type": "string", "minLength": 1, "maxLength": 10_000}

SCHEMAS: JSON = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string", "description": "what went wrong"},
                       "templates": {"type": "array", "items": {"type": "string"},
                                     "description": "with a closed window: the templates "
                                                    "that can still be sent"}},
    },
    "Me": {
        "type": "object", "required": ["id", "name", "teams", "supervisor"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                       "email": nullable({"type": "string"}),
                       "languages": {"type": "array", "items": {"type": "string"}},
                       "teams": {"type": "array", "items": {"type": "string"}},
                       "supervisor": {"type": "boolean"}},
    },
    "Contact": {
        "type": "object", "required": ["id", "name", "language"],
        "properties": {"id": {"type": "string"}, "name": nullable({"type": "string"}),
                       "language": nullable({"type": "string"})},
    },
    "Conversation": {
        "type": "object",
        "required": ["id", "status", "channel", "team", "agent", "rule", "contact", "opened_at",
                     "closed_at", "updated_at", "window_open", "last_customer_message"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": STATUSES},
            "channel": {"type": "string", "description": "the channel it was opened on"},
            "team": nullable({"type": "string"}),
            "agent": nullable({"type": "string"}),
            "rule": nullable({"type": "string"}),
            "contact": nullable(ref("Contact")),
            "opened_at": TIME, "closed_at": nullable(TIME), "updated_at": TIME,
            "window_open": {"type": "boolean",
                            "description": "whether an agent's free text can reach the "
                                           "customer now"},
            "last_customer_message": nullable(TIME),
        },
    },
    "ConversationList": {
        "type": "object", "required": ["conversations"],
        "properties": {"conversations": {"type": "array", "items": ref("Conversation")}},
    },
    "Message": {
        "type": "object",
        "required": ["id", "direction", "text", "payload", "status", "author", "created_at",
                     "sent_at", "error"],
        "properties": {
            "id": {"type": "string"},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "channel": {"type": "string"},
            "text": {"type": "string", "description": "what a person reads"},
            "payload": {"type": "object", "description": "the message as stored"},
            "status": {"type": "string",
                       "enum": ["received", "queued", "sent", "delivered", "read", "failed"]},
            "author": nullable({"type": "string"}),
            "created_at": TIME, "sent_at": nullable(TIME), "delivered_at": nullable(TIME),
            "read_at": nullable(TIME), "error": nullable({"type": "string"}),
        },
    },
    "Note": {
        "type": "object", "required": ["id", "author", "text", "at"],
        "properties": {"id": nullable({"type": "string"}), "author": {"type": "string"},
                       "text": {"type": "string"}, "at": TIME},
    },
    "Event": {
        "type": "object", "required": ["id", "kind", "data", "at"],
        "properties": {"id": {"type": "string"}, "kind": {"type": "string"},
                       "data": {"type": "object"}, "at": TIME},
    },
    "Csat": {
        "type": "object", "required": ["score", "comment", "at"],
        "properties": {"score": {"type": "integer", "minimum": 1},
                       "comment": nullable({"type": "string"}), "at": TIME},
    },
    "ConversationDetail": {
        "allOf": [ref("Conversation"), {
            "type": "object",
            "required": ["messages", "notes", "events", "csat", "templates_available"],
            "properties": {
                "messages": {"type": "array", "items": ref("Message")},
                "notes": {"type": "array", "items": ref("Note")},
                "events": {"type": "array", "items": ref("Event"),
                           "description": "the audit log, oldest first (notes included)"},
                "csat": nullable(ref("Csat")),
                "templates_available": {
                    "type": "array", "items": {"type": "string"},
                    "description": "templates that can be sent now (outside the window only "
                                   "those with a native version for the channel)"},
            },
        }],
    },
    "MergeBody": {
        "type": "object", "required": ["keep", "drop"],
        "properties": {"keep": {"type": "string", "description": "contact id kept"},
                       "drop": {"type": "string", "description": "contact id merged into it"}},
    },
    "MergedContact": {
        "type": "object", "required": ["id", "name", "language", "identities"],
        "properties": {
            "id": {"type": "string"}, "name": nullable({"type": "string"}),
            "language": nullable({"type": "string"}),
            "identities": {"type": "array", "items": {
                "type": "object", "required": ["channel", "external_user_id"],
                "properties": {"channel": {"type": "string"},
                               "external_user_id": {"type": "string"}}}},
        },
    },
    "TextBody": {
        "type": "object", "required": ["text"], "properties": {"text": TEXT},
    },
    "TemplateBody": {
        "type": "object", "required": ["template"],
        "properties": {"template": {"type": "string", "minLength": 1,
                                    "description": "a template id of the stack"}},
    },
    "TransferBody": {
        "type": "object", "minProperties": 1,
        "properties": {"team": {"type": "string", "minLength": 1},
                       "agent": {"type": "string", "minLength": 1}},
        "description": "a team (its assignment picks the agent), an agent, or both",
    },
}


def json_body(schema: JSON) -> JSON:
    return {"content": {"application/json": {"schema": schema}}}


def response(description: str, schema: JSON | None = None) -> JSON:
    body: JSON = {"description": description}
    if schema is not None:
        body.update(json_body(schema))
    return body


def problem(description: str) -> JSON:
    return response(description, ref("Error"))


UNAUTHORIZED = problem("no valid agent token (the answer has `WWW-Authenticate: Bearer`)")
NOT_FOUND = problem("no such conversation, or one the agent may not see")
CONFLICT = problem("cannot be done now: the conversation is closed, the channel's messaging "
                   "window is closed (`templates` lists what can still be sent), or the "
                   "channel cannot send")
INVALID = problem("a field is missing or invalid; the message names it")
MALFORMED = problem("the body is not valid JSON")

ID_PARAMETER = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
                "description": "the conversation id"}


def action(summary: str, description: str, ok: JSON, *, body: JSON | None = None,
           operation_id: str) -> JSON:
    operation: JSON = {
        "summary": summary, "description": description, "operationId": operation_id,
        "tags": ["conversations"], "parameters": [ID_PARAMETER],
        "responses": {**ok, "401": UNAUTHORIZED, "404": NOT_FOUND, "409": CONFLICT},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, **json_body(body)}
        operation["responses"].update({"400": MALFORMED, "422": INVALID})
    return {"post": operation}


def paths() -> JSON:
    return {
        "/api/v1/me": {"get": {
            "summary": "The agent the token belongs to", "operationId": "me", "tags": ["agent"],
            "responses": {"200": response("the agent", ref("Me")), "401": UNAUTHORIZED}}},
        "/api/v1/conversations": {"get": {
            "summary": "Conversations the agent may see, most recently updated first",
            "description": "A supervisor sees all; an agent those of their teams and their own.",
            "operationId": "listConversations", "tags": ["conversations"],
            "parameters": [
                {"name": "status", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": STATUSES}},
                {"name": "team", "in": "query", "required": False, "schema": {"type": "string"}},
                {"name": "agent", "in": "query", "required": False,
                 "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
            ],
            "responses": {"200": response("the conversations", ref("ConversationList")),
                          "401": UNAUTHORIZED, "422": INVALID}}},
        "/api/v1/conversations/{id}": {"get": {
            "summary": "One conversation with its messages, notes, events and CSAT answer",
            "operationId": "getConversation", "tags": ["conversations"],
            "parameters": [ID_PARAMETER],
            "responses": {"200": response("the conversation", ref("ConversationDetail")),
                          "401": UNAUTHORIZED, "404": NOT_FOUND}}},
        "/api/v1/conversations/{id}/reply": action(
            "Reply with free text",
            "Queued for sending; refused with 409 outside the channel's messaging window.",
            {"201": response("the message queued", ref("Message"))},
            body=ref("TextBody"), operation_id="reply"),
        "/api/v1/conversations/{id}/template": action(
            "Send a template",
            "Its text inside the window, its native version for the channel outside it.",
            {"201": response("the message queued", ref("Message"))},
            body=ref("TemplateBody"), operation_id="sendTemplate"),
        "/api/v1/conversations/{id}/transfer": action(
            "Transfer to a team or an agent", "The conversation is assigned again.",
            {"200": response("the conversation", ref("Conversation"))},
            body=ref("TransferBody"), operation_id="transfer"),
        "/api/v1/conversations/{id}/close": action(
            "Close", "Asks the CSAT question when a person handled the conversation.",
            {"200": response("the conversation", ref("Conversation"))},
            operation_id="close"),
        "/api/v1/conversations/{id}/reopen": action(
            "Reopen a closed conversation", "It goes back to its agent, or is routed again.",
            {"200": response("the conversation", ref("Conversation"))},
            operation_id="reopen"),
        "/api/v1/conversations/{id}/notes": action(
            "Add an internal note", "Seen by agents, never sent to the customer.",
            {"201": response("the note", ref("Note"))},
            body=ref("TextBody"), operation_id="addNote"),
        "/api/v1/contacts/merge": {"post": {
            "summary": "Merge two contacts (supervisors)",
            "description": "The identities and conversations of `drop` move to `keep`, which "
                           "keeps its own attributes and takes `drop`'s only where it has none.",
            "operationId": "mergeContacts", "tags": ["contacts"],
            "requestBody": {"required": True, **json_body(ref("MergeBody"))},
            "responses": {"200": response("the kept contact", ref("MergedContact")),
                          "401": UNAUTHORIZED,
                          "403": problem("the agent is not a supervisor"),
                          "422": INVALID}}},
        "/api/v1/events": {"get": {
            "summary": "Live events (Server-Sent Events)",
            "description": "One SSE event per change of a conversation the agent may see: "
                           "`event:` is its type (assigned, message, message_status, closed, "
                           "notify), `data:` a JSON object with `type` and `conversation_id`. A "
                           "`: keepalive` comment comes every 15 seconds; the stream ends when "
                           "the server shuts down.",
            "operationId": "events", "tags": ["agent"],
            "responses": {"200": {"description": "the event stream",
                                  "content": {"text/event-stream": {
                                      "schema": {"type": "string"}}}},
                          "401": UNAUTHORIZED}}},
        "/api/v1/openapi.json": {"get": {
            "summary": "This document", "operationId": "openapi", "tags": ["meta"],
            "security": [],
            "responses": {"200": response("the OpenAPI document", {"type": "object"})}}},
    }


def document() -> JSON:
    """The OpenAPI 3.1 document of the agent API (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "supportctl agent API", "version": VERSION,
                 "description": "What agents and supervisors act through: conversations, "
                                "replies, templates, transfers, notes and live events."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [{"name": "agent"}, {"name": "conversations"}, {"name": "contacts"},
                 {"name": "meta"}],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "an agent token (`supportctl token create AGENT`)"}},
            "schemas": copy.deepcopy(SCHEMAS),
        },
    }

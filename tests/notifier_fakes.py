"""Fakes of what notifiers post to, as aiohttp apps for tests/serving.py's `listening`.

`FakeSlack` is an incoming-webhook endpoint that checks messages the way Slack documents them
(Block Kit parsed by slack_sdk, an independent implementation); `FakeReceiver` is a generic
webhook receiver verifying `X-Supportctl-Signature` exactly as docs/notifications.md tells
receivers to. Both answer from a queue of scripted answers, then 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

SLACK_PATH = "/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX"


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def slack_problem(message: Any) -> str | None:
    """Why Slack would refuse an incoming-webhook message (`invalid_payload`), or None."""
    if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
        return "no text or blocks"
    blocks = message.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "blocks is not a list of at most 50"
    try:
        parsed = Block.parse_all(blocks)
        # to_dict validates Slack's length limits; the round trip shows no key was unknown
        if [b.to_dict() for b in parsed] != blocks:
            return "blocks did not survive slack_sdk's round trip"
    except (SlackObjectFormationError, AttributeError, TypeError) as exc:
        return f"blocks rejected by slack_sdk: {exc}"
    return None


class FakeSlack:
    """An incoming webhook: 400 invalid_payload for what Slack refuses, else the next
    scripted answer, else 200 ok."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[Answer] = []

    def answer(self, status: int, text: str, **headers: str) -> None:
        self.answers.append(Answer(status, text, dict(headers)))

    async def post(self, request: web.Request) -> web.Response:
        try:
            message = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if slack_problem(message) is not None:
            return web.Response(status=400, text="invalid_payload")
        self.received.append(message)
        if self.answers:
            scripted = self.answers.pop(0)
            return web.Response(status=scripted.status, text=scripted.text,
                                headers=scripted.headers)
        return web.Response(text="ok")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(SLACK_PATH, self.post)
        return app


def verified(secret: str, headers: Any, raw: bytes) -> bool:
    """The receiver's check, as docs/notifications.md shows it."""
    timestamp = headers.get("X-Supportctl-Timestamp", "")
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Supportctl-Signature", ""))


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


class FakeReceiver:
    """A webhook endpoint at `/hooks/{name}` for each name, one secret each: 401 for a bad
    signature, else the next scripted answer, else 204."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.received: dict[str, list[Received]] = {name: [] for name in secrets}
        self.refused = 0
        self.answers: list[Answer] = []

    def answer(self, status: int, text: str = "", **headers: str) -> None:
        self.answers.append(Answer(status, text, dict(headers)))

    async def post(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        raw = await request.read()
        if name not in self.secrets or not verified(self.secrets[name], request.headers, raw):
            self.refused += 1
            return web.Response(status=401, text="bad signature")
        self.received[name].append(Received(dict(request.headers), json.loads(raw)))
        if self.answers:
            scripted = self.answers.pop(0)
            return web.Response(status=scripted.status, text=scripted.text,
                                headers=scripted.headers)
        return web.Response(status=204)

    def kinds(self, name: str) -> list[str]:
        return [r.body["type"] for r in self.received[name]]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self.post)
        return app

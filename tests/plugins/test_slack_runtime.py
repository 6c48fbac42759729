"""Slack incoming-webhook notifier: the message we post, Slack's limits, and how each answer
of Slack's is read. Checked against a fake Slack on loopback that parses Block Kit with
slack_sdk, and which slack_sdk's own webhook client can post to."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from notifier_fakes import SLACK_PATH, FakeSlack, slack_problem
from serving import listening
from slack_sdk.webhook.async_client import AsyncWebhookClient
from supportctl_plugins.slack import SlackNotifier, plugin
from supportctl_plugins.slack_runtime import (
    FIELD_TEXT,
    SECTION_TEXT,
    SlackNotifierRuntime,
    escaped,
    mention,
    message,
)

from supportctl.plugins.notifier import DeliveryResult, Notification
from supportctl.runtime.live import notifier_class

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads" / "slack"
LINK = "https://support.example/api/v1/conversations/01JD0000000000000000000000"
ESCALATION = Notification(
    "01JD0000000000000000000001", "conversation.escalated",
    datetime(2026, 11, 23, 9, 10, tzinfo=UTC), "01JD0000000000000000000000", "webchat",
    "leads", "lena", "Eva Braun",
    "Eva Braun on Shop chat: no answer for 10 min, escalated to Shift leads", LINK,
    {"team_name": "Shift leads", "agent_name": "Lena Lang", "channel_name": "Shop chat",
     "waited_seconds": 600.0, "after": 600.0, "to": "leads"})


def config(url: str = "http://127.0.0.1:9/x", mention: str | None = "@here") -> SlackNotifier:
    return SlackNotifier(type="slack", webhook_url=url, mention=mention)


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def test_the_plugin_names_its_runtime() -> None:
    assert notifier_class(plugin) is SlackNotifierRuntime


def test_an_escalation_is_a_section_with_fields_and_a_link() -> None:
    sent = message(ESCALATION, config())
    assert sent == payload("escalation.json")
    assert slack_problem(sent) is None


def test_without_a_link_or_a_mention_there_is_neither() -> None:
    bare = Notification("1", "conversation.routed", ESCALATION.occurred_at, "C", "chat", None,
                        None, None, "A customer on chat: routed to no team", None)
    sent = message(bare, config(mention=None))
    assert sent["text"] == "A customer on chat: routed to no team"
    assert [b["type"] for b in sent["blocks"]] == ["section"]
    assert sent["blocks"][0]["fields"] == [{"type": "mrkdwn", "text": "*Agent*\nnobody yet"},
                                           {"type": "mrkdwn", "text": "*Channel*\nchat"}]
    assert slack_problem(sent) is None


@pytest.mark.parametrize(("written", "sent"), [
    ("@here", "<!here>"), ("@channel", "<!channel>"), ("<!subteam^S012345>",
                                                        "<!subteam^S012345>"), ("  ", None)])
def test_mentions_are_written_as_slack_pings_them(written: str, sent: str | None) -> None:
    assert mention(written) == sent


def test_customer_text_is_escaped_and_cut_within_slacks_limits() -> None:
    name = "<script> & " * 1000  # 11 000 characters, many of them escaped
    long = Notification("1", "csat.answered", ESCALATION.occurred_at, "C", "chat", "t" * 3000,
                        None, name, f"{name} rated the conversation 1/5", None,
                        {"score": 1, "scale": 5, "comment": name})
    sent = message(long, config())
    section, comment = sent["blocks"]
    assert len(section["text"]["text"]) <= SECTION_TEXT
    assert "<script>" not in json.dumps(sent)
    assert all(len(f["text"]) <= FIELD_TEXT for f in section["fields"])
    assert len(comment["text"]["text"]) <= SECTION_TEXT
    assert len(sent["text"]) <= 3000
    assert slack_problem(sent) is None  # slack_sdk's own limits agree


@pytest.mark.parametrize("limit", range(1, 12))
def test_a_cut_never_splits_an_escape(limit: int) -> None:
    cut = escaped("a&b<c>d", limit)
    assert len(cut) <= limit
    assert cut.rstrip("…") == "a&amp;b&lt;c&gt;d"[:len(cut.rstrip("…"))]
    assert not cut.rstrip("…").endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))


def test_the_fake_accepts_slacks_documented_example_and_slack_sdks_client() -> None:
    async def body() -> None:
        slack = FakeSlack()
        async with listening(slack.app()) as base, ClientSession() as http:
            example = payload("documented_example.json")
            async with http.post(base + SLACK_PATH, json=example) as reply:
                assert (reply.status, await reply.text()) == (200, "ok")
            client = AsyncWebhookClient(base + SLACK_PATH, session=http)
            sent = await client.send(text=message(ESCALATION, config())["text"],
                                     blocks=message(ESCALATION, config())["blocks"])
            assert (sent.status_code, sent.body) == (200, "ok")
            async with http.post(base + SLACK_PATH, json={"blocks": [{"type": "nope"}]}
                                 ) as reply:
                assert (reply.status, await reply.text()) == (400, "invalid_payload")
            assert slack.received[0] == example
            assert slack.received[1] == payload("escalation.json")

    asyncio.run(body())


async def deliver_with(answer: tuple[int, str, dict[str, str]] | None) -> tuple[
        DeliveryResult, FakeSlack]:
    slack = FakeSlack()
    if answer is not None:
        slack.answer(answer[0], answer[1], **answer[2])
    async with listening(slack.app()) as base, ClientSession() as http:
        runtime = SlackNotifierRuntime("leads", config(base + SLACK_PATH), http=http)
        return await runtime.deliver(ESCALATION), slack


@pytest.mark.parametrize(("answer", "expected"), [
    (None, DeliveryResult.delivered()),
    ((429, "rate_limited", {"Retry-After": "7"}),
     DeliveryResult.temporary("HTTP 429: rate_limited", 7.0)),
    ((500, "rollup_error", {}), DeliveryResult.temporary("HTTP 500: rollup_error")),
    ((400, "invalid_payload", {}), DeliveryResult.failed("HTTP 400: invalid_payload")),
    ((403, "action_prohibited", {}), DeliveryResult.failed("HTTP 403: action_prohibited")),
    ((404, "no_service", {}), DeliveryResult.failed("HTTP 404: no_service")),
    ((410, "channel_is_archived", {}), DeliveryResult.failed("HTTP 410: channel_is_archived")),
])
def test_each_answer_of_slack_is_read(answer: tuple[int, str, dict[str, str]] | None,
                                      expected: DeliveryResult) -> None:
    result, slack = asyncio.run(deliver_with(answer))
    assert result == expected
    assert slack.received == [payload("escalation.json")]


def test_a_webhook_nobody_answers_is_a_temporary_error_that_hides_the_url() -> None:
    async def body() -> DeliveryResult:
        async with ClientSession() as http:
            secret_url = "http://127.0.0.1:9/services/T0/B0/secret-part"
            return await SlackNotifierRuntime("leads", config(secret_url),
                                              http=http).deliver(ESCALATION)

    result = asyncio.run(body())
    assert not result.ok and not result.permanent
    assert result.error is not None and "secret-part" not in result.error


def test_without_a_shared_session_the_runtime_opens_and_closes_its_own() -> None:
    async def body() -> None:
        slack = FakeSlack()
        async with listening(slack.app()) as base:
            runtime = SlackNotifierRuntime("leads", config(base + SLACK_PATH))
            assert (await runtime.deliver(ESCALATION)).ok
            own = await runtime.session()
            await runtime.close()
            assert own.closed
        assert len(slack.received) == 1

    asyncio.run(body())

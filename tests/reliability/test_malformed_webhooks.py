"""The server under a storm of malformed webhooks: WhatsApp, Telegram, WeChat and Messenger
served for real on 127.0.0.1, sent a few hundred broken but correctly signed deliveries at once
(tests/malformed.py), with replays, oversized bodies, bad signatures, wrong content types and
bodies that are no JSON or XML among them.

Every answer is a 2xx or a 4xx (the one the channel's parser gives on its own), nothing is
logged at error level, a refused delivery stores nothing, and a replayed one is stored once.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from malformed import (
    KINDS,
    META_APP_SECRET,
    PAYLOADS,
    TELEGRAM_SECRET,
    WECHAT_AES_KEY,
    WECHAT_TOKEN,
    Signed,
    raw_request,
    sign_meta,
    sign_telegram,
    sign_wechat,
    sign_wechat_safe,
)
from serving import Running, serving

from supportctl.logs import configure_logging
from supportctl.plugins.channel import receive
from supportctl.runtime.clock import FrozenClock

STACK = Path(__file__).resolve().parent.parent / "fixtures" / "stacks" / "four-webhooks.yaml"
ENVIRONMENT = {"WA_ACCESS_TOKEN": "storm-wa-token", "META_APP_SECRET": META_APP_SECRET,
               "META_VERIFY_TOKEN": "storm-verify", "TELEGRAM_BOT_TOKEN": "6012345678:AAE-storm",
               "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET, "WECHAT_APP_SECRET": "storm-secret",
               "WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_AES_KEY": WECHAT_AES_KEY,
               "FB_PAGE_TOKEN": "storm-page-token"}
CHANNEL_OF = {"whatsapp": "whatsapp", "telegram": "telegram", "wechat": "wechat",
              "wechat-safe": "wechat", "messenger": "messenger"}
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DELIVERIES = 300  # broken ones, sent at once
AT_ONCE = 32  # requests in flight together
LONG = 50_000  # characters of a long string: over WeChat's 64 KiB in safe mode, not elsewhere
REPLAYS = 4  # times each replayed delivery is sent, at once
DRAIN_ROUNDS = 50  # receipt batches processed after the storm, at most


@dataclass(frozen=True)
class Sent:
    """A request of the storm and the status it must get (None: what the parser says)."""

    channel: str
    signed: Signed
    expected: int | None = None
    method: str = "POST"
    path: str = ""


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """Everything the server logs, as JSON lines; logging is left as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    yield stream
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()


async def send(r: Running, request: Sent, gate: asyncio.Semaphore) -> int:
    path = request.path or f"/channels/{request.channel}/webhook"
    async with gate, r.http.request(request.method, f"{r.url}{path}", data=request.signed.body,
                                    params=request.signed.query,
                                    headers=request.signed.headers) as response:
        await response.read()
        status: int = response.status
        return status


async def send_all(r: Running, requests: list[Sent]) -> list[int]:
    gate = asyncio.Semaphore(AT_ONCE)
    return await asyncio.gather(*(send(r, request, gate) for request in requests))


async def drain(r: Running) -> None:
    """Process what the webhooks stored but left to the receipts worker (which is not running)."""
    for _ in range(DRAIN_ROUNDS):
        if not await r.server.receipts.run_once():
            return
    raise AssertionError(f"the receipts queue still had work after {DRAIN_ROUNDS} rounds")


async def stored(r: Running) -> tuple[int, int]:
    """(conversations, messages) in the database."""
    conversations = await r.server.store.list_conversations(limit=1_000_000)
    messages = [len(await r.server.store.list_messages(c.id)) for c in conversations]
    return len(conversations), sum(messages)


async def inbound_ids(r: Running) -> list[tuple[str, str | None]]:
    conversations = await r.server.store.list_conversations(limit=1_000_000)
    return [(m.channel, m.external_id) for c in conversations
            for m in await r.server.store.list_messages(c.id) if m.direction == "in"]


def fixture(channel: str, name: str) -> bytes:
    return (PAYLOADS / channel / name).read_bytes()


def replays() -> list[tuple[Sent, str]]:
    """A new message on each channel (and its external id), fit to be sent again and again."""
    wa = json.loads(fixture("whatsapp", "text.json"))
    wa["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.REPLAYED"
    telegram = json.loads(fixture("telegram", "text.json"))
    telegram["update_id"] = 990001
    messenger = json.loads(fixture("messenger", "text.json"))
    messenger["entry"][0]["messaging"][0]["message"]["mid"] = "m_REPLAYED"
    wechat = re.sub(rb"<MsgId>\d+</MsgId>", b"<MsgId>99990001</MsgId>",
                    fixture("wechat", "text.xml"))
    wechat_safe = wechat.replace(b"99990001", b"99990002")
    return [(Sent("whatsapp", sign_meta(json.dumps(wa).encode())), "wamid.REPLAYED"),
            (Sent("telegram", sign_telegram(json.dumps(telegram).encode())), "990001"),
            (Sent("messenger", sign_meta(json.dumps(messenger).encode())), "m_REPLAYED"),
            (Sent("wechat", sign_wechat(wechat)), "99990001"),
            (Sent("wechat", sign_wechat_safe(wechat_safe)), "99990002")]


def odd_requests() -> list[Sent]:
    """Requests that are no delivery at all, each with the status it must get."""
    text = fixture("whatsapp", "text.json")
    update = fixture("telegram", "text.json")
    wechat = fixture("wechat", "text.xml")
    messenger = fixture("messenger", "text.json")
    safe = sign_wechat_safe(wechat)
    unsigned = {"Content-Type": "application/json"}
    return [
        # larger than the server (4 MiB) or the channel (1 MiB, WeChat 64 KiB) takes
        Sent("whatsapp", sign_meta(b" " * (4 * 1024 * 1024 + 1) + text), 413),
        Sent("telegram", sign_telegram(update + b" " * (1024 * 1024)), 413),
        Sent("messenger", sign_meta(messenger + b" " * (1024 * 1024)), 413),
        Sent("wechat", sign_wechat(wechat + b" " * (64 * 1024)), 413),
        # signatures missing, wrong, or of another body
        Sent("whatsapp", Signed(text, headers=unsigned), 401),
        Sent("whatsapp", Signed(text, headers={**sign_meta(text).headers,
                                               "X-Hub-Signature-256": "sha256=00"}), 403),
        Sent("messenger", Signed(messenger, headers=sign_meta(text).headers), 403),
        Sent("telegram", Signed(update, headers={**sign_telegram(update).headers,
                                                 "X-Telegram-Bot-Api-Secret-Token": "guess"}),
             403),
        Sent("wechat", Signed(wechat, {**sign_wechat(wechat).query, "signature": "0" * 40}),
             403),
        Sent("wechat", Signed(safe.body, {**safe.query, "msg_signature": "0" * 40}), 403),
        # the right signature over what is no delivery, or in another content type
        Sent("whatsapp", sign_meta(b"<html>not json</html>"), 400),
        Sent("whatsapp", sign_meta(b"\xff\xfe\x00"), 400),
        Sent("messenger", sign_meta(wechat), 400),
        Sent("wechat", sign_wechat(text), 400),
        Sent("telegram", sign_telegram(b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n"
                                       b"1\r\n--x--\r\n"), 400),
        Sent("whatsapp", Signed(text, headers={**sign_meta(text).headers,
                                               "Content-Type": "text/plain"}), 200),
        Sent("telegram", Signed(update, headers={**sign_telegram(update).headers,
                                                 "Content-Type": "application/x-www-form-"
                                                                 "urlencoded"}), 200),
        # no delivery, no channel
        Sent("whatsapp", sign_meta(text), 405, method="PUT"),
        Sent("whatsapp", Signed(b""), 405, method="GET"),
        Sent("nowhere", sign_meta(text), 404),
    ]


async def storm(r: Running, broken: list[Sent]) -> None:
    live = r.server.live()
    requests = broken + odd_requests()
    statuses = await send_all(r, requests)
    for request, status in zip(requests, statuses, strict=True):
        assert 200 <= status < 300 or 400 <= status < 500, (status, request)
        if request.expected is not None:
            assert status == request.expected, (status, request)
            continue
        runtime = live.channels[request.channel]
        if len(request.signed.body) <= min(runtime.max_body, r.server.settings.max_body_bytes):
            # the server answers what the channel's parser decides, and nothing else
            alone = receive(runtime, request.signed.request()).response.status
            assert status == alone, (status, alone, request)
        else:
            assert status == 413
    await drain(r)

    # a refused delivery stores nothing: all of them again, at once, change nothing
    refused = [request for request, status in zip(requests, statuses, strict=True)
               if status >= 400]
    before = await stored(r)
    again = await send_all(r, refused)
    await drain(r)
    assert again == [status for status in statuses if status >= 400]
    assert await stored(r) == before
    assert len(refused) > DELIVERIES // 4  # the storm was one of broken deliveries

    # a delivery sent again (the provider did not hear our answer) is stored once
    replayed = replays()
    statuses = await send_all(r, [sent for sent, _ in replayed for _ in range(REPLAYS)])
    assert set(statuses) == {200}
    await drain(r)
    ids = await inbound_ids(r)
    for sent, external_id in replayed:
        assert ids.count((sent.channel, external_id)) == 1, (sent.channel, external_id)


def broken_deliveries(count: int) -> list[Sent]:
    """`count` broken deliveries to the stack's channels, made as for the plugins' tests."""
    made: list[Sent] = []

    @settings(max_examples=count, phases=[Phase.generate], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(kind=st.sampled_from(sorted(CHANNEL_OF)), data=st.data())
    def make(kind: str, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(KINDS[kind].fixtures()))
        made.append(Sent(CHANNEL_OF[kind], KINDS[kind].sign(
            data.draw(KINDS[kind].mutated(name, LONG)))))

    make()
    return made


def test_a_storm_of_malformed_webhooks_gets_only_2xx_and_4xx_and_stores_nothing_refused(
        tmp_path: Path, log: io.StringIO) -> None:
    broken = broken_deliveries(DELIVERIES)

    async def main() -> None:
        async with serving(STACK, tmp_path / "support.db", FrozenClock(MONDAY_9),
                           ENVIRONMENT) as r:
            await storm(r, broken)

    asyncio.run(main())
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert lines, "nothing was logged: the log was not captured"
    assert "Traceback" not in log.getvalue()
    assert [line for line in lines if line["level"] in ("error", "critical")] == []
    assert any(line["event"] == "webhook rejected" for line in lines)


def test_header_bytes_that_are_not_utf8_are_a_wrong_signature(tmp_path: Path) -> None:
    text = fixture("whatsapp", "text.json")
    update = fixture("telegram", "text.json")

    async def main() -> None:
        async with serving(STACK, tmp_path / "support.db", FrozenClock(MONDAY_9),
                           ENVIRONMENT) as r:
            assert await raw_request(r.url, "POST", "/channels/whatsapp/webhook",
                                     b"X-Hub-Signature-256: sha256=\xff\xfe\r\n", text) == 403
            assert await raw_request(r.url, "POST", "/channels/telegram/webhook",
                                     b"X-Telegram-Bot-Api-Secret-Token: \xed\xa0\x80\r\n",
                                     update) == 403
            assert await stored(r) == (0, 0)

    asyncio.run(main())

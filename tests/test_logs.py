"""Logging: one line per event, JSON or console, context binding, secret redaction."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import ClientSession, web
from pydantic import SecretStr

from supportctl.logs import (
    ACCESS_LOG_FORMAT,
    bind_conversation,
    clear_secrets,
    configure_logging,
    get_logger,
    register_secrets,
)

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Leave the root logger, structlog and the secret registry as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    clear_secrets()


def json_lines(stream: io.StringIO) -> list[str]:
    """The lines written, each timestamp checked and replaced by `T`."""
    text = stream.getvalue()
    assert text.endswith("\n") or not text
    lines = text.splitlines()
    for line in lines:
        assert TIMESTAMP.search(line), line
    return [TIMESTAMP.sub("T", line) for line in lines]


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in json_lines(stream)]


def json_log(level: str = "info") -> tuple[io.StringIO, structlog.stdlib.BoundLogger]:
    stream = io.StringIO()
    configure_logging("json", level, stream)
    return stream, get_logger("supportctl.test")


def test_json_line_is_exact() -> None:
    stream, log = json_log()
    log.info("conversation assigned", team="general", open=3)
    assert json_lines(stream) == [
        '{"event": "conversation assigned", "level": "info", "logger": "supportctl.test", '
        '"open": 3, "team": "general", "timestamp": "T"}'
    ]


def test_timestamp_is_utc_iso_8601() -> None:
    stream, log = json_log()
    log.warning("late")
    stamp = json.loads(stream.getvalue())["timestamp"]
    assert stamp.endswith("Z")
    moment = datetime.fromisoformat(stamp)
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(seconds=30)


def test_one_event_per_line_even_with_line_breaks_and_odd_values() -> None:
    stream, log = json_log()
    log.info("two\nlines", path=Path("stack.yaml"))
    try:
        raise RuntimeError("database gone")
    except RuntimeError:
        log.exception("send failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = map(json.loads, lines)
    assert (first["event"], first["path"]) == ("two\nlines", "stack.yaml")
    assert second["level"] == "error"
    assert second["exception"].startswith("Traceback (most recent call last):")
    assert second["exception"].endswith("RuntimeError: database gone")


def test_context_is_bound_inside_the_block_and_removed_after() -> None:
    stream, log = json_log()
    with bind_conversation(conversation_id=42, channel="web", contact_id="c-7", agent="anna"):
        log.info("replied")
        with bind_conversation(agent="li"):
            log.info("transferred")
        log.info("back")
    log.info("outside")
    assert json_lines(stream) == [
        '{"agent": "anna", "channel": "web", "contact_id": "c-7", "conversation_id": 42, '
        '"event": "replied", "level": "info", "logger": "supportctl.test", "timestamp": "T"}',
        '{"agent": "li", "channel": "web", "contact_id": "c-7", "conversation_id": 42, '
        '"event": "transferred", "level": "info", "logger": "supportctl.test", "timestamp": "T"}',
        '{"agent": "anna", "channel": "web", "contact_id": "c-7", "conversation_id": 42, '
        '"event": "back", "level": "info", "logger": "supportctl.test", "timestamp": "T"}',
        '{"event": "outside", "level": "info", "logger": "supportctl.test", "timestamp": "T"}',
    ]


def test_unset_fields_are_not_bound_and_exceptions_still_unbind() -> None:
    stream, log = json_log()
    with pytest.raises(KeyError), bind_conversation(conversation_id=1):
        log.info("inside")
        raise KeyError("x")
    log.info("after")
    inside, after = events(stream)
    assert inside["conversation_id"] == 1
    assert not {"channel", "contact_id", "agent"} & inside.keys()
    assert "conversation_id" not in after


def test_context_reaches_stdlib_records() -> None:
    stream, _ = json_log()
    with bind_conversation(conversation_id=9, channel="wa-main"):
        logging.getLogger("aiohttp.access").info('%s "%s" %s', "10.0.0.1", "POST /x", 200)
    assert json_lines(stream) == [
        '{"channel": "wa-main", "conversation_id": 9, "event": "10.0.0.1 \\"POST /x\\" 200", '
        '"level": "info", "logger": "aiohttp.access", "timestamp": "T"}'
    ]


async def serve_one_request(path: str) -> None:
    async def ok(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/channels/wa-main/webhook", ok)
    runner = web.AppRunner(app, access_log_format=ACCESS_LOG_FORMAT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}{path}") as r:
            assert r.status == 200
    finally:
        await runner.cleanup()


def test_aiohttp_access_log_is_one_structured_redacted_line() -> None:
    stream, _ = json_log()
    asyncio.run(serve_one_request(
        "/channels/wa-main/webhook?hub.mode=subscribe&hub.verify_token=vt-9&hub.challenge=7"))
    (event,) = events(stream)
    request = ("GET /channels/wa-main/webhook?hub.mode=subscribe&hub.verify_token=[redacted]"
               "&hub.challenge=7 HTTP/1.1")
    seconds = event.pop("request_time_frac")
    assert re.fullmatch(r"\d+\.\d{6}", seconds)
    size = event.pop("response_size")  # aiohttp counts the headers too
    assert isinstance(size, int)
    assert size > 2
    assert event == {
        "event": f'127.0.0.1 "{request}" 200 {size} {seconds}',
        "first_request_line": request, "remote_address": "127.0.0.1", "response_status": 200,
        "level": "info", "logger": "aiohttp.access", "timestamp": "T",
    }


def test_console_access_line_is_the_message_alone() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream)
    asyncio.run(serve_one_request("/channels/wa-main/webhook"))
    assert re.fullmatch(
        TIMESTAMP.pattern + r' \[info\s*\] 127\.0\.0\.1 "GET /channels/wa-main/webhook '
        r'HTTP/1\.1" 200 \d+ \d+\.\d{6} \[aiohttp\.access\]\n',
        stream.getvalue(),
    )


def test_secret_named_keys_are_redacted_at_any_depth() -> None:
    stream, log = json_log()
    log.info("request", access_token="EAAG-abc", Authorization="Bearer xyz", password=None,
             headers={"X-Api-Key": "k1", "accept": "json"},
             channels=[{"id": "wa", "app_secret": {"nested": "s"}}], tokens_left=5)
    assert events(stream) == [{
        "event": "request", "level": "info", "logger": "supportctl.test", "timestamp": "T",
        "access_token": "[redacted]", "Authorization": "[redacted]", "password": None,
        "headers": {"X-Api-Key": "[redacted]", "accept": "json"},
        "channels": [{"id": "wa", "app_secret": "[redacted]"}],
        # a name like a secret's is redacted even when it is not one: the safe side
        "tokens_left": "[redacted]",
    }]


def test_registered_values_are_redacted_everywhere() -> None:
    stream, log = json_log()
    register_secrets(["wa-secret-value", SecretStr("admin-token-0123"), None, ""])
    log.info("sending with wa-secret-value now", body={"to": ["x", "wa-secret-value"]},
             pair=("admin-token-0123", 1), held=SecretStr("anything"))
    logging.getLogger("aiohttp.access").info("GET /path?q=%s", "admin-token-0123")
    assert events(stream) == [
        {"event": "sending with [redacted] now", "body": {"to": ["x", "[redacted]"]},
         "pair": ["[redacted]", 1], "held": "[redacted]", "level": "info",
         "logger": "supportctl.test", "timestamp": "T"},
        {"event": "GET /path?q=[redacted]", "level": "info", "logger": "aiohttp.access",
         "timestamp": "T"},
    ]


def test_secrets_inside_a_traceback_are_redacted() -> None:
    stream, log = json_log()
    register_secrets(["sk-live-4242"])
    try:
        raise ValueError("provider refused sk-live-4242")
    except ValueError:
        log.exception("send failed")
    (event,) = events(stream)
    assert event["exception"].endswith("ValueError: provider refused [redacted]")
    assert "sk-live-4242" not in stream.getvalue()


def test_stdlib_tracebacks_are_rendered_and_redacted_the_same_way() -> None:
    stream, _ = json_log()
    register_secrets(["sk-live-4242"])
    try:
        raise ValueError("provider refused sk-live-4242")
    except ValueError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
    (event,) = events(stream)
    assert (event["event"], event["logger"]) == ("Error handling request", "aiohttp.server")
    assert event["exception"].startswith("Traceback (most recent call last):")
    assert event["exception"].endswith("ValueError: provider refused [redacted]")


def test_registering_again_adds_and_clearing_forgets() -> None:
    stream, log = json_log()
    register_secrets(["first-secret"])
    register_secrets(["second-secret"])
    log.info("first-secret second-secret")
    clear_secrets()
    log.info("first-secret")
    assert [e["event"] for e in events(stream)] == ["[redacted] [redacted]", "first-secret"]


def test_longer_secret_containing_a_shorter_one_is_redacted_whole() -> None:
    stream, log = json_log()
    register_secrets(["abcd", "abcdefgh"])
    log.info("x abcdefgh y")
    assert events(stream)[0]["event"] == "x [redacted] y"


def test_very_short_values_are_not_replaced_in_text() -> None:
    stream, log = json_log()
    register_secrets(["on"])
    log.info("connection on", token="on")
    (event,) = events(stream)
    assert (event["event"], event["token"]) == ("connection on", "[redacted]")


def test_url_credentials_and_credential_query_parameters_are_redacted() -> None:
    stream, log = json_log()
    log.info("connecting to postgresql://app:pw-9@db:5432/support",
             line='GET /channels/wa/webhook?hub.mode=subscribe&hub.verify_token=vt-1&x=2')
    (event,) = events(stream)
    assert event["event"] == "connecting to postgresql://app:[redacted]@db:5432/support"
    assert event["line"] == (
        "GET /channels/wa/webhook?hub.mode=subscribe&hub.verify_token=[redacted]&x=2")


def test_level_filtering_applies_to_structlog_and_stdlib() -> None:
    stream, log = json_log("warning")
    log.info("dropped")
    logging.getLogger("aiohttp.access").info("dropped too")
    log.warning("kept")
    logging.getLogger("aiohttp.server").error("kept too")
    assert [e["event"] for e in events(stream)] == ["kept", "kept too"]
    assert [e["level"] for e in events(stream)] == ["warning", "error"]


def test_debug_level_lets_debug_through() -> None:
    stream, log = json_log("DEBUG")
    log.debug("visible")
    assert [e["level"] for e in events(stream)] == ["debug"]


def test_configuring_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    other = logging.NullHandler()
    root.addHandler(other)
    first = io.StringIO()
    configure_logging("json", "info", first)
    second = io.StringIO()
    configure_logging("json", "info", second)
    get_logger("supportctl.test").info("once")
    logging.getLogger("aiohttp.access").info("once too")
    assert first.getvalue() == ""
    assert [e["event"] for e in events(second)] == ["once", "once too"]
    assert other in root.handlers
    assert sum(isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is second
               for h in root.handlers) == 1
    assert len(root.handlers) == len({id(h) for h in root.handlers})


def test_reconfiguring_changes_format_and_level_of_existing_loggers() -> None:
    stream, log = json_log("error")
    log.info("not yet")
    console = io.StringIO()
    configure_logging("console", "info", console)
    log.info("now", agent="anna")
    assert stream.getvalue() == ""
    assert re.fullmatch(
        TIMESTAMP.pattern + r" \[info\s*\] now\s+\[supportctl\.test\] agent=anna\n",
        console.getvalue(),
    )


def test_console_format_has_no_colour_codes_off_a_terminal_and_redacts() -> None:
    stream = io.StringIO()
    configure_logging("console", "info", stream)
    register_secrets(["console-secret"])
    with bind_conversation(conversation_id=5):
        get_logger("supportctl.test").info("used console-secret", api_key="k")
    line = stream.getvalue()
    assert "\x1b[" not in line
    assert "console-secret" not in line
    assert "api_key=[redacted]" in line
    assert "conversation_id=5" in line
    assert "used [redacted]" in line


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_format_is_json_off_a_terminal_and_console_on_one() -> None:
    plain = io.StringIO()
    configure_logging("auto", "info", plain)
    get_logger("t").info("hello")
    assert json.loads(plain.getvalue())["event"] == "hello"
    tty = Tty()
    configure_logging("auto", "info", tty)
    get_logger("t").info("hello")
    assert not tty.getvalue().startswith("{")
    assert "hello" in tty.getvalue()


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging("json", "loud", io.StringIO())
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        configure_logging("xml", "info", io.StringIO())  # type: ignore[arg-type]

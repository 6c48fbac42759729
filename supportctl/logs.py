"""Logging for the runtime: structlog configured once, one event per line, secrets redacted.

structlog loggers and stdlib loggers (aiohttp's access log, libraries) go through one handler
and one renderer, so every line has the same shape. Context such as the conversation id is bound
with `structlog.contextvars` (see `bind_conversation`) and added to every event inside it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog
from pydantic import SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
# registered values shorter than this are not replaced inside text: a 1-3 character "secret"
# would blank out ordinary words, and the key rule still redacts it
MIN_SECRET_LENGTH = 4
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}

# aiohttp access log lines: no time of its own (every event has `timestamp`), the request time
# in seconds last; pass as `access_log_format` to aiohttp's AppRunner
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf'
# the fields aiohttp attaches to each access log record for ACCESS_LOG_FORMAT, kept as keys in
# JSON lines (`jq 'select(.response_status >= 500)'`)
_ACCESS_FIELDS = ("remote_address", "first_request_line", "response_status", "response_size",
                  "request_time_frac")

# key names that hold credentials: access_token, app_secret, Authorization, x-api-key, ...
_SECRET_KEY = re.compile(r"token|secret|passw|authorization|api[_-]?key|cookie", re.IGNORECASE)
# user:password@ inside any URL in any string
_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@", re.IGNORECASE)
# ?hub.verify_token=...&access_token=... in a logged request line (aiohttp's access log)
_QUERY_CREDENTIALS = re.compile(
    r"(?P<head>[?&][^=\s&?#]*(?:token|secret|passw|api[_-]?key|signature)[^=\s&?#]*=)[^&\s\"#]+",
    re.IGNORECASE,
)


# the registered values and one pattern matching any of them, replaced as one object so a
# thread logging during register_secrets() sees the old pair or the new one, never half
_registry: tuple[frozenset[str], re.Pattern[str] | None] = (frozenset(), None)


def register_secrets(values: Iterable[str | SecretStr | None]) -> None:
    """Redact these values wherever they appear in a logged event (empty and None are skipped)."""
    global _registry
    plain = (v.get_secret_value() if isinstance(v, SecretStr) else v for v in values if v)
    known = _registry[0] | {v for v in plain if len(v) >= MIN_SECRET_LENGTH}
    # longest first, so a secret containing another is replaced whole
    ordered = sorted(known, key=len, reverse=True)
    _registry = (known, re.compile("|".join(map(re.escape, ordered))) if ordered else None)


def clear_secrets() -> None:
    """Forget every registered secret value."""
    global _registry
    _registry = (frozenset(), None)


def _redact_text(text: str) -> str:
    pattern = _registry[1]
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    if "://" in text:
        text = _URL_CREDENTIALS.sub(rf"\g<head>{REDACTED}@", text)
    if "=" in text:
        text = _QUERY_CREDENTIALS.sub(rf"\g<head>{REDACTED}", text)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_secret_key(k) else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact(v) for v in value]
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: secret-named keys, registered values, URL credentials -> `[redacted]`."""
    for key, value in event_dict.items():
        if _is_secret_key(key):
            if value is not None:
                event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact(value)
    return event_dict


@contextmanager
def bind_conversation(
    conversation_id: object = None, channel: str | None = None,
    contact_id: object = None, agent: str | None = None,
) -> Iterator[None]:
    """Add the given conversation fields to every event logged inside the block."""
    fields = {"conversation_id": conversation_id, "channel": channel,
              "contact_id": contact_id, "agent": agent}
    with structlog.contextvars.bound_contextvars(
        **{k: v for k, v in fields.items() if v is not None}
    ):
        yield


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler configure_logging installs on the root logger (found again by class)."""


def configure_logging(
    format: Literal["json", "console", "auto"] = "auto",
    level: str = "info",
    stream: TextIO | None = None,
) -> None:
    """Send structlog and stdlib logging to `stream` (default stderr) in one format.

    Calling it again replaces the earlier configuration: never two handlers, never two lines.
    """
    out = stream if stream is not None else sys.stderr
    if format == "auto":
        format = "console" if _isatty(out) else "json"
    numeric = LEVELS.get(level.lower())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    foreign = list(shared)
    renderer: Processor
    if format == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=True, default=str)
        # console lines already show them in the message; JSON readers select on them
        foreign.append(structlog.stdlib.ExtraAdder(allow=_ACCESS_FIELDS))
    elif format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=_isatty(out))
    else:
        raise ValueError(f"unknown log format {format!r}; use json or console")
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=foreign,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # tracebacks become text first, so the redactor sees them too
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    )
    handler = _Handler(out)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # not cached: a reconfiguration (tests, a reload changing the level) reaches every logger
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named like a stdlib one (`supportctl.runtime.outbox`)."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())

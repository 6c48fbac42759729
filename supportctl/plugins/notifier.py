"""The runtime half of a notifier plugin: alerts about conversations, delivered elsewhere.

A notifier plugin's `NotifierSpec.runtime` names a `NotifierRuntime` subclass ("module:attribute"),
imported only by `serve`. The desk turns what happens to a conversation (routed, escalated,
closed, a CSAT answer) into a `Notification` and queues it in the database, one row per target;
the notification worker hands each to the target's `deliver` and records the `DeliveryResult`:
delivered, tried again later (never sooner than the `retry_after` the receiver asked for), or
failed for good. A retry carries the same `Notification.id`, so receivers can drop duplicates.

This module imports no network code at run time: the config checks use `lifecycle_kinds` too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from supportctl.config.plugin_spec import NotifierConfig

if TYPE_CHECKING:
    from aiohttp import ClientSession

ROUTED = "conversation.routed"
ESCALATED = "conversation.escalated"
CLOSED = "conversation.closed"
CSAT_ANSWERED = "csat.answered"
KINDS = (ROUTED, ESCALATED, CLOSED, CSAT_ANSWERED)
LIFECYCLE = frozenset({CLOSED, CSAT_ANSWERED})
"""Kinds a subscribed target receives for every conversation, not only when a rule names it."""


def lifecycle_kinds(config: NotifierConfig) -> frozenset[str]:
    """The lifecycle kinds a target receives for every conversation.

    A notifier whose config has an `events` key is an integration (a CRM wants every closed
    conversation): it subscribes to the lifecycle kinds its `events` lists, or to all of them
    when `events` is absent. Other notifiers (Slack) only get the alerts rules name them for."""
    if "events" not in type(config).model_fields:
        return frozenset()
    events = getattr(config, "events", None)
    return LIFECYCLE if events is None else LIFECYCLE & frozenset(events)


@dataclass(frozen=True, slots=True)
class Notification:
    """Something that happened to a conversation, as a notifier delivers it.

    `id` is unique and stays the same across retries: receivers use it to drop duplicates.
    `team`, `agent` and `channel` are ids of the stack; `data` holds the rest (display names
    as `team_name`, `agent_name`, `channel_name`; `rule`, `waited_seconds`, `score`, ...)."""

    id: str
    kind: str
    occurred_at: datetime
    conversation_id: str
    channel: str
    team: str | None
    agent: str | None
    contact_name: str | None
    summary: str  # one human line: "Eva Braun on Shop chat: routed to Service"
    link: str | None  # where an agent opens the conversation; None without a public URL
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Everything but the id, as stored in the queue (the store gives the id)."""
        return {"kind": self.kind, "occurred_at": self.occurred_at.isoformat(),
                "conversation_id": self.conversation_id, "channel": self.channel,
                "team": self.team, "agent": self.agent, "contact_name": self.contact_name,
                "summary": self.summary, "link": self.link, "data": dict(self.data)}

    @classmethod
    def from_json(cls, notification_id: str, payload: Mapping[str, Any]) -> Notification:
        """The notification a queued payload describes; KeyError or ValueError when it is not
        one."""
        data = payload.get("data") or {}
        if not isinstance(data, Mapping):
            raise ValueError("data is not an object")
        return cls(notification_id, str(payload["kind"]),
                   datetime.fromisoformat(payload["occurred_at"]),
                   str(payload["conversation_id"]), str(payload["channel"]),
                   payload.get("team"), payload.get("agent"), payload.get("contact_name"),
                   str(payload["summary"]), payload.get("link"), dict(data))


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of one delivery attempt. `error` None: delivered. `permanent`: retrying
    cannot help. `retry_after`: seconds the receiver asked us to wait (a minimum)."""

    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def delivered(cls) -> DeliveryResult:
        return cls()

    @classmethod
    def temporary(cls, error: str, retry_after: float | None = None) -> DeliveryResult:
        return cls(error, False, retry_after)

    @classmethod
    def failed(cls, error: str) -> DeliveryResult:
        return cls(error, True)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None when absent
    or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def spoken_duration(seconds: float) -> str:
    """A wait as people say it: `45 s`, `12 min`, `2 h 5 min`, `3 d 4 h`."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{secs} s"


def http_result(status: int, reason: str, wait: float | None) -> DeliveryResult:
    """The usual reading of an HTTP answer: 2xx delivered; 408, 429 and 5xx worth a retry
    (after `wait` seconds when the receiver said); any other status a permanent failure."""
    if 200 <= status < 300:
        return DeliveryResult.delivered()
    error = f"HTTP {status}: {reason}" if reason else f"HTTP {status}"
    if status in (408, 429) or status >= 500:
        return DeliveryResult.temporary(error, wait)
    return DeliveryResult.failed(error)


class NotifierRuntime(ABC):
    """One configured notify target at runtime. Subclasses implement `deliver`."""

    def __init__(self, target_id: str, config: NotifierConfig, *,
                 http: ClientSession | None = None) -> None:
        self.target_id = target_id
        self.config = config
        self.http = http  # shared by the server; opened by `session` when None
        self._own_http: ClientSession | None = None

    @abstractmethod
    async def deliver(self, notification: Notification) -> DeliveryResult:
        """Deliver one notification; failures are returned, never raised."""

    def wants(self, kind: str) -> bool:
        """Whether this target takes notifications of `kind` at all (a config's filter)."""
        return True

    async def session(self) -> ClientSession:
        """The server's HTTP session, or one of our own when the runtime runs alone."""
        if self.http is not None:
            return self.http
        if self._own_http is None:
            from aiohttp import ClientSession, ClientTimeout

            self._own_http = ClientSession(timeout=ClientTimeout(total=30))
        return self._own_http

    async def close(self) -> None:
        """Release what the runtime opened itself (never the server's shared session)."""
        if self._own_http is not None:
            await self._own_http.close()
            self._own_http = None

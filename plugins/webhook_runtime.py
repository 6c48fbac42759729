"""Generic signed HTTP webhook notifier: runtime half.

Each notification is POSTed as JSON (see `body`) with these headers:

- `X-Supportctl-Event`: the kind, e.g. `conversation.closed`;
- `X-Supportctl-Delivery`: the notification id, the same on every retry (for deduplication);
- `X-Supportctl-Timestamp`: Unix seconds when this attempt was signed;
- `X-Supportctl-Signature`: `sha256=` + hex HMAC-SHA256, keyed with the target's `secret`, of
  the timestamp, a full stop, and the raw body (`f"{timestamp}.".encode() + body`). Signing the
  timestamp too lets a receiver refuse old requests replayed by someone who captured one.

2xx is delivered; 408, 429 and 5xx (and network trouble or the timeout) are retried, after
`Retry-After` when the receiver sends it; any other status fails for good.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from supportctl.config.model.common import parse_duration
from supportctl.config.plugin_spec import NotifierConfig
from supportctl.plugins.notifier import (
    DeliveryResult,
    Notification,
    NotifierRuntime,
    http_result,
    retry_after,
)

from .webhook import WebhookNotifier

SIGNATURE_HEADER = "X-Supportctl-Signature"
TIMESTAMP_HEADER = "X-Supportctl-Timestamp"
EVENT_HEADER = "X-Supportctl-Event"
DELIVERY_HEADER = "X-Supportctl-Delivery"
USER_AGENT = "supportctl-notifier"
REASON_LENGTH = 200


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Supportctl-Signature` value of `body` sent at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def body(n: Notification) -> bytes:
    """The JSON body of a notification: compact, keys sorted, UTF-8."""
    document: dict[str, Any] = {
        "id": n.id,
        "type": n.kind,
        "occurred_at": n.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "summary": n.summary,
        "conversation": {"id": n.conversation_id, "channel": n.channel, "team": n.team,
                         "agent": n.agent, "contact_name": n.contact_name, "link": n.link},
        "data": dict(n.data),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()


class WebhookNotifierRuntime(NotifierRuntime):
    """POSTs each notification, signed, to the target's URL."""

    config: WebhookNotifier

    def __init__(self, target_id: str, config: NotifierConfig, *,
                 http: aiohttp.ClientSession | None = None) -> None:
        super().__init__(target_id, config, http=http)
        self.timeout = aiohttp.ClientTimeout(
            total=parse_duration(self.config.timeout).total_seconds())
        # what the timestamp header says; tests fix it to check signatures byte for byte
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def wants(self, kind: str) -> bool:
        return self.config.events is None or kind in self.config.events

    def headers(self, n: Notification, payload: bytes) -> dict[str, str]:
        """The headers of one attempt, signed now."""
        timestamp = int(self.clock().timestamp())
        return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                EVENT_HEADER: n.kind, DELIVERY_HEADER: n.id, TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: signature(self.config.secret, timestamp, payload)}

    async def deliver(self, notification: Notification) -> DeliveryResult:
        payload = body(notification)
        http = await self.session()
        try:
            async with http.post(self.config.url, data=payload, timeout=self.timeout,
                                 headers=self.headers(notification, payload)) as reply:
                status = reply.status
                reason = (await reply.text(errors="replace"))[:REASON_LENGTH].strip()
                wait = retry_after(reply.headers.get("Retry-After"), self.clock())
        except TimeoutError:
            return DeliveryResult.temporary(f"no answer within {self.config.timeout}")
        except aiohttp.ClientError as exc:
            return DeliveryResult.temporary(f"network: {type(exc).__name__}: {exc}")
        return http_result(status, reason, wait)

"""Slack incoming-webhook notifier: runtime half.

Wire format as Slack documents incoming webhooks: POST the webhook URL with a JSON message
`{"text": ..., "blocks": [...]}` (Block Kit; `text` is the fallback shown in notifications).
Slack answers `200 ok`; a rate limit is `429` with `Retry-After` seconds; `400 invalid_payload`,
`403 action_prohibited`, `404 no_service` / `channel_not_found`, `410 channel_is_archived` and
their kin are mistakes a retry cannot mend; 5xx is Slack's own trouble, worth a retry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp

from supportctl.plugins.notifier import (
    DeliveryResult,
    Notification,
    NotifierRuntime,
    http_result,
    retry_after,
    spoken_duration,
)

from .slack import SlackNotifier

SECTION_TEXT = 3000  # Block Kit: a section's text
FIELD_TEXT = 2000  # Block Kit: each of a section's fields
MAX_FIELDS = 10
CONTEXT_TEXT = 3000
MAX_BLOCKS = 50
FALLBACK_TEXT = 3000  # Slack cuts longer texts itself; a notification needs far less
REASON_LENGTH = 200
LINK_LABEL = "Open conversation"
# what people write in YAML, and the special mentions Slack actually pings with
SPECIAL_MENTIONS = {"@here": "<!here>", "@channel": "<!channel>", "@everyone": "<!everyone>"}
ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escaped(text: str, limit: int) -> str:
    """`text` with Slack's three control characters escaped, cut to `limit` characters
    after escaping, never inside an escape (an ellipsis marks the cut)."""
    out: list[str] = []
    size = 0
    full = "".join(ESCAPES.get(ch, ch) for ch in text)
    if len(full) <= limit:
        return full
    for ch in text:
        piece = ESCAPES.get(ch, ch)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


def mention(value: str | None) -> str | None:
    """The configured mention as Slack's markup (`@here` -> `<!here>`)."""
    if value is None or not value.strip():
        return None
    return SPECIAL_MENTIONS.get(value.strip(), value.strip())


def fields(n: Notification) -> list[tuple[str, str]]:
    """(label, value) pairs shown under the summary."""
    data = n.data
    shown: list[tuple[str, str]] = []
    if n.team is not None:
        shown.append(("Team", str(data.get("team_name") or n.team)))
    shown.append(("Agent", str(data.get("agent_name") or n.agent) if n.agent else "nobody yet"))
    shown.append(("Channel", str(data.get("channel_name") or n.channel)))
    waited = data.get("waited_seconds")
    if isinstance(waited, int | float):
        shown.append(("Waiting", spoken_duration(waited)))
    score = data.get("score")
    if isinstance(score, int):
        scale = data.get("scale")
        shown.append(("Score", f"{score}/{scale}" if isinstance(scale, int) else str(score)))
    return shown


def field_text(label: str, value: str) -> dict[str, str]:
    """One field of the section: the label in bold over its value."""
    return {"type": "mrkdwn", "text": f"*{label}*\n{escaped(value, FIELD_TEXT - 4 - len(label))}"}


def message(n: Notification, config: SlackNotifier) -> dict[str, Any]:
    """The incoming-webhook message for a notification."""
    ping = mention(config.mention)
    summary = escaped(n.summary, SECTION_TEXT - (len(ping) + 1 if ping else 0) - 4)
    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"{ping} *{summary}*" if ping else f"*{summary}*"},
        "fields": [field_text(label, value) for label, value in fields(n)[:MAX_FIELDS]],
    }
    blocks: list[dict[str, Any]] = [section]
    comment = n.data.get("comment")
    if isinstance(comment, str) and comment.strip():
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": "> " + escaped(comment.strip(),
                                                                       SECTION_TEXT - 2)}})
    if n.link is not None:
        # a link in a context block, not a button: a URL button makes Slack call an app's
        # interactivity endpoint, which an incoming webhook does not have
        link = n.link.replace(">", "%3E").replace("|", "%7C")
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"<{link}|{LINK_LABEL}>"[:CONTEXT_TEXT]}]})
    # the mention and the link are markup already: only the summary is escaped
    around = [part for part in (ping, n.link) if part]
    room = FALLBACK_TEXT - sum(len(part) + 1 for part in around)
    fallback = " ".join(part for part in (ping, escaped(n.summary, room), n.link) if part)
    return {"text": fallback, "blocks": blocks[:MAX_BLOCKS]}


class SlackNotifierRuntime(NotifierRuntime):
    """Posts each notification to the target's incoming webhook."""

    config: SlackNotifier

    async def deliver(self, notification: Notification) -> DeliveryResult:
        body = message(notification, self.config)
        http = await self.session()
        try:
            async with http.post(self.config.webhook_url, json=body) as reply:
                status = reply.status
                reason = (await reply.text())[:REASON_LENGTH].strip()
                wait = retry_after(reply.headers.get("Retry-After"), datetime.now(UTC))
        except (TimeoutError, aiohttp.ClientError) as exc:
            # the URL is a credential: the error names the failure, never the address
            return DeliveryResult.temporary(f"network: {type(exc).__name__}")
        return http_result(status, reason, wait)

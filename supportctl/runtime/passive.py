"""Passive replies: answering a webhook with the reply itself (WeChat's 5-second rule).

A channel whose runtime sets `passive_replies` gets its delivery processed before the webhook
answers. Messages the desk queues meanwhile for that channel are stored in the outbox already
claimed by the request (`Hold`), so the outbox worker leaves them alone; the first becomes the
HTTP answer when the runtime can carry it (`passive_reply`) and is marked sent, the others are
released to the outbox at once. If the process dies in between, the claim lapses and the outbox
sends them the ordinary way: a held message is never lost, only sent later.

Processing that outlasts `reply_deadline` is not waited for: the answer is the runtime's
`acknowledge` (WeChat's `success`), and the held messages are released when processing ends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from supportctl.plugins.channel import (
    ChannelRuntime,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    WebhookRequest,
    WebhookResponse,
)
from supportctl.runtime.payloads import PayloadError, from_payload
from supportctl.store.records import Job, Queue
from supportctl.store.transition import Lease

if TYPE_CHECKING:
    from supportctl.runtime.receipts import Delivery
    from supportctl.runtime.server import Server

log = structlog.get_logger("supportctl.passive")

# a held item's claim outlives the deadline by this much, then the outbox may take it
HOLD_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Hold:
    """Outbound messages on `channel` are queued claimed by the lease's holder."""

    channel: str
    lease: Lease


HOLD: ContextVar[Hold | None] = ContextVar("supportctl_passive_hold", default=None)


def replyable(runtime: ChannelRuntime, events: Sequence[InboundEvent]
              ) -> InboundMessage | InteractiveReply | None:
    """The one customer message a passive reply would answer, when there is exactly one."""
    if not runtime.passive_replies:
        return None
    messages = [e for e in events if isinstance(e, InboundMessage | InteractiveReply)]
    return messages[0] if len(messages) == 1 else None


async def process_and_reply(server: Server, runtime: ChannelRuntime, request: WebhookRequest,
                            event: InboundMessage | InteractiveReply, delivery: Delivery,
                            acknowledgement: WebhookResponse) -> WebhookResponse:
    """Process a stored delivery and answer with a passive reply when one is ready in time,
    else with the runtime's `acknowledgement` of it."""
    until = server.clock.now() + timedelta(seconds=runtime.reply_deadline) + HOLD_MARGIN
    hold = Hold(runtime.channel_id, Lease(f"{server.instance}/passive-{uuid.uuid4().hex}",
                                          server.instance, until))

    async def process() -> None:
        HOLD.set(hold)  # the task runs in a copy of the context: nothing leaks out
        await server.receipts.process(delivery)

    task = asyncio.create_task(process())
    done, _ = await asyncio.wait({task}, timeout=runtime.reply_deadline)
    if not done:
        log.warning("processing outlasted the passive-reply deadline; answered without a reply",
                    channel=runtime.channel_id, deadline=runtime.reply_deadline)
        server.spawn(_release_after(server, task, hold))
        return acknowledgement
    task.result()  # the receipts queue keeps what fails; nothing is raised but a bug
    held = await server.store.claimed_jobs(Queue.OUTBOX, hold.lease.holder)
    answer = await _reply_with_first(server, runtime, request, event, held, hold)
    await _release(server, held[1:] if answer is not None else held, hold)
    return answer or acknowledgement


async def _reply_with_first(server: Server, runtime: ChannelRuntime, request: WebhookRequest,
                            event: InboundMessage | InteractiveReply,
                            held: Sequence[Job], hold: Hold) -> WebhookResponse | None:
    if not held:
        return None
    first = held[0]
    message, conversation, contact = await server.store.outbound(first.key)
    try:
        answer = runtime.passive_reply(request, event, from_payload(message.payload))
    except PayloadError:
        return None
    if answer is None:
        return None
    sent = await server.store.outbox_sent(first.id, hold.lease.holder, server.clock.now(), None)
    if sent is None:
        return None  # the claim lapsed and the outbox sent it: answer without it
    server.metrics.outbound.labels(runtime.channel_id, "sent").inc()
    log.info("answered with a passive reply", channel=runtime.channel_id,
             message_id=message.id)
    await server.desk.message_sent(sent, conversation, contact)
    return answer


async def _release(server: Server, jobs: Sequence[Job], hold: Hold) -> None:
    at = server.clock.now()
    for job in jobs:
        await server.store.release(job.id, hold.lease.holder, at)
    if jobs:
        server.outbox.wake()


async def _release_after(server: Server, task: asyncio.Task[None], hold: Hold) -> None:
    try:
        await task
    except Exception:
        log.exception("processing a delivery failed after its passive-reply deadline",
                      channel=hold.channel)
    await _release(server, await server.store.claimed_jobs(Queue.OUTBOX, hold.lease.holder),
                   hold)

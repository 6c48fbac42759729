"""The conversation lifecycle: what happens to each inbound message, timer and agent action.

webhook event -> dedupe -> contact -> conversation (new, continued, reopened, or a CSAT answer
to a closed one) -> entry menu -> handoff to routing -> team, agent or queue (or out-of-hours
reply) -> escalation and auto-close timers in the database -> agent replies through the API ->
close -> CSAT. Routing itself is `supportctl.routing` (pure); this module applies its decisions
to the store and sends what they say through `Outgoing` (the outbox, within channel windows).

Every entry point reads the live stack once and uses that one stack to the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import structlog

from supportctl.config.model.common import parse_duration
from supportctl.logs import bind_conversation
from supportctl.plugins.channel import (
    ChatItem,
    DeliveryState,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    OutboundText,
)
from supportctl.plugins.notifier import CLOSED, CSAT_ANSWERED
from supportctl.routing.assignment import RoutingState
from supportctl.routing.engine import Decision, Outcome
from supportctl.routing.handover import (
    Handover,
    OpenConversation,
    Queued,
    drain,
    reopen,
    shift_end,
)
from supportctl.runtime.bus import Bus
from supportctl.runtime.clock import Clock
from supportctl.runtime.live import LiveStack
from supportctl.runtime.menu_engine import MenuState, Step
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.notifications import addressed, alert_kind, compose, subscribers
from supportctl.runtime.outgoing import Outgoing
from supportctl.runtime.payloads import display_text
from supportctl.runtime.texts import Variables, format_opening
from supportctl.store.interface import NotFound, Store, StoreError
from supportctl.store.records import (
    JSON,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Event,
    Message,
    MessageStatus,
    Timer,
    TimerKind,
)

log = structlog.get_logger("supportctl.runtime")

BACK = {"de": "Zurück", "en": "Back", "es": "Volver", "fr": "Retour", "it": "Indietro",
        "nl": "Terug", "pt": "Voltar", "tr": "Geri", "zh": "返回", "ja": "戻る", "ar": "رجوع"}
ACTIVE = (ConversationStatus.WAITING, ConversationStatus.QUEUED, ConversationStatus.OPEN)
AGENTS_TOPIC = "agents"


def conversation_url(base: str | None, conversation_id: str) -> str | None:
    """Where people open a conversation (templates' `conversation.url`, notification links);
    None without a public URL."""
    return f"{base.rstrip('/')}/api/v1/conversations/{conversation_id}" if base else None


def chat_topic(channel: str, external_user_id: str) -> str:
    return f"chat:{channel}:{external_user_id}"


class ActionRefused(Exception):
    """An agent action that cannot be done as asked (HTTP 409/422 with this message)."""


def inbound_payload(event: InboundMessage | InteractiveReply) -> JSON:
    """What is stored of a customer's message: its text, and what else the channel told."""
    if isinstance(event, InteractiveReply):
        return {"text": event.title, "option_id": event.option_id, "reply_to": event.reply_to}
    payload: JSON = {"text": event.text}
    if event.media is not None:
        payload["media"] = {"kind": event.media.kind, "id": event.media.id,
                            "mime_type": event.media.mime_type, "caption": event.media.caption,
                            "filename": event.media.filename}
    if event.location is not None:
        payload["location"] = {"latitude": event.location.latitude,
                               "longitude": event.location.longitude,
                               "name": event.location.name, "address": event.location.address}
    if event.contacts:
        payload["contacts"] = [{"name": c.name, "phones": list(c.phones)}
                               for c in event.contacts]
    if event.unsupported:
        payload["unsupported"] = event.unsupported
    if event.reply_to:
        payload["reply_to"] = event.reply_to
    echo = event.external_id.partition(":")[2]
    if echo and event.external_id.startswith(event.contact.external_id + ":"):
        payload["echo_id"] = echo  # web chat: the client's own id of the message
    return payload


def contact_attributes(contact: Contact) -> dict[str, Any]:
    """The contact as routing rules and templates see it (`contact.<attribute>`)."""
    identities = contact.identities
    phone = next((i.phone for i in identities if i.phone), None)
    email = next((i.email for i in identities if i.email), None)
    first = contact.name.split()[0] if contact.name else None
    return {**contact.attributes, "id": contact.id, "name": contact.name,
            "first_name": first, "language": contact.language, "phone": phone, "email": email}


def csat_score(text: str | None, scale: int) -> int | None:
    """A CSAT answer: a whole number from 1 to `scale`, perhaps with words around it."""
    if not text:
        return None
    digits = [word for word in text.replace("/", " ").split() if word.isdigit()]
    if len(digits) != 1:
        return None
    score = int(digits[0])
    return score if 1 <= score <= scale else None


class Desk:
    def __init__(self, store: Store, live: Callable[[], LiveStack], clock: Clock, bus: Bus,
                 metrics: Metrics, outgoing: Outgoing, public_url: str | None = None,
                 notified: Callable[[], None] | None = None) -> None:
        self.store = store
        self.live = live
        self.clock = clock
        self.bus = bus
        self.metrics = metrics
        self.outgoing = outgoing
        self.public_url = public_url
        self.notified = notified  # wakes the notification worker

    # --- inbound ------------------------------------------------------------------------------

    async def receive(self, event: InboundEvent) -> str:
        """Store and process one inbound event: "stored", "duplicate" or "status"."""
        live = self.live()
        now = self.clock.now()
        if isinstance(event, DeliveryStatus):
            await self._status(event, now)
            return "status"
        channel = event.channel_id
        if await self.store.seen_inbound(channel, event.external_id):
            self.metrics.inbound.labels(channel, "duplicate").inc()
            return "duplicate"
        ref = event.contact
        contact = await self.store.resolve_contact(channel, ref.external_id, now, name=ref.name,
                                                   language=ref.language, phone=ref.phone,
                                                   email=ref.email)
        text = event.title if isinstance(event, InteractiveReply) else event.text
        conversation, kind = await self._conversation_for(live, contact, channel, text, now)
        stored = await self.store.add_inbound(conversation.id, channel, event.external_id,
                                              inbound_payload(event), now)
        if stored is None:
            self.metrics.inbound.labels(channel, "duplicate").inc()
            return "duplicate"
        self.metrics.inbound.labels(channel, "stored").inc()
        self._publish_message(conversation, stored, ref.external_id)
        with bind_conversation(conversation_id=conversation.id, channel=channel,
                               contact_id=contact.id):
            log.info("message received", kind=kind)
            conversation = await self.store.get_conversation(conversation.id)
            await self._after_inbound(live, conversation, contact, event, kind, now)
        return "stored"

    async def _status(self, event: DeliveryStatus, now: datetime) -> None:
        status = MessageStatus(event.status.value)
        error = None
        if event.status is DeliveryState.FAILED:
            error = ": ".join(p for p in (event.error_code, event.error_text) if p) or None
        updated = await self.store.update_message_status(event.channel_id, event.external_id,
                                                         status, event.at, error)
        if updated is not None:
            self.bus.publish(AGENTS_TOPIC, {"type": "message_status",
                                            "conversation_id": updated.conversation_id,
                                            "message_id": updated.id,
                                            "status": updated.status.value})

    async def _conversation_for(self, live: LiveStack, contact: Contact, channel: str,
                                text: str | None, now: datetime) -> tuple[Conversation, str]:
        """Where a new message goes: (conversation, "new" | "continued" | "reopened" | "csat")."""
        latest = await self.store.latest_conversation(contact.id)
        if latest is not None and latest.channel != channel:
            active = await self.store.list_conversations(contact_id=contact.id, channel=channel,
                                                         statuses=ACTIVE)
            latest = active[-1] if active else None
        policy = live.stack.conversations
        if latest is not None and latest.status is not ConversationStatus.CLOSED:
            return latest, "continued"
        if latest is not None and latest.closed_at is not None:
            asked = latest.context.get("csat_asked_at")
            if (asked is not None and policy.csat is not None
                    and csat_score(text, policy.csat.scale) is not None
                    and now < datetime.fromisoformat(asked) + parse_duration(policy.csat.wait)):
                return latest, "csat"
            if now < latest.closed_at + parse_duration(policy.reopen_within):
                return latest, "reopened"
        return await self.store.open_conversation(contact.id, channel, now), "new"

    async def _after_inbound(self, live: LiveStack, conversation: Conversation,
                             contact: Contact, event: InboundMessage | InteractiveReply,
                             kind: str, now: datetime) -> None:
        text = event.title if isinstance(event, InteractiveReply) else event.text
        if kind == "csat":
            await self._csat_answer(live, conversation, contact, text, now)
            return
        if kind == "reopened":
            await self._reopen(live, conversation, contact, now, reason="customer wrote again")
        elif kind == "new":
            menu = live.stack.channels[conversation.channel].menu
            if menu is not None and menu in live.stack.menus:
                state = MenuState((menu,))
                await self._save_menu(conversation, state, now)
                await self._send_menu(live, conversation, contact, state, now)
            else:
                await self.handoff(live, conversation, contact, now)
        elif conversation.status is ConversationStatus.WAITING:
            if "menu" in conversation.context:
                answer = (event.option_id if isinstance(event, InteractiveReply)
                          else event.text) or ""
                await self._menu_input(live, conversation, contact, answer, now)
            elif conversation.agent is not None:
                await self.store.set_status(conversation.id, ConversationStatus.OPEN, now,
                                            reason="customer replied")
            else:
                await self.handoff(live, conversation, contact, now)
        else:
            self.bus.publish(AGENTS_TOPIC, {"type": "message", "conversation_id":
                                            conversation.id, "team": conversation.team,
                                            "agent": conversation.agent})
        await self._touch(live, conversation.id, now)

    # --- menus --------------------------------------------------------------------------------

    async def _save_menu(self, conversation: Conversation, state: MenuState | None,
                         now: datetime) -> Conversation:
        context = {k: v for k, v in conversation.context.items() if k not in ("menu", "retries")}
        if state is not None:
            context["menu"] = list(state.path)
            context["retries"] = state.retries
        return await self.store.set_context(conversation.id, context, now)

    async def _send_menu(self, live: LiveStack, conversation: Conversation, contact: Contact,
                         state: MenuState, now: datetime) -> None:
        menu = live.stack.menus[state.menu]
        language = self.text_language(live, conversation, contact)
        variables = self.variables(live, conversation, contact)
        prompt = live.texts.text(menu.prompt, language, variables) or ""
        spec = live.specs.get(conversation.channel)
        limits = spec.limits if spec is not None else None
        if limits is None:
            return
        rendered = live.menus.render(state, language, limits, prompt,
                                     BACK.get(language, BACK["en"]))
        await self.outgoing.automatic_message(live, conversation, rendered, now,
                                              why=f"menu {state.menu}")

    async def _menu_input(self, live: LiveStack, conversation: Conversation, contact: Contact,
                          text: str, now: datetime) -> None:
        path = tuple(conversation.context["menu"])
        if not path or any(menu not in live.stack.menus for menu in path):
            # the menu is gone (a reload removed it): a person takes over
            await self._save_menu(conversation, None, now)
            await self.handoff(live, conversation, contact, now)
            return
        state = MenuState(path, int(conversation.context.get("retries", 0)))
        language = self.text_language(live, conversation, contact)
        outcome = live.menus.answer(state, text, language)
        if outcome.step is Step.HANDOFF or outcome.state is None:
            conversation = await self._save_menu(conversation, None, now)
            await self.store.append_event(conversation.id, "menu", {
                "handoff": True, "reprompts_exhausted": not outcome.reprompt and
                state.retries >= live.menus.retries and outcome.step is Step.HANDOFF}, now)
            await self.handoff(live, conversation, contact, now)
            return
        conversation = await self._save_menu(conversation, outcome.state, now)
        if outcome.step is Step.SHOW:
            await self._send_menu(live, conversation, contact, outcome.state, now)
        elif outcome.step is Step.ANSWER and outcome.text is not None:
            text_out = live.texts.localized(outcome.text, language,
                                            self.variables(live, conversation, contact))
            await self.outgoing.automatic_message(live, conversation, OutboundText(text_out),
                                                  now, why="faq answer")
        elif outcome.step is Step.TEMPLATE and outcome.template is not None:
            await self.outgoing.automatic(live, conversation, outcome.template, language,
                                          self.variables(live, conversation, contact), now,
                                          why="faq template")

    # --- routing ------------------------------------------------------------------------------

    async def routing_state(self) -> RoutingState:
        return RoutingState(await self.store.open_counts(),
                            await self.store.round_robin_positions())

    async def handoff(self, live: LiveStack, conversation: Conversation, contact: Contact,
                      now: datetime, reason: str = "routed") -> Conversation:
        """Route the conversation by the rules: team, agent or queue, or out-of-hours reply."""
        messages = await self.store.list_messages(conversation.id)
        text = "\n".join(m.payload.get("text") or "" for m in messages
                         if m.direction is Direction.IN)
        inquiry = live.router.inquiry(now, conversation.channel, contact_attributes(contact),
                                      text)
        decision = live.router.decide(inquiry, await self.routing_state())
        context = {**conversation.context, "handoff_at": now.isoformat()}
        conversation = await self.store.set_context(conversation.id, context, now)
        return await self.apply(live, conversation, contact, decision, now, reason)

    async def apply(self, live: LiveStack, conversation: Conversation, contact: Contact,
                    decision: Decision, now: datetime, reason: str) -> Conversation:
        rule = decision.rule.rule.name if decision.rule is not None else None
        await self.store.append_event(conversation.id, "routed", {
            "rule": rule, "outcome": decision.outcome.value, "team": decision.team,
            "agent": decision.agent,
            "next_open": decision.next_open.isoformat() if decision.next_open else None}, now)
        chosen = decision.assignment
        conversation = await self.store.assign(
            conversation.id, now, team=decision.team, agent=decision.agent, rule=rule,
            reason=reason, round_robin=bool(decision.agent and chosen is not None
                                            and chosen.method == "round_robin"))
        log.info("conversation routed", rule=rule, outcome=decision.outcome.value,
                 team=decision.team, agent=decision.agent)
        if decision.agent is not None:
            self._assigned(conversation, now)
        if decision.outcome is Outcome.OUT_OF_HOURS and decision.reply is not None:
            opening = (format_opening(decision.next_open, live.stack.workspace.timezone)
                       if decision.next_open else None)
            await self.outgoing.automatic(
                live, conversation, decision.reply, self.text_language(live, conversation, contact),
                self.variables(live, conversation, contact, next_open=opening), now,
                why="out-of-hours reply")
        await self.store.cancel_timers(conversation.id, [TimerKind.ESCALATION])
        for step in decision.escalations:
            await self.store.schedule_timer(conversation.id, TimerKind.ESCALATION, step.at, {
                "to": step.to, "notify": list(step.notify), "reply": step.reply,
                "after": step.after.total_seconds(), "since": now.isoformat()})
        if decision.notify:
            await self.notify(conversation, decision.notify, "routed", now)
        return conversation

    def _assigned(self, conversation: Conversation, now: datetime) -> None:
        """An agent got the conversation: tell them, and measure how long it waited."""
        handoff_at = conversation.context.get("handoff_at")
        if handoff_at is not None:
            waited = (now - datetime.fromisoformat(handoff_at)).total_seconds()
            self.metrics.assignment_latency.labels(conversation.team or "").observe(
                max(waited, 0.0))
        item = {"type": "assigned", "conversation_id": conversation.id,
                "team": conversation.team, "agent": conversation.agent}
        self.bus.publish(AGENTS_TOPIC, item)
        log.info("agent assigned", agent=conversation.agent, team=conversation.team,
                 conversation_id=conversation.id)

    async def notify(self, conversation: Conversation, targets: tuple[str, ...] | list[str],
                     why: str, now: datetime, **data: Any) -> None:
        """Record an alert for the stack's notify targets and queue it for those with a
        runtime that take it (the notification worker delivers it)."""
        live = self.live()
        event = {"targets": list(targets), "why": why, "team": conversation.team,
                 "agent": conversation.agent, **data}
        kind = alert_kind(why)
        await self._queue(live, conversation, addressed(live.notifiers, targets, kind), kind,
                          now, data, event)
        self.bus.publish(AGENTS_TOPIC, {"type": "notify", "conversation_id": conversation.id,
                                        **event})

    async def notify_all(self, conversation: Conversation, kind: str, now: datetime,
                         **data: Any) -> None:
        """Queue a lifecycle event (closed, CSAT answered) for the targets that take it for
        every conversation; nothing is recorded when none does."""
        live = self.live()
        targets = subscribers(live.notifiers, kind)
        if targets:
            await self._queue(live, conversation, targets, kind, now, data,
                              {"targets": targets, "why": kind, **data})

    async def _queue(self, live: LiveStack, conversation: Conversation, targets: list[str],
                     kind: str, now: datetime, data: Mapping[str, Any], event: JSON) -> None:
        contact = await self.store.get_contact(conversation.contact_id)
        link = conversation_url(self.public_url or live.stack.workspace.public_url,
                                conversation.id)
        payload = compose(live.stack, conversation, contact.name, kind, now, link, data)
        await self.store.add_notifications(conversation.id, targets, kind, payload, now,
                                           event=event)
        if targets and self.notified is not None:
            self.notified()

    async def _reopen(self, live: LiveStack, conversation: Conversation, contact: Contact,
                      now: datetime, reason: str) -> Conversation:
        conversation = await self.store.set_status(conversation.id, ConversationStatus.WAITING,
                                                   now, reason=reason)
        context = {k: v for k, v in conversation.context.items() if k != "csat_asked_at"}
        conversation = await self.store.set_context(conversation.id, context, now)
        if conversation.team is None or conversation.agent is None:
            return await self.handoff(live, conversation, contact, now, reason="reopen")
        inquiry = live.router.inquiry(now, conversation.channel, contact_attributes(contact))
        previous = OpenConversation(conversation.id, conversation.team, conversation.agent)
        back = reopen(live.router, inquiry, previous, await self.routing_state())
        if back.agent is not None:
            conversation = await self.store.assign(conversation.id, now, team=conversation.team,
                                                   agent=back.agent, rule=conversation.rule,
                                                   reason="reopen")
            self._assigned(conversation, now)
            return conversation
        assert back.decision is not None
        return await self.apply(live, conversation, contact, back.decision, now, "reopen")

    # --- timers and shift changes -------------------------------------------------------------

    async def _touch(self, live: LiveStack, conversation_id: str, now: datetime) -> None:
        """Activity: the idle auto-close starts over."""
        await self.store.cancel_timers(conversation_id, [TimerKind.AUTO_CLOSE])
        after = parse_duration(live.stack.conversations.auto_close_after)
        await self.store.schedule_timer(conversation_id, TimerKind.AUTO_CLOSE, now + after)

    async def fire(self, timer: Timer) -> None:
        """A timer is due (claimed by the timer worker, which completes it afterwards)."""
        live = self.live()
        now = self.clock.now()
        try:
            conversation = await self.store.get_conversation(timer.conversation_id)
        except NotFound:
            return
        with bind_conversation(conversation_id=conversation.id, channel=conversation.channel,
                               contact_id=conversation.contact_id):
            if timer.kind is TimerKind.CSAT_TIMEOUT:
                context = {k: v for k, v in conversation.context.items()
                           if k != "csat_asked_at"}
                await self.store.set_context(conversation.id, context, now)
            elif conversation.status is ConversationStatus.CLOSED:
                return
            elif timer.kind is TimerKind.AUTO_CLOSE:
                if conversation.status is ConversationStatus.QUEUED:
                    # the silence is ours: nobody could answer yet (out of hours, a full team);
                    # the idle clock starts again when an agent gets it (drain)
                    return
                await self.close(conversation.id, None, reason="idle")
            elif timer.kind is TimerKind.ESCALATION:
                await self._escalate(live, conversation, timer, now)

    async def _agent_replied_since(self, conversation_id: str, since: datetime) -> bool:
        return any(m.direction is Direction.OUT and m.author is not None
                   and m.created_at >= since
                   for m in await self.store.list_messages(conversation_id))

    async def _escalate(self, live: LiveStack, conversation: Conversation, timer: Timer,
                        now: datetime) -> None:
        since = datetime.fromisoformat(timer.payload["since"])
        if await self._agent_replied_since(conversation.id, since):
            return
        contact = await self.store.get_contact(conversation.contact_id)
        to = timer.payload.get("to")
        await self.store.append_event(conversation.id, "escalated", {
            "after": timer.payload.get("after"), "to": to}, now)
        log.info("conversation escalated", to=to, after=timer.payload.get("after"))
        if to is not None and to in live.router.assigners:
            language = self.language(live, conversation, contact)
            assignment = live.router.assigners[to].assign(now, await self.routing_state(),
                                                          language)
            conversation = await self.store.assign(
                conversation.id, now, team=to, agent=assignment.agent, rule=conversation.rule,
                reason="escalation",
                round_robin=bool(assignment.agent and assignment.method == "round_robin"))
            if assignment.agent is not None:
                self._assigned(conversation, now)
        if timer.payload.get("notify"):
            await self.notify(conversation, timer.payload["notify"], "escalation", now,
                              after=timer.payload.get("after"), to=to)
        if timer.payload.get("reply"):
            await self.outgoing.automatic(live, conversation, timer.payload["reply"],
                                          self.text_language(live, conversation, contact),
                                          self.variables(live, conversation, contact), now,
                                          why="escalation notice")

    async def tick(self) -> None:
        """Shift boundaries: apply `handover` to agents whose shift ended, then offer queued
        conversations oldest-first to agents on shift with room."""
        live = self.live()
        now = self.clock.now()
        holding = await self.store.list_conversations(status=ConversationStatus.OPEN,
                                                      limit=100_000)
        ended = shift_end(live.router, (OpenConversation(c.id, c.team, c.agent)
                                        for c in holding if c.team and c.agent), now)
        for conversation, policy in ended:
            if policy is Handover.REQUEUE:
                with bind_conversation(conversation_id=conversation.id):
                    await self.store.set_status(conversation.id, ConversationStatus.QUEUED, now,
                                                reason="handover",
                                                data={"agent": conversation.agent})
                    log.info("handed over at shift end", agent=conversation.agent,
                             team=conversation.team)
        await self.drain(live, now)

    async def drain(self, live: LiveStack, now: datetime) -> int:
        queued = await self.store.list_conversations(status=ConversationStatus.QUEUED,
                                                     limit=100_000)
        waiting: list[Queued] = []
        for conversation in queued:
            if conversation.team is None:
                continue
            contact = await self.store.get_contact(conversation.contact_id)
            waiting.append(Queued(conversation.id, conversation.team,
                                  await self._queued_since(conversation),
                                  self.language(live, conversation, contact)))
        if not waiting:
            return 0
        offers, _ = drain(live.router, waiting, now, await self.routing_state())
        rules = {conversation.id: conversation.rule for conversation in queued}
        for offer, agent in offers:
            method = live.stack.teams[offer.team].assign
            conversation = await self.store.assign(
                offer.id, now, team=offer.team, agent=agent,
                rule=rules.get(offer.id), reason="queue", round_robin=method == "round_robin")
            self._assigned(conversation, now)
            await self._touch(live, conversation.id, now)
        return len(offers)

    async def _queued_since(self, conversation: Conversation) -> datetime:
        """When the conversation last went into the queue: its place in it. Not `updated_at`,
        which every message and context change moves (a customer who writes again while
        waiting would go to the back of the queue)."""
        for event in reversed(await self.store.list_events(conversation.id)):
            if ((event.kind == "assigned" and event.data.get("status") == "queued")
                    or (event.kind == "status" and event.data.get("to") == "queued")):
                return event.at
        return conversation.updated_at

    # --- agent actions ------------------------------------------------------------------------

    async def _active(self, conversation_id: str) -> Conversation:
        conversation = await self.store.get_conversation(conversation_id)
        if conversation.status is ConversationStatus.CLOSED:
            raise ActionRefused(f"conversation {conversation_id} is closed; reopen it first")
        return conversation

    async def _picked(self, live: LiveStack, conversation: Conversation, agent: str,
                      now: datetime) -> Conversation:
        """An agent acts on a conversation nobody holds: it becomes theirs."""
        if conversation.agent is None:
            conversation = await self.store.assign(conversation.id, now,
                                                   team=conversation.team, agent=agent,
                                                   rule=conversation.rule, reason="picked")
            self._assigned(conversation, now)
        return conversation

    async def reply(self, conversation_id: str, agent: str, text: str) -> Message:
        """An agent's free-text reply; WindowClosed outside the channel's window."""
        live, now = self.live(), self.clock.now()
        conversation = await self._active(conversation_id)
        message = await self.outgoing.free_text(live, conversation, OutboundText(text), now,
                                                author=agent)
        await self._agent_spoke(live, conversation, agent, now)
        return message

    async def send_template(self, conversation_id: str, agent: str, template_id: str) -> Message:
        """A template by an agent: its text inside the window, its native version outside."""
        live, now = self.live(), self.clock.now()
        if template_id not in live.stack.templates:
            raise ActionRefused(f"no template {template_id!r} in the stack; known: "
                                + ", ".join(sorted(live.stack.templates)))
        conversation = await self._active(conversation_id)
        contact = await self.store.get_contact(conversation.contact_id)
        message = await self.outgoing.template(
            live, conversation, template_id, self.text_language(live, conversation, contact),
            self.variables(live, conversation, contact, agent=agent), now, author=agent)
        await self._agent_spoke(live, conversation, agent, now)
        return message

    async def _agent_spoke(self, live: LiveStack, conversation: Conversation, agent: str,
                           now: datetime) -> None:
        await self._picked(live, conversation, agent, now)
        # escalation means "no agent reply for so long": a reply ends it
        await self.store.cancel_timers(conversation.id, [TimerKind.ESCALATION])
        await self._touch(live, conversation.id, now)

    async def transfer(self, conversation_id: str, by: str | None, *, team: str | None = None,
                       agent: str | None = None) -> Conversation:
        """To an agent (of `team`, or of the conversation's team), or to a team's assignment."""
        live, now = self.live(), self.clock.now()
        conversation = await self._active(conversation_id)
        stack = live.stack
        if team is not None and team not in stack.teams:
            raise ActionRefused(f"no team {team!r}; known: {', '.join(sorted(stack.teams))}")
        if agent is not None and agent not in stack.agents:
            raise ActionRefused(f"no agent {agent!r}; known: {', '.join(sorted(stack.agents))}")
        if team is None and agent is None:
            raise ActionRefused("say where to: a team, an agent, or both")
        target_team = team or conversation.team
        if agent is None:
            assert team is not None
            contact = await self.store.get_contact(conversation.contact_id)
            chosen = live.router.assigners[team].assign(
                now, await self.routing_state(), self.language(live, conversation, contact))
            agent = chosen.agent
        conversation = await self.store.assign(conversation.id, now, team=target_team,
                                               agent=agent, rule=conversation.rule,
                                               reason="transfer")
        await self.store.append_event(conversation.id, "transfer",
                                      {"by": by, "team": target_team, "agent": agent}, now)
        if agent is not None:
            self._assigned(conversation, now)
        await self.drain(live, now)
        return conversation

    async def close(self, conversation_id: str, by: str | None, reason: str = "agent"
                    ) -> Conversation:
        """Close; ask the CSAT question when a person handled the conversation."""
        live, now = self.live(), self.clock.now()
        conversation = await self._active(conversation_id)
        handled = conversation.agent is not None
        conversation = await self.store.set_status(conversation.id, ConversationStatus.CLOSED,
                                                    now, reason=reason, data={"by": by})
        await self.store.cancel_timers(conversation.id)
        log.info("conversation closed", reason=reason, by=by, conversation_id=conversation.id)
        await self.notify_all(conversation, CLOSED, now, reason=reason, by=by)
        csat = live.stack.conversations.csat
        if csat is not None and handled:
            contact = await self.store.get_contact(conversation.contact_id)
            sent = await self.outgoing.automatic(
                live, conversation, csat.template, self.text_language(live, conversation, contact),
                self.variables(live, conversation, contact), now, why="csat question")
            if sent is not None:
                context = {**conversation.context, "csat_asked_at": now.isoformat()}
                conversation = await self.store.set_context(conversation.id, context, now)
                await self.store.schedule_timer(conversation.id, TimerKind.CSAT_TIMEOUT,
                                                now + parse_duration(csat.wait))
        self.bus.publish(AGENTS_TOPIC, {"type": "closed", "conversation_id": conversation.id,
                                        "team": conversation.team, "agent": conversation.agent})
        await self.drain(live, now)  # the agent has room for the next in the queue
        return conversation

    async def reopen_by(self, conversation_id: str, by: str) -> Conversation:
        live, now = self.live(), self.clock.now()
        conversation = await self.store.get_conversation(conversation_id)
        if conversation.status is not ConversationStatus.CLOSED:
            raise ActionRefused(f"conversation {conversation_id} is not closed")
        contact = await self.store.get_contact(conversation.contact_id)
        conversation = await self._reopen(live, conversation, contact, now,
                                          reason=f"reopened by {by}")
        await self._touch(live, conversation.id, now)
        return conversation

    async def note(self, conversation_id: str, agent: str, text: str) -> Event:
        """An internal note: seen by agents, never sent to the customer."""
        conversation = await self.store.get_conversation(conversation_id)
        return await self.store.append_event(conversation.id, "note",
                                             {"author": agent, "text": text}, self.clock.now())

    async def _csat_answer(self, live: LiveStack, conversation: Conversation, contact: Contact,
                           text: str | None, now: datetime) -> None:
        csat = live.stack.conversations.csat
        assert csat is not None
        score = csat_score(text, csat.scale)
        assert score is not None
        await self.store.record_csat(conversation.id, score, now, comment=text)
        context = {k: v for k, v in conversation.context.items() if k != "csat_asked_at"}
        conversation = await self.store.set_context(conversation.id, context, now)
        await self.store.cancel_timers(conversation.id, [TimerKind.CSAT_TIMEOUT])
        log.info("csat answered", score=score)
        await self.notify_all(conversation, CSAT_ANSWERED, now, score=score, scale=csat.scale,
                              comment=text)
        if csat.thanks:
            await self.outgoing.automatic(live, conversation, csat.thanks,
                                          self.text_language(live, conversation, contact),
                                          self.variables(live, conversation, contact), now,
                                          why="csat thanks")

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def language(live: LiveStack, conversation: Conversation, contact: Contact) -> str | None:
        """The contact's language, else the one their channel assumes until they tell
        otherwise (`channels.<id>.language`, as routing assumes it too)."""
        if contact.language is not None:
            return contact.language
        channel = live.stack.channels.get(conversation.channel)
        return channel.language if channel is not None else None

    def text_language(self, live: LiveStack, conversation: Conversation,
                      contact: Contact) -> str:
        """The language the desk writes to the contact in: theirs when the workspace serves
        it, else the workspace's default."""
        return live.texts.language_for(self.language(live, conversation, contact))

    def variables(self, live: LiveStack, conversation: Conversation, contact: Contact, *,
                  agent: str | None = None, next_open: str | None = None) -> Variables:
        stack = live.stack
        agent_id = agent or conversation.agent
        agent_model = stack.agents.get(agent_id) if agent_id else None
        team = stack.teams.get(conversation.team) if conversation.team else None
        channel = stack.channels.get(conversation.channel)
        base = self.public_url or stack.workspace.public_url
        return Variables(
            contact_attributes(contact),
            agent_name=agent_model.name if agent_model else None,
            team_name=(team.name or conversation.team) if team else None,
            channel_name=(channel.name or conversation.channel) if channel else None,
            conversation_id=conversation.id,
            conversation_url=conversation_url(base, conversation.id),
            next_open=next_open)

    def _publish_message(self, conversation: Conversation, message: Message,
                         external_user_id: str) -> None:
        self.bus.publish(chat_topic(conversation.channel, external_user_id),
                         chat_item(message, None))
        self.bus.publish(AGENTS_TOPIC, {"type": "message", "conversation_id": conversation.id,
                                        "message_id": message.id, "team": conversation.team,
                                        "agent": conversation.agent,
                                        "direction": message.direction.value})

    async def message_sent(self, message: Message) -> None:
        """The outbox sent a message: show it in the customer's live chat and to agents."""
        try:
            conversation = await self.store.get_conversation(message.conversation_id)
            contact = await self.store.get_contact(conversation.contact_id)
        except StoreError:
            return
        identity = next((i for i in contact.identities if i.channel == message.channel), None)
        agents = self.live().stack.agents
        author = agents[message.author].name if message.author in agents else None
        if identity is not None:
            self.bus.publish(chat_topic(message.channel, identity.external_user_id),
                             chat_item(message, author))
        self.bus.publish(AGENTS_TOPIC, {"type": "message_status", "conversation_id":
                                        conversation.id, "message_id": message.id,
                                        "status": message.status.value})


def chat_item(message: Message, author: str | None) -> ChatItem:
    return ChatItem(message.id, message.direction.value, message.created_at,
                    display_text(message.payload), message.payload, author,
                    message.status.value)


def teams_of(live: LiveStack, agent: str) -> set[str]:
    """The teams an agent belongs to: as a member or on one of the team's shifts."""
    return {team_id for team_id, team in live.stack.teams.items()
            if agent in (team.members or ()) or any(agent in shift.agents
                                                     for shift in team.shifts)}


def may_see(live: LiveStack, agent: str, conversation: Conversation,
            teams: Mapping[str, set[str]] | None = None) -> bool:
    """Supervisors see everything; an agent sees their teams' conversations and their own."""
    model = live.stack.agents.get(agent)
    if model is None:
        return False
    if model.supervisor or conversation.agent == agent:
        return True
    mine = teams[agent] if teams is not None else teams_of(live, agent)
    return conversation.team in mine


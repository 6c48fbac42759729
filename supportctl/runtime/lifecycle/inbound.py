"""What a customer's message does to their conversation: new, continued, reopened, or the answer
to the CSAT question of a closed one; the entry menu; the handoff to routing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from supportctl.config.model.common import parse_duration
from supportctl.plugins.channel import InboundMessage, InteractiveReply, OutboundText
from supportctl.plugins.notifier import CSAT_ANSWERED
from supportctl.runtime.lifecycle.changes import CSAT_ASKED_AT, Changes, menu_in, time_in
from supportctl.runtime.lifecycle.frame import Frame
from supportctl.runtime.lifecycle.handoff import (
    handoff,
    notify_all,
    reopen_conversation,
    touch,
)
from supportctl.runtime.lifecycle.sending import automatic, automatic_message
from supportctl.runtime.menu_engine import MenuState, Step
from supportctl.store.records import (
    JSON,
    Conversation,
    ConversationStatus,
    EventKind,
    TimerKind,
)
from supportctl.store.transition import Transition

BACK = {"de": "Zurück", "en": "Back", "es": "Volver", "fr": "Retour", "it": "Indietro",
        "nl": "Terug", "pt": "Voltar", "tr": "Geri", "zh": "返回", "ja": "戻る", "ar": "رجوع"}

Customer = InboundMessage | InteractiveReply


class Arrival(StrEnum):
    """Where a customer's message goes."""

    NEW = "new"
    CONTINUED = "continued"
    REOPENED = "reopened"
    CSAT = "csat"  # the answer to the pending CSAT question of a closed conversation


@dataclass(frozen=True, slots=True)
class Received:
    """The transition of a customer's message, and where the message went."""

    transition: Transition
    arrival: Arrival


def csat_score(text: str | None, scale: int) -> int | None:
    """A CSAT answer: a whole number from 1 to `scale`, perhaps with words around it."""
    if not text:
        return None
    digits = [word for word in text.replace("/", " ").split() if word.isdigit()]
    if len(digits) != 1:
        return None
    score = int(digits[0])
    return score if 1 <= score <= scale else None


def inbound_payload(event: Customer) -> JSON:
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


def text_of(event: Customer) -> str | None:
    return event.title if isinstance(event, InteractiveReply) else event.text


def arrival(frame: Frame, text: str | None) -> Arrival:
    """Where a new message of the snapshot's contact on its channel goes."""
    latest = frame.snapshot.conversation
    policy = frame.live.stack.conversations
    if latest is None:
        return Arrival.NEW
    if latest.status is not ConversationStatus.CLOSED:
        return Arrival.CONTINUED
    if latest.closed_at is None:
        return Arrival.NEW
    asked = time_in(latest, CSAT_ASKED_AT)
    if (asked is not None and policy.csat is not None
            and csat_score(text, policy.csat.scale) is not None
            and frame.now < asked + parse_duration(policy.csat.wait)):
        return Arrival.CSAT
    if frame.now < latest.closed_at + parse_duration(policy.reopen_within):
        return Arrival.REOPENED
    return Arrival.NEW


def opening(frame: Frame, channel: str) -> Conversation:
    """The state of a conversation the snapshot's contact starts now on `channel`."""
    return Conversation(frame.fresh_id, frame.contact.id, channel, ConversationStatus.WAITING,
                        None, None, None, frame.now, None, frame.now)


def on_message(frame: Frame, event: Customer) -> Received:
    """A customer's message: stored in its conversation, then whatever it sets off."""
    where = arrival(frame, text_of(event))
    if where is Arrival.NEW:
        changes = Changes(None, opening(frame, event.channel_id), frame)
        changes.event(EventKind.OPENED, {"channel": event.channel_id, "status": "waiting"})
    else:
        current = frame.snapshot.conversation
        assert current is not None
        changes = Changes(current, current, frame)
    changes.inbound(event.channel_id, inbound_payload(event), event.external_id)
    if where is Arrival.CSAT:
        csat_answer(changes, frame, text_of(event))
        return Received(changes.transition(), where)
    conversation = changes.state
    if where is Arrival.REOPENED:
        reopen_conversation(changes, frame, reason="customer wrote again")
    elif where is Arrival.NEW:
        menu = frame.live.stack.channels[conversation.channel].menu
        if menu is not None and menu in frame.live.stack.menus:
            state = MenuState((menu,))
            changes.set_menu(state)
            send_menu(changes, frame, state)
        else:
            handoff(changes, frame)
    elif conversation.status is ConversationStatus.WAITING:
        if menu_in(conversation) is not None:
            answer = (event.option_id if isinstance(event, InteractiveReply) else event.text)
            menu_input(changes, frame, answer or "")
        elif conversation.agent is not None:
            changes.set_status(ConversationStatus.OPEN, "customer replied")
        else:
            handoff(changes, frame)
    touch(changes, frame)
    return Received(changes.transition(), where)


def send_menu(changes: Changes, frame: Frame, state: MenuState) -> None:
    live, conversation = frame.live, changes.state
    menu = live.stack.menus[state.menu]
    language = frame.text_language(conversation)
    variables = frame.variables(conversation)
    prompt = live.texts.text(menu.prompt, language, variables) or ""
    spec = live.specs.get(conversation.channel)
    if spec is None or spec.limits is None:
        return
    rendered = live.menus.render(state, language, spec.limits, prompt,
                                 BACK.get(language, BACK["en"]))
    automatic_message(changes, frame, rendered, why=f"menu {state.menu}")


def menu_input(changes: Changes, frame: Frame, text: str) -> None:
    live = frame.live
    state = menu_in(changes.state)
    assert state is not None
    if not state.path or any(menu not in live.stack.menus for menu in state.path):
        # the menu is gone (a reload removed it): a person takes over
        changes.set_menu(None)
        handoff(changes, frame)
        return
    language = frame.text_language(changes.state)
    outcome = live.menus.answer(state, text, language)
    if outcome.step is Step.HANDOFF or outcome.state is None:
        changes.set_menu(None)
        changes.event(EventKind.MENU, {
            "handoff": True, "reprompts_exhausted": not outcome.reprompt and
            state.retries >= live.menus.retries and outcome.step is Step.HANDOFF})
        handoff(changes, frame)
        return
    changes.set_menu(outcome.state)
    if outcome.step is Step.SHOW:
        send_menu(changes, frame, outcome.state)
    elif outcome.step is Step.ANSWER and outcome.text is not None:
        answer = live.texts.localized(outcome.text, language, frame.variables(changes.state))
        automatic_message(changes, frame, OutboundText(answer), why="faq answer")
    elif outcome.step is Step.TEMPLATE and outcome.template is not None:
        automatic(changes, frame, outcome.template, frame.variables(changes.state),
                  why="faq template")


def csat_answer(changes: Changes, frame: Frame, text: str | None) -> None:
    csat = frame.live.stack.conversations.csat
    assert csat is not None
    score = csat_score(text, csat.scale)
    assert score is not None
    changes.record_csat(score, text)
    changes.event(EventKind.CSAT, {"score": score, "comment": text})
    changes.forget(CSAT_ASKED_AT)
    changes.cancel(TimerKind.CSAT_TIMEOUT)
    notify_all(changes, frame, CSAT_ANSWERED, score=score, scale=csat.scale, comment=text)
    if csat.thanks:
        automatic(changes, frame, csat.thanks, frame.variables(changes.state),
                  why="csat thanks")

"""Frames for the pure transition functions (supportctl/runtime/lifecycle/): the lifecycle stack
compiled once, and snapshots made by hand, so a transition is tested without a store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from supportctl.runtime.lifecycle.frame import Frame
from supportctl.runtime.live import LiveStack, load_live
from supportctl.store.records import Contact, Conversation, ConversationStatus, EventKind
from supportctl.store.transition import Assign, NewEvent, NewMessage, Snapshot, Transition

STACK = Path(__file__).resolve().parent / "fixtures" / "stacks" / "lifecycle.yaml"
ENV = {"SLACK_WEBHOOK_URL": "https://hooks.slack.example/lifecycle"}
# Monday 23 November 2026 in UTC, the workspace's zone
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the week of MONDAY: day 0 is Monday."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


@cache
def live() -> LiveStack:
    return load_live(STACK, ENV, MONDAY)


def contact(name: str | None = "Eva", language: str | None = "en") -> Contact:
    return Contact("K1", name, language, {}, MONDAY)


def conversation(channel: str = "chat", status: ConversationStatus = ConversationStatus.OPEN,
                 team: str | None = "support", agent: str | None = "anna",
                 **fields: Any) -> Conversation:
    """A stored conversation (version 3) of contact K1, opened at Monday 10:00."""
    base = Conversation("C1", "K1", channel, status, team, agent, "everyone-else", at(0, 10),
                        None, at(0, 10), {channel: at(0, 10)}, {}, 3)
    return replace(base, **fields)


def frame(now: datetime, current: Conversation | None = None, *,
          who: Contact | None = None, open_counts: dict[str, int] | None = None,
          last_assigned: dict[str, str] | None = None, texts: tuple[str, ...] = ()) -> Frame:
    snapshot = Snapshot(current, who or contact(), open_counts or {}, last_assigned or {},
                        texts)
    return Frame(live(), snapshot, now, None, "NEW")


def kinds(transition: Transition) -> list[str]:
    """The log as words: event kinds, `in`/`out` for messages, `assign:agent` for assignments."""
    words = []
    for entry in transition.log:
        if isinstance(entry, NewEvent):
            words.append(entry.kind.value)
        elif isinstance(entry, NewMessage):
            words.append(entry.direction.value)
        else:
            words.append(f"assign:{entry.agent or 'queue'}")
    return words


def texts_out(transition: Transition) -> list[str]:
    from supportctl.runtime.payloads import display_text

    return [display_text(e.payload) for e in transition.log
            if isinstance(e, NewMessage) and e.direction.value == "out"]


def assignment(transition: Transition) -> Assign:
    (entry,) = [e for e in transition.log if isinstance(e, Assign)]
    return entry


def events(transition: Transition, kind: EventKind) -> list[NewEvent]:
    return [e for e in transition.log if isinstance(e, NewEvent) and e.kind is kind]

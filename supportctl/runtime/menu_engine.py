"""The entry menu as a small state machine: what the customer typed -> what happens next.

Pure (no I/O): the runtime keeps a `MenuState` per conversation, feeds each inbound text or
interactive reply to `MenuEngine.answer`, and sends what comes back. Customers answer with
- the option's number, or the id an interactive button or list row sent back;
- the option's label in any of the workspace's languages, ignoring case, accents and small
  typos (one wrong, missing or extra letter per six letters);
- `0` to go back to the previous menu.
Input that matches nothing re-prompts, `conversations.menu_retries` times, and then hands the
conversation to a person, so nobody is stuck in a loop with a bot.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from supportctl.config.model.common import text_in, texts_of
from supportctl.config.model.messages import Menu, option_id
from supportctl.config.model.stack import StackBase
from supportctl.config.plugin_spec import MenuLimits
from supportctl.plugins.channel import MenuChoice, MenuShape, OutboundMenu


class Step(StrEnum):
    """What the engine decided."""

    SHOW = "show"        # send the menu (again): a submenu, back, or a re-prompt
    ANSWER = "answer"    # send an FAQ answer text
    TEMPLATE = "template"  # send a template
    HANDOFF = "handoff"  # route the conversation to a person


@dataclass(frozen=True, slots=True)
class MenuState:
    """Where a conversation is in the menus."""

    path: tuple[str, ...]  # menus opened, the current one last
    retries: int = 0

    @property
    def menu(self) -> str:
        return self.path[-1]


@dataclass(frozen=True, slots=True)
class Outcome:
    """The engine's answer: the step, the state after it, and what to send."""

    step: Step
    state: MenuState | None  # None once the menus are done with (after a handoff)
    text: str | None = None      # the answer text, in the contact's language
    template: str | None = None  # the template to send
    reprompt: bool = False       # SHOW because the input matched nothing


def normalized(text: str) -> str:
    """Case-folded, accents removed, spaces collapsed: what labels are compared as."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char != other)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _ids_fit(choices: tuple[MenuChoice, ...], limits: MenuLimits) -> bool:
    """Whether every choice's id fits in the channel's button payload (UTF-8 bytes)."""
    most = limits.payload_bytes
    return most is None or all(len(choice.id.encode()) <= most for choice in choices)


class MenuEngine:
    """The menus of a stack, compiled once for matching."""

    def __init__(self, stack: StackBase) -> None:
        self.stack = stack
        self.retries = stack.conversations.menu_retries
        self.default_language = stack.workspace.language
        # menu id -> [(normalized label, option index)] over every language of each label
        self._labels: dict[str, list[tuple[str, int]]] = {
            menu_id: [(normalized(label), index)
                      for index, option in enumerate(menu.options)
                      for label in texts_of(option.label, self.default_language).values()]
            for menu_id, menu in stack.menus.items()}

    def start(self, menu_id: str) -> Outcome:
        """Open the entry menu of a channel."""
        return Outcome(Step.SHOW, MenuState((menu_id,)))

    def answer(self, state: MenuState, text: str, language: str | None = None) -> Outcome:
        """What happens when the customer sends `text` while `state.menu` is shown."""
        menu = self.stack.menus[state.menu]
        typed = normalized(text)
        if typed == "0":
            path = state.path[:-1] or state.path
            return Outcome(Step.SHOW, MenuState(path))
        index = self.match(state.menu, menu, typed)
        if index is None:
            if state.retries >= self.retries:
                return Outcome(Step.HANDOFF, None)
            return Outcome(Step.SHOW, replace(state, retries=state.retries + 1), reprompt=True)
        option = menu.options[index]
        settled = replace(state, retries=0)
        if option.menu is not None:
            return Outcome(Step.SHOW, MenuState((*state.path, option.menu)))
        if option.handoff:
            return Outcome(Step.HANDOFF, None)
        if option.template is not None:
            return Outcome(Step.TEMPLATE, settled, template=option.template)
        return Outcome(Step.ANSWER, settled, text=self._pick(language)(option.answer))

    def render(self, state: MenuState, language: str | None, limits: MenuLimits,
               prompt: str = "", back_label: str = "Back") -> OutboundMenu:
        """The current menu for a channel with these limits, in the contact's language, under
        `prompt` (the rendered prompt template). Every shape carries the numbered text too."""
        menu = self.stack.menus[state.menu]
        pick = self._pick(language)
        choices = tuple(MenuChoice(option_id(state.menu, index, option), pick(option.label),
                               pick(option.description) if option.description else None)
                        for index, option in enumerate(menu.options))
        lines = [f"{index}. {choice.title}" for index, choice in enumerate(choices, 1)]
        if len(state.path) > 1:
            lines.append(f"0. {back_label}")
        text = "\n".join(lines)
        titles = [len(choice.title) for choice in choices]
        if not _ids_fit(choices, limits):  # a button that cannot carry its id is refused
            return OutboundMenu(prompt, choices, text, MenuShape.TEXT)
        if (limits.max_buttons and len(choices) <= limits.max_buttons
                and all(t <= (limits.button_title or t) for t in titles)
                and not any(choice.description for choice in choices)):
            return OutboundMenu(prompt, choices, text, MenuShape.BUTTONS)
        if (limits.max_list_rows and len(choices) <= limits.max_list_rows
                and all(t <= (limits.row_title or t) for t in titles)
                and all(len(c.description or "") <= (limits.row_description or 10**6)
                        for c in choices)):
            return OutboundMenu(prompt, choices, text, MenuShape.LIST,
                                pick(menu.button) if menu.button else None)
        return OutboundMenu(prompt, choices, text, MenuShape.TEXT)

    def _pick(self, language: str | None) -> Callable[[str | dict[str, str] | None], str]:
        def pick(value: str | dict[str, str] | None) -> str:
            return text_in(value, language, self.default_language) or ""
        return pick

    def match(self, menu_id: str, menu: Menu, typed: str) -> int | None:
        """The option meant by the input, or None; an ambiguous near miss is None too."""
        if typed.isdigit() and 1 <= int(typed) <= len(menu.options):
            return int(typed) - 1
        for index, option in enumerate(menu.options):
            if normalized(option_id(menu_id, index, option)) == typed:
                return index
        labels = self._labels[menu_id]
        exact = {index for label, index in labels if label == typed}
        if len(exact) == 1:
            return exact.pop()
        near: set[int] = set()
        for label, index in labels:
            limit = len(label) // 6
            if limit and _distance(label, typed, limit) <= limit:
                near.add(index)
        return near.pop() if len(near) == 1 else None

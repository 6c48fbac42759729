"""Menus: each option does one thing, submenus form a tree, and handoffs reach a rule."""

from __future__ import annotations

from collections.abc import Iterator

from supportctl.config.checks import Check, CheckContext
from supportctl.config.diagnostics import Finding, YamlPath
from supportctl.config.model.common import as_list
from supportctl.config.model.stack import StackBase

_ACTIONS = ("answer", "template", "menu", "handoff")


def option_actions(context: CheckContext) -> Iterator[Finding]:
    for menu_id, menu in context.stack.menus.items():
        for index, option in enumerate(menu.options):
            chosen = [a for a in _ACTIONS if getattr(option, a) not in (None, False)]
            if len(chosen) != 1:
                what = "does nothing" if not chosen else f"does {len(chosen)} things " \
                                                          f"({', '.join(chosen)})"
                yield Finding(("menus", menu_id, "options", index), "S208",
                              f"menu option {what}; it must do exactly one of: "
                              f"{', '.join(_ACTIONS)}")


def reachable_menus(stack: StackBase, start: str) -> list[str]:
    """Menus reachable from `start` through submenu options, `start` first."""
    order: list[str] = []
    pending = [start]
    while pending:
        menu_id = pending.pop(0)
        if menu_id in order or menu_id not in stack.menus:
            continue
        order.append(menu_id)
        pending.extend(o.menu for o in stack.menus[menu_id].options if o.menu)
    return order


def cycles(context: CheckContext) -> Iterator[Finding]:
    menus = context.stack.menus
    done: set[str] = set()
    reported: set[frozenset[str]] = set()

    def visit(menu_id: str, trail: list[str]) -> Iterator[Finding]:
        for index, option in enumerate(menus[menu_id].options):
            target = option.menu
            if target is None or target not in menus:
                continue
            if target in trail:
                loop = trail[trail.index(target):]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    shown = " -> ".join([*loop, target])
                    yield Finding(("menus", menu_id, "options", index, "menu"), "M401",
                                  f"menus form a cycle: {shown}",
                                  "customers go back with 0; link to a submenu, never to a "
                                  "menu above it")
            elif target not in done:
                yield from visit(target, [*trail, target])
        done.add(menu_id)

    for menu_id in menus:
        if menu_id not in done:
            yield from visit(menu_id, [menu_id])


def _rule_can_match(stack: StackBase, channel_id: str) -> bool:
    channel_type = stack.channels[channel_id].type
    for rule in stack.routing:
        when = rule.when
        if when is None:
            return True
        if when.channel is not None and channel_id not in as_list(when.channel):
            continue
        if when.channel_type is not None and channel_type not in as_list(when.channel_type):
            continue
        return True
    return False


def handoffs(context: CheckContext) -> Iterator[Finding]:
    stack = context.stack
    if not stack.routing or "routing" in context.broken:
        return  # U503 or the structural error already says that routing is missing
    reported: set[YamlPath] = set()
    for channel_id, channel in stack.channels.items():
        if channel.menu is None or _rule_can_match(stack, channel_id):
            continue
        for menu_id in reachable_menus(stack, channel.menu):
            for index, option in enumerate(stack.menus[menu_id].options):
                path: YamlPath = ("menus", menu_id, "options", index, "handoff")
                if option.handoff and path not in reported:
                    reported.add(path)
                    yield Finding(path, "M402", f"customers on channel {channel_id!r} can ask "
                                  "for a person here, but no routing rule matches that channel",
                                  "add a rule for the channel, or a catch-all rule")


CHECKS: list[Check] = [option_actions, cycles, handoffs]

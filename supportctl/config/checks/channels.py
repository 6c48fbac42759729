"""What each channel's API would refuse at runtime: menu sizes, label and text lengths, secrets."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from supportctl.config.checks import Check, CheckContext
from supportctl.config.checks.menus import reachable_menus
from supportctl.config.diagnostics import Finding, YamlPath
from supportctl.config.model.common import SECRET
from supportctl.config.model.messages import Menu, option_id
from supportctl.config.plugin_spec import ChannelSpec, MenuLimits


def _lengths(value: str | dict[str, str] | None, path: YamlPath) -> Iterator[tuple[int, YamlPath]]:
    if isinstance(value, str):
        yield len(value), path
    elif isinstance(value, dict):
        for language, text in value.items():
            yield len(text), (*path, language)


def _too_long(value: str | dict[str, str] | None, path: YamlPath, limit: int | None,
              what: str, spec: ChannelSpec, channel_id: str) -> Iterator[Finding]:
    if limit is None:
        return
    for length, text_path in _lengths(value, path):
        if length > limit:
            yield Finding(text_path, "C802", f"{what} is {length} characters; {spec.title} "
                          f"allows {limit} (channel {channel_id!r})",
                          f"shorten it to {limit} characters or fewer")


def _fits_widgets(count: int, limits: MenuLimits) -> bool:
    return any(most is not None and count <= most
               for most in (limits.max_buttons, limits.max_list_rows))


def _long_option_id(menu_id: str, menu: Menu, limits: MenuLimits) -> tuple[int, str] | None:
    """The first option whose id is too big for the channel's button payload, and that id."""
    if limits.payload_bytes is None:
        return None
    for index, option in enumerate(menu.options):
        payload = option_id(menu_id, index, option)
        if len(payload.encode()) > limits.payload_bytes:
            return index, payload
    return None


def menu_limits(context: CheckContext) -> Iterator[Finding]:
    stack = context.stack
    reported: set[tuple[str, str]] = set()  # (menu, channel type): one report per pair
    for channel_id, channel in stack.channels.items():
        spec = context.plugins.channels.get(channel.type)
        if spec is None or channel.menu is None:
            continue
        limits: MenuLimits = spec.limits
        for menu_id in reachable_menus(stack, channel.menu):
            if (menu_id, channel.type) in reported:
                continue
            reported.add((menu_id, channel.type))
            menu = stack.menus[menu_id]
            count = len(menu.options)
            base: YamlPath = ("menus", menu_id)
            fits = _fits_widgets(count, limits)
            long_id = _long_option_id(menu_id, menu, limits) if fits else None
            if long_id is not None:
                index, payload = long_id
                yield Finding((*base, "options", index), "C801", f"option {index + 1} of menu "
                              f"{menu_id!r} carries the id {payload!r}, "
                              f"{len(payload.encode())} bytes; {spec.title} buttons carry at "
                              f"most {limits.payload_bytes}, so on channel {channel_id!r} the "
                              "menu is sent as numbered text", "give the option a shorter `id`")
            elif limits.max_buttons is not None and count <= limits.max_buttons:
                for index, option in enumerate(menu.options):
                    yield from _too_long(option.label, (*base, "options", index, "label"),
                                         limits.button_title, "button title", spec, channel_id)
            elif limits.max_list_rows is not None and count <= limits.max_list_rows:
                yield from _too_long(menu.button, (*base, "button"), limits.button_title,
                                     "list button label", spec, channel_id)
                for index, option in enumerate(menu.options):
                    option_path = (*base, "options", index)
                    yield from _too_long(option.label, (*option_path, "label"),
                                         limits.row_title, "list row title", spec, channel_id)
                    yield from _too_long(option.description, (*option_path, "description"),
                                         limits.row_description, "list row description", spec,
                                         channel_id)
            elif limits.max_buttons is not None or limits.max_list_rows is not None:
                most = max(limits.max_list_rows or 0, limits.max_buttons or 0)
                yield Finding(base, "C801", f"menu {menu_id!r} has {count} options; "
                              f"{spec.title} shows at most {most} interactively, so on channel "
                              f"{channel_id!r} it is sent as numbered text",
                              f"split it into submenus of {most} or fewer", at_key=True)


def text_limits(context: CheckContext) -> Iterator[Finding]:
    stack = context.stack
    for channel_id, channel in stack.channels.items():
        spec = context.plugins.channels.get(channel.type)
        if spec is None or spec.limits.text_length is None:
            continue
        limit = spec.limits.text_length
        texts: list[tuple[str | dict[str, str] | None, YamlPath]] = [
            (template.text, ("templates", template_id, "text"))
            for template_id, template in stack.templates.items()]
        if channel.menu is not None:
            for menu_id in reachable_menus(stack, channel.menu):
                for index, option in enumerate(stack.menus[menu_id].options):
                    texts.append((option.answer, ("menus", menu_id, "options", index, "answer")))
        for value, path in texts:
            for length, text_path in _lengths(value, path):
                if length > limit:
                    yield Finding(text_path, "C803", f"text is {length} characters; "
                                  f"{spec.title} accepts {limit} (channel {channel_id!r})",
                                  "shorten it or split it into two messages")


def _secret_names(model: BaseModel) -> Iterator[str]:
    for name, info in type(model).model_fields.items():
        extra = info.json_schema_extra
        if SECRET in info.metadata or (isinstance(extra, dict) and extra.get("writeOnly")):
            yield name


def literal_secrets(context: CheckContext) -> Iterator[Finding]:
    for section in ("channels", "notify"):
        items: dict[str, BaseModel] = getattr(context.stack, section)
        for item_id, config in items.items():
            for name in _secret_names(config):
                path: YamlPath = (section, item_id, name)
                if getattr(config, name) and context.interpolated(path) is None:
                    variable = f"{item_id}_{name}".upper().replace("-", "_")
                    yield Finding(path, "C804", "the secret is written literally; anyone "
                                  "who can read the file can use it",
                                  f"write ${{{variable}}} and set that environment variable")


def plugin_checks(context: CheckContext) -> Iterator[Finding]:
    for channel_id, channel in context.stack.channels.items():
        spec = context.plugins.channels.get(channel.type)
        if spec is None:
            continue
        for check in spec.checks:
            for finding in check(channel_id, channel, context.stack):
                yield finding if finding.code.startswith("C") else Finding(
                    finding.path, "C805", finding.message, finding.hint, finding.severity)


def _late_messages(context: CheckContext) -> Iterator[tuple[str, YamlPath, str]]:
    """Automatic messages that may go out long after the customer's last message:
    (template id, where it is named, when it is sent)."""
    csat = context.stack.conversations.csat
    if csat is not None:
        yield csat.template, ("conversations", "csat", "template"), \
            "when a conversation closes (an idle one closes after `auto_close_after`)"
    for index, rule in enumerate(context.stack.routing):
        for step_index, step in enumerate(rule.escalate):
            if step.reply is not None:
                yield step.reply, ("routing", index, "escalate", step_index, "reply"), \
                    "when the conversation escalates (out of hours, the clock starts at the " \
                    "next opening)"


def templates_outside_window(context: CheckContext) -> Iterator[Finding]:
    """Warn when an automatic message has no native template for a channel with a messaging
    window: once the window has closed, the runtime could not send it there at all."""
    windowed: dict[str, tuple[str, ChannelSpec]] = {}  # channel type -> (first channel, spec)
    for channel_id, channel in context.stack.channels.items():
        spec = context.plugins.channels.get(channel.type)
        if spec is not None and spec.window is not None and spec.template_model is not None:
            windowed.setdefault(channel.type, (channel_id, spec))
    templates = context.stack.templates
    reported: set[tuple[str, str]] = set()  # (template, channel type): once, where first named
    for template_id, path, when in _late_messages(context):
        template = templates.get(template_id)
        if template is None:
            continue  # R-codes report unknown templates
        for kind, (channel_id, spec) in sorted(windowed.items()):
            if getattr(template, kind, None) is None and (template_id, kind) not in reported:
                reported.add((template_id, kind))
                hours = int(spec.window.total_seconds() // 3600) if spec.window else 0
                yield Finding(path, "C806", f"template {template_id!r} is sent {when}, which "
                              f"can be more than {hours} h after the customer last wrote; it has "
                              f"no {kind} version, so on channel {channel_id!r} it would not be "
                              "sent then", f"add `{kind}:` with an approved {spec.title} "
                              f"template to templates.{template_id}")


CHECKS: list[Check] = [menu_limits, text_limits, literal_secrets, plugin_checks,
                       templates_outside_window]

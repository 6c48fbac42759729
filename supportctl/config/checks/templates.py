"""Texts: placeholders name known variables, and every workspace language has its text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from supportctl.config.checks import Check, CheckContext
from supportctl.config.diagnostics import Finding, YamlPath
from supportctl.config.model.workspace import BUILTIN_CONTACT_ATTRIBUTES
from supportctl.config.suggest import did_you_mean

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
RUNTIME_VARIABLES = ("agent.name", "agent.first_name", "team.name", "workspace.name",
                     "channel.name", "conversation.id", "conversation.url", "next_open")


def known_variables(context: CheckContext) -> set[str]:
    """Every variable a placeholder may name in this stack."""
    attributes = {*BUILTIN_CONTACT_ATTRIBUTES, *context.stack.workspace.contact_attributes}
    return {*RUNTIME_VARIABLES, *(f"contact.{a}" for a in attributes)}


def placeholders(text: str, path: YamlPath, known: set[str]) -> Iterator[Finding]:
    """Findings for malformed or unknown `{{ variable }}` placeholders in one text."""
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1).strip()
        if not name:
            yield Finding(path, "T603", "empty placeholder `{{ }}`", "name a variable inside")
        elif name not in known:
            yield Finding(path, "T601", f"placeholder {{{{{name}}}}} names no known variable",
                          did_you_mean(name, known) or "known: " + ", ".join(sorted(known)))
    rest = PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        yield Finding(path, "T603", "`{{` without a matching `}}`" if "{{" in rest else
                      "`}}` without a matching `{{`", "placeholders are written {{contact.name}}")


def _texts(value: str | dict[str, str] | None, path: YamlPath) -> Iterator[tuple[str, YamlPath]]:
    if isinstance(value, str):
        yield value, path
    elif isinstance(value, dict):
        for language, text in value.items():
            yield text, (*path, language)


def _native_texts(value: Any, path: YamlPath) -> Iterator[tuple[str, YamlPath, bool]]:
    """Strings inside a native template; `params` items are bare variable names."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "params" and isinstance(item, list):
                for index, param in enumerate(item):
                    yield str(param), (*path, key, index), True
            else:
                yield from _native_texts(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _native_texts(item, (*path, index))
    elif isinstance(value, str):
        yield value, path, False


def template_placeholders(context: CheckContext) -> Iterator[Finding]:
    known = known_variables(context)
    for template_id, template in context.stack.templates.items():
        base: YamlPath = ("templates", template_id)
        for text, path in _texts(template.text, (*base, "text")):
            yield from placeholders(text, path, known)
        native = template.model_dump(exclude={"text", "description"}, exclude_none=True)
        if template.text is None and not native:
            yield Finding(base, "S208", f"template {template_id!r} has no text and no native "
                          "template", "add `text:` with the message per language", at_key=True)
        for kind, value in native.items():
            for text, path, bare in _native_texts(value, (*base, kind)):
                if bare and text not in known:
                    yield Finding(path, "T601", f"parameter {text!r} names no known variable",
                                  did_you_mean(text, known) or "known: " +
                                  ", ".join(sorted(known)))
                elif not bare:
                    yield from placeholders(text, path, known)
    for menu_id, menu in context.stack.menus.items():
        for index, option in enumerate(menu.options):
            for text, path in _texts(option.answer, ("menus", menu_id, "options", index,
                                                      "answer")):
                yield from placeholders(text, path, known)


def translations(context: CheckContext) -> Iterator[Finding]:
    workspace = context.stack.workspace
    default = workspace.language
    wanted = list(workspace.languages)

    def languages_of(value: str | dict[str, str]) -> set[str]:
        return {default} if isinstance(value, str) else set(value)

    for template_id, template in context.stack.templates.items():
        if template.text is None:
            continue
        path: YamlPath = ("templates", template_id, "text")
        present = languages_of(template.text)
        if default not in present:
            yield Finding(path, "T604", f"template {template_id!r} has no text in the default "
                          f"language {default!r}", f"add `{default}:` to its text")
        missing = [lang for lang in wanted if lang not in present and lang != default]
        if missing:
            yield Finding(path, "T602", f"template {template_id!r} has no text in "
                          f"{', '.join(missing)}", "add the translation")
    for menu_id, menu in context.stack.menus.items():
        gaps: dict[str, list[str]] = {}
        for index, option in enumerate(menu.options):
            for key in ("label", "description", "answer"):
                value = getattr(option, key)
                if value is None:
                    continue
                present = languages_of(value)
                where = f"options[{index}].{key}"
                if default not in present:
                    yield Finding(("menus", menu_id, "options", index, key), "T604",
                                  f"{where} has no text in the default language {default!r}")
                for lang in wanted:
                    if lang not in present:
                        gaps.setdefault(lang, []).append(where)
        for lang, places in gaps.items():
            if lang == default:
                continue
            shown = ", ".join(places[:4]) + (f" and {len(places) - 4} more"
                                              if len(places) > 4 else "")
            yield Finding(("menus", menu_id), "T602", f"menu {menu_id!r} has no {lang!r} text "
                          f"for {shown}", "write labels and answers as {en: ..., "
                          f"{lang}: ...}}", at_key=True)


CHECKS: list[Check] = [template_placeholders, translations]

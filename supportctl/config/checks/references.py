"""Every id a stack refers to must be defined: agents, teams, schedules, templates, menus, ..."""

from __future__ import annotations

from collections.abc import Iterator

from supportctl.config.checks import Check, CheckContext
from supportctl.config.diagnostics import Finding, YamlPath
from supportctl.config.model.common import as_list
from supportctl.config.suggest import did_you_mean, known_list
from supportctl.plugins.notifier import lifecycle_kinds

_CODES = {"agents": ("R301", "agent"), "teams": ("R302", "team"),
          "schedules": ("R303", "schedule"), "templates": ("R304", "template"),
          "menus": ("R305", "menu"), "notify": ("R306", "notify target"),
          "channels": ("R307", "channel")}


def unknown(context: CheckContext, section: str, value: str | None,
            path: YamlPath) -> Iterator[Finding]:
    """A finding if `value` is not an id of `section`."""
    if value is None:
        return
    defined = context.ids(section)
    if value in defined:
        return
    code, what = _CODES[section]
    hint = did_you_mean(value, defined) or f"defined {section}: {known_list(defined)}"
    yield Finding(path, code, f"unknown {what} {value!r}", hint)


def unknown_each(context: CheckContext, section: str, values: str | list[str] | None,
                 path: YamlPath) -> Iterator[Finding]:
    """`unknown` for a field that holds one id or a list of ids."""
    if isinstance(values, list):
        for index, value in enumerate(values):
            yield from unknown(context, section, value, (*path, index))
    else:
        yield from unknown(context, section, values, path)


def team_references(context: CheckContext) -> Iterator[Finding]:
    for team_id, team in context.stack.teams.items():
        base: YamlPath = ("teams", team_id)
        members = set(team.members or ())
        yield from unknown_each(context, "agents", team.members, (*base, "members"))
        for index, shift in enumerate(team.shifts):
            shift_path = (*base, "shifts", index)
            yield from unknown(context, "schedules", shift.schedule, (*shift_path, "schedule"))
            for position, agent in enumerate(shift.agents):
                agent_path = (*shift_path, "agents", position)
                if agent not in context.ids("agents"):
                    yield from unknown(context, "agents", agent, agent_path)
                elif team.members is not None and agent not in members:
                    yield Finding(agent_path, "R308", f"agent {agent!r} works a shift of team "
                                  f"{team_id!r} but is not one of its members",
                                  f"add {agent!r} to teams.{team_id}.members")
        yield from unknown_each(context, "schedules", team.closed_on, (*base, "closed_on"))
        yield from unknown(context, "templates", team.out_of_hours_reply,
                           (*base, "out_of_hours_reply"))


def rule_references(context: CheckContext) -> Iterator[Finding]:
    for index, rule in enumerate(context.stack.routing):
        base: YamlPath = ("routing", index)
        yield from unknown(context, "teams", rule.to, (*base, "to"))
        yield from unknown_each(context, "teams", rule.fallback, (*base, "fallback"))
        yield from unknown_each(context, "notify", rule.notify, (*base, "notify"))
        yield from unknown(context, "templates", rule.out_of_hours_reply,
                           (*base, "out_of_hours_reply"))
        for step_index, step in enumerate(rule.escalate):
            step_path = (*base, "escalate", step_index)
            yield from unknown(context, "teams", step.to, (*step_path, "to"))
            yield from unknown_each(context, "notify", step.notify, (*step_path, "notify"))
            yield from unknown(context, "templates", step.reply, (*step_path, "reply"))


def message_references(context: CheckContext) -> Iterator[Finding]:
    stack = context.stack
    for channel_id, channel in stack.channels.items():
        yield from unknown(context, "menus", channel.menu, ("channels", channel_id, "menu"))
    for menu_id, menu in stack.menus.items():
        yield from unknown(context, "templates", menu.prompt, ("menus", menu_id, "prompt"))
        for index, option in enumerate(menu.options):
            option_path = ("menus", menu_id, "options", index)
            yield from unknown(context, "menus", option.menu, (*option_path, "menu"))
            yield from unknown(context, "templates", option.template, (*option_path, "template"))
    policy = stack.conversations
    yield from unknown(context, "templates", policy.out_of_hours_reply,
                       ("conversations", "out_of_hours_reply"))
    if policy.csat is not None:
        yield from unknown(context, "templates", policy.csat.template,
                           ("conversations", "csat", "template"))
        yield from unknown(context, "templates", policy.csat.thanks,
                           ("conversations", "csat", "thanks"))


def languages(context: CheckContext) -> Iterator[Finding]:
    """Languages used anywhere must be declared by the workspace."""
    workspace = context.stack.workspace
    declared = set(workspace.languages)

    def check(language: str, path: YamlPath) -> Iterator[Finding]:
        if language not in declared:
            yield Finding(path, "R310", f"language {language!r} is not among the workspace's "
                          f"languages ({', '.join(workspace.languages)})",
                          did_you_mean(language, declared) or
                          f"add {language!r} to workspace.languages")

    if workspace.default_language is not None:
        yield from check(workspace.default_language, ("workspace", "default_language"))
    for agent_id, agent in context.stack.agents.items():
        for index, language in enumerate(agent.languages):
            yield from check(language, ("agents", agent_id, "languages", index))
    for channel_id, channel in context.stack.channels.items():
        if channel.language is not None:
            yield from check(channel.language, ("channels", channel_id, "language"))
    for template_id, template in context.stack.templates.items():
        if isinstance(template.text, dict):
            for language in template.text:
                yield from check(language, ("templates", template_id, "text", language))
    for menu_id, menu in context.stack.menus.items():
        for index, option in enumerate(menu.options):
            for key in ("label", "description", "answer"):
                value = getattr(option, key)
                if isinstance(value, dict):
                    for language in value:
                        yield from check(language, ("menus", menu_id, "options", index, key,
                                                    language))


def unused(context: CheckContext) -> Iterator[Finding]:
    """Schedules, menus, notify targets and agents that nothing uses are probably mistakes."""
    if context.broken:
        return  # the users may sit in the parts that failed the structural check
    stack = context.stack
    used_schedules: set[str] = set()
    for team in stack.teams.values():
        used_schedules.update(shift.schedule for shift in team.shifts)
        used_schedules.update(team.closed_on)
    used_notify: set[str] = set()
    for rule in stack.routing:
        used_notify.update(as_list(rule.notify))
        for step in rule.escalate:
            used_notify.update(as_list(step.notify))
        conditions = [rule.when] if rule.when else []
        while conditions:
            condition = conditions.pop()
            if condition.schedule:
                used_schedules.add(condition.schedule)
            conditions.extend(condition.any or ())
            conditions.extend(condition.all or ())
            if condition.not_ is not None:
                conditions.append(condition.not_)
    # integrations (a webhook with `events`) get closed conversations and CSAT answers anyway
    used_notify.update(t for t, target in stack.notify.items() if lifecycle_kinds(target))
    used_menus = {c.menu for c in stack.channels.values() if c.menu}
    used_menus.update(o.menu for m in stack.menus.values() for o in m.options if o.menu)
    in_teams = {a for t in stack.teams.values() for a in (t.members or ())}
    in_teams.update(a for t in stack.teams.values() for s in t.shifts for a in s.agents)
    for section, used, what in (("schedules", used_schedules, "schedule"),
                                ("menus", used_menus, "menu"),
                                ("notify", used_notify, "notify target")):
        for item_id in getattr(stack, section):
            if item_id not in used:
                yield Finding((section, item_id), "R311", f"{what} {item_id!r} is never used",
                              "remove it, or refer to it where it was meant to be used",
                              at_key=True)
    for agent_id in stack.agents:
        if agent_id not in in_teams:
            yield Finding(("agents", agent_id), "R311", f"agent {agent_id!r} is in no team",
                          "add the agent to a team's members or shifts", at_key=True)


CHECKS: list[Check] = [team_references, rule_references, message_references, languages, unused]

"""The catalogue of diagnostic codes: stable identifiers, default severities and explanations.

Codes never change meaning once released; `docs/diagnostics.md` is generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from supportctl.config.diagnostics import Severity


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    name: str
    severity: Severity
    title: str
    explanation: str


_E = Severity.ERROR
_W = Severity.WARNING

CATALOGUE: tuple[Code, ...] = (
    # Loading: YAML itself, environment variables, includes.
    Code("L101", "yaml-syntax", _E, "YAML syntax error",
         "The file is not valid YAML. The position is where the parser gave up; the mistake is "
         "often just before it (an unclosed quote or bracket, a tab used for indentation)."),
    Code("L102", "duplicate-key", _E, "Duplicate key",
         "A mapping defines the same key twice. YAML parsers silently keep the last one, so half "
         "of your configuration would vanish without a word."),
    Code("L103", "multiple-documents", _E, "More than one YAML document",
         "A stack file holds exactly one YAML document; remove the extra `---` separator."),
    Code("L104", "empty-file", _E, "Empty stack file",
         "The file contains no YAML document, or its top level is not a mapping."),
    Code("L105", "unsupported-tag", _E, "Unsupported YAML tag",
         "Explicit tags such as `!!binary` or `!!python/object` have no meaning in a stack. "
         "Only the core tags `!!str`, `!!int`, `!!float`, `!!bool` and `!!null` are accepted."),
    Code("L106", "complex-key", _E, "Mapping key is not a plain value",
         "Keys must be plain strings (ids and option names), not lists or mappings."),
    Code("L107", "alias-expansion", _E, "YAML aliases expand too far",
         "Anchors and aliases expand to more nodes than any real stack has (a 'billion laughs' "
         "document). Write the repeated parts out or use fewer nested aliases."),
    Code("L110", "env-missing", _W, "Environment variable not set",
         "A `${VAR}` reference names a variable that is not set and has no `:-default`. "
         "`validate` warns (`--strict` fails); `serve` refuses to start. Both read the "
         "variables from the environment and from `.env` in the current directory."),
    Code("L111", "env-syntax", _E, "Malformed environment reference",
         "A `${` is not followed by a valid `NAME}` or `NAME:-default}`. Write `$${` for a "
         "literal `${`."),
    Code("L120", "include-no-match", _E, "Include pattern matches no file",
         "An `include:` glob matched nothing, so the teams or rules you meant to add are missing."),
    Code("L121", "include-cycle", _E, "Include cycle",
         "A file includes itself, directly or through other files."),
    Code("L122", "duplicate-id", _E, "Id defined in more than one file",
         "The same id appears in the same section of two files of one stack; ids are global."),
    Code("L123", "include-unreadable", _E, "Included file cannot be read",
         "An included file does not exist any more or cannot be read."),
    Code("L124", "include-top-level-only", _E, "Key allowed only in the root file",
         "`version`, `workspace` and `conversations` belong to the root stack file; an included "
         "file may only add channels, notify targets, schedules, agents, teams, routing rules, "
         "templates and menus."),
    # Structure: the JSON Schema generated from the models.
    Code("S201", "unknown-key", _E, "Unknown key",
         "The key is not part of the stack language at this place; often a typo. The hint lists "
         "the nearest known key."),
    Code("S202", "missing-key", _E, "Required key missing", "A required key is absent."),
    Code("S203", "wrong-type", _E, "Value has the wrong type",
         "For example a list where a mapping is expected, or a number where text is expected "
         "(quote phone numbers and ids that look like numbers)."),
    Code("S204", "invalid-choice", _E, "Value is not one of the allowed choices",
         "The value must be one of a fixed set of words; the hint suggests the nearest one."),
    Code("S205", "invalid-format", _E, "Value does not have the expected form",
         "The value does not match the expected pattern, e.g. an id with spaces, a time that is "
         "not `HH:MM-HH:MM`, a duration that is not like `15m` or `2h30m`."),
    Code("S206", "out-of-range", _E, "Value out of range",
         "A number is too small or too large, or a list has too few or too many items."),
    Code("S207", "unknown-type", _E, "Unknown channel or notifier type",
         "`type` names no installed plugin. The message lists the types that are installed."),
    Code("S208", "invalid-value", _E, "Value is invalid",
         "The value breaks a rule of the stack language not covered by a more specific code."),
    # References between entities.
    Code("R301", "unknown-agent", _E, "Unknown agent",
         "An agent id that is not defined under `agents`."),
    Code("R302", "unknown-team", _E, "Unknown team",
         "A team id that is not defined under `teams`."),
    Code("R303", "unknown-schedule", _E, "Unknown schedule",
         "A schedule id that is not defined under `schedules`."),
    Code("R304", "unknown-template", _E, "Unknown template",
         "A template id that is not defined under `templates`."),
    Code("R305", "unknown-menu", _E, "Unknown menu",
         "A menu id that is not defined under `menus`."),
    Code("R306", "unknown-notify-target", _E, "Unknown notify target",
         "A notify target id that is not defined under `notify`."),
    Code("R307", "unknown-channel", _E, "Unknown channel",
         "A routing condition names a channel id or channel type the stack does not define."),
    Code("R308", "shift-agent-not-member", _E, "Shift agent is not a team member",
         "A team lists its `members`, and a shift names an agent who is not one of them."),
    Code("R309", "unknown-contact-attribute", _E, "Unknown contact attribute",
         "A rule or template uses `contact.<attribute>` that is neither built in (id, name, "
         "first_name, language, phone, email, country) nor declared in "
         "`workspace.contact_attributes`. Such a condition would silently never match."),
    Code("R310", "undeclared-language", _E, "Language not declared by the workspace",
         "A template, menu, agent or channel uses a language code that `workspace.languages` "
         "does not list."),
    Code("R311", "unused-definition", _W, "Defined but never used",
         "A schedule, menu or notify target that nothing refers to, or an agent in no team: "
         "usually a leftover or a typo in the place meant to use it."),
    # Menus.
    Code("M401", "menu-cycle", _E, "Menus form a cycle",
         "Following submenu options leads back to a menu already on the path. Customers go back "
         "with `0`; a cycle makes the menu tree endless and its depth undefined."),
    Code("M402", "handoff-without-routing", _E, "Handoff with no routing to receive it",
         "A menu offers `handoff: true` on a channel for which no routing rule can match, so the "
         "customer would ask for a person and reach nobody."),
    # Routing rules.
    Code("U501", "rule-after-catch-all", _E, "Rule can never match: after a catch-all",
         "Rules are tried in order and the first match wins; a rule after one without `when` "
         "(or with an always-true condition) is never reached."),
    Code("U502", "rule-shadowed", _E, "Rule can never match: same condition as an earlier rule",
         "An earlier rule has exactly the same condition, so it always wins."),
    Code("U503", "no-catch-all", _E, "No catch-all rule",
         "The last rule must match every conversation (no `when`), so that what happens to "
         "conversations no other rule matches is written down."),
    Code("U504", "duplicate-rule-name", _E, "Two rules share a name",
         "Rule names identify rules in `explain`, tests and reports; they must be unique."),
    Code("U505", "invalid-regex", _E, "Invalid regular expression",
         "A `regex` matcher does not compile as a Python regular expression."),
    Code("U506", "fallback-loops", _W, "Fallback repeats a team",
         "A fallback chain names the rule's own team or the same team twice; the repeat is "
         "useless."),
    # Templates.
    Code("T601", "unknown-placeholder", _E, "Template placeholder names no known variable",
         "A `{{ ... }}` placeholder names a variable the runtime does not provide, so customers "
         "would see an empty gap."),
    Code("T602", "missing-translation", _W, "Text missing for a workspace language",
         "The workspace declares a language but this template, menu label or answer has no text "
         "in it; customers speaking it get the default language instead."),
    Code("T603", "template-syntax", _E, "Malformed placeholder",
         "A `{{` without a matching `}}`, or an empty `{{ }}`."),
    Code("T604", "no-default-language", _E, "No text in the default language",
         "A text has no version in the workspace's default language, the one used when a "
         "contact's language is unknown."),
    # Time: zones, ranges, shifts and coverage.
    Code("H701", "invalid-timezone", _E, "Unknown time zone",
         "The time zone is not an IANA name such as `Europe/Berlin` or `America/New_York`."),
    Code("H702", "invalid-time-range", _E, "Invalid time range",
         "A time range must be `HH:MM-HH:MM` with hours 00-23 (24:00 allowed as an end), "
         "minutes 00-59 and different start and end. An end before the start crosses midnight "
         "and belongs to the day it starts."),
    Code("H703", "invalid-days", _E, "Invalid days", "Days are `mon`..`sun`, ranges like "
         "`mon-fri` or lists of them."),
    Code("H704", "invalid-date", _E, "Invalid date", "Dates are written `YYYY-MM-DD`."),
    Code("H705", "team-never-on-shift", _W, "Team is never on shift",
         "A team has no shift with any hours, so conversations routed to it always wait."),
    Code("H706", "coverage-gap", _W, "Routing target has hours with nobody on shift",
         "A rule can route to a team at hours when the stack is open (the catch-all rule's team "
         "is on shift) but neither that team nor any of the rule's fallbacks has anybody on "
         "shift; those customers get the out-of-hours reply while others are served. Computed "
         "from weekly hours over a fixed reference week; see docs/schedules.md."),
    Code("H707", "invalid-duration", _E, "Invalid duration",
         "Durations are written like `90s`, `15m`, `2h30m`, `1d`."),
    Code("H708", "overlapping-override", _E, "Date given twice",
         "A schedule lists the same date twice among its dates or overrides."),
    # Channel limits and plugin checks.
    Code("C801", "menu-too-many-options", _W, "Menu has more options than the channel shows",
         "The channel's interactive menus hold fewer options, or an option's id is longer than "
         "its buttons carry; the menu falls back to numbered text on it."),
    Code("C802", "label-too-long", _E, "Label longer than the channel allows",
         "The channel's API rejects interactive rows or buttons whose title is longer than its "
         "limit; the message would fail at send time."),
    Code("C803", "text-too-long", _E, "Text longer than the channel allows",
         "A text is longer than the channel accepts in one message."),
    Code("C804", "literal-secret", _W, "Secret written literally",
         "A token, secret or password is written in the file instead of read from the "
         "environment with `${VAR}`; anyone who can read the repository can use it."),
    Code("C805", "channel-check", _E, "Channel configuration problem",
         "A check specific to the channel's plugin failed; the message says which."),
    Code("C806", "no-template-outside-window", _W, "Automatic message without a native template",
         "A message the runtime sends by itself long after the customer's last message (the "
         "CSAT question at close, an escalation notice) has no native template for a channel "
         "with a messaging window (WhatsApp 24 h, WeChat 48 h). Outside the window only such a "
         "template may be sent, so the runtime records the message as not sent instead."),
)

BY_CODE: dict[str, Code] = {c.code: c for c in CATALOGUE}
BY_NAME: dict[str, Code] = {c.name: c for c in CATALOGUE}


def lookup(code: str) -> Code:
    """The catalogue entry of a code (raises KeyError for a code that was never defined)."""
    return BY_CODE[code]

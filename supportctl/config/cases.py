"""Routing test files (`*.test.yaml`): their model, loading them with positions, and checking
the names they use against the stack they test.

Loading is separate from reading: `load_cases` takes the file's text. A test file is read by the
stack's YAML loader (YAML 1.2 values, positions, duplicate keys refused) but without `${VAR}`
interpolation: a test means the same on every machine. Every problem becomes a Diagnostic with
file, line and column, all of them in one pass; a file with any problem runs no case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from supportctl.config import codes
from supportctl.config.diagnostics import Diagnostic, Location, Severity, YamlPath
from supportctl.config.model.common import DURATION_PATTERN, ID_PATTERN, Duration, Id
from supportctl.config.model.stack import StackBase
from supportctl.config.model.workspace import BUILTIN_CONTACT_ATTRIBUTES
from supportctl.config.structure import kind_of
from supportctl.config.suggest import did_you_mean, known_list
from supportctl.config.yaml_loader import load_text, location_of, node_at, source_text

# Codes of test files (family X, "tests"); not in the stack's catalogue, see docs/testing.md.
UNKNOWN_KEY, WRONG_VALUE, MISSING_KEY, BAD_TIME = "X901", "X902", "X903", "X904"
STACK_NOT_FOUND, UNKNOWN_NAME, DUPLICATE_CASE = "X905", "X906", "X907"

ATTRIBUTE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

# --- times ----------------------------------------------------------------------------------

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


class TimeError(ValueError):
    """A time in a test file that cannot be read, or a wall-clock time that is not one instant."""


def parse_time(text: str, default_zone: tzinfo) -> datetime:
    """An instant from `2026-11-23T12:00+01:00`, `2026-11-23 12:00` or `... Asia/Shanghai`.

    Without an offset the time is read on the wall clock of the named zone, else of
    `default_zone` (the workspace's); a wall-clock time that a clock change skips or repeats is
    refused rather than guessed.
    """
    clock, _, name = text.strip().rpartition(" ")
    if not (name and _DATETIME.fullmatch(clock)):
        clock, name = text.strip(), ""
    if not _DATETIME.fullmatch(clock):
        raise TimeError(f"{text!r} is not a time such as '2026-11-23T12:00:00+01:00', "
                        "'2026-11-23 12:00' or '2026-11-23 12:00 Asia/Shanghai'")
    zone: tzinfo = default_zone
    if name:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise TimeError(f"unknown time zone {name!r}: write an IANA name such as "
                            "'Europe/Berlin'") from None
    try:
        parsed = datetime.fromisoformat(clock)
    except ValueError:
        raise TimeError(f"{text!r} is not a real date and time") from None
    if parsed.tzinfo is not None:
        if name:
            raise TimeError(f"{text!r} gives both an offset and a time zone; give one")
        return parsed
    return _on_wall_clock(parsed, zone)


def _on_wall_clock(naive: datetime, zone: tzinfo) -> datetime:
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    shown = naive.isoformat(sep=" ", timespec="minutes")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise TimeError(f"{shown} does not exist in {zone}: the clocks skip it "
                        "(summer time starts); write a time that exists, or an offset")
    raise TimeError(f"{shown} happens twice in {zone} (the clocks go back); write the offset: "
                    f"{first.isoformat()} or {second.isoformat()}")


def _time_syntax(text: str) -> str:
    parse_time(text, UTC)  # the workspace zone is not known yet: only the form is checked here
    return text


TimeText = Annotated[str, AfterValidator(_time_syntax)]

# --- the model ------------------------------------------------------------------------------

Scalar = str | int | float | bool


class CaseModel(BaseModel):
    """Base of the test-file models: unknown keys refused, no silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def given(self, key: str) -> bool:
        """Whether the file wrote `key` (null included), as opposed to leaving it out."""
        return key in self.model_fields_set


class Message(CaseModel):
    channel: Id
    text: str = ""


class State(CaseModel):
    open: dict[Id, Annotated[int, Field(ge=0)]] = {}
    last_assigned: dict[Id, Id] = {}


class ExpectedEscalation(CaseModel):
    after: Duration | None = None
    at: TimeText | None = None
    to: Id | None = None
    notify: Id | list[Id] | None = None
    reply: Id | None = None


class Expect(CaseModel):
    """What the decision must be; only the keys given are checked."""

    rule: Id | None = None
    outcome: Literal["assigned", "queued", "out_of_hours", "unrouted"] | None = None
    team: Id | None = None
    tried: Id | list[Id] | None = None
    agent: Id | None = None
    on_shift: Id | list[Id] | None = None
    reply: Id | None = None
    next_open: TimeText | None = None
    notify: Id | list[Id] | None = None
    escalations: list[ExpectedEscalation] | None = None
    agents: list[Id | None] | None = None
    assigned: dict[Id, Annotated[int, Field(ge=0)]] | None = None


class Case(CaseModel):
    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    at: TimeText
    message: Message
    contact: dict[Annotated[str, Field(pattern=ATTRIBUTE_PATTERN)],
                  Scalar | Annotated[list[Scalar], Field(min_length=1)]] = {}
    state: State = State()
    repeat: Annotated[int, Field(ge=1, le=10_000)] = 1
    expect: Expect


class Header(CaseModel):
    stack: Annotated[str, Field(min_length=1)]
    cases: Annotated[list[Any], Field(min_length=1)]


_MODELS: dict[str, type[BaseModel]] = {"": Header, "cases": Case, "message": Message,
                                       "state": State, "expect": Expect,
                                       "escalations": ExpectedEscalation}

# --- loading --------------------------------------------------------------------------------


@dataclass
class LoadedCases:
    """A test file read: the stack it names, its sound cases, and every problem found."""

    file: str
    root: Any = None  # the YAML node tree, for positions
    stack: str | None = None
    cases: list[tuple[int, Case]] = field(default_factory=list)  # (index in the file, case)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diagnostics

    def locate(self, path: YamlPath, at_key: bool = False) -> Location:
        """The position of `path`, or of its nearest parent in the file."""
        if self.root is None:
            return Location(self.file, 1, 1)
        node, depth, key_node = node_at(self.root, path)
        if at_key and key_node is not None and depth == len(path):
            node = key_node
        return location_of(self.file, node)

    def error(self, path: YamlPath, code: str, message: str, hint: str = "",
              at_key: bool = False) -> None:
        where = self.locate(path, at_key)
        self.diagnostics.append(Diagnostic(where.file, where.line, where.column, path, code,
                                           Severity.ERROR, message, hint))


def load_cases(text: str, file: str) -> LoadedCases:
    """Parse a test file's text; problems become diagnostics, never exceptions."""
    loaded_yaml = load_text(text, file, {})
    loaded = LoadedCases(file, loaded_yaml.root)
    for where, finding in loaded_yaml.findings:
        if finding.code in ("L110", "L111"):  # `${` is literal text in a test file
            continue
        message = finding.message
        hint = finding.hint
        if finding.code == "L104":
            message = "a test file must be a mapping with `stack` and `cases`"
            hint = "see docs/testing.md for the format"
        loaded.diagnostics.append(Diagnostic(
            where.file, where.line, where.column, finding.path, finding.code,
            finding.severity or codes.lookup(finding.code).severity, message, hint))
    if loaded.root is None or not isinstance(loaded_yaml.data, dict):
        return loaded
    data = _literal(loaded_yaml.data, loaded.root,
                    loaded_yaml.interpolated.keys() | loaded_yaml.unresolved)
    try:
        header = Header.model_validate(data)
    except ValidationError as error:
        _report(loaded, error, data, ())
        header = None
    stack = data.get("stack")
    loaded.stack = stack if isinstance(stack, str) and stack else None
    items = header.cases if header else data.get("cases")
    if isinstance(items, list):
        for index, item in enumerate(items):
            try:
                loaded.cases.append((index, Case.model_validate(item)))
            except ValidationError as error:
                _report(loaded, error, item, ("cases", index))
    for index, case in loaded.cases:
        if not case.expect.model_fields_set:
            loaded.error(("cases", index, "expect"), WRONG_VALUE, "`expect` checks nothing",
                         "give at least one of: " + ", ".join(Expect.model_fields))
    seen: dict[str, int] = {}
    for index, case in loaded.cases:
        if case.name in seen:
            line = loaded.locate(("cases", seen[case.name])).line
            loaded.error(("cases", index, "name"), DUPLICATE_CASE,
                         f"a case named {case.name!r} already exists (line {line})",
                         "give every case its own name: reports identify cases by name")
        seen.setdefault(case.name, index)
    return loaded


def _literal(data: Any, root: Any, replaced: set[YamlPath]) -> Any:
    """The data with every string that held `${...}` as written (no interpolation)."""
    def walk(value: Any, path: YamlPath) -> Any:
        if isinstance(value, dict):
            return {key: walk(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, str) and ("$" in value or path in replaced):
            written = source_text(root, path)
            return written if written is not None else value
        return value
    return walk(data, ())


# --- structural errors ----------------------------------------------------------------------

_TYPE_WORDS = {"string_type": "text", "int_type": "a whole number", "float_type": "a number",
               "bool_type": "true or false", "list_type": "a list", "dict_type": "a mapping",
               "model_type": "a mapping", "model_attributes_type": "a mapping",
               "literal_error": "", "none_required": "null"}
_PATTERNS = {ID_PATTERN: "an id (letters, digits, `_` and `-`, starting with a letter or digit)",
             DURATION_PATTERN: "a duration such as `15m`, `2h30m` or `1d`",
             ATTRIBUTE_PATTERN: "an attribute name (letters, digits and `_`)"}


def _report(loaded: LoadedCases, error: ValidationError, data: Any, base: YamlPath) -> None:
    """Every pydantic error as a positioned diagnostic; a union's errors become one."""
    by_path: dict[tuple[YamlPath, bool], list[ErrorDetails]] = {}
    for item in error.errors():
        path = _real_path(data, item["loc"])
        if item["type"] == "missing":
            loaded.error((*base, *path), MISSING_KEY,
                         f"missing required key {item['loc'][-1]!r}")
        elif item["type"] == "extra_forbidden":
            key, full = str(path[-1]), (*base, *path)
            parent = next((str(p) for p in reversed(full[:-1]) if isinstance(p, str)), "")
            known = list(_MODELS.get(parent, Header).model_fields)
            loaded.error((*base, *path), UNKNOWN_KEY, f"unknown key {key!r}",
                         did_you_mean(key, known) or f"known keys here: {known_list(known)}",
                         at_key=True)
        else:  # `[key]` in the location: the key of a mapping is wrong, not its value
            by_path.setdefault((path, "[key]" in item["loc"]), []).append(item)
    deepest = [(path, is_key) for path, is_key in by_path
               if not any(len(other) > len(path) and other[:len(path)] == path
                          for other, _ in by_path)]  # a union member that got further says more
    for path, is_key in deepest:
        items = by_path[path, is_key]
        value = path[-1] if is_key else _value_at(data, path)
        code, message, hint = _describe(items, value, path)
        loaded.error((*base, *path), code, message, hint, at_key=is_key)


def _describe(items: list[ErrorDetails], value: Any, path: YamlPath) -> tuple[str, str, str]:
    first = items[0]
    ctx: Mapping[str, Any] = first.get("ctx") or {}
    if first["type"] == "value_error":
        problem = ctx.get("error")
        return (BAD_TIME if isinstance(problem, TimeError) else WRONG_VALUE,
                str(problem or first["msg"]), "")
    if first["type"] == "string_pattern_mismatch":
        described = _PATTERNS.get(str(ctx.get("pattern")), f"of the form {ctx.get('pattern')}")
        return WRONG_VALUE, f"{value!r} is not {described}", ""
    if first["type"] == "literal_error" and len(items) == 1:
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return (WRONG_VALUE, f"{value!r} is not one of {', '.join(allowed)}",
                did_you_mean(str(value), allowed))
    if first["type"] in ("too_short", "list_too_short", "string_too_short"):
        return WRONG_VALUE, "must not be empty", ""
    if first["type"] == "greater_than_equal":
        return WRONG_VALUE, f"must be at least {ctx.get('ge')}", ""
    if first["type"] == "less_than_equal":
        return WRONG_VALUE, f"must be at most {ctx.get('le')}", ""
    words = [w for w in dict.fromkeys(_TYPE_WORDS.get(i["type"], "") for i in items) if w]
    if "a number" in words and "a whole number" in words:
        words.remove("a whole number")
    if len(words) > 1:
        words = ["a boolean" if w == "true or false" else w for w in words]
    expected = (", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1
                else words[0] if words else "another kind of value")
    hint = ""
    if "text" in words and isinstance(value, int | float | bool):
        hint = (f"a duration needs its unit, e.g. '{value}m'" if path[-1:] == ("after",)
                else f"quote it: \"{json.dumps(value)}\"")
    return WRONG_VALUE, f"expected {expected}, got {kind_of(value)}", hint


def _real_path(data: Any, loc: Iterable[int | str]) -> YamlPath:
    """The parts of a pydantic location that index into the data (union tags dropped)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_mapping = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            node = node[part]
            path.append(part)
    return tuple(path)


def _value_at(data: Any, path: YamlPath) -> Any:
    for part in path:
        data = data[part]
    return data


# --- names checked against the stack ---------------------------------------------------------

_SECTIONS = {"rule": "routing", "notify target": "notify"}


class _Checker:
    """Checks the cases of one file against the names and the time zone of one stack."""

    def __init__(self, loaded: LoadedCases, stack: StackBase) -> None:
        self.loaded = loaded
        self.zone = ZoneInfo(stack.workspace.timezone)
        self.known = {
            "channel": set(stack.channels), "agent": set(stack.agents),
            "team": set(stack.teams), "rule": {rule.name for rule in stack.routing},
            "template": set(stack.templates), "notify target": set(stack.notify),
            "contact attribute": {*BUILTIN_CONTACT_ATTRIBUTES,
                                  *stack.workspace.contact_attributes}}
        self.members = {team_id: {*(team.members or ()), *(a for s in team.shifts
                                                           for a in s.agents)}
                        for team_id, team in stack.teams.items()}

    def name(self, kind: str, value: Any, path: YamlPath, at_key: bool = False) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.name(kind, item, (*path, index))
            return
        known = self.known[kind]
        if value is None or value in known:
            return
        article = "an" if kind[0] in "aeiou" else "a"
        if kind == "contact attribute":
            hint = (f"built in: {known_list(BUILTIN_CONTACT_ATTRIBUTES)}; declare others in "
                    "workspace.contact_attributes")
        else:
            hint = f"known in {_SECTIONS.get(kind, f'{kind}s')}: {known_list(known)}"
        self.loaded.error(path, UNKNOWN_NAME, f"{value!r} is not {article} {kind} of the stack",
                          did_you_mean(str(value), known) or hint, at_key)

    def time(self, text: str | None, path: YamlPath) -> None:
        try:
            if text is not None:
                parse_time(text, self.zone)
        except TimeError as exc:
            self.loaded.error(path, BAD_TIME, str(exc))

    def case(self, here: YamlPath, case: Case) -> None:
        self.time(case.at, (*here, "at"))
        self.name("channel", case.message.channel, (*here, "message", "channel"))
        for attribute in case.contact:
            self.name("contact attribute", attribute, (*here, "contact", attribute), True)
        for agent in case.state.open:
            self.name("agent", agent, (*here, "state", "open", agent), True)
        for team_id, agent in case.state.last_assigned.items():
            path = (*here, "state", "last_assigned", team_id)
            self.name("team", team_id, path, True)
            self.name("agent", agent, path)
            team = self.members.get(team_id)
            if team is not None and agent in self.known["agent"] and agent not in team:
                self.loaded.error(path, UNKNOWN_NAME, f"{agent!r} is not in team {team_id!r}",
                                  f"its agents: {known_list(team)}")
        self.expect((*here, "expect"), case)

    def expect(self, here: YamlPath, case: Case) -> None:
        expect = case.expect
        for key, kind in (("rule", "rule"), ("team", "team"), ("agent", "agent"),
                          ("reply", "template"), ("tried", "team"), ("on_shift", "agent"),
                          ("agents", "agent"), ("notify", "notify target")):
            self.name(kind, getattr(expect, key), (*here, key))
        for agent in expect.assigned or {}:
            self.name("agent", agent, (*here, "assigned", agent), True)
        self.time(expect.next_open, (*here, "next_open"))
        for index, step in enumerate(expect.escalations or ()):
            at = (*here, "escalations", index)
            self.name("team", step.to, (*at, "to"))
            self.name("template", step.reply, (*at, "reply"))
            self.name("notify target", step.notify, (*at, "notify"))
            self.time(step.at, (*at, "at"))
        if expect.agents is not None and len(expect.agents) != case.repeat:
            self.loaded.error((*here, "agents"), WRONG_VALUE,
                              f"lists {len(expect.agents)} agents for {case.repeat} "
                              f"conversation{'s' * (case.repeat != 1)}",
                              "`agents` lists who gets each of the `repeat` conversations")


def check_cases(loaded: LoadedCases, stack: StackBase) -> None:
    """Add a diagnostic for every name the stack does not define and every unreadable time."""
    checker = _Checker(loaded, stack)
    for index, case in loaded.cases:
        checker.case(("cases", index), case)

"""Running routing test cases: each case's inquiry through a Router, its expectations compared.

Pure: a case, a router and the loaded file (for positions) in, a result out. Only the keys a
case's `expect` gives are compared; `null` expects "none" (no rule, no agent, no reply, ...).
With `repeat: N` the same conversation is routed N times in a row, each decision starting from
the state the previous one left (as N conversations arriving together, none closed yet); `agents`
and `assigned` check the whole series, every other key the last decision.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from supportctl.config.cases import Case, Expect, LoadedCases, parse_time
from supportctl.config.diagnostics import Location, YamlPath, format_path
from supportctl.config.model.common import as_list, parse_duration
from supportctl.routing.assignment import RoutingState
from supportctl.routing.engine import Decision, EscalationStep, Outcome, Router

_PLAIN = re.compile(r"[\w.:+@/-]+")


@dataclass(frozen=True, slots=True)
class Failure:
    """One expectation that did not hold."""

    key: str            # where in `expect`, e.g. `agent` or `escalations[0].at`
    location: Location  # of that key in the test file
    expected: str
    actual: str

    @property
    def message(self) -> str:
        return f"{self.key}: expected {self.expected}, got {self.actual}"


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What running one case gave."""

    name: str
    location: Location
    failures: tuple[Failure, ...]
    decisions: tuple[Decision, ...]  # one per conversation routed (`repeat`)
    routed: str                      # what routing did, in words

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def decision(self) -> Decision:
        return self.decisions[-1]


def show(value: Any) -> str:
    """A value the way a test file writes it: `li`, `null`, `[li, wei]`, `15m`, ISO times."""
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration_text(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{show(k)}: {show(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if _PLAIN.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def duration_text(value: timedelta) -> str:
    """timedelta(hours=1, minutes=30) -> `1h30m`."""
    seconds, parts = int(value.total_seconds()), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def routed_text(decision: Decision, zone: ZoneInfo) -> str:
    """One line saying what routing decided: rule, team, outcome, agent, who was on shift."""
    if decision.rule is None:
        return "no rule matched (unrouted)"
    text = f"rule {decision.rule.rule.name} -> team {decision.team}"
    if len(decision.tried) > 1 or (decision.tried and decision.tried[0].team != decision.team):
        text += f" (tried {', '.join(a.team for a in decision.tried)})"
    if decision.outcome is Outcome.ASSIGNED:
        text += f": assigned {decision.agent}"
    elif decision.outcome is Outcome.QUEUED:
        text += ": queued"
    else:
        opens = decision.next_open.astimezone(zone).isoformat() if decision.next_open else "never"
        text += f": out of hours, reply {show(decision.reply)}, next open {opens}"
    return text + f"; on shift: {', '.join(decision.on_shift) or 'nobody'}"


class _Comparison:
    """Collects the failures of one case."""

    def __init__(self, loaded: LoadedCases, index: int, zone: ZoneInfo) -> None:
        self.loaded = loaded
        self.here: YamlPath = ("cases", index, "expect")
        self.zone = zone
        self.failures: list[Failure] = []

    def fail(self, path: YamlPath, expected: str, actual: str) -> None:
        location = self.loaded.locate((*self.here, *path), at_key=True)
        self.failures.append(Failure(format_path(path), location, expected, actual))

    def same(self, path: YamlPath, expected: Any, actual: Any) -> None:
        if expected != actual:
            self.fail(path, show(expected), show(actual))

    def same_set(self, path: YamlPath, expected: Any, actual: Sequence[str]) -> None:
        wanted = as_list(expected)
        if sorted(wanted) != sorted(actual):
            self.fail(path, show(wanted), show(list(actual)))

    def same_time(self, path: YamlPath, expected: str | None, actual: datetime | None) -> None:
        if expected is None:
            self.same(path, None, actual)
            return
        wanted = parse_time(expected, self.zone)
        if actual is None or actual != wanted:
            shown = actual.astimezone(wanted.tzinfo) if actual is not None else None
            self.fail(path, show(wanted), show(shown))

    def escalations(self, expected: list[Any], actual: Sequence[EscalationStep]) -> None:
        if len(expected) != len(actual):
            steps = [{"after": s.after, "to": s.to, "notify": list(s.notify)} for s in actual]
            self.fail(("escalations",), _steps(len(expected)),
                      f"{_steps(len(actual))}: {show(steps)}")
            return
        for index, (step, got) in enumerate(zip(expected, actual, strict=True)):
            path: YamlPath = ("escalations", index)
            if step.given("after"):
                self.same((*path, "after"), parse_duration(step.after) if step.after else None,
                          got.after)
            if step.given("at"):
                self.same_time((*path, "at"), step.at, got.at)
            if step.given("to"):
                self.same((*path, "to"), step.to, got.to)
            if step.given("notify"):
                self.same_set((*path, "notify"), step.notify, got.notify)
            if step.given("reply"):
                self.same((*path, "reply"), step.reply, got.reply)


def _steps(count: int) -> str:
    return f"{count} step{'s' * (count != 1)}"


def _compare(check: _Comparison, expect: Expect, decisions: Sequence[Decision]) -> None:
    last = decisions[-1]
    actual: dict[str, Any] = {
        "rule": last.rule.rule.name if last.rule else None, "outcome": last.outcome.value,
        "team": last.team, "tried": [a.team for a in last.tried], "agent": last.agent,
        "reply": last.reply}
    for key in ("rule", "outcome", "team", "tried", "agent", "reply"):
        if expect.given(key):
            wanted = getattr(expect, key)
            if key == "tried":
                wanted = as_list(wanted)
            check.same((key,), wanted, actual[key])
    if expect.given("on_shift"):
        check.same_set(("on_shift",), expect.on_shift, last.on_shift)
    if expect.given("notify"):
        check.same_set(("notify",), expect.notify, last.notify)
    if expect.given("next_open"):
        check.same_time(("next_open",), expect.next_open, last.next_open)
    if expect.given("escalations"):
        check.escalations(expect.escalations or [], last.escalations)
    if expect.given("agents"):
        check.same(("agents",), expect.agents or [], [d.agent for d in decisions])
    if expect.given("assigned"):
        counts = Counter(d.agent for d in decisions if d.agent is not None)
        wanted = {agent: n for agent, n in (expect.assigned or {}).items() if n}
        if wanted != dict(counts):
            check.fail(("assigned",), show(dict(sorted(wanted.items()))),
                       show(dict(sorted(counts.items()))))


def run_case(router: Router, loaded: LoadedCases, index: int, case: Case) -> CaseResult:
    """Route the case's conversation (`repeat` times) and compare with its expectations."""
    zone = ZoneInfo(router.stack.workspace.timezone)
    inquiry = router.inquiry(parse_time(case.at, zone), case.message.channel,
                             dict(case.contact), case.message.text)
    state = RoutingState(dict(case.state.open), dict(case.state.last_assigned))
    decisions = []
    for _ in range(case.repeat):
        decision = router.decide(inquiry, state)
        decisions.append(decision)
        state = decision.state
    check = _Comparison(loaded, index, zone)
    _compare(check, case.expect, decisions)
    routed = routed_text(decisions[-1], zone)
    if case.repeat > 1:
        routed += f"; agents of the {case.repeat} conversations: " + show(
            [d.agent for d in decisions])
    failures = sorted(check.failures, key=lambda f: (f.location.line, f.location.column))
    return CaseResult(case.name, loaded.locate(("cases", index)), tuple(failures),
                      tuple(decisions), routed)


def run_cases(router: Router, loaded: LoadedCases) -> list[CaseResult]:
    """Every case of a loaded file that has no problems (check it with `check_cases` first)."""
    return [run_case(router, loaded, index, case) for index, case in loaded.cases]

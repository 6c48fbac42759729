"""Checks of a stack that need the routing engine's view of time."""

from __future__ import annotations

from collections.abc import Iterator

from supportctl.config.checks import Check, CheckContext
from supportctl.config.diagnostics import Finding
from supportctl.routing.coverage import coverage_gaps, describe


def coverage_gap(context: CheckContext) -> Iterator[Finding]:
    """H706: a rule whose team and fallbacks leave hours bare while the stack is open."""
    timezone = context.stack.workspace.timezone
    for gap in coverage_gaps(context.stack):
        covered = ("no fallback covers them" if gap.fallbacks else
                   "the rule has no fallback")
        message = (f"rule {gap.rule!r} routes to team {gap.team!r}, which has nobody on shift "
                   f"{describe(gap.minutes)} ({timezone}), and {covered}")
        fallback = (f"a fallback that is on shift then (team {gap.suggestion!r} is)"
                    if gap.suggestion else "a fallback team that is on shift then")
        hint = (f"add {fallback} or a shift for those hours; until then these customers get "
                "the out-of-hours reply while others are served")
        yield Finding(("routing", gap.rule_index, "to"), "H706", message, hint)


CHECKS: list[Check] = [coverage_gap]

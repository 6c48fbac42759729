"""Semantic checks: what the schema cannot see, found on a structurally valid stack model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from supportctl.config.diagnostics import Finding, YamlPath, format_path
from supportctl.config.model.stack import StackBase
from supportctl.config.plugin_spec import PluginSet


@dataclass
class CheckContext:
    """What a check may look at: the model, the plugins, and which values came from `${ENV}`."""

    stack: StackBase
    plugins: PluginSet
    # ids whose definitions failed the structural check: they exist, so no "unknown" for them
    broken: dict[str, set[str]] = field(default_factory=dict)
    interpolated: Callable[[YamlPath], str | None] = lambda _path: None
    # "file:line" of a path, for messages that point at a second place
    where: Callable[[YamlPath], str] = format_path

    _ids: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def ids(self, section: str) -> frozenset[str]:
        """Ids defined in a section, including broken ones."""
        known = self._ids.get(section)
        if known is None:
            defined: dict[str, Any] = getattr(self.stack, section)
            known = self._ids[section] = frozenset(defined) | self.broken.get(section, set())
        return known

    @property
    def language(self) -> str:
        return self.stack.workspace.language


Check = Callable[[CheckContext], Iterable[Finding]]


def core_checks() -> list[Check]:
    """Every semantic check of the config layer, in the order their findings are reported."""
    from supportctl.config.checks import (
        channels,
        menus,
        references,
        routing_rules,
        schedules,
        templates,
    )

    return [*references.CHECKS, *schedules.CHECKS, *routing_rules.CHECKS, *menus.CHECKS,
            *templates.CHECKS, *channels.CHECKS]


def run_checks(context: CheckContext, checks: Iterable[Check]) -> list[Finding]:
    """Run checks; each finding keeps the order in which the check produced it."""
    findings: list[Finding] = []
    for check in checks:
        findings.extend(check(context))
    return findings

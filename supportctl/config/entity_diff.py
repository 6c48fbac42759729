"""What a change does to the entities of a stack: added, removed or changed, by id, not by line.

Entities are compared as the checked models see them, so moving a definition to another file,
reordering keys or writing out a default changes nothing. A changed entity lists the keys that
differ (dotted into nested mappings: `text.de`, `csat.wait`), never their values: a key may hold
a secret. Routing rules are matched by name; a rule whose place among the rules both stacks keep
changed is `moved` (rules shifted by an insertion or removal above them are not; of two rules
that swapped places, the one that went up moved).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from supportctl.config.model.stack import StackBase
from supportctl.config.sources import ID_SECTIONS

SINGLE_SECTIONS = ("workspace", "conversations")
"""Sections that are one entity each."""
SECTIONS = ("workspace", *ID_SECTIONS, "routing", "conversations")
"""The order in which changes are reported."""


@dataclass(frozen=True, slots=True)
class EntityChange:
    """One entity that is not the same in both stacks."""

    section: str
    id: str
    change: str
    """`added`, `removed`, `changed` or (routing rules only) `moved`."""
    keys: tuple[str, ...] = ()
    """The keys whose values differ, for `changed`."""
    old_position: int | None = None
    """1-based place of a routing rule in the old stack (rules only)."""
    new_position: int | None = None
    moved: bool = False
    """A routing rule that also changed its place among the rules both stacks keep."""

    def as_dict(self) -> dict[str, Any]:
        """The change for JSON output."""
        data: dict[str, Any] = {"section": self.section, "id": self.id, "change": self.change}
        if self.keys:
            data["keys"] = list(self.keys)
        if self.section == "routing":
            data["old_position"] = self.old_position
            data["new_position"] = self.new_position
            data["moved"] = self.moved
        return data


def _dump(model: BaseModel) -> dict[str, Any]:
    # python mode, not json: secrets stay SecretStr, which compare by their value
    return model.model_dump(by_alias=True)


def changed_keys(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """Dotted keys whose values differ between two mappings (lists compare whole)."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        if old != new:
            yield prefix
        return
    for key in [*old, *(k for k in new if k not in old)]:
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in old or key not in new:
            yield dotted
        elif isinstance(old[key], Mapping) and isinstance(new[key], Mapping):
            yield from changed_keys(old[key], new[key], dotted)
        elif old[key] != new[key]:
            yield dotted


def _by_id(section: str, old: Mapping[str, BaseModel],
           new: Mapping[str, BaseModel]) -> list[EntityChange]:
    changes = [EntityChange(section, item, "removed") for item in old if item not in new]
    for item, model in new.items():
        if item not in old:
            changes.append(EntityChange(section, item, "added"))
            continue
        keys = tuple(changed_keys(_dump(old[item]), _dump(model)))
        if keys:
            changes.append(EntityChange(section, item, "changed", keys))
    return changes


def _kept_in_order(old: Sequence[str], new: Sequence[str]) -> set[str]:
    """The names of a longest common subsequence: rules that kept their relative order."""
    rows, cols = len(old), len(new)
    lengths = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            lengths[i][j] = (lengths[i + 1][j + 1] + 1 if old[i] == new[j]
                             else max(lengths[i + 1][j], lengths[i][j + 1]))
    kept, i, j = set(), 0, 0
    while i < rows and j < cols:
        if old[i] == new[j]:
            kept.add(old[i])
            i, j = i + 1, j + 1
        elif lengths[i][j + 1] >= lengths[i + 1][j]:
            j += 1  # on a tie the rule that went up moved: swapping two rules raises one
        else:
            i += 1
    return kept


def _rules(old: StackBase, new: StackBase) -> list[EntityChange]:
    old_rules = {rule.name: (index, rule) for index, rule in enumerate(old.routing)}
    new_rules = {rule.name: (index, rule) for index, rule in enumerate(new.routing)}
    common = [name for name in old_rules if name in new_rules]
    kept = _kept_in_order(common, [name for name in new_rules if name in old_rules])
    changes = [EntityChange("routing", name, "removed", old_position=index + 1)
               for name, (index, _) in old_rules.items() if name not in new_rules]
    for name, (index, rule) in new_rules.items():
        if name not in old_rules:
            changes.append(EntityChange("routing", name, "added", new_position=index + 1))
            continue
        old_index, old_rule = old_rules[name]
        keys = tuple(changed_keys(_dump(old_rule), _dump(rule)))
        moved = name not in kept
        if keys or moved:
            changes.append(EntityChange("routing", name, "changed" if keys else "moved", keys,
                                        old_index + 1, index + 1, moved))
    return changes


def entity_diff(old: StackBase, new: StackBase) -> list[EntityChange]:
    """Every entity added, removed or changed from `old` to `new`, section by section."""
    changes: list[EntityChange] = []
    for section in SECTIONS:
        if section == "routing":
            changes.extend(_rules(old, new))
        elif section in SINGLE_SECTIONS:
            keys = tuple(changed_keys(_dump(getattr(old, section)), _dump(getattr(new, section))))
            if keys:
                changes.append(EntityChange(section, section, "changed", keys))
        else:
            changes.extend(_by_id(section, getattr(old, section), getattr(new, section)))
    return changes

"""Property: whatever is done to a valid stack, validate answers with diagnostics, never a crash."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportctl.config.codes import BY_CODE
from supportctl.config.diagnostics import Severity
from supportctl.validation import validate_stack

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "stacks" / "acme.yaml"
SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_DATA: dict[str, Any] = yaml.safe_load(SEED_TEXT)

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(allow_nan=False),
                    st.sampled_from(["", "no", "18:00", "25:99-01:00", "mon-fry", "round-robin",
                                     "${UNSET}", "{{contact.nme}}", "general", "anna", "wechat",
                                     "Europe/Berln", "((", "x" * 300, "2026-02-30"]),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=8), inner,
                                                 max_size=3)), max_leaves=6)


def paths_of(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(paths_of(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(paths_of(value, (*prefix, index)))
    return found


ALL_PATHS = [p for p in paths_of(SEED_DATA) if p]
# MUTATION_EXAMPLES=2000 for a longer bug hunt
MUTATION_SETTINGS = settings(max_examples=int(os.environ.get("MUTATION_EXAMPLES", "150")),
                             deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


def mutate(data: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> None:
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[f"{last}x"] = parent.pop(last)
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))


def check_result(path: Path) -> None:
    result = validate_stack(path, env={})
    for diagnostic in result.diagnostics:
        assert diagnostic.code in BY_CODE
        assert diagnostic.line >= 1 and diagnostic.column >= 1
        assert diagnostic.message
    unresolved = any(f.unresolved for f in result.sources.files.values())
    if not result.diagnostics.errors and not unresolved:
        assert result.stack is not None


@MUTATION_SETTINGS
@given(mutations=st.lists(st.tuples(st.sampled_from(ALL_PATHS),
                                    st.sampled_from(["replace", "delete", "rename", "duplicate"]),
                                    values), min_size=1, max_size=4))
def test_structural_mutations_give_diagnostics(tmp_path: Path,
                                               mutations: list[tuple[Any, str, Any]]) -> None:
    data = copy.deepcopy(SEED_DATA)
    for path, action, value in mutations:
        try:
            mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or reshaped this path
    target = tmp_path / "stack.yaml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    check_result(target)


@MUTATION_SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, len(SEED_TEXT) - 1),
                                st.integers(0, 8),
                                st.sampled_from(["", ":", " ", "\t", "-", "{", "]", "'", '"',
                                                 "\n", "&a", "*a", "!!binary ", "${X", "#",
                                                 "no", "18:00", "\n  "])), min_size=1, max_size=3))
def test_textual_mutations_give_diagnostics(tmp_path: Path,
                                            edits: list[tuple[int, int, str]]) -> None:
    text = SEED_TEXT
    for position, removed, inserted in edits:
        position = min(position, len(text))
        text = text[:position] + inserted + text[position + removed:]
    target = tmp_path / "stack.yaml"
    target.write_text(text, encoding="utf-8")
    check_result(target)


def test_the_seed_itself_has_no_errors(tmp_path: Path) -> None:
    result = validate_stack(SEED, env={})
    assert [d for d in result.diagnostics if d.severity is Severity.ERROR] == []

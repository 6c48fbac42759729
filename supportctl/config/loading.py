"""The pipeline: assemble files -> structure (JSON Schema) -> model (pydantic) -> semantics."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from supportctl.config import codes
from supportctl.config.checks import Check, CheckContext, core_checks, run_checks
from supportctl.config.diagnostics import Diagnostic, Diagnostics, Finding, Severity, YamlPath
from supportctl.config.model.stack import StackBase, build_stack_model
from supportctl.config.plugin_spec import PluginSet
from supportctl.config.schema import stack_validator
from supportctl.config.sources import ID_SECTIONS, LIST_SECTIONS, SourceMap, assemble
from supportctl.config.structure import StructureChecker

_VALUE_LIMIT = 60


@dataclass
class LoadResult:
    """A checked stack: the model when its structure is sound, and every diagnostic."""

    stack: StackBase | None
    diagnostics: Diagnostics
    sources: SourceMap
    env_used: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.stack is not None and not self.diagnostics.errors


class _Placer:
    """Gives findings their positions, severities and safe value texts."""

    def __init__(self, sources: SourceMap) -> None:
        self.sources = sources

    def value_text(self, path: YamlPath, value: Any, schema: dict[str, Any]) -> str:
        """How a value is quoted in a message: never a secret, never an environment value."""
        source = self.sources.interpolated_source(path)
        if source is not None:
            return f"{source!r} (from the environment)"
        if schema.get("writeOnly"):
            return "(secret value)"
        if isinstance(value, str):
            text = value
        else:
            text = self.sources.source_text(path) or repr(value)
            if isinstance(value, float) and not math.isfinite(value):
                text = str(value)
            return text if len(text) <= _VALUE_LIMIT else text[:_VALUE_LIMIT] + "..."
        if len(text) > _VALUE_LIMIT:
            text = text[:_VALUE_LIMIT] + "..."
        return repr(text)

    def where(self, path: YamlPath) -> str:
        location = self.sources.locate(path)
        return f"{location.file}:{location.line}"

    def place(self, finding: Finding) -> Diagnostic:
        where = self.sources.locate(finding.path, finding.at_key)
        severity = finding.severity or codes.lookup(finding.code).severity
        return Diagnostic(where.file, where.line, where.column, finding.path, finding.code,
                          severity, finding.message, finding.hint)


@dataclass
class _Pruned:
    """The document without the entities that failed the structural check.

    Semantic checks then still run on everything else, so one run reports every problem;
    the pruned ids are remembered so that references to them are not reported as unknown.
    """

    data: dict[str, Any] | None
    broken: dict[str, set[str]] = field(default_factory=dict)
    # document index of each routing rule that was kept, by its index in `data`
    kept_rules: list[int] | None = None

    def original(self, path: YamlPath) -> YamlPath:
        """A path of the pruned document as a path of the file."""
        if self.kept_rules is None or len(path) < 2 or path[0] != "routing":
            return path
        index = path[1]
        return ("routing", self.kept_rules[index], *path[2:]) if isinstance(index, int) else path


def _prune(data: dict[str, Any], findings: Iterable[Finding]) -> _Pruned:
    pruned = _Pruned(dict(data))
    document = pruned.data
    assert document is not None
    bad_rules: set[int] = set()
    for finding in findings:
        path = finding.path
        if not path:
            return _Pruned(None)
        head = path[0]
        if head in ID_SECTIONS and len(path) > 1 and isinstance(document.get(head), dict):
            section = document[head] = dict(document[head])
            section.pop(str(path[1]), None)
            pruned.broken.setdefault(str(head), set()).add(str(path[1]))
        elif head in LIST_SECTIONS and len(path) > 1 and isinstance(path[1], int):
            bad_rules.add(path[1])
        elif head in ("conversations", "include"):
            document.pop(str(head), None)
        else:
            return _Pruned(None)  # version or workspace: nothing sound to check against
    rules = document.get("routing")
    if bad_rules and isinstance(rules, list):
        pruned.kept_rules = [i for i in range(len(rules)) if i not in bad_rules]
        document["routing"] = [rules[i] for i in pruned.kept_rules]
        pruned.broken["routing"] = {str(i) for i in bad_rules}
    return pruned


def _model_findings(error: ValidationError) -> list[Finding]:
    """Pydantic errors the schema did not catch (validators beyond JSON Schema)."""
    findings = []
    for item in error.errors():
        path = tuple(p for p in item["loc"] if isinstance(p, str | int))
        message = str(item["msg"]).removeprefix("Value error, ")
        findings.append(Finding(path, "S208", message))
    return findings


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading allocates hundreds of thousands of objects and frees none of them: the cyclic
    garbage collector's repeated full passes over them took half of `validate`'s time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_stack(root: Path, plugins: PluginSet, env: Mapping[str, str],
                missing_env: Severity = Severity.WARNING,
                extra_checks: Iterable[Check] = ()) -> LoadResult:
    """Check a stack and build its model; raises UnreadableStack only if the root can't be read."""
    with _collector_paused():
        return _check_stack(root, plugins, env, missing_env, extra_checks)


def _check_stack(root: Path, plugins: PluginSet, env: Mapping[str, str],
                 missing_env: Severity, extra_checks: Iterable[Check]) -> LoadResult:
    assembled = assemble(root, env, missing_env)
    placer = _Placer(assembled.sources)
    diagnostics = Diagnostics()
    for location, finding in assembled.findings:
        severity = finding.severity or codes.lookup(finding.code).severity
        diagnostics.add(Diagnostic(location.file, location.line, location.column, finding.path,
                                   finding.code, severity, finding.message, finding.hint))
    env_used = set().union(*(f.env_used for f in assembled.sources.files.values()))
    if not assembled.sources.files[assembled.sources.root_file].root:
        return LoadResult(None, diagnostics, assembled.sources, env_used)

    model = build_stack_model(plugins)
    data = assembled.data
    stack, error = _validate(model, data)  # the fast path: pydantic's core, no jsonschema
    pruned = _Pruned(data)
    checked = stack
    unknown: list[YamlPath] = []  # values taken out because the loader could not read them
    if error is not None:
        checker = StructureChecker(stack_validator(plugins), placer.value_text)
        structural = checker.check(data) or _model_findings(error)
        # a value the loader could not read (an unset variable, say) is not judged again
        reported = [f for f in structural if not assembled.sources.unresolved(f.path)]
        diagnostics.extend(placer.place(f) for f in reported)
        if not reported:  # only unknown values are wrong: check the rest without them
            unknown = [f.path for f in structural]
            stack, _ = _validate(model, _without(data, unknown))
            checked = stack
        if checked is None:
            pruned = _prune(data, structural)
            checked = _validate(model, pruned.data)[0] if pruned.data is not None else None
    if checked is not None:
        context = CheckContext(checked, plugins, pruned.broken,
                               assembled.sources.interpolated_source,
                               lambda path: placer.where(pruned.original(path)))
        for finding in run_checks(context, [*core_checks(), *extra_checks]):
            path = pruned.original(finding.path)
            # nothing is said about a value the loader refused or an entity that lost one
            if not assembled.sources.unresolved(path) and not any(
                    gone[:len(path)] == path for gone in unknown):
                diagnostics.add(placer.place(replace(finding, path=path)))
    return LoadResult(stack, diagnostics, assembled.sources, env_used)


def _validate(model: type[StackBase],
              data: dict[str, Any]) -> tuple[StackBase | None, ValidationError | None]:
    try:
        return model.model_validate(data), None
    except ValidationError as error:
        return None, error


def _without(data: dict[str, Any], paths: Iterable[YamlPath]) -> dict[str, Any]:
    """A copy of the document without the mapping values at `paths`, copying only what changes."""
    result = dict(data)
    for path in paths:
        node: Any = result
        for depth, part in enumerate(path):
            if isinstance(node, dict) and part in node:
                if depth == len(path) - 1:
                    del node[part]
                    break
            elif not (isinstance(node, list) and isinstance(part, int) and part < len(node)):
                break
            child = node[part]
            node[part] = child = (dict(child) if isinstance(child, dict) else
                                  list(child) if isinstance(child, list) else child)
            node = child
    return result

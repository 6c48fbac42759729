"""Assemble a stack from its root file and `include:` globs, and map paths back to files.

An include is read where it is written: routing rules of included files take the place of the
`include:` key among the root file's keys, so a catch-all rule written after `include:` stays
last. Ids are global: one defined in two files is an error naming both places.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportctl.config.diagnostics import Finding, Location, Severity, YamlPath
from supportctl.config.suggest import did_you_mean
from supportctl.config.yaml_loader import LoadedFile, load_text, location_of, node_at

ID_SECTIONS = ("channels", "notify", "schedules", "agents", "teams", "templates", "menus")
LIST_SECTIONS = ("routing",)
ROOT_ONLY = ("version", "workspace", "conversations")
FRAGMENT_KEYS = (*ID_SECTIONS, *LIST_SECTIONS, "include")


class UnreadableStack(Exception):
    """The root file cannot be read at all: a usage problem, not a finding in a stack."""


@dataclass
class SourceMap:
    """Where every part of the merged stack came from."""

    root_file: str
    files: dict[str, LoadedFile] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    rules: list[tuple[str, int]] = field(default_factory=list)

    def origin(self, path: YamlPath) -> tuple[LoadedFile, YamlPath]:
        """The file a merged-document path lives in, and the path inside that file."""
        if len(path) > 1:
            head, second = path[0], path[1]
            if head in LIST_SECTIONS and isinstance(second, int) and second < len(self.rules):
                file, local = self.rules[second]
                return self.files[file], (head, local, *path[2:])
            if isinstance(head, str) and isinstance(second, str):
                owner = self.owners.get((head, second))
                if owner is not None:
                    return self.files[owner], path
        return self.files[self.root_file], path

    def locate(self, path: YamlPath, at_key: bool = False) -> Location:
        """The position of `path`, or of its nearest parent that exists in the file."""
        loaded, local = self.origin(path)
        if loaded.root is None:
            return Location(loaded.file, 1, 1)
        node, depth, key_node = node_at(loaded.root, local)
        if at_key and key_node is not None and depth == len(local):
            node = key_node
        return location_of(loaded.file, node)

    def interpolated_source(self, path: YamlPath) -> str | None:
        """The `${VAR}` text behind a value that came from the environment, if it did."""
        loaded, local = self.origin(path)
        return loaded.interpolated.get(local)

    def unresolved(self, path: YamlPath) -> bool:
        """True when the value at `path` needs an environment variable that is not set."""
        loaded, local = self.origin(path)
        return local in loaded.unresolved

    def source_text(self, path: YamlPath) -> str | None:
        """The literal text of a scalar as written in the file."""
        loaded, local = self.origin(path)
        if loaded.root is None:
            return None
        node, depth, _ = node_at(loaded.root, local)
        value = getattr(node, "value", None)
        return value if depth == len(local) and isinstance(value, str) else None


@dataclass
class AssembledStack:
    """The merged document of a stack, its source map, and what assembling it found."""

    data: dict[str, Any]
    sources: SourceMap
    findings: list[tuple[Location, Finding]]


def display_path(path: Path) -> str:
    """Paths in diagnostics: relative to the working directory when below it, else absolute."""
    absolute = path.absolute()
    try:
        return os.path.normpath(absolute.relative_to(Path.cwd()))
    except ValueError:
        return os.path.normpath(absolute)


class _Assembler:
    def __init__(self, env: Mapping[str, str], missing_env: Severity) -> None:
        self.env = env
        self.missing_env = missing_env
        self.data: dict[str, Any] = {}
        self.findings: list[tuple[Location, Finding]] = []
        self.sources: SourceMap | None = None
        self.active: list[Path] = []

    def read(self, path: Path, name: str) -> LoadedFile:
        text = path.read_text(encoding="utf-8")
        loaded = load_text(text, name, self.env, self.missing_env)
        self.findings.extend(loaded.findings)
        assert self.sources is not None
        self.sources.files[name] = loaded
        return loaded

    def add_file(self, loaded: LoadedFile, path: Path, is_root: bool) -> None:
        data = loaded.data
        if not isinstance(data, dict):
            return
        self.active.append(path.resolve())
        for key, value in data.items():
            if key == "include":
                self.include(loaded, path, value)
            elif key in ID_SECTIONS:
                self.merge_ids(loaded, key, value, is_root)
            elif key in LIST_SECTIONS:
                self.merge_rules(loaded, key, value)
            elif is_root:
                self.data[key] = value
            else:
                self.fragment_key_problem(loaded, key)
        self.active.pop()

    def fragment_key_problem(self, loaded: LoadedFile, key: str) -> None:
        assert loaded.root is not None
        where = location_of(loaded.file, node_at(loaded.root, (key,))[2] or loaded.root)
        if key in ROOT_ONLY:
            self.findings.append((where, Finding(
                (key,), "L124", f"`{key}` may only appear in the root stack file",
                "move it to the file that includes this one")))
        else:
            self.findings.append((where, Finding(
                (key,), "S201", f"unknown section {key!r} in an included file",
                did_you_mean(key, FRAGMENT_KEYS) or
                f"an included file may hold: {', '.join(FRAGMENT_KEYS)}")))

    def merge_ids(self, loaded: LoadedFile, section: str, value: Any, is_root: bool) -> None:
        assert self.sources is not None and loaded.root is not None
        target = self.data.get(section)
        if not isinstance(value, dict) or (target is not None and not isinstance(target, dict)):
            if is_root and section not in self.data:
                self.data[section] = value  # the schema check reports the wrong type
            else:
                where = location_of(loaded.file, node_at(loaded.root, (section,))[0])
                self.findings.append((where, Finding(
                    (section,), "S203", f"`{section}` must be a mapping of ids")))
            return
        if target is None:
            target = self.data[section] = {}
        for item_id, item in value.items():
            owner = self.sources.owners.get((section, item_id))
            if item_id in target and owner is not None:
                first = self.sources.locate((section, item_id), at_key=True)
                key_node = node_at(loaded.root, (section, item_id))[2]
                assert key_node is not None
                self.findings.append((location_of(loaded.file, key_node), Finding(
                    (section, item_id), "L122",
                    f"{section}.{item_id} is already defined at "
                    f"{first.file}:{first.line}:{first.column}",
                    "ids are global across the files of a stack: rename one or remove it")))
                continue
            target[item_id] = item
            self.sources.owners[(section, item_id)] = loaded.file

    def merge_rules(self, loaded: LoadedFile, section: str, value: Any) -> None:
        assert self.sources is not None
        target = self.data.setdefault(section, [])
        if not isinstance(value, list) or not isinstance(target, list):
            if not target:
                self.data[section] = value
            return
        for index, rule in enumerate(value):
            self.sources.rules.append((loaded.file, index))
            target.append(rule)

    def include(self, loaded: LoadedFile, path: Path, value: Any) -> None:
        assert loaded.root is not None
        patterns = [value] if isinstance(value, str) else value
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            where = location_of(loaded.file, node_at(loaded.root, ("include",))[0])
            self.findings.append((where, Finding(("include",), "S203",
                                                 "`include` must be a list of file globs")))
            return
        for index, pattern in enumerate(patterns):
            node_path: YamlPath = ("include",) if isinstance(value, str) else ("include", index)
            where = location_of(loaded.file, node_at(loaded.root, node_path)[0])
            full = pattern if os.path.isabs(pattern) else str(path.parent / pattern)
            matches = sorted(glob.glob(full, recursive=True))
            matches = [m for m in matches if os.path.isfile(m)]
            if not matches:
                self.findings.append((where, Finding(
                    node_path, "L120", f"include pattern {pattern!r} matches no file",
                    "patterns are relative to the file that holds them")))
            for match in matches:
                self.include_file(Path(match), node_path, where)

    def include_file(self, path: Path, node_path: YamlPath, where: Location) -> None:
        assert self.sources is not None
        resolved = path.resolve()
        name = display_path(path)
        if resolved in self.active or name in self.sources.files:
            if resolved in self.active:
                self.findings.append((where, Finding(
                    node_path, "L121", f"{name} is already being read: the includes form a cycle",
                    "remove the include that leads back")))
            return  # a file matched by two patterns is read once
        try:
            loaded = self.read(path, name)
        except (OSError, UnicodeDecodeError) as exc:
            self.findings.append((where, Finding(node_path, "L123",
                                                 f"cannot read {name}: {exc}")))
            return
        self.add_file(loaded, path, is_root=False)


def assemble(root: Path, env: Mapping[str, str],
             missing_env: Severity = Severity.WARNING) -> AssembledStack:
    """Read a stack's root file and its includes into one document with a source map."""
    if root.is_dir():
        root = root / "stack.yaml"
    name = display_path(root)
    assembler = _Assembler(env, missing_env)
    assembler.sources = SourceMap(root_file=name)
    try:
        loaded = assembler.read(root, name)
    except FileNotFoundError as exc:
        raise UnreadableStack(f"{name}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableStack(f"{name}: cannot read: {exc}") from exc
    assembler.add_file(loaded, root, is_root=True)
    return AssembledStack(assembler.data, assembler.sources, assembler.findings)

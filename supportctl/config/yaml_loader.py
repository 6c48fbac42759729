"""Read one YAML file into plain Python values while keeping every node's position.

Values follow the YAML 1.2 core schema, not PyYAML's YAML 1.1 defaults: `no`, `on` and `yes`
stay strings, `18:00` stays a string (YAML 1.1 reads it as the sexagesimal integer 1080), dates
stay strings. Duplicate keys are errors. `${VAR}` / `${VAR:-default}` are read from the
environment, and the paths they filled are remembered so that no diagnostic ever prints them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from supportctl.config.diagnostics import Finding, Location, Severity, YamlPath

_T = "tag:yaml.org,2002:"
_EXPLICIT_OK = frozenset(_T + t for t in ("str", "int", "float", "bool", "null"))
_MAP_TAG, _SEQ_TAG, _STR_TAG, _MERGE_TAG = _T + "map", _T + "seq", _T + "str", _T + "merge"
# Given to plain scalars without an explicit tag; the builder resolves them as YAML 1.2.
_PLAIN_TAG = "!supportctl/plain"


class _TagResolver(yaml.resolver.BaseResolver):
    """Tags nothing by YAML 1.1 rules: plain scalars are left for the builder to resolve.

    PyYAML's own resolver runs a regex cascade on every scalar (most of the composing time
    with libyaml) only to produce YAML 1.1 tags that we would then have to undo.
    """

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                return _MERGE_TAG if value == "<<" else _PLAIN_TAG
            return _STR_TAG
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG


_CParser: Any
try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

if _CParser is not None:  # libyaml composes about 8x faster than the pure-Python parser
    class _ComposeLoader(_CParser, _TagResolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            _TagResolver.__init__(self)
else:  # pragma: no cover - PyYAML built without libyaml
    class _ComposeLoader(yaml.reader.Reader, yaml.scanner.Scanner,  # type: ignore[no-redef]
                         yaml.parser.Parser, yaml.composer.Composer, _TagResolver):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _TagResolver.__init__(self)

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"),
                  ".nan": float("nan")}


_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")

_SYNTAX_HINTS = {
    "mapping values are not allowed": "a value holding `: ` must be quoted, e.g. "
                                      "text: \"Note: we are closed\"",
    "could not find expected ':'": "each key needs a `:`; quote values that span lines",
    "found undefined alias": "define the anchor (&name) before using *name",
    "expected <block end>": "check the indentation of this line against the one above",
    "did not find expected node content": "a value is missing, or a bracket is not closed",
    "found unknown escape character": "inside double quotes a backslash starts an escape; "
                                      "write regular expressions in single quotes: '\\d+'",
}

_COMPLEX_KEY_HINT = ("a value starting with `{` or `[` is read as a mapping or list: quote it, "
                     "e.g. text: \"{{contact.name}}, welcome!\"")

# A real stack has at most a few hundred thousand nodes; aliases that expand past this are an
# attack or a mistake, and expanding them would exhaust memory.
MAX_EXPANDED_NODES = 2_000_000


def resolve_plain(text: str) -> Any:
    """The YAML 1.2 core-schema value of a plain (unquoted) scalar."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    first = text[0]
    if first.isdigit() or first in "+-.":
        if _INT.match(text):
            return int(text)
        if _FLOAT.match(text) and any(ch.isdigit() for ch in text):
            return float(text)
        special = _SPECIAL_FLOAT.get(text.lower())
        if special is not None:
            return special
    return text


def location_of(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


@dataclass
class LoadedFile:
    """One parsed file: its values, its node tree for positions, and what loading found."""

    file: str
    data: Any
    root: yaml.Node | None
    findings: list[tuple[Location, Finding]] = field(default_factory=list)
    # path -> the source text (`${VAR}`) that an environment value replaced
    interpolated: dict[YamlPath, str] = field(default_factory=dict)
    env_used: set[str] = field(default_factory=set)
    # paths whose value is unknown: a variable it needs is not set, or the loader refused it
    unresolved: set[YamlPath] = field(default_factory=set)


class _Builder:
    """One pass over a composed node tree: values, duplicate keys, tags and `${VAR}`."""

    def __init__(self, loaded: LoadedFile, env: Mapping[str, str], missing_env: Severity) -> None:
        self.loaded = loaded
        self.env = env
        self.missing_env = missing_env
        self.memo: dict[int, Any] = {}
        self.aliases = 0

    def problem(self, node: yaml.Node, path: YamlPath, code: str, message: str,
                hint: str = "", severity: Severity | None = None) -> None:
        self.loaded.findings.append(
            (location_of(self.loaded.file, node), Finding(path, code, message, hint, severity)))

    def refuse(self, node: yaml.Node, path: YamlPath, code: str, message: str,
               hint: str = "") -> None:
        """A problem that leaves the value unknown: no later check judges it again."""
        self.problem(node, path, code, message, hint)
        self.loaded.unresolved.add(path)

    def build(self, node: yaml.Node, path: YamlPath) -> Any:
        key = id(node)
        if key in self.memo:  # an alias: the same node object seen again
            self.aliases += 1
            return self.memo[key]
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node, path)
        elif isinstance(node, yaml.SequenceNode):
            value = []
            self.memo[key] = value
            self.check_tag(node, path, _SEQ_TAG)
            for index, item in enumerate(node.value):
                value.append(self.build(item, (*path, index)))
            return value
        else:
            assert isinstance(node, yaml.MappingNode)
            value = {}
            self.memo[key] = value
            self.check_tag(node, path, _MAP_TAG)
            self.mapping(node, path, value)
            return value
        self.memo[key] = value
        return value

    def check_tag(self, node: yaml.Node, path: YamlPath, expected: str) -> None:
        if node.tag != expected:
            self.refuse(node, path, "L105", f"unsupported YAML tag {node.tag!r}",
                        "remove the tag; stacks use plain YAML values")

    def mapping(self, node: yaml.MappingNode, path: YamlPath, out: dict[str, Any]) -> None:
        first_seen: dict[str, yaml.Node] = {}
        merged: list[dict[str, Any]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self.merge_sources(value_node, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.refuse(key_node, path, "L106", "a mapping key must be a plain value, "
                            "not a list or a mapping", _COMPLEX_KEY_HINT)
                continue
            key = key_node.value  # keys are ids and names: always their literal text
            if key in first_seen:
                line = first_seen[key].start_mark.line + 1
                self.problem(key_node, (*path, key), "L102",
                             f"duplicate key {key!r} (first defined at line {line})",
                             "remove one of them or merge their contents; YAML would keep only "
                             "the last one")
                continue
            first_seen[key] = key_node
            out[key] = self.build(value_node, (*path, key))
        for source in merged:
            for key, value in source.items():
                out.setdefault(key, value)

    def merge_sources(self, node: yaml.Node, path: YamlPath) -> list[dict[str, Any]]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources = []
        for item in nodes:
            value = self.build(item, path)
            if isinstance(value, dict):
                sources.append(value)
            else:
                self.refuse(item, path, "L105", "`<<` merges only mappings")
        return sources

    def scalar(self, node: yaml.ScalarNode, path: YamlPath) -> Any:
        text: str = node.value
        tag: str = node.tag
        if tag == _PLAIN_TAG:
            value = resolve_plain(text)
            if isinstance(value, str) and "$" in value:
                return self.interpolate(node, path, value)
            return value
        if tag == _STR_TAG:
            return self.interpolate(node, path, text) if "$" in text else text
        if tag in _EXPLICIT_OK:
            value = resolve_plain(text)
            if value is None or isinstance(value, bool | int | float):
                return value
        self.refuse(node, path, "L105", f"unsupported YAML tag {tag!r}",
                    "remove the tag; only !!str, !!int, !!float, !!bool and !!null are known"
                    + ("; read secrets from the environment with ${VAR}"
                       if tag == "!secret" else ""))
        return text

    def interpolate(self, node: yaml.ScalarNode, path: YamlPath, text: str) -> str:
        pieces: list[str] = []
        end = 0
        replaced = False
        for match in _ENV.finditer(text):
            pieces.append(text[end:match.start()])
            end = match.end()
            token = match.group(0)
            if token == "$${":
                pieces.append("${")
                continue
            name = match.group(1)
            if name is None:
                self.refuse(node, path, "L111", "`${` does not start a valid "
                            "`${NAME}` or `${NAME:-default}` reference",
                            "names are letters, digits and `_`; write `$${` for a literal `${`")
                pieces.append(token)
                continue
            replaced = True
            self.loaded.env_used.add(name)
            value = self.env.get(name)
            if value is None:
                default = match.group(2)
                if default is None:
                    self.problem(node, path, "L110", f"environment variable {name} is not set",
                                 f"export {name}=... or set it in .env, or write "
                                 f"${{{name}:-default}}", self.missing_env)
                    self.loaded.unresolved.add(path)
                    value = ""
                else:
                    value = default
            pieces.append(value)
        pieces.append(text[end:])
        if replaced:
            self.loaded.interpolated[path] = text
        return "".join(pieces)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    key = id(node)
    if key in sizes:
        return sizes[key]
    sizes[key] = 1  # guards against self-referencing anchors
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[key] = total
    return total


def load_text(text: str, file: str, env: Mapping[str, str],
              missing_env: Severity = Severity.WARNING) -> LoadedFile:
    """Parse YAML text into values with positions; problems become findings, never exceptions."""
    loaded = LoadedFile(file=file, data=None, root=None)
    try:
        loader = _ComposeLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.composer.ComposerError as exc:
        mark = exc.problem_mark or exc.context_mark
        assert mark is not None
        code = "L103" if "single document" in str(exc.context) else "L101"
        message = ("the file holds more than one YAML document" if code == "L103"
                   else f"{exc.problem}")
        loaded.findings.append((Location(file, mark.line + 1, mark.column + 1),
                                Finding((), code, message, "remove the extra `---`"
                                        if code == "L103" else "")))
        return loaded
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        lines = text.splitlines()
        at = lines[line - 1][column - 1:column] if 0 < line <= len(lines) else ""
        hint = "indent with spaces; YAML does not allow tabs" if at == "\t" else next(
            (h for p, h in _SYNTAX_HINTS.items() if p in problem), "")
        loaded.findings.append((Location(file, line, column),
                                Finding((), "L101", problem, hint)))
        return loaded
    except yaml.YAMLError as exc:  # a reader error, e.g. a control character
        loaded.findings.append((Location(file, 1, 1), Finding((), "L101", str(exc))))
        return loaded
    if root is None or not isinstance(root, yaml.MappingNode):
        where = location_of(file, root) if root is not None else Location(file, 1, 1)
        loaded.findings.append((where, Finding((), "L104", "the stack file must be a mapping "
                                               "of sections (version, workspace, channels, ...)",
                                               "start from `supportctl init`")))
        return loaded
    loaded.root = root
    builder = _Builder(loaded, env, missing_env)
    loaded.data = builder.build(root, ())
    if builder.aliases and _expanded_size(root, {}) > MAX_EXPANDED_NODES:
        loaded.findings.append((location_of(file, root), Finding(
            (), "L107", f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes",
            "write repeated parts out instead of nesting aliases of aliases")))
        loaded.root = loaded.data = None
    return loaded


def node_at(root: yaml.Node, path: YamlPath) -> tuple[yaml.Node, int, yaml.Node | None]:
    """The deepest node along `path`, how many path parts it consumed, and its key node."""
    node = root
    key_node: yaml.Node | None = None
    depth = 0
    for part in path:
        child: tuple[yaml.Node, yaml.Node] | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            child = _mapping_child(node, part)
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            child = (node.value[part], node.value[part])
        if child is None:
            break
        key_node, node = child
        depth += 1
    return node, depth, key_node


def _mapping_child(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE_TAG and getattr(key_node, "value", None) == key:
            return key_node, value_node
    for key_node, value_node in node.value:  # keys that came in through `<<`
        if key_node.tag == _MERGE_TAG:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [
                value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    found = _mapping_child(source, key)
                    if found is not None:
                        return found
    return None


def source_text(root: yaml.Node, path: YamlPath) -> str | None:
    """The literal text of the scalar at `path`, if the path leads exactly to a scalar."""
    node, depth, _ = node_at(root, path)
    if depth == len(path) and isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return None

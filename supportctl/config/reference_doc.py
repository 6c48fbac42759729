"""`docs/stack-reference.md`: the reference of every key, rendered from the stack's JSON Schema.

The schema is generated from the pydantic models, so the reference and the schema that editors
and `validate` use cannot disagree: descriptions, defaults and examples come from the models;
type words come from the schema's types and patterns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from supportctl.config.model.common import (
    DATE_PATTERN,
    DAYS_PATTERN,
    DURATION_PATTERN,
    ID_PATTERN,
    TIME_RANGE_PATTERN,
)
from supportctl.config.model.routing import CONTACT_KEY_PATTERN

Schema = Mapping[str, Any]

WIDTH = 88
GENERATED_NOTE = ("Generated from the models of the stack language by `python tools/generate.py`; "
                  "do not edit by hand.")


def _starts(prefix: str) -> Callable[[Schema], bool]:
    return lambda s: str(s.get("pattern", "")).startswith(prefix)


# The kinds of string the stack language names (singular, plural, test on the schema).
_KINDS: tuple[tuple[str, str, Callable[[Schema], bool]], ...] = (
    ("id", "ids", lambda s: s.get("pattern") == ID_PATTERN),
    ("duration", "durations", lambda s: s.get("pattern") == DURATION_PATTERN),
    ("time range", "time ranges", lambda s: s.get("pattern") == TIME_RANGE_PATTERN),
    ("date", "dates", lambda s: s.get("pattern") == DATE_PATTERN),
    ("date or date range", "dates or date ranges", _starts(DATE_PATTERN[:-1] + r"(\.\.")),
    ("days", "days", lambda s: s.get("pattern") == DAYS_PATTERN),
    ("language code", "language codes", _starts("^[a-z]{2,3}(-")),
    ("time zone", "time zones",  # the type has no pattern; its examples tell it
     lambda s: "pattern" not in s and s.get("examples", [""])[0] == "Europe/Berlin"),
    ("secret", "secrets", lambda s: s.get("format") == "password"),
    ("URL", "URLs", _starts("^https?://")),
    ("email address", "email addresses", lambda s: "@" in str(s.get("pattern", ""))),
)

# Keys of patternProperties, as the reference writes them and as an example uses them.
_PATTERN_KEYS = {CONTACT_KEY_PATTERN: ("contact.<attribute>", "contact.language")}

GLOSSARY = (
    ("text", "Any string. Quote it when it could be read as a number, a boolean or a date."),
    ("id", "Letters, digits, `_` and `-`, at most 64, starting with a letter or digit: "
           "`general`, `wa-main`."),
    ("language code", "ISO 639-1 or BCP 47: `en`, `zh`, `pt-BR`."),
    ("time zone", "An IANA name: `Europe/Berlin`, `America/New_York`."),
    ("duration", "`90s`, `15m`, `2h30m`, `1d`."),
    ("time range", "`HH:MM-HH:MM`, quoted; `24:00` ends a day, an end before the start "
                   "crosses midnight."),
    ("days", "`mon`..`sun`, ranges `mon-fri`, lists `sat,sun`, or `daily`, `weekdays`, "
             "`weekends`."),
    ("date", "`YYYY-MM-DD`, quoted; a date range is `YYYY-MM-DD..YYYY-MM-DD`."),
    ("secret", "A credential: write it as `${ENV_VAR}` so that it stays out of git."),
)


def _words(text: str) -> str:
    """A description as one Markdown paragraph per blank-line-separated block."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(block.split()) for block in blocks)


def _or(items: list[str]) -> str:
    """`a, b or c`; `a; b, c or d; or e` when the items have commas or `or`s of their own."""
    unique = list(dict.fromkeys(items))
    if len(unique) == 1:
        return unique[0]
    if any(", " in item or " or " in item for item in unique):
        return "; ".join(unique[:-1]) + "; or " + unique[-1]
    return ", ".join(unique[:-1]) + " or " + unique[-1]


def _code(value: Any) -> str:
    return f"`{flow(value)}`"


# --- YAML for examples (JSON values only, so a tiny emitter is enough) ---------------------

_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_PLAIN_EXTRA = set(" _./@+-*:")
_UNIT_WORD = re.compile(r"[0-9]+[a-z][a-z0-9]*")  # `15m`, `2h30m`: strings to any YAML
_NUMBER_LIKE = re.compile(r"0[xob][0-9a-f_]+|[0-9_]+e[0-9_]+")


def _plain(text: str) -> bool:
    """Whether YAML reads `text` unquoted as this very string, in block and flow style."""
    if not text or text[-1] == " " or text.lower() in _RESERVED or ": " in text:
        return False
    if text[0].isdigit():
        return bool(_UNIT_WORD.fullmatch(text)) and not _NUMBER_LIKE.fullmatch(text)
    return ((text[0].isalpha() or text[0] == "_") and not text.endswith(":")
            and all(ch.isalnum() or ch in _PLAIN_EXTRA for ch in text))


def flow(value: Any) -> str:
    """A JSON value in YAML flow style, quoting strings that YAML would read otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        if _plain(value):
            return value
        if "\\" in value and "'" not in value and value.isprintable():
            return f"'{value}'"  # a regex reads better without doubled backslashes
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return "{" + ", ".join(f"{flow(str(k))}: {flow(v)}" for k, v in value.items()) + "}"


def yaml_lines(key: str, value: Any, indent: int = 0) -> list[str]:
    """`key: value`, in flow style when it fits on a line, else in block style."""
    pad = " " * indent
    one_line = f"{pad}{key}: {flow(value)}"
    if len(one_line) <= WIDTH or not isinstance(value, dict | list) or not value:
        return [one_line]
    lines = [f"{pad}{key}:"]
    if isinstance(value, dict):
        for sub_key, sub_value in value.items():
            lines += yaml_lines(flow(str(sub_key)), sub_value, indent + 2)
        return lines
    for item in value:
        if len(pad) + 4 + len(flow(item)) <= WIDTH or not isinstance(item, dict) or not item:
            lines.append(f"{pad}  - {flow(item)}")
            continue
        item_lines = [line for sub_key, sub_value in item.items()
                      for line in yaml_lines(flow(str(sub_key)), sub_value, indent + 4)]
        item_lines[0] = f"{pad}  - {item_lines[0][indent + 4:]}"
        lines += item_lines
    return lines


# --- Walking the schema --------------------------------------------------------------------

@dataclass
class _Renderer:
    defs: Mapping[str, Schema]
    lines: list[str] = field(default_factory=list)
    documented: dict[str, str] = field(default_factory=dict)  # $defs name -> path of its keys

    def resolve(self, schema: Schema) -> tuple[Schema, str | None]:
        """Follow a `$ref` and drop the `null` of an optional value."""
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            return self.defs[name], name
        options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
        if "anyOf" in schema and len(options) == 1:
            return self.resolve(options[0])
        return schema, None

    def nested(self, path: str, schema: Schema) -> Iterator[tuple[str, Schema, str | None]]:
        """The objects with keys of their own found under a value: (path, object, $defs name)."""
        resolved, name = self.resolve(schema)
        if name is not None and self.documented.get(name, path) != path:
            return
        if "properties" in resolved or "patternProperties" in resolved or "oneOf" in resolved:
            yield path, resolved, name
        elif resolved.get("type") == "array" and isinstance(resolved.get("items"), dict):
            yield from self.nested(path + "[]", resolved["items"])
        elif isinstance(resolved.get("additionalProperties"), dict):
            yield from self.nested(path + "." + _key_name(resolved),
                                   resolved["additionalProperties"])
        else:
            for option in resolved.get("anyOf", []):
                yield from self.nested(path, option)

    def type_words(self, schema: Schema, path: str, many: bool = False) -> str:
        """The type of a value in the words of a support lead, not of JSON Schema."""
        if schema.get("format") == "password":
            return "secrets" if many else "secret"
        resolved, name = self.resolve(schema)
        if name is not None or "properties" in resolved or "oneOf" in resolved:
            where = self.documented.get(name or "", path)
            inside = where == path or where.startswith((path + ".", path + "["))
            below = "keys below" if inside else f"keys as in `{where}`"
            if "oneOf" in resolved:
                below = "keys below, by `type`"
            return f"{'mappings' if many else 'mapping'} ({below})"
        if "const" in resolved:
            return _code(resolved["const"])
        if "enum" in resolved:
            return "one of " + ", ".join(_code(v) for v in resolved["enum"])
        if "anyOf" in resolved:
            return self.union_words(resolved, path, many)
        kind = resolved.get("type")
        if kind == "array":
            item = self.type_words(resolved.get("items", {}), path, many=True)
            empty = "non-empty " if resolved.get("minItems", 0) >= 1 else ""
            return f"{empty}list of {item}"
        if kind == "object":
            values = self.type_words(resolved.get("additionalProperties", {}), path, many=True)
            return f"mapping of {_key_name(resolved, words=True)} to {values}"
        if kind == "string":
            return _string_words(resolved, many)
        if kind == "integer":
            return _number_words(resolved, "integers" if many else "integer")
        if kind == "number":
            return _number_words(resolved, "numbers" if many else "number")
        if kind == "boolean":
            return "booleans" if many else "`true` or `false`"
        return "value"

    def union_words(self, schema: Schema, path: str, many: bool) -> str:
        """`text or list of texts`; forms of a mapping are told apart by their keys."""
        options = [self.resolve(s)[0] for s in schema["anyOf"] if s.get("type") != "null"]
        kinds = {option.get("type") for option in options}
        words = []
        for option in options:
            if option.get("type") == "integer" and "number" in kinds:
                continue  # an integer is a number
            if "properties" in option and len(options) > 1:
                keys = option.get("required") or list(option["properties"])
                noun = "mappings" if many else "mapping"
                words.append(f"{noun} with " + ", ".join(f"`{k}`" for k in keys))
            elif option.get("type") == "boolean":
                words.append("booleans" if many else "boolean")
            else:
                words.append(self.type_words(option, path, many))
        return _or(words)

    def sample(self, schema: Schema, depth: int = 0) -> Any:
        """An example value: the model's own example, else one built from the type."""
        if "examples" in schema:
            return self.in_key_order(schema["examples"][0], schema)
        resolved, _ = self.resolve(schema)
        if resolved is not schema:
            return self.sample(resolved, depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            others = [v for v in schema["enum"] if v != schema.get("default")]
            return (others or schema["enum"])[0]
        if depth > 3:
            return None
        if "properties" in schema:
            required = schema.get("required", [])
            built = {key: self.sample(schema["properties"][key], depth + 1) for key in required}
            return built if built and None not in built.values() else None
        if "anyOf" in schema or "oneOf" in schema:
            options = [s for s in schema.get("anyOf", schema.get("oneOf", []))
                       if s.get("type") != "null"]
            return self.sample(options[0], depth + 1) if options else None
        kind = schema.get("type")
        if kind == "boolean":
            return not schema.get("default", False)
        if kind in ("integer", "number"):
            return next((schema[k] for k in ("maximum", "minimum")
                         if k in schema and schema[k] != schema.get("default")), 1)
        if kind == "string":
            return schema.get("default")
        if kind == "array":
            item = self.sample(schema.get("items", {}), depth + 1)
            return None if item is None else [item]
        return None

    def in_key_order(self, value: Any, schema: Schema) -> Any:
        """The keys of an example in the order the model declares them (the schema sorts them)."""
        resolved, _ = self.resolve(schema)
        options = [self.resolve(s)[0] for s in resolved.get("anyOf", resolved.get("oneOf", []))]
        if isinstance(value, list):
            items: Schema = next((o["items"] for o in [resolved, *options] if "items" in o), {})
            return [self.in_key_order(item, items) for item in value]
        if not isinstance(value, dict):
            return value
        known = next((o for o in [resolved, *options] if "properties" in o), {})
        order = list(known.get("properties", {}))
        ranked = sorted(value, key=lambda k: order.index(k) if k in order else len(order))
        props = known.get("properties", {})
        return {k: self.in_key_order(value[k], props.get(k, known)) for k in ranked}

    # --- output ---

    def heading(self, level: int, text: str) -> None:
        self.lines += ["#" * level + " " + text, ""]

    def paragraph(self, text: str) -> None:
        if text:
            self.lines += [text, ""]

    def entry(self, level: int, path: str, schema: Schema, required: str,
              example_key: str | None = None, more: tuple[str, ...] = ()) -> None:
        """One key: heading with its path, type, required or default, description, example."""
        key = example_key or path.rsplit(".", 1)[-1].removesuffix("[]")
        self.heading(level, f"`{path}`")
        self.paragraph(f"**{self.type_words(schema, path)}** · {required}")
        for text in (str(schema.get("description", "")), *more):
            self.paragraph(_words(text))
        example = self.sample(schema)
        if example is not None and not (isinstance(example, dict | list) and not example):
            self.lines += ["```yaml", *yaml_lines(key, example), "```", ""]

    def keys(self, level: int, path: str, schema: Schema, alternative: bool = False,
             skip: frozenset[str] = frozenset()) -> None:
        """Every key of an object, each followed by the keys of the objects inside it."""
        required = set(schema.get("required", []))
        prefix = f"{path}." if path else ""
        members: list[tuple[str, str, Schema, str | None]] = [
            (name, prefix + name, sub, None)
            for name, sub in schema.get("properties", {}).items() if name not in skip]
        for pattern, sub in schema.get("patternProperties", {}).items():
            shown, example_key = _PATTERN_KEYS.get(pattern, (f"<{pattern}>", None))
            members.append((pattern, prefix + shown, sub, example_key))
        for name, child, sub, example_key in members:
            inner = list(self.nested(child, sub))
            for where, _, ref in inner:
                if ref is not None:
                    self.documented.setdefault(ref, where)
            # mappings that are only some of the value's forms (not `anyOf: [{required: ..}]`)
            one_of = any(set(o) != {"required"} for o in self.resolve(sub)[0].get("anyOf", []))
            more = [str(obj.get("description", "")) for _, obj, _ in inner if not one_of]
            more += [_needs_one_of(obj, where != child) for where, obj, _ in inner]
            self.entry(level, child, sub, _status(name in required, sub, alternative),
                       example_key, tuple(more))
            for where, obj, _ in inner:
                self.object(max(level, 3), where, obj, alternative=one_of)

    def object(self, level: int, path: str, schema: Schema, alternative: bool = False) -> None:
        """The keys of an object, or of each type of a union told apart by `type`."""
        if "oneOf" in schema:
            self.union(level, path, schema)
        else:
            self.keys(level, path, schema, alternative)

    def union(self, level: int, path: str, schema: Schema) -> None:
        """Objects told apart by `type`: keys they share, then each type's own keys."""
        branches = [self.resolve(s)[0] for s in schema["oneOf"]]
        first = branches[0]["properties"]
        shared = [k for k in first if k != "type"
                  and all(b["properties"].get(k) == first[k] for b in branches)]
        types = [b["properties"]["type"].get("const") for b in branches]
        self.entry(level, f"{path}.type", {"enum": types, "description": (
            "The plugin that serves it, and with it the other keys: those below that every "
            "type has, then each type's own.")}, "required")
        common = {"properties": {k: first[k] for k in shared},
                  "required": [k for k in shared if k in branches[0].get("required", [])]}
        self.keys(level, path, common)
        for branch, kind in zip(branches, types, strict=True):
            self.heading(level, f"`type: {kind}`")
            self.paragraph(_words(str(branch.get("description", ""))))
            self.keys(level + 1, path, branch, skip=frozenset({"type", *shared}))


def _needs_one_of(schema: Schema, each: bool) -> str:
    """`Needs at least one of ...` for an object whose anyOf lists alternative required keys."""
    groups = [g["required"] for g in schema.get("anyOf", []) if set(g) == {"required"}]
    if not groups:
        return ""
    keys = _or([f"`{key}`" for group in groups for key in group])
    return f"{'Each item needs' if each else 'Needs'} at least one of {keys}."


def _key_name(schema: Schema, words: bool = False) -> str:
    pattern = schema.get("propertyNames", {}).get("pattern")
    if pattern == ID_PATTERN:
        return "ids" if words else "<id>"
    if pattern is not None and str(pattern).startswith("^[a-z]{2,3}(-"):
        return "language codes" if words else "<language>"
    return "names" if words else "<name>"


def _string_words(schema: Schema, many: bool) -> str:
    for one, plural, test in _KINDS:
        if test(schema):
            return plural if many else one
    if "pattern" in schema:
        return f"{'texts' if many else 'text'} matching `{schema['pattern']}`"
    return "texts" if many else "text"


def _number_words(schema: Schema, noun: str) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{noun} from {low} to {high}"
    if low is not None:
        return f"{noun} ≥ {low}"
    if high is not None:
        return f"{noun} ≤ {high}"
    return noun


def _status(required: bool, schema: Schema, alternative: bool) -> str:
    if required:
        return "required in this form" if alternative else "required"
    default = schema.get("default")
    if default is None or default == [] or isinstance(default, dict):
        return "optional"
    return f"optional, default {_code(default)}"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def render_reference(schema: Schema) -> str:
    """The Markdown reference of every key of the stack language, from its JSON Schema."""
    renderer = _Renderer(schema.get("$defs", {}))
    renderer.lines += ["# Stack reference", "", f"<!-- {GENERATED_NOTE} -->", ""]
    renderer.paragraph(_words(str(schema.get("description", ""))))
    renderer.paragraph(
        "Every key of a stack file, generated from the same models as the JSON Schema "
        "`schema/stack.schema.json` that editors and `supportctl validate` use. Each key is "
        "named by its path: `teams.<id>.shifts[].schedule` is the `schedule` of each item of "
        "the `shifts` list of any team, `<id>` standing for the id you choose.")
    renderer.paragraph("Types, in the words used below:")
    renderer.lines += [f"- **{word}**: {meaning}" for word, meaning in GLOSSARY] + [""]
    renderer.paragraph("Sections: " + ", ".join(
        f"[`{key}`](#{_slug(key)})" for key in schema["properties"]) + ".")
    renderer.keys(2, "", schema)
    return "\n".join(renderer.lines).rstrip() + "\n"

"""Structural checking: every JSON Schema violation in one run, as findings users can act on."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from supportctl.config.diagnostics import Finding, YamlPath
from supportctl.config.model.common import (
    DATE_PATTERN,
    DAYS_PATTERN,
    DURATION_PATTERN,
    ID_PATTERN,
    TIME_RANGE_PATTERN,
)
from supportctl.config.suggest import did_you_mean, known_list

# Describes a value at a path for a message; the caller hides secrets and `${VAR}` values.
ValueText = Callable[[YamlPath, Any, dict[str, Any]], str]

_JSON_TYPES = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole "
               "number", "number": "a number", "boolean": "true or false", "null": "nothing"}
_PATTERN_NAMES = {
    ID_PATTERN: "an id (letters, digits, `_` and `-`, at most 64, starting with a letter or "
                "digit)",
    TIME_RANGE_PATTERN: "a time range `HH:MM-HH:MM`",
    DURATION_PATTERN: "a duration such as `15m`, `2h30m` or `1d`",
    DATE_PATTERN: "a date `YYYY-MM-DD`",
    DAYS_PATTERN: "days such as `mon-fri`, `sat,sun` or `daily`",
}
_RANGE = {"minItems", "maxItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
          "minLength", "maxLength", "minProperties", "maxProperties"}


def kind_of(value: Any) -> str:
    """The user's word for the kind of a YAML value."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _expected(schema: dict[str, Any]) -> str:
    kinds = schema.get("type")
    names = [_JSON_TYPES.get(str(k), str(k))
             for k in (kinds if isinstance(kinds, list) else [kinds])]
    return " or ".join(dict.fromkeys(names))


class StructureChecker:
    """Turns jsonschema errors into findings with codes, messages and hints."""

    def __init__(self, validator: Draft202012Validator, value_text: ValueText) -> None:
        self.validator = validator
        self.value_text = value_text
        self.root_schema: dict[str, Any] = validator.schema  # type: ignore[assignment]

    def check(self, data: Any) -> list[Finding]:
        findings: list[Finding] = []
        for error in self.validator.iter_errors(data):
            findings.extend(self.explain(error))
        # `regx: ...` is reported as an unknown key suggesting `regex`; saying that `regex` is
        # missing as well would be the same typo twice
        typos = {(f.path[:-1], f.hint) for f in findings if f.code == "S201"}
        return [f for f in findings if not (
            f.code == "S202" and (f.path, f"did you mean {f.message.split()[-1]}?") in typos)]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        while isinstance(ref, str) and ref.startswith("#/$defs/"):
            schema = self.root_schema["$defs"][ref.removeprefix("#/$defs/")]
            ref = schema.get("$ref")
        return schema

    def explain(self, error: ValidationError) -> Iterator[Finding]:
        path: YamlPath = tuple(error.absolute_path)
        schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
        validator = str(error.validator)
        instance: Any = error.instance
        if "propertyNames" in error.absolute_schema_path:
            yield Finding((*path, str(instance)), "S205",
                          f"{instance!r} is not a valid id", _PATTERN_NAMES[ID_PATTERN]
                          if error.validator_value == ID_PATTERN else "", at_key=True)
        elif validator == "additionalProperties":
            known = list(schema.get("properties", {}))
            patterns = list(schema.get("patternProperties", {}))
            for key in instance:
                if key in known:
                    continue
                if patterns and any(re.match(p, key) for p in patterns):
                    continue
                hint = did_you_mean(key, known) or (f"known keys here: {known_list(known)}"
                                                    if known else "")
                if patterns and key.startswith("contact"):
                    hint = hint or "write contact attributes as `contact.<attribute>`"
                yield Finding((*path, key), "S201", f"unknown key {key!r}", hint, at_key=True)
        elif validator == "required":
            missing = str(error.message).split("'")[1] if "'" in error.message else "?"
            yield Finding(path, "S202", f"missing required key {missing!r}")
        elif validator == "type":
            yield self.wrong_type(path, instance, schema)
        elif validator in ("enum", "const"):
            allowed = schema.get("enum") or [schema.get("const")]
            words = [str(a) for a in allowed]
            shown = self.value_text(path, instance, schema)
            yield Finding(path, "S204", f"{shown} is not one of {', '.join(words)}"
                          if len(words) > 1 else f"{shown} must be {words[0]}",
                          did_you_mean(str(instance), words))
        elif validator == "pattern":
            pattern = str(error.validator_value)
            shown = self.value_text(path, instance, schema)
            described = _PATTERN_NAMES.get(pattern)
            if described is not None:
                yield Finding(path, "S205", f"{shown} is not {described}")
            else:
                yield Finding(path, "S205", f"{shown} does not match the pattern {pattern}",
                              str(schema.get("description", "")))
        elif validator in _RANGE:
            yield Finding(path, "S206", self.range_message(validator, error.validator_value,
                                                           instance))
        elif validator in ("oneOf", "anyOf"):
            yield from self.alternatives(error, path, schema)
        else:
            yield Finding(path, "S208", error.message)

    def wrong_type(self, path: YamlPath, instance: Any, schema: dict[str, Any]) -> Finding:
        expected = _expected(schema)
        hint = ""
        got = kind_of(instance)
        if isinstance(instance, str | int | float | bool):
            shown = self.value_text(path, instance, schema)
            got = (shown if isinstance(instance, bool) else f"text {shown}"
                   if isinstance(instance, str) else f"the number {shown}")
        if expected == "text" and isinstance(instance, int | float | bool):
            hint = _as_text_hint(shown, schema)
        elif expected == "true or false" and isinstance(instance, str):
            hint = ("write true or false; yes/no/on/off are text in a stack (YAML 1.2), so that "
                    "`language: no` stays Norwegian" if instance.lower() in _YAML11_BOOLEANS
                    else "write true or false")
        elif expected == "a list" and not isinstance(instance, list):
            hint = "write it as a list: [item] or one `- item` per line"
        return Finding(path, "S203", f"expected {expected}, got {got}", hint)

    @staticmethod
    def range_message(validator: str, limit: Any, instance: Any) -> str:
        if validator == "minItems":
            return "must not be empty" if limit == 1 else f"needs at least {limit} items"
        if validator == "maxItems":
            return f"has {len(instance)} items; at most {limit} are allowed"
        if validator == "minProperties":
            return "must not be empty"
        if validator == "maxProperties":
            return f"has {len(instance)} keys; at most {limit} are allowed"
        if validator == "minLength":
            return "must not be empty" if limit == 1 else f"must be at least {limit} characters"
        if validator == "maxLength":
            return f"is {len(instance)} characters long; at most {limit} are allowed"
        if validator in ("minimum", "exclusiveMinimum"):
            word = "at least" if validator == "minimum" else "more than"
            return f"{instance} is too small: must be {word} {limit}"
        word = "at most" if validator == "maximum" else "less than"
        return f"{instance} is too large: must be {word} {limit}"

    def alternatives(self, error: ValidationError, path: YamlPath,
                     schema: dict[str, Any]) -> Iterator[Finding]:
        instance = error.instance
        discriminator = schema.get("discriminator")
        if isinstance(discriminator, dict):
            yield from self.discriminated(error, path, discriminator)
            return
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context or ():
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        plausible = {index: subs for index, subs in branches.items()
                     if not any(s.validator == "type" and not s.relative_path for s in subs)}
        if not plausible:
            options = [self.resolve(b) for b in schema.get(str(error.validator), [])]
            kinds = [_describe(o) for o in options if o.get("type") != "null"]
            expected = " or ".join(dict.fromkeys(kinds))
            yield Finding(path, "S203", f"expected {expected}, got {kind_of(instance)}")
            return
        if all(s.validator == "required" and not s.relative_path
               for subs in plausible.values() for s in subs):
            keys = [str(key) for subs in plausible.values() for s in subs
                    for key in (s.validator_value if isinstance(s.validator_value, list) else [])]
            yield Finding(path, "S202", f"needs one of the keys {', '.join(dict.fromkeys(keys))}")
            return
        best = min(plausible.values(), key=len)
        for sub in best:
            yield from self.explain(sub)

    def discriminated(self, error: ValidationError, path: YamlPath,
                      discriminator: dict[str, Any]) -> Iterator[Finding]:
        instance: Any = error.instance
        field = discriminator.get("propertyName", "type")
        mapping: dict[str, str] = discriminator.get("mapping", {})
        if not isinstance(instance, dict):
            yield Finding(path, "S203", f"expected a mapping, got {kind_of(instance)}")
            return
        if field not in instance:
            yield Finding(path, "S202", f"missing required key {field!r}",
                          f"known types: {known_list(mapping)}")
            return
        chosen = instance[field]
        if not isinstance(chosen, str) or chosen not in mapping:
            yield Finding((*path, field), "S207", f"unknown type {chosen!r}; installed types: "
                          f"{known_list(mapping)}", did_you_mean(str(chosen), mapping))
            return
        target = mapping[chosen]
        options: list[dict[str, Any]] = error.schema.get("oneOf", [])  # type: ignore[union-attr]
        for index, option in enumerate(options):
            if option.get("$ref") == target:
                for sub in error.context or ():
                    if sub.relative_schema_path and sub.relative_schema_path[0] == index:
                        yield from self.explain(sub)


def _as_text_hint(written: str, schema: dict[str, Any]) -> str:
    """Quoting helps when the quoted text is valid; otherwise show what a valid value looks like."""
    pattern = schema.get("pattern")
    examples = schema.get("examples") or []
    if pattern and examples and not re.search(pattern, written):
        return f"write it like {examples[0]!r}"
    return f"quote it: \"{written}\"" if not written.startswith("(") else "quote it"


_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}


def _describe(schema: dict[str, Any]) -> str:
    if "type" in schema:
        return _expected(schema)
    if "const" in schema:
        return repr(schema["const"])
    return "another form"

"""The JSON Schema of the stack language, generated from the pydantic models."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from supportctl.config.model.stack import build_stack_model
from supportctl.config.plugin_spec import PluginSet
from supportctl.config.sources import FRAGMENT_KEYS

SCHEMA_ID = "https://supportctl.dev/schema/stack.schema.json"
FRAGMENT_ID = "https://supportctl.dev/schema/stack-fragment.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _id_maps(node: Any) -> Any:
    """Rewrite `patternProperties` of id-keyed maps as `propertyNames` + `additionalProperties`.

    Pydantic describes `dict[Id, X]` with patternProperties alone, which lets keys that are not
    ids through; `propertyNames` refuses them with a clear message.
    """
    if isinstance(node, list):
        return [_id_maps(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _id_maps(value) for key, value in node.items()}
    patterns = node.get("patternProperties")
    if (node.get("type") == "object" and isinstance(patterns, dict) and len(patterns) == 1
            and "properties" not in node and "additionalProperties" not in node):
        (pattern, value_schema), = patterns.items()
        del node["patternProperties"]
        node["propertyNames"] = {"pattern": pattern}
        node["additionalProperties"] = value_schema
    return node


@cache
def stack_schema(plugins: PluginSet) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a stack with these plugins installed."""
    model = build_stack_model(plugins)
    generated = _id_maps(model.model_json_schema(mode="validation"))
    schema: dict[str, Any] = {"$schema": DIALECT, "$id": SCHEMA_ID}
    schema.update(generated)
    schema["title"] = "supportctl stack"
    return schema


@cache
def fragment_schema(plugins: PluginSet) -> dict[str, Any]:
    """The schema of a file brought in by `include:`: sections only, none of them required."""
    root = stack_schema(plugins)
    schema: dict[str, Any] = {"$schema": DIALECT, "$id": FRAGMENT_ID,
                              "title": "supportctl stack fragment (a file named by include:)",
                              "type": "object", "additionalProperties": False}
    schema["properties"] = {key: root["properties"][key] for key in FRAGMENT_KEYS}
    schema["$defs"] = root["$defs"]
    return schema


def render_schema(plugins: PluginSet, fragment: bool = False) -> str:
    """A schema as the committed file holds it: stable key order, trailing newline."""
    schema = fragment_schema(plugins) if fragment else stack_schema(plugins)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@cache
def stack_validator(plugins: PluginSet) -> Draft202012Validator:
    """One validator per plugin set, reused: building it is the expensive part."""
    return Draft202012Validator(stack_schema(plugins))

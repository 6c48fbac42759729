"""`supportctl schema`: the JSON Schema that editors and check-jsonschema use."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import CliResult
from jsonschema import Draft202012Validator

Run = Callable[..., CliResult]


def _walk(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        found.append(schema)
        for value in schema.values():
            found.extend(_walk(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(_walk(value))
    return found


def test_prints_a_valid_draft_2020_12_schema(run_cli: Run) -> None:
    result = run_cli("schema", "--builtin-only")
    schema = json.loads(result.out)
    assert result.code == 0
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_editors_get_help_for_every_key(run_cli: Run) -> None:
    schema = json.loads(run_cli("schema", "--builtin-only").out)
    definitions = schema["$defs"]
    for name, definition in definitions.items():
        for key, prop in definition.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{key} has no description"
    assert schema["properties"]["teams"]["description"]
    assert any("examples" in node for node in _walk(schema))


def test_channel_types_come_from_the_plugins(run_cli: Run) -> None:
    schema = json.loads(run_cli("schema", "--builtin-only").out)
    mapping = _walk(schema["properties"]["channels"])
    types = {key for node in mapping if "discriminator" in node
             for key in node["discriminator"]["mapping"]}
    assert types == {"whatsapp", "wechat", "telegram", "messenger", "instagram", "webchat"}


def test_fragment_schema_has_no_root_only_sections(run_cli: Run) -> None:
    fragment = json.loads(run_cli("schema", "--builtin-only", "--fragment").out)
    assert "workspace" not in fragment["properties"]
    assert "teams" in fragment["properties"]
    assert not set(fragment.get("required", [])) & {"version", "workspace"}

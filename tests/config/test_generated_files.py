"""The committed generated files (schemas, reference, diagnostics) match a fresh render."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from supportctl.config.codes import CATALOGUE
from supportctl.config.generated import GENERATED, render_all
from supportctl.config.plugin_spec import PluginSet
from supportctl.config.reference_doc import flow, yaml_lines
from supportctl.config.schema import stack_schema
from supportctl.plugins import load_plugins

REPO = Path(__file__).resolve().parents[2]
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


@pytest.fixture(scope="module")
def builtin() -> PluginSet:
    return load_plugins(builtin_only=True)


@pytest.fixture(scope="module")
def fresh(builtin: PluginSet) -> dict[str, str]:
    return render_all(builtin)


@pytest.mark.parametrize("path", [path for path, _ in GENERATED])
def test_committed_file_is_current(path: str, fresh: dict[str, str]) -> None:
    committed = REPO / path
    assert committed.is_file(), f"{path} is missing: run python tools/generate.py"
    assert committed.read_text(encoding="utf-8") == fresh[path], (
        f"{path} is stale: run python tools/generate.py and commit the result")


def test_generate_check_lists_stale_files(tmp_path: Path, fresh: dict[str, str]) -> None:
    spec = importlib.util.spec_from_file_location("generate", REPO / "tools" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert set(generate.stale_files(tmp_path)) == set(fresh)
    for path, text in fresh.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    assert generate.stale_files(tmp_path) == {}
    (tmp_path / "docs/diagnostics.md").write_text("old\n", encoding="utf-8")
    assert list(generate.stale_files(tmp_path)) == ["docs/diagnostics.md"]


def test_rendering_is_deterministic(builtin: PluginSet, fresh: dict[str, str]) -> None:
    assert render_all(builtin) == fresh


def test_every_section_of_the_schema_is_in_the_reference(builtin: PluginSet,
                                                         fresh: dict[str, str]) -> None:
    reference = fresh["docs/stack-reference.md"]
    for section in stack_schema(builtin)["properties"]:
        assert f"\n## `{section}`\n" in reference, f"no section for {section!r}"


def test_every_key_of_the_schema_is_in_the_reference(builtin: PluginSet,
                                                     fresh: dict[str, str]) -> None:
    reference = fresh["docs/stack-reference.md"]
    headings = set(re.findall(r"^#+ `([^`]+)`$", reference, re.MULTILINE))
    keys = {heading.rsplit(".", 1)[-1].removesuffix("[]") for heading in headings}
    for name, definition in stack_schema(builtin)["$defs"].items():
        for key in definition.get("properties", {}):
            assert key in keys or f"type: {key}" in headings, f"{name}.{key} is not documented"


def test_every_channel_and_notifier_type_has_its_section(builtin: PluginSet,
                                                         fresh: dict[str, str]) -> None:
    reference = fresh["docs/stack-reference.md"]
    for kind in [*builtin.channels, *builtin.notifiers]:
        assert f"### `type: {kind}`" in reference


def test_reference_examples_are_yaml(fresh: dict[str, str]) -> None:
    blocks = YAML_BLOCK.findall(fresh["docs/stack-reference.md"])
    assert blocks
    for block in blocks:
        assert isinstance(yaml.safe_load(block), dict), block


@pytest.mark.parametrize("value", [
    "plain", "Acme Support", "08:00-16:00", "2026-12-25", "15m", "2h30m", "1e5", "0x1f",
    "yes", "no", "on", "null", "${WA_TOKEN}", "^\\+86", "{{contact.name}}", "a: b", "a #b",
    "https://acme.example/track", "teams/*.yaml", "-x", "Wähle", "你好", "", "trailing ", 24,
    1.5, True, None, ["a", "b: c"], {"en": "Hi!", "contact.language": "zh"},
])
def test_example_values_read_back_unchanged(value: object) -> None:
    assert yaml.safe_load(f"key: {flow(value)}") == {"key": value}
    assert yaml.safe_load("\n".join(yaml_lines("key", value))) == {"key": value}


def test_long_examples_are_written_in_block_style() -> None:
    value = [{"label": f"Option number {n}", "answer": "An answer long enough"} for n in range(4)]
    lines = yaml_lines("options", value)
    assert lines[0] == "options:" and all(len(line) <= 88 for line in lines)
    assert yaml.safe_load("\n".join(lines)) == {"options": value}


def test_every_code_is_in_diagnostics(fresh: dict[str, str]) -> None:
    page = fresh["docs/diagnostics.md"]
    for code in CATALOGUE:
        assert f"\n### {code.code} {code.name}\n" in page, f"{code.code} is not documented"
        assert code.explanation in page

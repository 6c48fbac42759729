"""`supportctl init`: writes the commented starter, which validates, and never clobbers a file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult
from jsonschema import Draft202012Validator

from supportctl.commands import EXIT_OK, EXIT_USAGE
from supportctl.commands.init import starter_text
from supportctl.config.yaml_loader import load_text
from supportctl.validation import validate_stack

Run = Callable[..., CliResult]


def _set_env_of(path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Set every variable the stack refers to; returns their names."""
    names = validate_stack(path, env={}).env_used
    for name in names:
        monkeypatch.setenv(name, f"test-{name.lower()}")
    return names


def test_init_writes_the_starter(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("init", tmp_path / "support")
    target = tmp_path / "support" / "stack.yaml"
    assert result.code == EXIT_OK
    assert target.read_text(encoding="utf-8") == starter_text()
    assert f"supportctl validate {target}" in result.out
    schema = json.loads((tmp_path / "support" / "stack.schema.json").read_text("utf-8"))
    assert schema == json.loads(run_cli("schema").out)  # what the `$schema` line names


def test_init_defaults_to_the_working_directory(run_cli: Run, tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).code == EXIT_OK
    assert (tmp_path / "stack.yaml").read_text(encoding="utf-8") == starter_text()


def test_the_starter_is_commented_and_points_at_the_docs() -> None:
    text = starter_text()
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 40
    assert "docs/stack-reference.md" in text
    assert "docs/diagnostics.md" in text


def test_the_starter_validates_strictly_with_its_variables_set(
        run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli("init", tmp_path)
    target = tmp_path / "stack.yaml"
    assert _set_env_of(target, monkeypatch)  # it does show how secrets are referenced
    result = run_cli("validate", "--strict", target)
    assert result.code == EXIT_OK, result.out
    assert result.out == ""


def test_without_its_variables_the_starter_only_warns_about_them(
        run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli("init", tmp_path)
    target = tmp_path / "stack.yaml"
    for name in validate_stack(target, env={}).env_used:
        monkeypatch.delenv(name, raising=False)
    # run where no .env sets them (the repository's own, after the README's first line, would)
    result = run_cli("validate", "--format", "json", target, cwd=tmp_path)
    assert result.code == EXIT_OK
    diagnostics = json.loads(result.out)
    assert diagnostics
    assert {(d["code"], d["severity"]) for d in diagnostics} == {("L110", "warning")}


def test_the_schema_line_names_a_file_that_supportctl_schema_writes(run_cli: Run) -> None:
    """Editors read the starter against the schema it names, which the user generates."""
    text = starter_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=stack.schema.json"
    assert "supportctl schema > stack.schema.json" in text
    schema = json.loads(run_cli("schema").out)
    document = load_text(text, "stack.yaml", env={}).data  # YAML 1.2, as editors read it
    assert list(Draft202012Validator(schema).iter_errors(document)) == []


def test_init_refuses_to_overwrite(run_cli: Run, tmp_path: Path) -> None:
    target = tmp_path / "stack.yaml"
    target.write_text("# mine\n", encoding="utf-8")
    result = run_cli("init", tmp_path)
    assert result.code == EXIT_USAGE
    assert "already exists" in result.err
    assert "--force" in result.err
    assert target.read_text(encoding="utf-8") == "# mine\n"


def test_force_overwrites(run_cli: Run, tmp_path: Path) -> None:
    target = tmp_path / "stack.yaml"
    target.write_text("# mine\n", encoding="utf-8")
    assert run_cli("init", "--force", tmp_path).code == EXIT_OK
    assert target.read_text(encoding="utf-8") == starter_text()


@pytest.mark.parametrize("make_obstacle", [
    pytest.param(lambda d: d.write_text("a file, not a folder"), id="directory-is-a-file"),
    pytest.param(lambda d: (d / "stack.yaml").mkdir(parents=True), id="stack-yaml-is-a-folder"),
])
def test_an_unwritable_target_is_a_usage_error_without_a_traceback(
        run_cli: Run, tmp_path: Path, make_obstacle: Callable[[Path], object]) -> None:
    directory = tmp_path / "target"
    make_obstacle(directory)
    result = run_cli("init", "--force", directory)
    assert result.code == EXIT_USAGE
    assert result.err.startswith("supportctl init: cannot write ")
    assert "Traceback" not in result.err

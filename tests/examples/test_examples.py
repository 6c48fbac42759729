"""Round trips of the shipped stacks: every example validates, a third-party JSON Schema client
accepts every file against the exported schemas, the generated example is current, and the
benchmark's stack is sound."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from supportctl.config.diagnostics import Severity
from supportctl.validation import validate_stack

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLES = REPO / "examples"
STACK_SCHEMA = REPO / "schema" / "stack.schema.json"
FRAGMENT_SCHEMA = REPO / "schema" / "stack-fragment.schema.json"
GENERATOR = EXAMPLES / "creator-support" / "generate.py"
BENCH = REPO / "bench" / "validate.py"

_REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEMA_LINE = re.compile(r"# yaml-language-server: \$schema=(\S+)")


def example_stacks() -> list[Path]:
    """Root files of the stacks meant to be valid: examples/ but broken/, and the repo's own."""
    roots = sorted(p for p in EXAMPLES.rglob("stack.yaml")
                   if "broken" not in p.relative_to(EXAMPLES).parts)
    if (REPO / "stack.yaml").is_file():
        roots.append(REPO / "stack.yaml")
    return roots


STACKS = example_stacks()
IDS = [str(p.relative_to(REPO)) for p in STACKS]


def stack_files(root: Path) -> list[Path]:
    """The root file and every file it includes, as the loader read them."""
    result = validate_stack(root, env={})
    return sorted({Path(name).resolve() for name in result.sources.files})


def dummy_value(name: str) -> str:
    """A stand-in for a secret that passes the format checks of the field it fills."""
    if name.endswith("URL"):
        return "https://hooks.example.invalid/" + name.lower()
    if "AES" in name:
        return "A1" * 21 + "A"  # WeChat's EncodingAESKey: 43 letters and digits
    return "dummy-" + name.lower()


def required_env(files: list[Path]) -> dict[str, str]:
    """Every `${VAR}` without a default in these files, with a dummy value."""
    names = set()
    for path in files:
        names.update(_REQUIRED_VAR.findall(path.read_text(encoding="utf-8")))
    return {name: dummy_value(name) for name in sorted(names)}


def test_there_are_examples() -> None:
    names = {p.parent.name for p in STACKS}
    assert {"small-business", "creator-support"} <= names


@pytest.mark.parametrize("root", STACKS, ids=IDS)
def test_example_is_clean_with_its_secrets_set(root: Path) -> None:
    env = required_env(stack_files(root))
    result = validate_stack(root, env=env)
    assert result.ok
    assert [f"{d.file}:{d.line}: {d.code} {d.message}" for d in result.diagnostics] == []


@pytest.mark.parametrize("root", STACKS, ids=IDS)
def test_unset_secrets_are_the_only_warnings(root: Path) -> None:
    result = validate_stack(root, env={})
    assert result.ok
    assert {(d.code, d.severity) for d in result.diagnostics} <= {("L110", Severity.WARNING)}


@pytest.mark.parametrize("root", STACKS, ids=IDS)
def test_strict_cli_passes_with_secrets_in_the_environment(
        root: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in required_env(stack_files(root)).items():
        monkeypatch.setenv(name, value)
    result = run_cli("validate", "--strict", root)
    assert result.code == 0, result.out


@pytest.mark.parametrize("root", STACKS, ids=IDS)
def test_files_name_their_schema_for_editors(root: Path) -> None:
    for path in stack_files(root):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        match = _SCHEMA_LINE.fullmatch(first)
        assert match, f"{path}: first line is not the yaml-language-server $schema comment"
        expected = STACK_SCHEMA if path == root.resolve() else FRAGMENT_SCHEMA
        assert (path.parent / match.group(1)).resolve() == expected, path


@pytest.mark.parametrize("root", [*STACKS, REPO / "supportctl" / "templates" / "starter.yaml"],
                         ids=[*IDS, "starter.yaml"])
def test_files_read_the_same_with_every_yaml_parser(root: Path) -> None:
    """Other tools (pre-commit's check-yaml, scripts) read stacks with PyYAML's pure-Python
    parser, which refuses some plain scalars libyaml accepts, such as `{de: Paket?, en: x}`."""
    for path in stack_files(root):
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=yaml.SafeLoader) == yaml.load(text, Loader=yaml.CSafeLoader)


def _offline_env() -> Mapping[str, str]:
    """The environment with every proxy pointing at a closed local port: no network."""
    closed = "http://127.0.0.1:9"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed,
               ALL_PROXY=closed)
    return env


def check_jsonschema(schema: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    """The real check-jsonschema command line, offline, on local files."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema),
         *map(str, files)],
        capture_output=True, text=True, env=_offline_env(), timeout=300, check=False)


def test_check_jsonschema_accepts_every_root_file() -> None:
    done = check_jsonschema(STACK_SCHEMA, STACKS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_jsonschema_accepts_every_included_file() -> None:
    fragments = [path for root in STACKS for path in stack_files(root)
                 if path != root.resolve()]
    assert len(fragments) >= 30  # the creator-support example alone has 33
    done = check_jsonschema(FRAGMENT_SCHEMA, fragments)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_jsonschema_rejects_a_broken_file(tmp_path: Path) -> None:
    """The round trip above would prove nothing if the client accepted anything."""
    broken = tmp_path / "stack.yaml"
    broken.write_text("version: 1\nworkspace: {name: X, timezone: UTC}\n"
                      "teams: {support: {assign: round-robin}}\n", encoding="utf-8")
    done = check_jsonschema(STACK_SCHEMA, [broken])
    assert done.returncode == 1
    assert "round-robin" in done.stdout + done.stderr


def _generate(outdir: Path, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, str(GENERATOR), str(outdir)], check=True, env=env,
                   capture_output=True, timeout=120)


def _yaml_files(folder: Path) -> dict[str, bytes]:
    """The stack files of a folder; hand-written routing tests (`*.test.yaml`) beside them are
    not the generator's."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))
            if not p.name.endswith(".test.yaml")}


def test_creator_support_is_current_and_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _generate(first, "1")
    _generate(second, "2")
    generated = _yaml_files(first)
    assert generated == _yaml_files(second), "generate.py depends on hash order"
    committed = _yaml_files(GENERATOR.parent)
    assert sorted(generated) == sorted(committed), \
        "files differ: run python examples/creator-support/generate.py"
    stale = [name for name in generated if generated[name] != committed[name]]
    assert stale == [], "stale, run python examples/creator-support/generate.py"


def test_creator_support_has_the_promised_size() -> None:
    result = validate_stack(GENERATOR.parent, env={})
    stack = result.stack
    assert stack is not None
    genre_teams = [t for t in stack.teams if not t.startswith("desk-") and "-" in t and
                   t.rsplit("-", 1)[1] in stack.workspace.languages]
    assert len(stack.workspace.languages) == 15
    assert len(genre_teams) == 9 * 15
    assert 190 <= len(stack.agents) <= 210
    zones = {s.timezone for s in stack.schedules.values()}
    assert {"Asia/Tokyo", "Europe/Berlin", "America/New_York"} <= zones
    assert {c.type for c in stack.channels.values()} == {"whatsapp", "wechat", "telegram",
                                                         "webchat"}
    for template in stack.templates.values():
        assert isinstance(template.text, dict)
        assert set(template.text) == set(stack.workspace.languages)


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_validate", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_bench_stack_validates_clean(tmp_path: Path) -> None:
    bench = _bench()
    path = bench.write_stack(tmp_path, bench.Size.small())
    result = validate_stack(path, env={})
    assert result.ok
    assert [f"{d.line}: {d.code} {d.message}" for d in result.diagnostics] == []


def test_bench_full_size_meets_the_issue() -> None:
    """At least 150 teams, 300 agents, 1,000 rules and 2,000 templates, in one file of 1-2 MB
    (counted from the text: parsing it is the benchmark's job)."""
    text = _bench().generate_stack()
    sections = re.split(r"^(\w+):", text, flags=re.M)
    body = dict(zip(sections[1::2], sections[2::2], strict=True))
    assert len(re.findall(r"^  [\w-]+:", body["teams"], flags=re.M)) >= 150
    assert len(re.findall(r"^  [\w-]+:", body["agents"], flags=re.M)) >= 300
    assert len(re.findall(r"^  - ", body["routing"], flags=re.M)) >= 1000
    assert len(re.findall(r"^  [\w-]+:", body["templates"], flags=re.M)) >= 2000
    assert 1_000_000 <= len(text.encode("utf-8")) <= 2_000_000


def test_bench_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench().main(["--small", "--runs", "1", "--no-memory"]) == 0
    out = capsys.readouterr().out
    assert "supportctl validate, end to end" in out
    assert "baseline found 0 schema errors" in out

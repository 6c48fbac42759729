"""`supportctl validate`: formats, exit codes, strictness, and secrets kept out of output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from supportctl.commands import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_USAGE
from supportctl.plugins import PluginError

Run = Callable[..., CliResult]


def test_a_clean_stack_is_valid(run_cli: Run, fixtures: Path) -> None:
    result = run_cli("validate", fixtures / "stacks" / "minimal.yaml")
    assert result.code == EXIT_OK
    assert result.out == ""
    assert result.err.endswith("minimal.yaml: valid\n")


def test_default_path_is_stack_yaml_in_the_working_directory(run_cli: Run, fixtures: Path,
                                                            tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text((fixtures / "stacks" / "minimal.yaml").read_text())
    assert run_cli("validate", cwd=tmp_path).code == EXIT_OK


def test_unreadable_file_is_a_usage_error(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("validate", tmp_path / "nope.yaml")
    assert result.code == EXIT_USAGE
    assert "no such file" in result.err


def test_unknown_option_is_a_usage_error(run_cli: Run) -> None:
    assert run_cli("validate", "--colour").code == EXIT_USAGE


def test_warnings_pass_unless_strict(run_cli: Run, fixtures: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WA_TOKEN", "EAAG-token-value")
    monkeypatch.delenv("WA_API_VERSION", raising=False)
    path = fixtures / "stacks" / "secrets.yaml"
    relaxed = run_cli("validate", path)
    assert relaxed.code == EXIT_OK
    assert "warning[C804]" in relaxed.out
    assert "warning[L110]" in relaxed.out
    assert run_cli("validate", "--strict", path).code == EXIT_INVALID


def test_secret_values_never_appear_in_any_format(run_cli: Run, fixtures: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WA_TOKEN", "EAAG-token-value")
    monkeypatch.setenv("WA_API_VERSION", "not-a-version-but-secret-ish")
    path = fixtures / "stacks" / "secrets.yaml"
    for output in ("text", "json", "github"):
        result = run_cli("validate", "--format", output, path)
        everything = result.out + result.err
        for secret in ("EAAG-token-value", "super-secret-literal", "verify-default",
                       "not-a-version-but-secret-ish"):
            assert secret not in everything, (output, secret)
    text = run_cli("validate", path).out
    assert "'${WA_API_VERSION}' (from the environment) does not match the pattern" in text


def test_json_format_lists_every_field(run_cli: Run, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text("version: 1\nworkspace: {name: A, timezone: UTC}\n"
                     "teams:\n  general: {assign: round-robin}\n")
    result = run_cli("validate", "--format", "json", stack, cwd=tmp_path)
    assert result.code == EXIT_INVALID
    items = json.loads(result.out)
    assert items[0] == {
        "file": "stack.yaml", "line": 4, "column": 21, "path": "teams.general.assign",
        "code": "S204", "severity": "error",
        "message": "'round-robin' is not one of round_robin, least_open, manual",
        "hint": "did you mean 'round_robin'?"}


def test_several_paths_report_together(run_cli: Run, fixtures: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 2\nworkspace: {name: A, timezone: UTC}\n")
    result = run_cli("validate", fixtures / "stacks" / "minimal.yaml", broken)
    assert result.code == EXIT_INVALID
    assert "broken.yaml:1:10: error[S204]: version: 2 must be 1" in result.out


def test_internal_errors_exit_3_with_a_trace(run_cli: Run, fixtures: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("supportctl.commands.validate.validate_stack", explode)
    result = run_cli("validate", fixtures / "stacks" / "minimal.yaml")
    assert result.code == EXIT_INTERNAL
    assert "internal error" in result.err and "RuntimeError: boom" in result.err


def test_a_broken_plugin_is_a_usage_error_not_a_bug(run_cli: Run, fixtures: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise PluginError("plugin 'sms' (entry point sms = acme_sms:plugin) cannot be imported")

    monkeypatch.setattr("supportctl.commands.validate.validate_stack", broken)
    result = run_cli("validate", fixtures / "stacks" / "minimal.yaml")
    assert result.code == EXIT_USAGE
    assert result.err == ("supportctl: plugin 'sms' (entry point sms = acme_sms:plugin) "
                          "cannot be imported\n")


def test_github_annotations(run_cli: Run, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text("version: 1\nworkspace: {name: A, timezone: Mars/Olympus}\n")
    result = run_cli("validate", "--format", "github", stack, cwd=tmp_path)
    assert result.code == EXIT_INVALID
    assert result.out.splitlines() == [
        "::error file=stack.yaml,line=2,col=32,title=H701 workspace.timezone::"
        "workspace.timezone: 'Mars/Olympus' is not an IANA time zone%0Ahint: use a name from "
        "the IANA database, like Europe/Berlin or Asia/Shanghai"]


def test_github_is_the_default_under_github_actions(run_cli: Run, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text("version: 1\nworkspace: {name: A, timezone: Mars/Olympus}\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert run_cli("validate", stack, cwd=tmp_path).out.startswith("::error file=stack.yaml,")
    assert run_cli("validate", "--format", "text", stack, cwd=tmp_path).out.startswith(
        "stack.yaml:2:32: error[H701]")


# `${VARIABLES}` read from `.env` in the current directory, as `serve` reads them
ENV_STACK = """\
version: 1
workspace: {name: Env, timezone: "${ZONE}", languages: [en]}
channels:
  web: {type: webchat}
schedules:
  office: {hours: [{days: mon-fri, time: "09:00-17:00"}]}
agents:
  ada: {name: Ada Lovelace, languages: [en]}
teams:
  support: {name: "${TEAM_NAME}", shifts: [{schedule: office, agents: [ada]}]}
routing:
  - {name: everyone, to: support}
templates:
  offline: {text: "We are back at {{next_open}}."}
conversations: {out_of_hours_reply: offline}
"""


@pytest.fixture
def env_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stack reading ZONE and TEAM_NAME, in an empty current directory, with neither
    variable in the process environment."""
    for name in ("ZONE", "TEAM_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "stack.yaml"
    path.write_text(ENV_STACK, encoding="utf-8")
    return path


def test_variables_set_only_in_dot_env_are_not_unset(run_cli: Run, env_stack: Path) -> None:
    unset = run_cli("validate", "--strict")
    assert unset.code == EXIT_INVALID
    assert unset.out.count("warning[L110]") == 2
    assert "or set it in .env" in unset.out
    (env_stack.parent / ".env").write_text(
        "# comments too, as in .env.example\nZONE=Europe/Berlin\nTEAM_NAME='Customer care'\n",
        encoding="utf-8")
    result = run_cli("validate", "--strict")
    assert (result.code, result.out) == (EXIT_OK, ""), result.out


def test_the_environment_wins_over_dot_env(run_cli: Run, env_stack: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (env_stack.parent / ".env").write_text(
        "ZONE=Mars/Olympus_Mons\nTEAM_NAME=Care\n", encoding="utf-8")
    assert run_cli("validate").code == EXIT_INVALID  # .env's zone is no time zone
    monkeypatch.setenv("ZONE", "Europe/Berlin")
    result = run_cli("validate", "--strict")
    assert (result.code, result.out) == (EXIT_OK, ""), result.out


def test_dot_env_beside_another_stack_is_not_read(run_cli: Run, env_stack: Path,
                                                  tmp_path: Path) -> None:
    # the current directory's, as `serve` reads it: not the folder of the stack named
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".env").write_text("ZONE=Europe/Berlin\n", encoding="utf-8")
    result = run_cli("validate", env_stack, cwd=elsewhere)
    assert result.code == EXIT_OK
    assert "TEAM_NAME is not set" in result.out and "ZONE is not set" not in result.out


@pytest.mark.parametrize(("content", "problem"), [(b"ZONE=Europe/Berlin\nX=\xff\xfe\n",
                                                    "is not UTF-8 text"),
                                                   (None, "is not a file")])
def test_a_dot_env_that_cannot_be_read_is_a_usage_error(run_cli: Run, env_stack: Path,
                                                        content: bytes | None, problem: str
                                                        ) -> None:
    dot_env = env_stack.parent / ".env"
    if content is None:
        dot_env.mkdir()
    else:
        dot_env.write_bytes(content)
    result = run_cli("validate")
    assert result.code == EXIT_USAGE
    assert result.out == ""
    assert result.err == (f"supportctl validate: .env {problem}: it holds the settings "
                          "(SUPPORTCTL_*) and the stack's ${VARIABLES}; fix or remove it\n")

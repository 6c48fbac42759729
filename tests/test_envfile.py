"""`.env` and the process environment as the stack's `${VARIABLES}` read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportctl.envfile import SettingsError, read_env_file, stack_environment


def test_stack_environment_reads_dot_env_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WA_TOKEN=from-file\nSLACK_URL='https://hooks.example/x'\nBARE\n"
                        "SUPPORTCTL_PORT=7000\n", encoding="utf-8")
    env = stack_environment(env_file, {"WA_TOKEN": "from-environment"})
    # a bare name sets nothing; settings are there too (a stack may read them, as serve's does)
    assert env == {"WA_TOKEN": "from-environment", "SLACK_URL": "https://hooks.example/x",
                   "SUPPORTCTL_PORT": "7000"}
    assert stack_environment(tmp_path / "absent.env", {"A": "1"}) == {"A": "1"}


def test_stack_environment_refuses_a_dot_env_it_cannot_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"WA_TOKEN=\xff\xfe-secret\n")
    with pytest.raises(SettingsError) as info:
        stack_environment(env_file, {})
    assert info.value.problems == [(str(env_file), "is not UTF-8 text")]
    assert str(info.value).startswith(f"{env_file} is not UTF-8 text: it holds the settings")
    assert "-secret" not in str(info.value)



def test_a_missing_file_sets_nothing_and_a_folder_is_refused(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / "absent.env") == {}
    with pytest.raises(SettingsError) as folder:
        read_env_file(tmp_path)
    assert folder.value.problems == [(str(tmp_path), "is not a file")]

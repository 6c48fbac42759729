"""Process settings: defaults, sources, validation messages that never echo a value."""

from __future__ import annotations

import io
import re
import traceback
from pathlib import Path

import pytest
from pydantic import ValidationError

from supportctl.settings import (
    Settings,
    SettingsError,
    env_var,
    load_settings,
    redacted_url,
)

OPERATIONS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


def load(env_file: Path | None = None, **env: str) -> Settings:
    return load_settings(env={f"SUPPORTCTL_{k.upper()}": v for k, v in env.items()},
                         env_file=env_file)


def problems(**env: str) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        load(**env)
    return info.value


def test_defaults() -> None:
    settings = load()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.database_url == "sqlite:///./supportctl.db"
    assert settings.sqlite_path == Path("./supportctl.db")
    assert settings.admin_token is None
    assert settings.log_format == "auto"
    assert settings.log_level == "info"
    assert settings.stack == Path("stack.yaml")
    assert settings.public_url is None
    assert settings.outbox_workers == 4
    assert settings.shutdown_grace == 10.0
    assert settings.max_body_bytes == 4 * 1024 * 1024


def test_every_field_is_set_by_its_environment_variable() -> None:
    settings = load(
        host="0.0.0.0", port="9000", database_url="postgresql://app:pw@db:5432/support",
        admin_token="a" * 32, log_format="JSON", log_level="Debug", stack="conf/stack.yaml",
        public_url="https://support.example.com/", outbox_workers="8", shutdown_grace="2.5",
        max_body_bytes="1048576",
    )
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.database_url == "postgresql://app:pw@db:5432/support"
    assert settings.sqlite_path is None
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "a" * 32
    assert (settings.log_format, settings.log_level) == ("json", "debug")
    assert settings.stack == Path("conf/stack.yaml")
    assert settings.public_url == "https://support.example.com"
    assert (settings.outbox_workers, settings.shutdown_grace) == (8, 2.5)
    assert settings.max_body_bytes == 1048576


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comments and the stack's own variables are allowed\n"
        "WA_TOKEN=not-a-setting\n"
        "SUPPORTCTL_PORT=7000\n"
        "SUPPORTCTL_LOG_LEVEL=warning\n",
        encoding="utf-8",
    )
    settings = load(env_file=env_file, log_level="error")
    assert settings.port == 7000
    assert settings.log_level == "error"


def test_dot_env_in_the_working_directory_is_the_default(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SUPPORTCTL_HOST=0.0.0.0\n", encoding="utf-8")
    assert load_settings(env={}).host == "0.0.0.0"
    assert load_settings(env={}, env_file=None).host == "127.0.0.1"


def test_missing_env_file_is_not_an_error(tmp_path: Path) -> None:
    assert load(env_file=tmp_path / "absent.env").port == 8080


def test_empty_variable_means_unset() -> None:
    assert load(admin_token="", port="").admin_token is None


def test_process_environment_is_read_when_no_mapping_is_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTCTL_PORT", "6123")
    assert load_settings(env_file=None).port == 6123


def test_a_given_mapping_replaces_the_process_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTCTL_PORT", "6123")
    assert load_settings(env={}, env_file=None).port == 8080


def test_the_stack_file_is_not_a_settings_source(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stack.yaml").write_text("port: 9999\nhost: 10.0.0.1\n", encoding="utf-8")
    settings = load(stack="stack.yaml")
    assert (settings.port, settings.host) == (8080, "127.0.0.1")


def test_every_bad_setting_is_listed_with_its_variable() -> None:
    error = problems(port="eighty", log_format="xml", log_level="loud", outbox_workers="0",
                     database_url="mysql://db/x", public_url="support.example.com")
    assert str(error) == (
        "invalid settings:\n"
        "  SUPPORTCTL_PORT: Input should be a valid integer, unable to parse string as an integer\n"
        "  SUPPORTCTL_DATABASE_URL: "
        "must start with sqlite:/// (embedded) or postgresql:// (server)\n"
        "  SUPPORTCTL_LOG_FORMAT: Input should be 'auto', 'json' or 'console'\n"
        "  SUPPORTCTL_LOG_LEVEL: Input should be 'debug', 'info', 'warning' or 'error'\n"
        "  SUPPORTCTL_PUBLIC_URL: must be an absolute http:// or https:// URL\n"
        "  SUPPORTCTL_OUTBOX_WORKERS: Input should be greater than or equal to 1"
    )
    assert [name for name, _ in error.problems] == [
        "SUPPORTCTL_PORT", "SUPPORTCTL_DATABASE_URL", "SUPPORTCTL_LOG_FORMAT",
        "SUPPORTCTL_LOG_LEVEL", "SUPPORTCTL_PUBLIC_URL", "SUPPORTCTL_OUTBOX_WORKERS",
    ]


@pytest.mark.parametrize(("url", "problem"), [
    ("postgres://u@h/db", "write the scheme as postgresql://, not postgres://"),
    ("sqlite:///", "sqlite:/// needs a file path, e.g. sqlite:///./supportctl.db"),
    ("sqlite://relative.db", "a SQLite URL starts with sqlite:/// followed by the file path"),
    ("postgresql://u:pw@h:port/db", "the PostgreSQL URL's port is not a number"),
])
def test_database_url_problems(url: str, problem: str) -> None:
    assert problems(database_url=url).problems == [("SUPPORTCTL_DATABASE_URL", problem)]


def test_admin_token_problems() -> None:
    short = problems(admin_token="tiny-token")
    assert short.problems[0][0] == "SUPPORTCTL_ADMIN_TOKEN"
    assert short.problems[0][1].startswith("must be at least 16 characters")
    spaced = problems(admin_token="0123456789abcdef\n")
    assert spaced.problems == [("SUPPORTCTL_ADMIN_TOKEN", "must not contain spaces or line breaks")]


def rendered(error: SettingsError) -> str:
    """Everything a user could see: the message and the full traceback with its chain."""
    return str(error) + "".join(traceback.format_exception(error))


def test_validation_errors_never_show_secret_values() -> None:
    error = problems(admin_token="hunter2-hunter", database_url="mysql://app:s3cr3t-pw@db/x",
                     port="99999")
    assert [name for name, _ in error.problems] == [
        "SUPPORTCTL_PORT", "SUPPORTCTL_DATABASE_URL", "SUPPORTCTL_ADMIN_TOKEN"]
    text = rendered(error)
    for value in ("hunter2-hunter", "s3cr3t-pw", "mysql://app", "99999", "input_value"):
        assert value not in text
    # no chained pydantic ValidationError whose text carries the inputs
    assert error.__context__ is None
    assert error.__cause__ is None


def test_validation_errors_from_env_file_never_show_values(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SUPPORTCTL_ADMIN_TOKEN=short-pw\n"
                        "SUPPORTCTL_DATABASE_URL=postgres://u:top-secret@h/db\n", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load(env_file=env_file)
    text = rendered(info.value)
    assert "short-pw" not in text
    assert "top-secret" not in text
    assert "SUPPORTCTL_ADMIN_TOKEN" in text
    assert "SUPPORTCTL_DATABASE_URL" in text


def test_unreadable_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"SUPPORTCTL_ADMIN_TOKEN=\xff\xfe-secret\n")
    with pytest.raises(SettingsError) as info:
        load(env_file=env_file)
    assert info.value.problems == [(str(env_file), "is not UTF-8 text")]
    with pytest.raises(SettingsError) as folder:
        load(env_file=tmp_path)
    assert folder.value.problems == [(str(tmp_path), "is not a file")]


def test_repr_and_str_hide_the_token_and_the_database_password() -> None:
    settings = load(admin_token="z" * 20, database_url="postgresql://app:pw-123456@db/support")
    for text in (repr(settings), str(settings)):
        assert "z" * 20 not in text
        assert "pw-123456" not in text
        assert "postgresql://app:***@db/support" in text
    assert settings.database_url_redacted == "postgresql://app:***@db/support"


def test_secret_values_for_the_log_redactor() -> None:
    assert load().secret_values() == []
    settings = load(admin_token="t" * 16, database_url="postgresql://app:pw-123456@db/support")
    assert settings.secret_values() == ["t" * 16, "pw-123456"]


@pytest.mark.parametrize(("url", "shown"), [
    ("sqlite:///./supportctl.db", "sqlite:///./supportctl.db"),
    ("postgresql://app@db/support", "postgresql://app@db/support"),
    ("postgresql://app:pw@db:5432/support", "postgresql://app:***@db:5432/support"),
    ("postgresql://:pw@db/support", "postgresql://:***@db/support"),
    ("postgresql://db/support?user=app&password=pw&sslmode=require",
     "postgresql://db/support?user=app&password=***&sslmode=require"),
    ("postgresql://app:p%40ss@db/s", "postgresql://app:***@db/s"),
    ("postgresql://app:pw@db:notaport/s", "postgresql://app:***@db:notaport/s"),
    ("postgresql://app:pw@[db/s", "postgresql://***"),
    ("sqlite:////var/lib/supportctl.db?mode=ro", "sqlite:////var/lib/supportctl.db?mode=ro"),
    ("not a url", "not a url"),
])
def test_redacted_url(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_log_format_follows_the_terminal() -> None:
    settings = load()
    assert settings.resolved_log_format(Tty()) == "console"
    assert settings.resolved_log_format(io.StringIO()) == "json"
    assert load(log_format="json").resolved_log_format(Tty()) == "json"
    assert load(log_format="console").resolved_log_format(io.StringIO()) == "console"


def test_settings_cannot_be_changed_after_loading() -> None:
    settings = load()
    with pytest.raises(ValidationError):
        settings.port = 1


def test_docs_table_lists_every_setting_with_its_default() -> None:
    rows = re.findall(r"^\| `(SUPPORTCTL_[A-Z_]+)` \| ([^|]+) \|", OPERATIONS.read_text("utf-8"),
                      re.MULTILINE)
    documented = {name: default.strip() for name, default in rows}
    assert list(documented) == [env_var(name) for name in Settings.model_fields]
    for name, field in Settings.model_fields.items():
        shown = documented[env_var(name)]
        if field.default is None:
            assert shown == "unset"
        else:
            # the first `code` span is the default: `4194304` (4 MiB), `stack.yaml`
            value = re.match(r"`([^`]*)`", shown)
            assert value is not None, shown
            assert getattr(load(), name) == type(field.default)(value.group(1)), name


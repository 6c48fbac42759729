"""Process settings of `supportctl serve`: environment variables and `.env`, never the stack file.

The stack (`stack.yaml`) says what the support desk does; these settings say how this one process
runs (where it listens, which database, how it logs). Every setting is read from a
`SUPPORTCTL_<NAME>` environment variable or from a `.env` file; docs/operations.md lists them.
`supportctl.envfile` checks that `.env` can be read, and reads the stack's `${VARIABLES}` from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as PydanticSettingsError

from supportctl.envfile import DEFAULT_ENV_FILE, read_env_file
from supportctl.envfile import SettingsError as SettingsError  # raised by load_settings too

ENV_PREFIX = "SUPPORTCTL_"
ADMIN_TOKEN_MIN_LENGTH = 16
REDACTED = "***"

LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]
AccessLog = Literal["all", "errors", "off"]

# query parameters that carry credentials in libpq URLs (`?password=...`, `?sslpassword=...`)
_SECRET_QUERY_KEY = re.compile(r"pass|secret|token", re.IGNORECASE)
# load_settings(env=...) reads this mapping instead of os.environ
_ENV_OVERRIDE: ContextVar[Mapping[str, str] | None] = ContextVar("_ENV_OVERRIDE", default=None)


def env_var(field_name: str) -> str:
    """The environment variable that sets a field: `port` -> `SUPPORTCTL_PORT`."""
    return ENV_PREFIX + field_name.upper()


def redacted_url(url: str) -> str:
    """The URL with its password (and credential query parameters) replaced by `***`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # unparsable (e.g. an unclosed IPv6 bracket): show only the scheme, not a credential
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://{REDACTED}" if sep else REDACTED
    # edited in place rather than rebuilt: urlunsplit would turn sqlite:/// into sqlite:/
    if password is not None:
        head = f"{parts.scheme}://"
        userinfo, _, hostport = parts.netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{REDACTED}@{hostport}"
        url = head + netloc + url[len(head) + len(parts.netloc):]
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(_SECRET_QUERY_KEY.search(key) for key, _ in pairs):
            query = urlencode(
                [(k, REDACTED if _SECRET_QUERY_KEY.search(k) else v) for k, v in pairs],
                safe="*/:",
            )
            base, _, rest = url.partition("?")
            fragment = rest.partition("#")[2]
            url = f"{base}?{query}" + (f"#{fragment}" if fragment else "")
    return url


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


class Settings(BaseSettings):
    """How one `supportctl serve` process runs; see docs/operations.md for each setting."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        # a `.env` may hold other variables too (WA_TOKEN, ...): not settings, so not errors
        extra="ignore",
        # `SUPPORTCTL_ADMIN_TOKEN=` means unset, as a shell user expects
        env_ignore_empty=True,
        validate_default=True,
        # read once at start and shared: nothing changes a setting behind another's back
        frozen=True,
    )

    host: str = Field("127.0.0.1", min_length=1, description="address to listen on")
    port: int = Field(8080, ge=0, le=65535, description="TCP port; 0 picks a free one")
    database_url: str = Field(
        "sqlite:///./supportctl.db", repr=False,
        description="sqlite:///PATH (embedded) or postgresql://USER:PASSWORD@HOST/DB",
    )
    admin_token: SecretStr | None = Field(
        None, description="bearer token for POST /-/reload; unset disables the endpoint",
    )
    log_format: LogFormat = Field(
        "auto", description="json, console, or auto (console on a terminal, else json)",
    )
    log_level: LogLevel = Field("info", description="lowest level written")
    access_log: AccessLog = Field(
        "errors", description="which HTTP requests get an access log line: all, those answered "
        "4xx or 5xx (errors; a busy webhook writes no line per delivery), or none (off)")
    stack: Path = Field(Path("stack.yaml"), description="stack file or folder served")
    public_url: str | None = Field(
        None, description="external base URL (https://support.example.com) for webhook URLs",
    )
    outbox_workers: int = Field(4, ge=1, le=64, description="concurrent outbound sends")
    shutdown_grace: float = Field(
        10.0, gt=0, le=600, description="seconds to drain requests and the outbox on shutdown",
    )
    database_busy_timeout: float = Field(
        5.0, gt=0, le=300, description="seconds a write waits for a database lock held by "
        "another process before the request answers 503 (the channel delivers again)",
    )
    max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="largest accepted request body; larger get 413",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # explicit arguments, then the environment, then `.env`; the stack file is never a source
        env = _ENV_OVERRIDE.get()
        if env is not None:
            env_settings = _MappingEnvSource(settings_cls, env)
        return init_settings, env_settings, dotenv_settings

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if value != value.strip() or " " in value:
            raise ValueError("must be a host name or address without spaces")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # messages name the problem only: the URL may hold a password
        if value.startswith("sqlite:///"):
            if len(value) == len("sqlite:///"):
                raise ValueError("sqlite:/// needs a file path, e.g. sqlite:///./supportctl.db")
            return value
        if value.startswith("postgresql://"):
            try:
                urlsplit(value).port  # noqa: B018 - parsing the port is the check
            except ValueError:
                raise ValueError("the PostgreSQL URL's port is not a number") from None
            return value
        if value.startswith("postgres://"):
            raise ValueError("write the scheme as postgresql://, not postgres://")
        if value.startswith("sqlite:"):
            raise ValueError("a SQLite URL starts with sqlite:/// followed by the file path")
        raise ValueError("must start with sqlite:/// (embedded) or postgresql:// (server)")

    @field_validator("admin_token")
    @classmethod
    def _admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if len(token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"must be at least {ADMIN_TOKEN_MIN_LENGTH} characters "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe())')"
            )
        if any(c.isspace() for c in token):
            raise ValueError("must not contain spaces or line breaks")
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lowercase(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query string or fragment")
        return value.rstrip("/")

    @property
    def database_url_redacted(self) -> str:
        """The database URL safe to print or log."""
        return redacted_url(self.database_url)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for a PostgreSQL URL."""
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None

    def secret_values(self) -> list[str]:
        """Secret values held by the settings, to register with the log redactor."""
        values = []
        if self.admin_token is not None:
            values.append(self.admin_token.get_secret_value())
        password = _url_password(self.database_url)
        if password:
            values.append(password)
        return values

    def resolved_log_format(self, stream: TextIO) -> Literal["json", "console"]:
        """`json` or `console`; `auto` is console on a terminal, else json."""
        if self.log_format != "auto":
            return self.log_format
        isatty = getattr(stream, "isatty", None)
        return "console" if isatty is not None and isatty() else "json"

    def __repr_args__(self) -> Any:
        yield from super().__repr_args__()
        yield "database_url", self.database_url_redacted


class _MappingEnvSource(EnvSettingsSource):
    """The environment source reading a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        # the same normalisation as the real source: names match case-insensitively
        self.env_vars = {
            key.lower(): value
            for key, value in env.items()
            if not (self.env_ignore_empty and value == "")
        }


def load_settings(
    env: Mapping[str, str] | None = None, env_file: Path | None = DEFAULT_ENV_FILE,
) -> Settings:
    """Settings from `env` (default: the process environment) and `env_file` (None: no file).

    Raises SettingsError listing every bad variable and its problem, never its value.
    """
    if env_file is not None:
        read_env_file(env_file)  # a file pydantic-settings cannot read fails with our message
    problems: list[tuple[str, str]] = []
    token = _ENV_OVERRIDE.set(env)
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            field = str(error["loc"][0]) if error["loc"] else "settings"
            message = error["msg"].removeprefix("Value error, ")
            problems.append((env_var(field), message))
    except PydanticSettingsError as exc:
        # raised for unreadable sources; its text names the source and field, never the value
        problems.append(("settings", str(exc)))
    finally:
        _ENV_OVERRIDE.reset(token)
    # raised here, outside the except blocks, so no traceback chains back to pydantic's error
    # (whose text includes each input value)
    raise SettingsError(problems)

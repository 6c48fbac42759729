"""`.env` and the process environment, read the same way by the settings and by the stack.

`supportctl serve` takes its settings (`SUPPORTCTL_*`) and the stack's `${VARIABLES}` from the
process environment and from `.env` in the current directory, the environment winning.
`supportctl validate` reads the stack's variables the same way, so that it warns about exactly
the variables `serve` would refuse to start without. Kept apart from `supportctl.settings` so
that `validate` does not load pydantic-settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_ENV_FILE = Path(".env")


class SettingsError(Exception):
    """Settings (or a `.env`) that cannot be used; the message names each variable or file and
    never shows a value."""

    def __init__(self, problems: list[tuple[str, str]], message: str | None = None) -> None:
        self.problems = problems
        if message is None:
            message = "invalid settings:\n" + "\n".join(
                f"  {name}: {problem}" for name, problem in problems)
        super().__init__(message)


def read_env_file(path: Path = DEFAULT_ENV_FILE) -> dict[str, str]:
    """The variables a `.env` file sets (none when it does not exist).

    Raises SettingsError when it is there but cannot be read: a folder, unreadable, not UTF-8.
    """
    if not path.exists():
        return {}
    if not path.is_file():
        raise _unreadable(path, "is not a file")
    try:
        values = dotenv_values(path, encoding="utf-8")
    except UnicodeDecodeError:
        raise _unreadable(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise _unreadable(path, f"cannot be read: {exc.strerror}") from None
    # a bare `NAME` line (no `=`) reads as None: it sets nothing
    return {name: value for name, value in values.items() if value is not None}


def _unreadable(path: Path, problem: str) -> SettingsError:
    return SettingsError([(str(path), problem)],
                         f"{path} {problem}: it holds the settings (SUPPORTCTL_*) and the stack's "
                         "${VARIABLES}; fix or remove it")


def stack_environment(env_file: Path = DEFAULT_ENV_FILE,
                      environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables the stack's `${VAR}` read, for `serve` and `validate` alike: `env_file`
    (when present), then `environ` (default: the process environment), which wins.

    Raises SettingsError when the file is there but cannot be read.
    """
    return {**read_env_file(env_file), **(os.environ if environ is None else environ)}

"""Check a stack with everything installed: core checks, routing checks, plugins."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from supportctl.config.diagnostics import Severity
from supportctl.config.loading import LoadResult, check_stack
from supportctl.plugins import load_plugins
from supportctl.routing.checks import CHECKS as ROUTING_CHECKS


def validate_stack(path: Path, env: Mapping[str, str] | None = None,
                   missing_env: Severity = Severity.WARNING) -> LoadResult:
    """Load and check the stack at `path` against the installed plugins."""
    return check_stack(path, load_plugins(), os.environ if env is None else env, missing_env,
                       ROUTING_CHECKS)

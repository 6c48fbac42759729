"""Checks of a stack that need the routing engine's view of time."""

from __future__ import annotations

from supportctl.config.checks import Check

CHECKS: list[Check] = []

"""Every scenario under examples/broken/ gives exactly the diagnostics in its expected.txt.

Each scenario is checked from inside its folder, so the expected output names files the way a
user running `supportctl validate stack.yaml` there sees them. After a deliberate change of a
message, regenerate with
`SUPPORTCTL_UPDATE_EXPECTED=1 python -m pytest tests/config/test_broken_examples.py`
and review the diff.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, CliResult

from supportctl.config.codes import CATALOGUE

BROKEN = REPO / "examples" / "broken"
SCENARIOS = sorted(p.name for p in BROKEN.iterdir() if (p / "stack.yaml").is_file())
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_CODE = re.compile(r"^\S+:\d+:\d+: (?:error|warning)\[([A-Z]\d{3})\]", re.MULTILINE)
# codes that no file can produce with the built-in plugins, and where they are tested instead
NOT_FROM_A_FILE: dict[str, str] = {}


def _unset_variables(scenario: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scenarios must not depend on the machine: every variable they name is unset."""
    for path in scenario.rglob("*.yaml"):
        for name in _ENV_REFERENCE.findall(path.read_bytes().decode("utf-8", "replace")):
            monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_gives_its_expected_diagnostics(
        name: str, run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = BROKEN / name
    _unset_variables(scenario, monkeypatch)
    result = run_cli("validate", "stack.yaml", cwd=scenario)
    expected_file = scenario / "expected.txt"
    if os.environ.get("SUPPORTCTL_UPDATE_EXPECTED"):
        expected_file.write_text(result.out, encoding="utf-8")
    assert expected_file.is_file(), f"{name} has no expected.txt"
    expected = expected_file.read_text(encoding="utf-8")
    assert result.out == expected
    assert _CODE.search(expected), f"{name} produces no diagnostic at all"
    assert result.code == (1 if "error[" in expected else 0)


def test_every_code_has_a_scenario() -> None:
    produced = {code for name in SCENARIOS
                for code in _CODE.findall((BROKEN / name / "expected.txt").read_text("utf-8"))}
    missing = {c.code for c in CATALOGUE} - produced - set(NOT_FROM_A_FILE)
    assert not missing, f"no scenario under examples/broken/ produces {sorted(missing)}"


def test_every_scenario_is_described_in_the_readme() -> None:
    readme = (BROKEN / "README.md").read_text(encoding="utf-8")
    undescribed = [name for name in SCENARIOS if f"[{name}]({name}/)" not in readme]
    assert not undescribed, f"add these scenarios to examples/broken/README.md: {undescribed}"

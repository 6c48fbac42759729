"""The catalogue of diagnostic codes is well formed, and every code has an example that gives it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from supportctl.config.codes import BY_CODE, CATALOGUE
from supportctl.config.codes_doc import EXAMPLES, FAMILIES
from supportctl.validation import validate_stack

CODE = re.compile(r"^[A-Z][1-9][0-9]{2}$")
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FILE_MARK = re.compile(r"^# file: (\S+)(.*)$")
HEADER = {"version": "version: 1\n",
          "workspace": "workspace: {name: Acme Support, timezone: Europe/Berlin}\n"}

# Examples that only illustrate: the real thing does not fit in a short snippet.
ILLUSTRATIONS = {"C803": "needs a text thousands of characters long"}


def test_codes_and_names_are_unique() -> None:
    for what, values in (("code", [c.code for c in CATALOGUE]),
                         ("name", [c.name for c in CATALOGUE])):
        repeated = [value for value, count in Counter(values).items() if count > 1]
        assert not repeated, f"{what}s used twice: {repeated}"


@pytest.mark.parametrize("code", CATALOGUE, ids=lambda c: c.code)
def test_entry_is_well_formed(code: object) -> None:
    entry = BY_CODE[str(getattr(code, "code"))]  # noqa: B009  (ids= passes the object)
    assert CODE.match(entry.code), f"{entry.code}: a letter and three digits"
    assert entry.code[0] in FAMILIES, f"{entry.code}: unknown family {entry.code[0]!r}"
    assert KEBAB.match(entry.name), f"{entry.code}: name {entry.name!r} is not kebab-case"
    assert entry.title and entry.title[0].isupper() and not entry.title.endswith(".")
    assert entry.explanation.endswith("."), f"{entry.code}: explanation must end with a period"


def test_codes_of_a_family_share_a_hundred() -> None:
    hundreds: dict[str, set[str]] = {}
    for entry in CATALOGUE:
        hundreds.setdefault(entry.code[0], set()).add(entry.code[1])
    shared = {family: digits for family, digits in hundreds.items() if len(digits) != 1}
    assert not shared, f"each family keeps to one hundred: {shared}"
    digits = [next(iter(d)) for d in hundreds.values()]
    assert len(set(digits)) == len(digits), "two families share a hundred"


def test_every_code_has_an_example() -> None:
    missing = [c.code for c in CATALOGUE if not EXAMPLES.get(c.code, "").strip()]
    assert not missing, f"add an example to codes_doc.EXAMPLES for {missing}"
    stale = sorted(set(EXAMPLES) - set(BY_CODE))
    assert not stale, f"examples of codes that are not in the catalogue: {stale}"


def _write_example(text: str, folder: Path) -> Path:
    """Write an example as its files (split at `# file:` lines); the root gets a header."""
    files: list[tuple[str, str, list[str]]] = [("stack.yaml", "", [])]
    for line in text.splitlines(keepends=True):
        mark = FILE_MARK.match(line.rstrip("\n"))
        if mark:
            files.append((mark.group(1), mark.group(2), []))
        else:
            files[-1][2].append(line)
    for name, note, lines in files:
        body = "".join(lines)
        if name == "stack.yaml" and not re.search(r"^#? ?version:", body, re.MULTILINE):
            body = "".join(h for key, h in HEADER.items()
                           if not re.search(rf"^{key}:", body, re.MULTILINE)) + body
        if name == "stack.yaml" or body:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body.encode("latin-1" if "Latin-1" in note else "utf-8"))
    return folder / "stack.yaml"


def _marks(code: str) -> list[pytest.MarkDecorator]:
    if code in ILLUSTRATIONS:
        return [pytest.mark.skip(reason=ILLUSTRATIONS[code])]
    return []


@pytest.mark.parametrize("code", [pytest.param(c.code, marks=_marks(c.code), id=c.code)
                                  for c in CATALOGUE])
def test_example_gives_its_code(code: str, tmp_path: Path) -> None:
    stack = _write_example(EXAMPLES[code], tmp_path)
    result = validate_stack(stack, env={})
    found = [d.code for d in result.diagnostics]
    assert code in found, f"the example of {code} gives {found}:\n{EXAMPLES[code]}"
    expected = BY_CODE[code].severity
    severities = {d.severity for d in result.diagnostics if d.code == code}
    assert expected in severities, f"{code} should be a {expected.value} by default"

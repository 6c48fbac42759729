"""The loader: YAML 1.2 values, positions, duplicate keys, tags, aliases and `${VAR}`."""

from __future__ import annotations

import pytest

from supportctl.config.diagnostics import Location, Severity
from supportctl.config.yaml_loader import load_text, node_at, resolve_plain, source_text


def codes(text: str, env: dict[str, str] | None = None) -> list[tuple[str, int, int]]:
    loaded = load_text(text, "s.yaml", env or {})
    return [(f.code, where.line, where.column) for where, f in loaded.findings]


@pytest.mark.parametrize(("text", "value"), [
    ("no", "no"), ("yes", "yes"), ("on", "on"), ("off", "off"), ("NO", "NO"), ("y", "y"),
    ("18:00", "18:00"), ("08:00-16:00", "08:00-16:00"), ("1:30:00", "1:30:00"),
    ("2026-12-25", "2026-12-25"), ("0x1F", "0x1F"), ("1_000", "1_000"),
    ("true", True), ("False", False), ("null", None), ("~", None), ("", None),
    ("42", 42), ("-7", -7), ("007", 7), ("1.5", 1.5), ("1e3", 1000.0), (".inf", float("inf")),
])
def test_plain_scalars_follow_yaml_1_2(text: str, value: object) -> None:
    assert resolve_plain(text) == value
    assert type(resolve_plain(text)) is type(value)


def test_yaml_1_1_traps_never_become_numbers_or_booleans() -> None:
    loaded = load_text("language: no\nstart: 18:00\nflag: on\nday: 2026-12-25\n", "s.yaml", {})
    assert loaded.data == {"language": "no", "start": "18:00", "flag": "on",
                           "day": "2026-12-25"}
    assert loaded.findings == []


def test_quoted_and_block_scalars_stay_text() -> None:
    loaded = load_text("a: '42'\nb: \"true\"\nc: |\n  line\n", "s.yaml", {})
    assert loaded.data == {"a": "42", "b": "true", "c": "line\n"}


def test_keys_keep_their_literal_text() -> None:
    loaded = load_text("agents:\n  007: {name: Bond}\n  no: {name: Nora}\n", "s.yaml", {})
    assert list(loaded.data["agents"]) == ["007", "no"]


def test_duplicate_key_names_both_lines() -> None:
    loaded = load_text("teams:\n  a: 1\n  b: 2\n  a: 3\n", "s.yaml", {})
    ((where, finding),) = loaded.findings
    assert (finding.code, where) == ("L102", Location("s.yaml", 4, 3))
    assert finding.message == "duplicate key 'a' (first defined at line 2)"
    assert finding.path == ("teams", "a")


def test_explicit_core_tags_are_honoured_and_others_refused() -> None:
    loaded = load_text("a: !!str 12\nb: !!int '7'\nc: !!binary aGk=\nd: !!python/tuple [1]\n",
                       "s.yaml", {})
    assert loaded.data["a"] == "12"
    assert loaded.data["b"] == 7
    assert [(f.code, w.line) for w, f in loaded.findings] == [("L105", 3), ("L105", 4)]


def test_syntax_error_is_positioned() -> None:
    assert codes("a: [1, 2\nb: 3\n") == [("L101", 2, 2)]


def test_tab_indentation_gets_a_hint() -> None:
    loaded = load_text("a:\n\tb: 1\n", "s.yaml", {})
    ((_, finding),) = loaded.findings
    assert finding.code == "L101"
    assert "tab" in finding.hint


def test_several_documents_are_refused() -> None:
    assert codes("a: 1\n---\nb: 2\n") == [("L103", 2, 1)]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a list\n", "just text\n"])
def test_empty_or_non_mapping_file(text: str) -> None:
    assert [c for c, _, _ in codes(text)] == ["L104"]


def test_non_scalar_key() -> None:
    assert [c for c, _, _ in codes("? [a, b]\n: 1\n")] == ["L106"]


def test_anchors_aliases_and_merge_keys() -> None:
    text = ("base: &base {max_open: 4, languages: [en]}\n"
            "anna: {<<: *base, name: Anna}\n"
            "li: {<<: *base, max_open: 2}\n")
    loaded = load_text(text, "s.yaml", {})
    assert loaded.data["anna"] == {"name": "Anna", "max_open": 4, "languages": ["en"]}
    assert loaded.data["li"] == {"max_open": 2, "languages": ["en"]}
    node, depth, _ = node_at(loaded.root, ("anna", "max_open"))  # type: ignore[arg-type]
    assert depth == 2 and node.start_mark.line == 0  # found through the merge, at its anchor


def test_billion_laughs_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 8):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    loaded = load_text("\n".join(lines) + "\n", "s.yaml", {})
    assert [f.code for _, f in loaded.findings] == ["L107"]
    assert loaded.data is None and loaded.root is None


def test_environment_substitution_and_defaults() -> None:
    text = "a: ${TOKEN}\nb: ${MISSING:-fallback}\nc: pre-${TOKEN}-post\nd: $${LITERAL}\n"
    loaded = load_text(text, "s.yaml", {"TOKEN": "s3cret"})
    assert loaded.data == {"a": "s3cret", "b": "fallback", "c": "pre-s3cret-post",
                           "d": "${LITERAL}"}
    assert loaded.interpolated == {("a",): "${TOKEN}", ("b",): "${MISSING:-fallback}",
                                   ("c",): "pre-${TOKEN}-post"}
    assert loaded.env_used == {"TOKEN", "MISSING"}
    assert loaded.findings == []


def test_missing_variable_severity_is_chosen_by_the_caller() -> None:
    for severity in (Severity.WARNING, Severity.ERROR):
        loaded = load_text("a: ${NOPE}\n", "s.yaml", {}, severity)
        ((where, finding),) = loaded.findings
        assert (finding.code, finding.severity, where.line, where.column) == (
            "L110", severity, 1, 4)
        assert loaded.data == {"a": ""}


def test_malformed_reference() -> None:
    assert codes("a: ${not valid}\n") == [("L111", 1, 4)]


def test_source_text_is_what_the_file_says() -> None:
    loaded = load_text("phone: 0123\nlist: [a, 08]\n", "s.yaml", {})
    assert loaded.root is not None
    assert source_text(loaded.root, ("phone",)) == "0123"
    assert source_text(loaded.root, ("list", 1)) == "08"
    assert source_text(loaded.root, ("missing",)) is None

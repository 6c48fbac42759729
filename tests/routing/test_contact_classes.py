"""Contact classes: the values rules tell apart, grouped as conditions judge them; regex samples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import valid_stack

from supportctl.config.model.stack import StackBase
from supportctl.routing.contact_classes import dimensions, regex_example
from supportctl.routing.engine import Router

FIXTURES = Path(__file__).parent.parent / "fixtures"
TINY = FIXTURES / "diff" / "tiny.yaml"
SHOP = FIXTURES / "stacks" / "routing-shop.yaml"


@pytest.fixture(scope="module")
def tiny() -> StackBase:
    return valid_stack(TINY)


@pytest.fixture(scope="module")
def shop() -> StackBase:
    return valid_stack(SHOP)


def test_contact_classes_are_the_values_rules_name_plus_other(shop: StackBase,
                                                              tiny: StackBase) -> None:
    dims, notes = dimensions([Router(shop)])
    assert [(d.name, [c.label for c in d.classes]) for d in dims] == [
        ("language", ["zh", "other"]), ("segment", ["vip", "other"])]
    dims, notes = dimensions([Router(tiny)])
    assert [(d.name, [c.values for c in d.classes]) for d in dims] == [
        ("text", [("order no000000",), (None,)])]
    assert notes == []


def test_values_every_condition_treats_alike_are_one_class(tmp_path: Path,
                                                           shop: StackBase) -> None:
    text = SHOP.read_text(encoding="utf-8")
    assert text.count("{contact.segment: vip}") == 1
    (tmp_path / SHOP.name).write_text(
        text.replace("{contact.segment: vip}", "{contact.segment: [vip, gold]}"), encoding="utf-8")
    new = valid_stack(tmp_path / SHOP.name)
    dims, _ = dimensions([Router(shop), Router(new)])
    assert [c.label for c in dims[1].classes] == ["vip", "gold", "other"]
    dims, _ = dimensions([Router(new)])
    assert [c.label for c in dims[1].classes] == ["vip|gold", "other"]


@pytest.mark.parametrize(("regex", "sample"), [
    (r"^\+86", "+86"),
    (r"order (no|number) ?[0-9]{6}", "order no000000"),
    (r"\bvip\b", "vip"),
    (r"[^a-z]x", "0x"),
    (r"(ab)\1", "abab"),
    (r"colou?r", "color"),
    (r"\d{3}-\d{4}", "000-0000"),
    (r"a(?!b)b", None),  # derived simply, it does not match: no sample
])
def test_regex_samples(regex: str, sample: str | None) -> None:
    assert regex_example(regex) == sample
    if sample is not None:
        assert re.search(regex, sample, re.IGNORECASE)

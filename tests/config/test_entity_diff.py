"""Entities added, removed and changed between two stacks: by id, with the keys that differ."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import valid_stack

from supportctl.config.entity_diff import EntityChange, changed_keys, entity_diff
from supportctl.config.model.stack import StackBase
from supportctl.validation import validate_stack

SHOP = Path(__file__).parent.parent / "fixtures" / "stacks" / "routing-shop.yaml"


def edited(tmp_path: Path, *edits: tuple[str, str], name: str = "new.yaml") -> StackBase:
    """The routing-shop stack with each (old, new) text replaced exactly once."""
    text = SHOP.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return valid_stack(path)


@pytest.fixture(scope="module")
def shop() -> StackBase:
    return valid_stack(SHOP)


def test_a_stack_compared_with_itself_has_no_changes(shop: StackBase) -> None:
    assert entity_diff(shop, shop) == []


def test_layout_key_order_and_written_defaults_are_no_change(tmp_path: Path,
                                                              shop: StackBase) -> None:
    new = edited(tmp_path,
                 ("anna: {name: Anna, languages: [de, en], max_open: 2}",
                  "anna:\n    max_open: 2\n    languages: [de, en]\n    name: Anna"),
                 ("  chinese:\n    assign: least_open",
                  "  chinese:\n    handover: requeue\n    assign: least_open"))
    assert shop.teams["chinese"].handover == "requeue"  # the default, now written out
    assert entity_diff(shop, new) == []


def test_added_removed_and_changed_entities_with_the_keys_that_changed(
        tmp_path: Path, shop: StackBase) -> None:
    new = edited(tmp_path,
                 ("  web: {type: webchat}\n", "  web: {type: webchat, name: Shop chat}\n"
                                              "  web2: {type: webchat}\n"),
                 ("  wei: {name: Wei, languages: [zh], max_open: 2}\n", ""),
                 ("shifts: [{schedule: shanghai-day, agents: [li, wei]}]",
                  "shifts: [{schedule: shanghai-day, agents: [li]}]"),
                 ('en: "Back at {{next_open}}."', 'en: "We are back at {{next_open}}."'),
                 ("conversations: {out_of_hours_reply: out_of_hours}",
                  "conversations: {out_of_hours_reply: out_of_hours, auto_close_after: 12h}"),
                 ("languages: [de, en, zh],", "languages: [de, en, zh], public_url: "
                                              "https://shop.example,"))
    assert entity_diff(shop, new) == [
        EntityChange("workspace", "workspace", "changed", ("public_url",)),
        EntityChange("channels", "web", "changed", ("name",)),
        EntityChange("channels", "web2", "added"),
        EntityChange("agents", "wei", "removed"),
        EntityChange("teams", "chinese", "changed", ("shifts",)),
        EntityChange("templates", "out_of_hours", "changed", ("text.en",)),
        EntityChange("conversations", "conversations", "changed", ("auto_close_after",)),
    ]


def test_a_rule_is_matched_by_name_and_its_changed_keys_listed(tmp_path: Path,
                                                               shop: StackBase) -> None:
    new = edited(tmp_path, ("    to: supervisors\n    fallback: general\n",
                            "    to: supervisors\n    fallback: [general, chinese]\n"),
                 ("{after: 15m, to: supervisors, notify: slack}",
                  "{after: 10m, to: supervisors, notify: slack}"))
    assert entity_diff(shop, new) == [
        EntityChange("routing", "vip", "changed", ("fallback",), 2, 2),
        EntityChange("routing", "everyone-else", "changed", ("escalate",), 3, 3),
    ]


def test_rules_shifted_by_an_insertion_are_not_moved(tmp_path: Path, shop: StackBase) -> None:
    new = edited(tmp_path, ("routing:\n", "routing:\n  - name: night\n"
                                          "    when: {schedule: late}\n    to: general\n"))
    assert entity_diff(shop, new) == [EntityChange("routing", "night", "added", (), None, 1)]


def test_a_rule_that_changed_place_is_moved(tmp_path: Path, shop: StackBase) -> None:
    vip = ("  - name: vip\n    when: {contact.segment: vip}\n    to: supervisors\n"
           "    fallback: general\n    notify: slack\n")
    new = edited(tmp_path, (vip, ""), ("routing:\n", "routing:\n" + vip))
    assert [rule.name for rule in new.routing] == ["vip", "chinese-speakers", "everyone-else"]
    assert entity_diff(shop, new) == [EntityChange("routing", "vip", "moved", (), 2, 1, True)]
    assert entity_diff(shop, new)[0].as_dict() == {
        "section": "routing", "id": "vip", "change": "moved", "old_position": 2,
        "new_position": 1, "moved": True}


def test_a_removed_rule_keeps_its_old_position(tmp_path: Path, shop: StackBase) -> None:
    vip = ("  - name: vip\n    when: {contact.segment: vip}\n    to: supervisors\n"
           "    fallback: general\n    notify: slack\n")
    new = edited(tmp_path, (vip, ""))
    assert entity_diff(shop, new) == [EntityChange("routing", "vip", "removed", (), 2, None)]


def test_a_changed_secret_is_named_by_its_key_never_its_value(tmp_path: Path) -> None:
    stack = ("version: 1\nworkspace: {name: S, timezone: UTC, languages: [en]}\n"
             "channels: {tg: {type: telegram, bot_token: '${TG_TOKEN}', "
             "secret_token: '${TG_SECRET}'}}\n"
             "schedules: {always: {hours: [{days: mon-sun, time: '00:00-24:00'}]}}\n"
             "agents: {a: {name: A, languages: [en]}}\n"
             "teams: {t: {shifts: [{schedule: always, agents: [a]}]}}\n"
             "routing: [{name: all, to: t}]\n")
    (tmp_path / "old.yaml").write_text(stack)
    (tmp_path / "new.yaml").write_text(stack)
    old = validate_stack(tmp_path / "old.yaml", env={"TG_TOKEN": "111:aaa", "TG_SECRET": "s"})
    new = validate_stack(tmp_path / "new.yaml", env={"TG_TOKEN": "222:bbb", "TG_SECRET": "s"})
    assert old.stack is not None and new.stack is not None
    changes = entity_diff(old.stack, new.stack)
    assert changes == [EntityChange("channels", "tg", "changed", ("bot_token",))]
    assert "111" not in repr(changes[0].as_dict()) and "222" not in repr(changes[0].as_dict())


def test_changed_keys_go_into_mappings_but_not_lists() -> None:
    old = {"a": 1, "b": {"c": 1, "d": [1, 2]}, "gone": 1}
    new = {"a": 1, "b": {"c": 2, "d": [1, 3]}, "new": 1}
    assert list(changed_keys(old, new)) == ["b.c", "b.d", "gone", "new"]

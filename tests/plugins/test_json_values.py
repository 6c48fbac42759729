"""Reading a delivery's JSON by type: each value of the wrong type or out of range is a
`Malformed` naming its path; absent values read as None."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from supportctl.plugins.json_values import Malformed, Node, as_dict, as_list, unicode_text

DELIVERY = {"entry": [{"changes": [{"value": {"messages": [
    {"id": "wamid.1", "timestamp": "1732363200"},
    {"id": "wamid.2", "timestamp": 1e20, "from": ["16505551234"], "count": 2**70}]}}]}]}


def second_message() -> Node:
    change = next(next(Node(DELIVERY)["entry"].each())["changes"].each())
    return list(change["value"]["messages"].each())[1]


def failure(read: Any) -> str:
    with pytest.raises(Malformed) as caught:
        read()
    return str(caught.value)


def test_a_value_keeps_its_path_into_messages() -> None:
    message = second_message()
    assert message.path == "entry[0].changes[0].value.messages[1]"
    assert failure(message["timestamp"].unix_time) == (
        "entry[0].changes[0].value.messages[1].timestamp: 1e+20 is not a time")
    assert failure(message["from"].ident) == (
        "entry[0].changes[0].value.messages[1].from: expected a string, got a list")
    assert failure(message["count"].integer) == (
        "entry[0].changes[0].value.messages[1].count: 1180591620717411303424 is out of range")


def test_absent_values_read_as_none_all_the_way_down() -> None:
    node = Node({"a": None})
    assert node["a"]["b"]["c"].text() is None
    assert node["missing"].integer() is None
    assert list(node["missing"].each()) == []
    assert node["a"].names() == []
    assert not node["a"].present
    assert failure(node["missing"].ident) == "missing: missing"
    assert failure(Node({"a": {"b": None}})["a"]["b"].unix_time) == "a.b: missing"


@pytest.mark.parametrize(("value", "read", "message"), [
    ("text", lambda n: n["x"], 'body: expected an object, got "text"'),
    ({"k": 1}, lambda n: list(n.each()), "body: expected a list, got an object"),
    ([1], Node.names, "body: expected an object, got a list"),
    (5, Node.text, "body: expected a string, got 5"),
    (True, Node.integer, "body: expected an integer, got true"),
    ("", Node.ident, "body: empty"),
    ("  ", Node.ident, "body: empty"),
    ("x" * 513, Node.ident, "body: a string of 513 characters is longer than an id may be (512)"),
    ("a\ud800", Node.ident, 'body: "a\\ud800" is not valid Unicode'),
    ({}, Node.code, "body: expected a string, got an object"),
])
def test_values_of_the_wrong_type(value: Any, read: Any, message: str) -> None:
    assert failure(lambda: read(Node(value))) == message


def test_text_replaces_lone_surrogates_and_keeps_pairs() -> None:
    assert Node("a\ud800b").text() == "a\ufffdb"
    assert Node("\U0001f600").text() == "\U0001f600"
    assert unicode_text("\udcff\udcfe") == "\ufffd\ufffd"


def test_codes_are_strings_or_integers() -> None:
    assert Node(131047).code() == "131047"
    assert Node("131047").code() == "131047"
    assert Node(None).code() is None


@pytest.mark.parametrize(("value", "expected"), [
    (53.5, 53.5), (-90, -90.0), ("23.134521", 23.134521), ("1e1", 10.0)])
def test_numbers_in_range(value: Any, expected: float) -> None:
    assert Node(value).number(-90, 90) == expected


@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "body: NaN is not a number from -90 to 90"),
    (float("inf"), "body: Infinity is not a number from -90 to 90"),
    ("inf", 'body: "inf" is not a number from -90 to 90'),
    (90.5, "body: 90.5 is not a number from -90 to 90"),
    pytest.param(10**400, "body: an integer of 401 digits is not a number from -90 to 90",
                 id="huge-integer"),
    ("north", 'body: expected a number, got "north"'),
    (True, "body: expected a number, got true"),
    (None, "body: missing"),
    ([1], "body: expected a number, got a list"),
])
def test_numbers_out_of_range_or_of_another_type(value: Any, message: str) -> None:
    assert failure(lambda: Node(value).number(-90, 90)) == message


@pytest.mark.parametrize(("value", "per_second", "expected"), [
    ("1732363200", 1, datetime(2024, 11, 23, 12, 0, tzinfo=UTC)),
    (1732363200, 1, datetime(2024, 11, 23, 12, 0, tzinfo=UTC)),
    (1795424400123, 1000, datetime(2026, 11, 23, 9, 0, 0, 123000, tzinfo=UTC)),
    (0, 1, datetime(1970, 1, 1, tzinfo=UTC)),
    (253402300799, 1, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
])
def test_unix_times(value: Any, per_second: int, expected: datetime) -> None:
    assert Node(value).unix_time(per_second) == expected


@pytest.mark.parametrize("value", [1e20, -1, "-1", 1.5, 1732363200.0, "1e20", "١٧٣٢٣٦٣٢٠٠",
                                   253402300800, 2**70, "9" * 5000, True, "", [1], float("nan")])
def test_what_is_no_unix_time(value: Any) -> None:
    assert failure(lambda: Node(value).unix_time()).endswith(" is not a time")


def test_iso_times() -> None:
    assert Node("2026-11-23T14:05:09Z").iso_time() == datetime(2026, 11, 23, 14, 5, 9,
                                                               tzinfo=UTC)
    assert failure(Node("yesterday").iso_time) == (
        'body: "yesterday" is not an ISO 8601 time')
    assert failure(Node("2026-11-23T14:05:09").iso_time) == (
        'body: "2026-11-23T14:05:09" has no UTC offset')
    assert failure(Node("1969-12-31T23:59:59Z").iso_time) == (
        'body: "1969-12-31T23:59:59Z" is before 1970')
    assert failure(Node("9999-12-31T23:00:00-05:00").iso_time) == (
        'body: "9999-12-31T23:00:00-05:00" is not an ISO 8601 time')


def test_the_lenient_readers_read_other_types_as_empty() -> None:
    assert as_dict([1]) == {} and as_dict({"a": 1}) == {"a": 1}
    assert as_list("x") == [] and as_list([1]) == [1]

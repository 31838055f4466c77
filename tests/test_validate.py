"""Every error code, the timestamp formats, levels and typed extra columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.rules import parse_rules
from handler.validate import Invalid, Validator, parse_timestamp

V = Validator({})


def line(**fields: object) -> bytes:
    base: dict[str, object] = {"timestamp": "2025-07-21T10:00:00Z", "level": "INFO", "message": "m"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


def code(result: object) -> str:
    assert isinstance(result, Invalid), result
    return result.code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", "invalid_json"),
        (b'{"a": NaN}', "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (b"42", "not_an_object"),
        (b'{"timestamp": "\xff\xfe"}', "invalid_utf8"),
        (line(timestamp=...), "missing_field:timestamp"),
        (line(level=...), "missing_field:level"),
        (line(message=...), "missing_field:message"),
        (line(level=None), "missing_field:level"),
        (line(timestamp="yesterday"), "bad_timestamp"),
        (line(timestamp="2025-07-21"), "bad_timestamp"),
        (line(timestamp="2025-13-01T00:00:00Z"), "bad_timestamp"),
        (line(timestamp=True), "bad_timestamp"),
        (line(timestamp=float("inf")), "invalid_json"),
        (line(timestamp="1999-12-31T23:59:59Z"), "timestamp_out_of_range"),
        (line(timestamp="2999-01-01T00:00:00Z"), "timestamp_out_of_range"),
        (line(level="LOUD"), "bad_level"),
        (line(level=3), "bad_level"),
        (line(level=True), "bad_level"),
    ],
)
def test_error_codes(raw: bytes, expected: str) -> None:
    result = V.check(raw)
    assert code(result) == expected
    assert isinstance(result, Invalid) and result.detail


def test_the_tutorial_sample_line_three_is_missing_level() -> None:
    raw = b'{"timestamp": "2025-07-21T10:00:10Z", "raw_message": "Invalid format log"}'
    found = V.check(raw)
    assert isinstance(found, Invalid) and found.code == "missing_field:level"
    assert 'default_level = "INFO"' in found.detail  # the one setting that accepts it


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-07-21T10:00:00Z", datetime(2025, 7, 21, 10)),
        ("2025-07-21T10:00:00.123456Z", datetime(2025, 7, 21, 10, 0, 0, 123456)),
        ("2025-07-21T10:00:00.123Z", datetime(2025, 7, 21, 10, 0, 0, 123000)),
        ("2025-07-21T12:30:00+02:30", datetime(2025, 7, 21, 10)),
        ("2025-07-21T05:00:00-05:00", datetime(2025, 7, 21, 10)),
        ("2025-07-21T10:00:00", datetime(2025, 7, 21, 10)),
        ("2025-07-21 10:00:00", datetime(2025, 7, 21, 10)),
        (1753092000, datetime(2025, 7, 21, 10)),
        (1753092000.5, datetime(2025, 7, 21, 10, 0, 0, 500000)),
        (1753092000123, datetime(2025, 7, 21, 10, 0, 0, 123000)),
    ],
)
def test_timestamps_normalised_to_utc(value: object, expected: datetime) -> None:
    assert parse_timestamp(value) == expected


def test_timestamp_just_inside_future_window_is_valid() -> None:
    soon = (datetime.now(UTC) + timedelta(hours=23)).isoformat()
    assert not isinstance(V.check(line(timestamp=soon)), Invalid)


def test_range_is_configurable() -> None:
    v = Validator({}, min_timestamp=datetime(1990, 1, 1), max_future=timedelta(days=3650))
    assert not isinstance(v.check(line(timestamp="1995-01-01T00:00:00Z")), Invalid)
    assert not isinstance(v.check(line(timestamp="2030-01-01T00:00:00Z")), Invalid)


@pytest.mark.parametrize(
    ("given_level", "stored"),
    [
        ("info", "INFO"),
        ("Warning", "WARN"),
        ("WARN", "WARN"),
        ("fatal", "FATAL"),
        ("trace", "TRACE"),
    ],
)
def test_levels_upper_cased_warning_is_warn(given_level: str, stored: str) -> None:
    row = V.check(line(level=given_level))
    assert not isinstance(row, Invalid) and row[1] == stored


def test_attributes_hold_every_other_field_non_strings_json_encoded() -> None:
    row = V.check(line(user_id="abc", code=500, ok=True, tags=["a"], ctx={"k": 1.5}, none=None))
    assert not isinstance(row, Invalid)
    assert dict(row[3]) == {
        "user_id": "abc",
        "code": "500",
        "ok": "true",
        "tags": '["a"]',
        "ctx": '{"k":1.5}',
        "none": "null",
    }


EXTRAS = {
    "user_id": "string",
    "latency_ms": "bigint",
    "small": "int",
    "ratio": "double",
    "ok": "boolean",
    "seen": "timestamp",
}


def test_extra_columns_filled_and_typed_and_not_repeated_in_attributes() -> None:
    v = Validator(EXTRAS)
    row = v.check(
        line(
            user_id="u1", latency_ms=12, ratio=1, ok=False, seen="2025-07-21T10:00:00+01:00", x="y"
        )
    )
    assert not isinstance(row, Invalid)
    assert row[4] == ("u1", 12, None, 1.0, False, datetime(2025, 7, 21, 9))
    assert dict(row[3]) == {"x": "y"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_id", 5),
        ("latency_ms", "12"),
        ("latency_ms", 1.5),
        ("latency_ms", True),
        ("latency_ms", 2**63),
        ("small", 2**31),
        ("ratio", "1.0"),
        ("ok", 1),
        ("seen", "soon"),
    ],
)
def test_extra_column_type_errors(field: str, value: object) -> None:
    assert code(Validator(EXTRAS).check(line(**{field: value}))) == f"bad_type:{field}"


def test_integral_float_accepted_for_bigint() -> None:
    row = Validator(EXTRAS).check(line(latency_ms=500.0))
    assert not isinstance(row, Invalid) and row[4][1] == 500


RULES = parse_rules(
    json.dumps(
        {
            "user_id": {"regex": "^[a-z0-9]+$", "max_length": 6},
            "latency_ms": {"min": 0, "max": 1000},
            "level": {"allowed": ["INFO", "WARN", "ERROR"]},
            "region": {"required": True},
        }
    )
)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"user_id": "ABC", "region": "eu"}, "rule_regex:user_id"),
        ({"user_id": "abcdefgh", "region": "eu"}, "rule_max_length:user_id"),
        ({"latency_ms": -1, "region": "eu"}, "rule_range:latency_ms"),
        ({"latency_ms": "fast", "region": "eu"}, "rule_range:latency_ms"),
        ({"level": "debug", "region": "eu"}, "rule_allowed:level"),
        ({}, "missing_field:region"),
    ],
)
def test_custom_rules(fields: dict[str, object], expected: str) -> None:
    assert code(Validator({}, RULES).check(line(**fields))) == expected


def test_custom_rules_pass() -> None:
    row = Validator({}, RULES).check(
        line(user_id="abc1", latency_ms=999, level="warning", region="eu")
    )
    assert not isinstance(row, Invalid)


@pytest.mark.parametrize(
    "document",
    ['{"f": {"regex": "("}}', '{"f": {"colour": "red"}}', "[1]", "{bad", '{"f": {"min": "x"}}'],
)
def test_bad_rules_fail_clearly(document: str) -> None:
    from handler.exceptions import ConfigError

    with pytest.raises(ConfigError):
        parse_rules(document)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_row_or_a_reason(raw: bytes) -> None:
    result = V.check(raw)
    assert result is None or isinstance(result, (Invalid, tuple))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=5),
        st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=4),
        max_size=6,
    )
)
def test_arbitrary_objects_give_a_row_or_a_reason(obj: dict[str, object]) -> None:
    result = V.check(json.dumps(obj).encode())
    assert result is None or isinstance(result, (Invalid, tuple))


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (line(level=["INFO"]), "bad_level"),
        (line(level={"a": 1}), "bad_level"),
        (line(timestamp=[1, 2]), "bad_timestamp"),
        (line(timestamp={"at": "2025-07-21T10:00:00Z"}), "bad_timestamp"),
        (
            b'{"timestamp": ' + nested(900).encode() + b', "level": "INFO", "message": "m"}',
            "bad_timestamp",
        ),
        (
            b'{"timestamp": "2025-07-21T10:00:00Z", "level": '
            + nested(900).encode()
            + b', "message": "m"}',
            "bad_level",
        ),
        (line(x=1)[:-1] + b', "x": 1e400}', "invalid_json"),
        (line()[:-1] + b', "deep": ' + nested(1020).encode() + b"}", "unprocessable_line"),
    ],
)
def test_strange_values_get_their_own_code(raw: bytes, expected: str) -> None:
    result = V.check(raw)
    assert code(result) == expected
    assert isinstance(result, Invalid) and len(result.detail) < 400


def test_error_details_of_deep_values_are_bounded() -> None:
    result = V.check(
        b'{"timestamp": ' + nested(1000).encode() + b', "level": "INFO", "message": "m"}'
    )
    assert isinstance(result, Invalid) and "nested too deeply to show" in result.detail


def attributes(raw: bytes) -> dict[str, str]:
    row = V.check(raw)
    assert isinstance(row, tuple), row
    return dict(row[3])


def test_attribute_nested_300_deep_is_kept() -> None:
    assert attributes(line(deep=json.loads(nested(300))))["deep"] == nested(300)


def test_big_integers_keep_every_digit() -> None:
    big = 12345678901234567890123456789012345678901234567890123456789012345678
    attrs = attributes(
        line(big=big, small=-(2**64), inner={"n": 2**70}, text="12345678901234567890")
    )
    assert attrs == {
        "big": str(big),
        "small": str(-(2**64)),
        "inner": '{"n":1180591620717411303424}',
        "text": "12345678901234567890",
    }


def test_floats_minus_zero_and_duplicate_keys() -> None:
    raw = line()[:-1] + b', "f": 0.1, "e": 1E5, "g": 1e22, "nz": -0, "nzf": -0.0, "d": 1, "d": 2}'
    assert attributes(raw) == {
        "f": "0.1",
        "e": "100000.0",
        "g": "1e+22",
        "nz": "0",
        "nzf": "-0.0",
        "d": "2",
    }


def test_duplicate_core_field_last_one_wins() -> None:
    row = V.check(
        b'{"timestamp": "2025-07-21T10:00:00Z", "level": "nope", "level": "ERROR", "message": "m"}'
    )
    assert isinstance(row, tuple) and row[1] == "ERROR"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999)),
        ("2016-12-31T23:59:60.5Z", datetime(2016, 12, 31, 23, 59, 59, 999999)),
        ("2017-01-01T00:59:60+01:00", datetime(2016, 12, 31, 23, 59, 59, 999999)),
    ],
)
def test_leap_second_is_the_last_microsecond_of_its_minute(value: str, expected: datetime) -> None:
    assert parse_timestamp(value) == expected


def test_huge_integer_for_a_double_column_is_a_type_error() -> None:
    validator = Validator({"ratio": "double"})
    assert code(validator.check(line(ratio=10**400))) == "bad_type:ratio"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(
    timestamp=JSON | st.just("2025-07-21T10:00:00Z"),
    level=JSON | st.sampled_from(["INFO", "warn"]),
    message=JSON | st.just("m"),
    rest=st.dictionaries(st.text(max_size=6), JSON, max_size=5),
    depth=st.integers(0, 1100),
)
def test_any_json_in_any_field_at_any_depth_gives_a_row_or_a_reason(
    timestamp: object, level: object, message: object, rest: dict[str, object], depth: int
) -> None:
    validator = Validator({"n": "bigint", "r": "double", "ok": "boolean"})
    doc = dict(rest, timestamp=timestamp, level=level, message=message)
    raw = json.dumps(doc).encode()
    if depth:  # wrap one field (or an attribute) in many levels of arrays
        field = sorted(doc)[depth % len(doc)]
        raw = (
            json.dumps(dict(doc, **{field: "@@"}))
            .encode()
            .replace(b'"@@"', nested(depth, json.dumps(doc[field])).encode())
        )
    result = validator.check(raw)
    assert result is None or isinstance(result, (Invalid, tuple))
    if isinstance(result, Invalid) and result.code == "unprocessable_line":  # the safety net
        assert depth > 900, result  # only nesting Python itself cannot recurse through
    if isinstance(result, tuple):
        assert all(type(k) is str and type(v) is str for k, v in result[3])

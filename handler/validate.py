"""Check one line at a time and turn it into a typed row, or into a reason it is invalid.

Every failure has a stable machine-readable ``code`` (what dashboards group by) and a ``detail``
a person can act on. The codes are: ``invalid_json``, ``not_an_object``, ``invalid_utf8``,
``line_too_long``, ``missing_field:<name>``, ``bad_timestamp``, ``timestamp_out_of_range``,
``bad_level``, ``bad_type:<name>``, ``invalid_gzip``, ``decompressed_too_large``, the
``rule_*:<name>`` codes of ``rules.py`` and, as a safety net, ``unprocessable_line``: whatever
goes wrong with one line becomes that line's error row and never fails its object.

Values are kept exactly: integers of any size keep their digits (a line with a run of 20 or more
digits is parsed again with the standard library, which keeps big integers; orjson would turn
them into doubles). Floats are IEEE doubles, written back as the shortest text that round-trips;
a number a double cannot hold (``1e400``) makes the line ``invalid_json``. Duplicate keys: the last
one wins, as in every mainstream JSON parser. A leap second (``23:59:60``) is stored as
``23:59:59.999999`` of the same minute.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .exceptions import ConfigError
from .rules import FieldRule

CORE_FIELDS = ("timestamp", "level", "message")
#: Columns of processed_logs that loglake fills itself; every other declared column is "extra".
STANDARD_COLUMNS = frozenset(
    {"event_time", "level", "message", "attributes", "source_uri", "source_line", "ingested_at"}
)
LEVELS = {
    "TRACE": "TRACE", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARN", "WARNING": "WARN",
    "ERROR": "ERROR", "CRITICAL": "CRITICAL", "FATAL": "FATAL",
}  # fmt: skip
EPOCH = datetime(1970, 1, 1)
#: Epoch numbers at or above this are milliseconds (as seconds it would be the year 5138).
MILLIS_THRESHOLD = 1e11
#: A run of digits this long may be an integer orjson cannot hold (it reads it as a double).
_LONG_DIGITS = re.compile(rb"[0-9]{20}")
_LEAP_SECOND = re.compile(r"^(.{10}[T ]\d\d:\d\d):60(?:\.\d+)?(.*)$")
#: Longest text of a value quoted in an error detail.
SHORT = 80


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why a line was rejected."""

    code: str
    detail: str


#: A valid line: event_time (naive UTC), level, message, attributes, extra column values.
Row = tuple[datetime, str, str, list[tuple[str, str]], tuple[Any, ...]]


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 text (``Z``, offsets, fractions) or epoch seconds/milliseconds -> naive UTC.

    Text without an offset is taken as UTC. Returns ``None`` when the value is not a timestamp.
    """
    kind = type(value)
    if kind is str:
        if len(value) < 11:  # a bare date is not a point in time
            return None
        try:
            if value[-1] == "Z":  # the common case, without building a tz-aware datetime
                parsed = datetime.fromisoformat(value[:-1])
                if parsed.tzinfo is None:
                    return parsed
                return None  # "...+01:00Z" is not a timestamp
            parsed = datetime.fromisoformat(value)
        except ValueError:
            leap = _LEAP_SECOND.match(value)
            return parse_timestamp(f"{leap[1]}:59.999999{leap[2]}") if leap else None
        offset = parsed.utcoffset()
        return parsed.replace(tzinfo=None) - offset if offset is not None else parsed
    if kind is int or kind is float:
        if not math.isfinite(value):
            return None
        try:
            if abs(value) >= MILLIS_THRESHOLD:
                return EPOCH + timedelta(milliseconds=value)
            return EPOCH + timedelta(seconds=value)
        except OverflowError:
            return None
    return None


class Validator:
    """Validates lines against the built-in checks, the declared extra columns and custom rules."""

    def __init__(
        self,
        extra_columns: Mapping[str, str],
        rules: tuple[FieldRule, ...] = (),
        min_timestamp: datetime = datetime(2000, 1, 1),
        max_future: timedelta = timedelta(days=1),
    ) -> None:
        self.extras = tuple(
            (name, _converter(name, type_)) for name, type_ in extra_columns.items()
        )
        self.reserved = frozenset(CORE_FIELDS) | {name for name, _ in self.extras}
        self.rules = rules
        self.min_timestamp = min_timestamp
        self.max_future = max_future
        self.latest = datetime.now(UTC).replace(tzinfo=None) + max_future

    def refresh_clock(self) -> None:
        """Move "now" forward; called once per batch so long runs judge the future correctly."""
        self.latest = datetime.now(UTC).replace(tzinfo=None) + self.max_future

    def check(self, line: bytes) -> Row | Invalid | None:
        """Validate one line (without its ``\\n``); ``None`` means blank. Never raises."""
        try:
            return self._check(line)
        except Exception as exc:  # the safety net: one strange line never fails its object
            return _unprocessable(exc)

    def _check(self, line: bytes) -> Row | Invalid | None:
        """The checks themselves. Hot path: keep it lean."""
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line or line.isspace():
                return None
            obj = _huge(line) if "infinity" in str(exc) else None
            if obj is None:
                return _undecodable(line, exc)
        else:
            if _LONG_DIGITS.search(line) is not None:
                obj = _exact(line, obj)
        if type(obj) is not dict:
            return Invalid("not_an_object", f"expected a JSON object, got {_json_kind(obj)}")
        ts, level, message = obj.get("timestamp"), obj.get("level"), obj.get("message")
        if ts is None or level is None or message is None:
            return _missing(obj)
        event_time = parse_timestamp(ts)
        if event_time is None:
            return Invalid(
                "bad_timestamp",
                f"timestamp {_short(ts)} is not ISO-8601 (like 2025-07-21T10:00:00Z) "
                "or epoch seconds/milliseconds",
            )
        if not self.min_timestamp <= event_time <= self.latest:
            return Invalid(
                "timestamp_out_of_range",
                f"timestamp {_short(ts)} is {event_time.isoformat()}Z, outside "
                f"{self.min_timestamp.isoformat()}Z .. now + {self.max_future}",
            )
        norm_level = (
            (LEVELS.get(level) or LEVELS.get(level.upper())) if type(level) is str else None
        )
        if norm_level is None:
            return Invalid("bad_level", f"level {_short(level)} is not one of {', '.join(LEVELS)}")
        if type(message) is not str:
            return Invalid(
                "bad_type:message", f"message must be a string, got {_json_kind(message)}"
            )
        extras: tuple[Any, ...] = ()
        if self.extras:
            converted = self._extras(obj)
            if isinstance(converted, Invalid):
                return converted
            extras = converted
        if self.rules:
            failure = self._apply_rules(obj, norm_level, extras)
            if failure is not None:
                return failure
        reserved = self.reserved
        attributes = [
            (k, v if type(v) is str else _text(v)) for k, v in obj.items() if k not in reserved
        ]
        return event_time, norm_level, message, attributes, extras

    def _extras(self, obj: dict[str, Any]) -> tuple[Any, ...] | Invalid:
        values = []
        for name, convert in self.extras:
            value = obj.get(name)
            if value is not None:
                value = convert(value)
                if type(value) is Invalid:
                    return value
            values.append(value)
        return tuple(values)

    def _apply_rules(
        self, obj: dict[str, Any], level: str, extras: tuple[Any, ...]
    ) -> Invalid | None:
        cleaned = dict(obj, level=level)
        cleaned.update(zip((name for name, _ in self.extras), extras, strict=True))
        for rule in self.rules:
            value = cleaned.get(rule.field)
            if value is None:
                if rule.required:
                    return Invalid(f"missing_field:{rule.field}", f"{rule.field} is required")
                continue
            failure = rule.check(value)
            if failure is not None:
                return Invalid(*failure)
        return None


def _text(value: Any) -> str:
    """JSON text of a non-string attribute value (``str`` is the same and faster for ints).

    orjson writes neither integers over 64 bits nor more than 254 levels of nesting; the standard
    library does both (the safety net catches anything deeper than Python's recursion limit).
    """
    if type(value) is int:
        return str(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _exact(line: bytes, parsed: Any) -> Any:
    """The line parsed again by the standard library, which keeps integers of any size exactly.

    orjson has accepted the line, so it is JSON; if the standard library still cannot read it
    (nesting past its recursion limit), orjson's reading stands.
    """
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return parsed


def _huge(line: bytes) -> Any:
    """A line orjson refused for a number beyond a double: fine if that number is an integer.

    The standard library reads it, refusing what orjson refuses too (a float beyond a double,
    NaN, Infinity, a lone surrogate). ``None`` when the line is not JSON after all.
    """
    try:
        obj = json.loads(line, parse_float=_finite, parse_constant=_no_constant)
        json.dumps(obj, ensure_ascii=False).encode()  # a lone surrogate cannot be stored
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        return None
    return obj


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range of a double")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _unprocessable(exc: Exception) -> Invalid:
    what = f"{type(exc).__name__}: {exc}"
    if len(what) > 200:
        what = what[:197] + "..."
    return Invalid(
        "unprocessable_line",
        f"this line could not be validated ({what}); it is kept here, the rest of the object landed",
    )


def _undecodable(line: bytes, exc: Exception) -> Invalid:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return Invalid(
            "invalid_utf8", f"not UTF-8: byte 0x{line[bad.start]:02x} at offset {bad.start}"
        )
    return Invalid("invalid_json", f"not valid JSON: {exc}")


def _missing(obj: dict[str, Any]) -> Invalid:
    for name in CORE_FIELDS:
        if obj.get(name) is None:
            state = "is null" if name in obj else "is missing"
            return Invalid(f"missing_field:{name}", f"required field {name!r} {state}")
    raise AssertionError("unreachable: no core field is missing")  # pragma: no cover


def _json_kind(value: Any) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    return names.get(type(value), "a number")


def _short(value: Any) -> str:
    """A value as JSON for an error detail: at most ``SHORT`` characters, and it never raises."""
    try:
        text = _text(value)
    except Exception:  # nested past Python's recursion limit
        text = f"({_json_kind(value)} nested too deeply to show)"
    return text if len(text) <= SHORT else text[: SHORT - 3] + "..."


def _converter(name: str, athena_type: str) -> Callable[[Any], Any]:
    """The check-and-convert function for one extra column's declared type."""
    base = athena_type.split("(", 1)[0]
    bad = f"bad_type:{name}"

    def expect(what: str, value: Any) -> Invalid:
        return Invalid(bad, f"{name} must be {what}, got {_json_kind(value)} {_short(value)}")

    def integer(low: int, high: int, what: str) -> Callable[[Any], Any]:
        def convert(value: Any) -> Any:
            if type(value) is float and value.is_integer():
                value = int(value)
            if type(value) is not int or not low <= value <= high:
                return expect(what, value)
            return value

        return convert

    def string(value: Any) -> Any:
        return value if type(value) is str else expect("a string", value)

    def double(value: Any) -> Any:
        if type(value) not in (int, float):
            return expect("a number", value)
        try:
            return float(value)
        except OverflowError:  # an integer of over 308 digits
            return expect("a number a double can hold", value)

    def boolean(value: Any) -> Any:
        return value if type(value) is bool else expect("true or false", value)

    def timestamp(value: Any) -> Any:
        parsed = parse_timestamp(value)
        return parsed if parsed is not None else expect("an ISO-8601 or epoch timestamp", value)

    converters: dict[str, Callable[[Any], Any]] = {
        "string": string, "varchar": string, "char": string,
        "bigint": integer(-(2**63), 2**63 - 1, "a 64-bit integer"),
        "int": integer(-(2**31), 2**31 - 1, "a 32-bit integer"),
        "integer": integer(-(2**31), 2**31 - 1, "a 32-bit integer"),
        "smallint": integer(-(2**15), 2**15 - 1, "a 16-bit integer"),
        "tinyint": integer(-(2**7), 2**7 - 1, "an 8-bit integer"),
        "double": double, "float": double,
        "boolean": boolean,
        "timestamp": timestamp,
    }  # fmt: skip
    if base not in converters:
        raise ConfigError(
            f"processed_logs column {name!r} has type {athena_type!r}; extra columns can be "
            f"{', '.join(sorted(converters))}"
        )
    return converters[base]

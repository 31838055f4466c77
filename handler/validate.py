"""Check one record at a time and turn it into a typed row, or into a reason it is invalid.

A source's format decodes each line into fields (``formats/``); ``fields.py`` finds its time,
level and message; this module checks them, the declared extra columns and the custom rules.
Every failure has a stable machine-readable ``code`` (what dashboards group by) and a ``detail``
a person can act on, naming the one source setting that would accept the record where there is
one. The codes are: ``invalid_json``, ``not_an_object``, ``invalid_utf8``, ``no_match`` (a text
format's line that is not of its format), ``line_too_long``, ``missing_field:<name>``,
``bad_timestamp``, ``timestamp_out_of_range``, ``bad_level``, ``bad_type:<name>``,
``invalid_gzip``, ``decompressed_too_large``, the ``rule_*:<name>`` codes of ``rules.py`` and,
as a safety net, ``unprocessable_line``: whatever goes wrong with one line becomes that line's
error row and never fails its object.

A leap second (``23:59:60``) is stored as ``23:59:59.999999`` of the same minute. A message that
is not a text is stored as its JSON text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .exceptions import ConfigError
from .fields import EPOCH, Fields, Found, json_text, level_name, parse_timestamp
from .formats import ndjson
from .rules import FieldRule
from .sources import DEFAULT, STORED_LEVELS, Source
from .verdicts import SHORT, Decoded, Invalid, Row, json_kind

__all__ = ["EPOCH", "STANDARD_COLUMNS", "Invalid", "Row", "Validator", "parse_timestamp"]

#: Columns of processed_logs that loglake fills itself; every other declared column is "extra".
STANDARD_COLUMNS = frozenset(
    {"event_time", "level", "message", "attributes", "source_uri", "source_line", "ingested_at"}
)
#: The attribute that says a row's time is its object's upload time (``missing_time = "upload"``).
UPLOAD_TIME_ATTRIBUTE = "loglake.time"
_TIME_OF_DAY = re.compile(r"^\d\d:\d\d:\d\d(?:[.,]\d{1,9})?$")
#: The remedy named in each missing field's detail.
_OPT_IN = {
    "time": 'set time = "<field>" in the source, or missing_time = "upload" to use the upload time',
    "level": 'set level = "<field>" in the source, or default_level = "INFO" for records without one',
    "message": 'set message = "<field>" in the source, or missing_message = "empty"',
}
_CODE_NAME = {"time": "timestamp", "level": "level", "message": "message"}


class Validator:
    """Validates the records of one source against the built-in checks, the declared extra
    columns and custom rules."""

    def __init__(
        self,
        extra_columns: Mapping[str, str],
        rules: tuple[FieldRule, ...] = (),
        min_timestamp: datetime = datetime(2000, 1, 1),
        max_future: timedelta = timedelta(days=1),
        source: Source = DEFAULT,
        decode: Callable[[bytes, datetime], Decoded] = ndjson.decode,
        fields: str = "json",
        decode_many: Callable[[bytes, datetime], list[Decoded]] | None = None,
    ) -> None:
        """``decode``, ``fields`` and ``decode_many`` are the source's format's (``formats``
        builds validators with ``validator_for``); the defaults read NDJSON."""
        self.extras = tuple(
            (name, _converter(name, type_)) for name, type_ in extra_columns.items()
        )
        self.extra_names = frozenset(name for name, _ in self.extras)
        self.rules = rules
        self.min_timestamp = min_timestamp
        self.max_future = max_future
        self.source = source
        self.fields = Fields(source, fields)
        self.decode = decode
        #: For formats whose lines hold many records: all of a line's decoded records.
        self.decode_many = decode_many
        self.latest = datetime.now(UTC).replace(tzinfo=None) + max_future
        #: When the object being read was uploaded (syslog's year, ``missing_time = "upload"``).
        self.upload = self.latest - max_future

    def refresh_clock(self) -> None:
        """Move "now" forward; called once per batch so long runs judge the future correctly."""
        self.latest = datetime.now(UTC).replace(tzinfo=None) + self.max_future

    def check(self, line: bytes) -> Row | Invalid | None:
        """Validate one line (without its ``\\n``); ``None`` means blank. Never raises."""
        try:
            obj = self.decode(line, self.upload)
            if not isinstance(obj, dict):
                return obj
            return self.record(obj)
        except Exception as exc:  # the safety net: one strange line never fails its object
            return _unprocessable(exc)

    def check_many(self, line: bytes) -> list[Row | Invalid | None]:
        """Every record of one line (formats whose lines hold many); never raises."""
        assert self.decode_many is not None
        try:
            found = self.decode_many(line, self.upload)
        except Exception as exc:  # the safety net, as for one record
            return [_unprocessable(exc)]
        out: list[Row | Invalid | None] = []
        for obj in found:
            if not isinstance(obj, dict):
                out.append(obj)
                continue
            try:
                out.append(self.record(obj))
            except Exception as exc:
                out.append(_unprocessable(exc))
        return out

    def record(self, obj: dict[str, Any]) -> Row | Invalid:
        """The row of one decoded record, or why it is invalid. Hot path: keep it lean."""
        found = self.fields.find(obj)
        event_time = self._event_time(found)
        if isinstance(event_time, Invalid):
            return event_time
        level = self._level(found)
        if isinstance(level, Invalid):
            return level
        message = found.message
        if message is None:
            if self.source.missing_message != "empty":
                return self._missing("message", found)
            text = ""
        else:
            text = message[1] if type(message[1]) is str else json_text(message[1])
        extras: tuple[Any, ...] = ()
        obj = found.obj
        if self.extras:
            converted = self._extras(obj)
            if isinstance(converted, Invalid):
                return converted
            extras = converted
        if self.rules:
            failure = self._apply_rules(obj, level, extras)
            if failure is not None:
                return failure
        used = {role[0] for role in (found.time, found.level, message) if role is not None}
        extra_names = self.extra_names
        attributes = [
            (k, v if type(v) is str else json_text(v))
            for k, v in obj.items()
            if k not in used and k not in extra_names
        ]
        if found.time is None:
            attributes.append((UPLOAD_TIME_ATTRIBUTE, "upload"))
        return event_time, level, text, attributes, extras

    def _event_time(self, found: Found) -> datetime | Invalid:
        source = self.source
        if found.time is None:
            if source.missing_time == "upload":
                return self.upload
            return self._missing("time", found)
        key, value = found.time
        event_time = parse_timestamp(value, source.time_format)
        upload_day = source.missing_time == "upload" and type(value) is str
        if event_time is None and upload_day and _TIME_OF_DAY.match(value):
            # log4j's HH:mm:ss.SSS: a time of the upload day
            event_time = parse_timestamp(f"{self.upload.date().isoformat()}T{value}")
        if event_time is None:
            remedy = (
                f"nor time_format {source.time_format!r}"
                if source.time_format
                else "(set time_format, a strptime format, in the source for other texts)"
            )
            return Invalid(
                "bad_timestamp",
                f"{key} {_short(value)} is not ISO-8601 (like 2025-07-21T10:00:00Z), Go's "
                f"time.String() or epoch seconds/ms/us/ns {remedy}",
            )
        if not self.min_timestamp <= event_time <= self.latest:
            return Invalid(
                "timestamp_out_of_range",
                f"{key} {_short(value)} is {event_time.isoformat()}Z, outside "
                f"{self.min_timestamp.isoformat()}Z .. now + {self.max_future}",
            )
        return event_time

    def _level(self, found: Found) -> str | Invalid:
        if found.level is None:
            if found.default_level is not None:
                return found.default_level
            return self._missing("level", found)
        key, value = found.level
        level = level_name(value, key, found.scale)
        if level is None:
            scale = (
                f" on the {found.scale} scale"
                if found.scale
                else ' (for numbers, set levels = "pino", "syslog" or "otel" in the source)'
            )
            return Invalid(
                "bad_level",
                f"{key} {_short(value)} is not a level{scale}; stored levels are "
                f"{', '.join(STORED_LEVELS)}",
            )
        return level

    def _missing(self, role: str, found: Found) -> Invalid:
        keys = self.fields.looked_for(role)
        named = keys[0] if self.fields.pinned and len(keys) == 1 else _CODE_NAME[role]
        nulls = [k for k in keys if k in found.obj]
        state = f"{', '.join(nulls)} null" if nulls else "none present"
        shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
        return Invalid(
            f"missing_field:{named}",
            f"no {role}: looked for {shown} ({state}); {_OPT_IN[role]}",
        )

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


def _unprocessable(exc: Exception) -> Invalid:
    what = f"{type(exc).__name__}: {exc}"
    if len(what) > 200:
        what = what[:197] + "..."
    return Invalid(
        "unprocessable_line",
        f"this line could not be validated ({what}); it is kept here, the rest of the object landed",
    )


def _short(value: Any) -> str:
    """A value as JSON for an error detail: at most ``SHORT`` characters, and it never raises."""
    try:
        text = json_text(value)
    except Exception:  # nested past Python's recursion limit
        text = f"({json_kind(value)} nested too deeply to show)"
    return text if len(text) <= SHORT else text[: SHORT - 3] + "..."


def _converter(name: str, athena_type: str) -> Callable[[Any], Any]:
    """The check-and-convert function for one extra column's declared type."""
    base = athena_type.split("(", 1)[0]
    bad = f"bad_type:{name}"

    def expect(what: str, value: Any) -> Invalid:
        return Invalid(bad, f"{name} must be {what}, got {json_kind(value)} {_short(value)}")

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

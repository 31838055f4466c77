"""Where a record keeps its time, level and message, and what its values mean.

The loggers people use name these three differently (pino ``time``/``msg`` with numeric levels,
zap ``ts``, Serilog ``@t``/``@l``/``@m``, ECS ``@timestamp`` and ``log.level``, GELF
``short_message``...). A source may name them (``time = "..."``); otherwise the first present,
non-null candidate below wins, always in this order, so a line with both ``timestamp`` and
``time`` always gives the same row, and the field not used stays in ``attributes``:

* time: ``timestamp @timestamp time ts @t Timestamp _timestamp eventTime date datetime
  created asctime timeUnixNano observedTimeUnixNano record.time.repr syslog.timestamp``
* level: ``level log.level severity levelname @l lvl loglevel log_level Level LEVEL
  severityText SeverityText severity_text severityNumber SeverityNumber syslog.severity
  record.level.name``
* message: ``message msg @m event short_message body log record.message MESSAGE Message
  text @mt``

A candidate is a top-level key, or (when no such key exists) a path into nested objects:
``record.level.name`` finds loguru's level. Times are a source's ``time_format`` (strptime, tried first
when set), ISO-8601 texts, Go's ``time.String()``, or epoch numbers (or texts of digits) whose magnitude
says the unit: under 1e11 seconds, under 1e14 milliseconds, under 1e17 microseconds, else
nanoseconds. Levels are read case-insensitively onto the stored ones (``LEVEL_NAMES``), with
slog's ``INFO+2`` and OpenTelemetry's ``WARN3`` read as their base; numbers by a scale: the
source's ``levels``, OpenTelemetry's 1-24 for ``severityNumber``, syslog's 0-7 for GELF
(a record with ``version`` and ``short_message``), else pino/bunyan's 10-60.

Shapes with a rule of their own: CLEF (``@t``) without ``@l`` is INFO (its specification);
klog JSON (``ts`` and ``msg``, no level) is ERROR with ``err`` and INFO otherwise; Docker's
json-file and CRI lines (``log``) whose text is a JSON object are read again as that object,
the outer fields filling in what it lacks; a message that is not a text is stored as its JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .sources import Source

TIME_KEYS = (
    "timestamp", "@timestamp", "time", "ts", "@t", "Timestamp", "_timestamp", "eventTime",
    "date", "datetime", "created", "asctime", "timeUnixNano", "observedTimeUnixNano",
    "record.time.repr", "syslog.timestamp",
)  # fmt: skip
LEVEL_KEYS = (
    "level", "log.level", "severity", "levelname", "@l", "lvl", "loglevel", "log_level",
    "Level", "LEVEL", "severityText", "SeverityText", "severity_text", "severityNumber",
    "SeverityNumber", "syslog.severity", "record.level.name",
)  # fmt: skip
MESSAGE_KEYS = (
    "message", "msg", "@m", "event", "short_message", "body", "log", "record.message",
    "MESSAGE", "Message", "text", "@mt",
)  # fmt: skip
#: Level spellings (upper-cased) -> the stored level.
LEVEL_NAMES = {
    **dict.fromkeys(("TRACE", "TRC", "VERBOSE", "VRB", "FINEST", "FINER", "T"), "TRACE"),
    **dict.fromkeys(("DEBUG", "DBG", "FINE", "CONFIG", "D"), "DEBUG"),
    **dict.fromkeys(("INFO", "INF", "INFORMATION", "INFORMATIONAL", "NOTICE", "I"), "INFO"),
    **dict.fromkeys(("WARN", "WARNING", "WRN", "W"), "WARN"),
    **dict.fromkeys(("ERROR", "ERR", "EROR", "SEVERE", "E"), "ERROR"),
    **dict.fromkeys(("CRITICAL", "CRIT", "CRT", "DPANIC", "C"), "CRITICAL"),
    **dict.fromkeys(("FATAL", "FTL", "PANIC", "EMERG", "EMERGENCY", "ALERT", "F"), "FATAL"),
}
#: Numeric level scales.
SYSLOG = ("FATAL", "FATAL", "CRITICAL", "ERROR", "WARN", "INFO", "INFO", "DEBUG")
PINO = {10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL"}
OTEL_NUMBER_KEYS = frozenset({"severityNumber", "SeverityNumber"})
_SUFFIXED = re.compile(r"^([A-Za-z]+)(?:[+-]\d+|\d)$")
_GO_TIME = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})?) ([+-]\d\d)(\d\d)(?: [A-Za-z0-9+-]+)?"
    r"(?: m=[+-]\d+\.\d+)?$"
)
_FRACTION = re.compile(r"^(.*[T ]\d\d:\d\d:\d\d)[.,](\d{7,9})(.*)$")
_LEAP_SECOND = re.compile(r"^(.{10}[T ]\d\d:\d\d):60(?:\.\d+)?(.*)$")
EPOCH = datetime(1970, 1, 1)
#: Epoch magnitudes: at or above each, the next smaller unit.
MILLIS_THRESHOLD, MICROS_THRESHOLD, NANOS_THRESHOLD = 1e11, 1e14, 1e17


def parse_timestamp(value: Any, time_format: str | None = None) -> datetime | None:
    """An instant as naive UTC, or ``None`` when ``value`` is not one (see the module's rules).

    Text without an offset is taken as UTC.
    """
    kind = type(value)
    if kind is str:
        if time_format and (formatted := _formatted(value, time_format)) is not None:
            return formatted
        if len(value) < 11:  # a bare date is not a point in time
            return None
        parsed = _iso(value)
        if parsed is None and value.isdigit():
            return _epoch(int(value))
        return parsed or _go_time(value)
    if kind is int or kind is float:
        return _epoch(value)
    if kind is datetime:
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    return None


def _iso(value: str) -> datetime | None:
    try:
        if value[-1] == "Z":  # the common case, without building a tz-aware datetime
            parsed = datetime.fromisoformat(value[:-1])
            return parsed if parsed.tzinfo is None else None  # "...+01:00Z" is not one
        parsed = datetime.fromisoformat(value)
    except ValueError:
        leap = _LEAP_SECOND.match(value)
        if leap:
            return _iso(f"{leap[1]}:59.999999{leap[2]}")
        long = _FRACTION.match(value)  # 7-9 fraction digits (or a comma) on any Python
        return _iso(f"{long[1]}.{long[2][:6]}{long[3]}") if long else None
    offset = parsed.utcoffset()
    return parsed.replace(tzinfo=None) - offset if offset is not None else parsed


def _go_time(value: str) -> datetime | None:
    """Go's ``time.String()``: ``2014-03-10 19:57:38.562264131 -0400 EDT m=+0.0001``."""
    found = _GO_TIME.match(value)
    return _iso(f"{found[1]}{found[2]}:{found[3]}") if found else None


def _formatted(value: str, time_format: str | None) -> datetime | None:
    try:
        parsed = datetime.strptime(value, time_format or "")
    except ValueError:
        return None
    offset = parsed.utcoffset()
    return parsed.replace(tzinfo=None) - offset if offset is not None else parsed


def _epoch(value: float) -> datetime | None:
    if value != value or value in (float("inf"), float("-inf")):
        return None
    size = abs(value)
    try:
        if size < MILLIS_THRESHOLD:
            return EPOCH + timedelta(seconds=value)
        if size < MICROS_THRESHOLD:
            return EPOCH + timedelta(milliseconds=value)
        if size < NANOS_THRESHOLD:
            return EPOCH + timedelta(microseconds=value)
        if type(value) is int:
            return EPOCH + timedelta(microseconds=value // 1000)
        return EPOCH + timedelta(microseconds=value / 1000)
    except OverflowError:
        return None


def level_name(value: Any, key: str, scale: str | None = None) -> str | None:
    """The stored level of ``value`` found under ``key`` (``None``: not a level)."""
    kind = type(value)
    if kind is str:
        upper = value.upper()
        found = LEVEL_NAMES.get(upper)
        if found is None and (suffixed := _SUFFIXED.match(upper)):
            found = LEVEL_NAMES.get(suffixed[1])
        return found
    if kind is int or (kind is float and value.is_integer()):
        number = int(value)
        if scale is None and key in OTEL_NUMBER_KEYS:
            scale = "otel"
        if scale == "otel":
            return (
                ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")[(number - 1) // 4]
                if (1 <= number <= 24)
                else None
            )
        if scale == "syslog":
            return SYSLOG[number] if 0 <= number <= 7 else None
        return PINO.get(number)
    return None


@dataclass(frozen=True, slots=True)
class Found:
    """Where a record's time, level and message are: each ``(key, value)`` or ``None``."""

    time: tuple[str, Any] | None
    level: tuple[str, Any] | None
    message: tuple[str, Any] | None
    scale: str | None
    default_level: str | None
    obj: dict[str, Any]


class Fields:
    """The field rules of one source."""

    def __init__(self, source: Source, mode: str = "json") -> None:
        """``mode``: ``json`` (the candidates above), ``logfmt`` (those and Heroku's ``at``)
        or ``fixed`` (a text format's groups named ``time``, ``level`` and ``message``)."""
        self.source = source
        fixed = mode == "fixed"
        self.time_keys: tuple[str, ...] = (
            (source.time,) if source.time else ("time",) if fixed else TIME_KEYS
        )
        self.level_keys: tuple[str, ...] = (
            (source.level,) if source.level else ("level",) if fixed else LEVEL_KEYS
        )
        self.message_keys: tuple[str, ...] = (
            (source.message,) if source.message else ("message",) if fixed else MESSAGE_KEYS
        )
        if mode == "logfmt" and not source.level:
            self.level_keys = (*LEVEL_KEYS, "at")  # Heroku's router: at=info
        self.scale = source.levels
        self.pinned = fixed or bool(source.time or source.level or source.message)

    def find(self, obj: dict[str, Any]) -> Found:
        """The candidates of ``obj``, with the shapes' own rules applied."""
        message = _first(obj, self.message_keys)
        if message is not None and message[0] == "log" and not self.pinned:
            inner = _inner_json(message[1])
            if inner is not None:
                return self.find(_merged(inner, obj))
        time = _first(obj, self.time_keys)
        level = _first(obj, self.level_keys)
        scale, default = self.scale, self.source.default_level
        if scale is None and "short_message" in obj and "version" in obj:
            scale = "syslog"  # GELF's level is syslog's severity
        if level is None and default is None and time is not None and not self.pinned:
            if time[0] == "@t":
                default = "INFO"  # CLEF: an absent @l means Information
            elif time[0] == "ts" and message is not None and message[0] == "msg":
                default = "ERROR" if "err" in obj else "INFO"  # klog's JSON
        return Found(time, level, message, scale, default, obj)

    def looked_for(self, role: str) -> tuple[str, ...]:
        return {"time": self.time_keys, "level": self.level_keys, "message": self.message_keys}[
            role
        ]


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any] | None:
    for key in keys:
        value = obj.get(key)
        if value is None and "." in key and key not in obj:
            value = _nested(obj, key)
        if value is not None:
            return key, value
    return None


def _nested(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value


def _inner_json(text: Any) -> dict[str, Any] | None:
    """A container line's ``log`` text as the app's JSON object, when it is one."""
    if type(text) is not str or not text.lstrip().startswith("{"):
        return None
    try:
        inner = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return inner if type(inner) is dict else None


def _merged(inner: dict[str, Any], outer: dict[str, Any]) -> dict[str, Any]:
    """The app's fields first; the container's (but ``log``) fill in keys it lacks, and its
    time only when the app's record has none."""
    merged = dict(inner)
    has_time = _first(inner, TIME_KEYS) is not None
    for key, value in outer.items():
        if key == "log" or (has_time and key in TIME_KEYS):
            continue
        merged.setdefault(key, value)
    return merged


def json_text(value: Any) -> str:
    """JSON text of a value that is not a string (as attributes store it)."""
    if type(value) is int:
        return str(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # over 64-bit integers, deep nesting: the standard library writes them
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

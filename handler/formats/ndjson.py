"""``ndjson``: one JSON object per line (the default format).

Fields are found by ``fields.py`` (pino, zap, Serilog, ECS, GELF... need no configuration).
Values are kept exactly: integers of any size keep their digits (a line with a run of 20 or more
digits is parsed again with the standard library; orjson would turn them into doubles). A number
a double cannot hold (``1e400``) makes the line ``invalid_json``. Duplicate keys: the last wins.

Example::

    {"level":30,"time":1531171074631,"msg":"hello world","pid":657,"hostname":"box"}
    -> event_time 2018-07-09T21:17:54.631, level INFO, message "hello world",
       attributes {"pid": "657", "hostname": "box"}
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

import orjson

from ..verdicts import Decoded, Invalid, json_kind

#: A run of digits this long may be an integer orjson cannot hold (it reads it as a double).
_LONG_DIGITS = re.compile(rb"[0-9]{20}")


def decode(line: bytes, upload: datetime | None = None) -> Decoded:
    """The line's JSON object, or why it is not one (``None`` for a blank line)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if not line or line.isspace():
            return None
        obj = _huge(line) if "infinity" in str(exc) else None
        if obj is None:
            return undecodable(line, f"not valid JSON: {exc}")
    else:
        if _LONG_DIGITS.search(line) is not None:
            obj = _exact(line, obj)
    if type(obj) is not dict:
        return Invalid("not_an_object", f"expected a JSON object, got {json_kind(obj)}")
    return obj


def is_utf8(line: bytes) -> bool:
    """Whether the line is UTF-8 (pyarrow's JSON reader and binary arrays do not check)."""
    try:
        line.decode()
    except UnicodeDecodeError:
        return False
    return True


def undecodable(line: bytes, why: str) -> Invalid:
    """``invalid_utf8`` when the line is not UTF-8, else ``invalid_json`` with ``why``."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return Invalid(
            "invalid_utf8", f"not UTF-8: byte 0x{line[bad.start]:02x} at offset {bad.start}"
        )
    return Invalid("invalid_json", why)


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

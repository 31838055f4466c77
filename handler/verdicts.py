"""What a record becomes: a ``Row`` for ``processed_logs`` or an ``Invalid`` for ``errors_logs``.

Kept apart so the formats (which decode) and the validator (which checks) can both name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Longest text of a value quoted in an error detail.
SHORT = 80


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why a record was rejected: a stable ``code`` to group by, a ``detail`` to act on."""

    code: str
    detail: str


#: A valid record: event_time (naive UTC), level, message, attributes, extra column values.
Row = tuple[datetime, str, str, list[tuple[str, str]], tuple[Any, ...]]
#: What a format makes of one line: its fields, an ``Invalid``, or ``None`` when blank.
Decoded = dict[str, Any] | Invalid | None


def json_kind(value: Any) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    return names.get(type(value), "a number")

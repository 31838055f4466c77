"""The engine of AWS's JSON logs (CloudTrail, WAF, Route 53 Resolver): one record per line (a
CloudTrail file's ``Records`` split into lines by ``documents.py``) into a typed table's columns.

A column takes the record's field of the same name, matched regardless of case as AWS's JSON
SerDe matches (``useridentity`` is ``userIdentity``), struct fields too; a ``string`` column
holding an object or array takes its JSON text, as AWS's table returns it. Fields no column
names are kept, as one JSON object, in ``new_fields``. These records are read by the reference
only (no bulk path).

Example (the CloudTrail guide's)::

    {"eventVersion": "1.0", "userIdentity": {"type": "IAMUser", "userName": "Alice", ...},
     "eventTime": "2014-03-06T21:22:54Z", "eventName": "StartInstances", ...}
    -> eventversion 1.0, useridentity {type: IAMUser, username: Alice, ...},
       eventname StartInstances, event_time 2014-03-06T21:22:54
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from ..fields import EPOCH, parse_timestamp
from ..parquet import arrow_type
from ..verdicts import Invalid, json_kind
from .ndjson import decode as decode_json
from .typed import KEY_COLUMNS, NEW_FIELDS, TypedValidator, schema_of

_OWN = {"event_time", NEW_FIELDS, *KEY_COLUMNS}


class JsonTyped:
    """One JSON log into one table's columns; its time field and how it is written."""

    def __init__(
        self, name: str, time: str, time_kind: str, columns: list[tuple[str, str]]
    ) -> None:
        self.name, self.time, self.time_kind = name, time.lower(), time_kind
        self.columns = columns
        self.schema = schema_of(columns)
        self.types = [(n, arrow_type(k)) for n, k in columns if n not in _OWN]
        self.known = {n for n, _ in columns}
        self.has_new = NEW_FIELDS in self.known

    def decode(
        self, line: bytes, upload: datetime | None = None
    ) -> dict[str, Any] | Invalid | None:
        """The record's values by column, with its ``event_time``."""
        obj = decode_json(line, upload)
        if not isinstance(obj, dict):
            return obj
        fields = {k.lower(): v for k, v in obj.items()}
        out: dict[str, Any] = {}
        for name, kind in self.types:
            value = _fit(fields.get(name), kind)
            if isinstance(value, Invalid):
                return Invalid(f"bad_type:{name}", f"{name} {value.detail}")
            out[name] = value
        if self.has_new:
            rest = {k: v for k, v in obj.items() if k.lower() not in self.known}
            out[NEW_FIELDS] = orjson.dumps(rest).decode() if rest else None
        when = fields.get(self.time)
        moment = self._time(when)
        if moment is None:
            return Invalid(
                "bad_timestamp", f"{self.time} {when!r:.80} is not a time ({self.time_kind})"
            )
        out["event_time"] = moment
        return out

    def _time(self, value: Any) -> datetime | None:
        if self.time_kind == "epoch_ms":
            if type(value) is not int or not 0 <= value < 10**14:
                return None
            return EPOCH + timedelta(milliseconds=value)
        return parse_timestamp(value) if type(value) is str else None

    def decide_text(
        self, text: bytes, offsets: np.ndarray, validator: TypedValidator
    ) -> tuple[np.ndarray, pa.Table]:
        """No bulk path: every record goes to the reference."""
        return np.empty(0, np.int64), self.schema.empty_table()


def engine(name: str, time: str, time_kind: str) -> Callable[[list[tuple[str, str]]], JsonTyped]:
    return lambda columns: JsonTyped(name, time, time_kind, columns)


def _fit(value: Any, kind: pa.DataType) -> Any:
    """A JSON value as a column of ``kind`` holds it (struct fields matched regardless of case),
    or an ``Invalid`` saying what it was."""
    if value is None:
        return None
    if pa.types.is_string(kind):
        return value if type(value) is str else orjson.dumps(value).decode()
    if pa.types.is_struct(kind):
        if type(value) is not dict:
            return Invalid("", f"must be an object, got {json_kind(value)}")
        fields = {k.lower(): v for k, v in value.items()}
        out = {}
        for i in range(kind.num_fields):
            field = kind.field(i)
            got = _fit(fields.get(field.name.lower()), field.type)
            if isinstance(got, Invalid):
                return got
            out[field.name] = got
        return out
    if pa.types.is_list(kind):
        if type(value) is not list:
            return Invalid("", f"must be an array, got {json_kind(value)}")
        items = [_fit(v, kind.value_type) for v in value]
        bad = next((i for i in items if isinstance(i, Invalid)), None)
        return bad if bad is not None else items
    if pa.types.is_map(kind):
        if type(value) is not dict:
            return Invalid("", f"must be an object, got {json_kind(value)}")
        return [(k, _fit(v, kind.item_type)) for k, v in value.items()]
    if pa.types.is_integer(kind) and type(value) is str and value.lstrip("-").isdigit():
        return int(value)
    return value

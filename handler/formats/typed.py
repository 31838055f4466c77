"""The side every typed table's format shares: a record's texts become the table's typed values.

A typed format (ALB, VPC Flow Logs... ``elb.py``, ``vpc.py``, ``cloudtrail.py``) writes its own table, declared in
``glue_ddl/<table>.sql`` with AWS's own Athena columns. Its reference decodes one line into
``column -> text`` (``None`` for an absent value); ``TypedValidator`` checks each text against
the column's declared type the one way both paths share (``TEXT_PATTERNS``), reads the event
time, and gives the row in the table's column order, or the one ``Invalid`` that sends the line
to ``errors_logs``. The columns loglake fills itself (``source_uri``, ``source_line``,
``ingested_at``) come after, from the pipeline; the account and region of the object's key
(``log_account_id``, ``log_region``) from ``key_columns``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..ddl import TableDef
from ..parquet import arrow_type
from ..verdicts import SHORT, Invalid

#: Columns of every typed table that the pipeline fills, not the format.
PIPELINE_COLUMNS = ("source_uri", "source_line", "ingested_at")
#: Columns read from the object's key (``AWSLogs/<account>/<service>/<region>/...``).
KEY_COLUMNS = ("log_account_id", "log_region")
#: Where unknown trailing fields are kept, as read (AWS adds fields; none is ever dropped).
NEW_FIELDS = "new_fields"
_KEY = re.compile(r"(?:^|/)AWSLogs/(?:o-[a-z0-9]+/)?(\d{12})/[^/]+/(?:([a-z]{2}(?:-[a-z]+)+-\d)/)?")
#: The texts each type accepts (both paths): what Arrow's cast reads exactly as Python does.
TEXT_PATTERNS = {
    "bigint": r"^-?[0-9]{1,18}$",
    "int": r"^-?[0-9]{1,9}$",
    "integer": r"^-?[0-9]{1,9}$",
    "smallint": r"^-?[0-9]{1,4}$",
    "tinyint": r"^-?[0-9]{1,2}$",
    "double": r"^-?[0-9]{1,15}(?:\.[0-9]{1,15})?$",
    "float": r"^-?[0-9]{1,6}(?:\.[0-9]{1,6})?$",
    "boolean": r"^(?:true|false)$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
}


def key_columns(key: str) -> dict[str, str | None]:
    """The account and region of an ``AWSLogs/`` key (``None`` where the key has none)."""
    found = _KEY.search(key)
    return dict(zip(KEY_COLUMNS, found.groups() if found else (None, None), strict=True))


def format_columns(table: TableDef) -> list[tuple[str, str]]:
    """The ``(name, type)`` of the columns a format's rows carry, in the table's order: every
    column but the pipeline's own."""
    return [(c.name, c.type) for c in table.columns if c.name not in PIPELINE_COLUMNS]


def schema_of(columns: Sequence[tuple[str, str]]) -> pa.Schema:
    return pa.schema([pa.field(name, arrow_type(kind)) for name, kind in columns])


class TypedValidator:
    """The reference of a typed format: its decoder, then each value checked as its column's type.

    Offers what the pipeline asks of a validator (``check``, ``upload``, ``refresh_clock``,
    ``decode_many``); ``start`` is called per object, for the key columns and headers.
    """

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        decode: Callable[[bytes, datetime], dict[str, Any] | Invalid | None],
        min_timestamp: datetime,
        max_future: timedelta,
        decode_many: Callable[[bytes, datetime], list[Any]] | None = None,
        begin: Callable[[bytes], None] | None = None,
    ) -> None:
        self.columns = tuple(columns)
        self.begin = begin
        self.started = ""
        self.converters = [(n, _converter(n, t)) for n, t in columns if n not in KEY_COLUMNS]
        self.decode = decode
        self.decode_many = decode_many
        self.rules: tuple[Any, ...] = ()
        self.min_timestamp, self.max_future = min_timestamp, max_future
        self.latest = datetime.now(UTC).replace(tzinfo=None) + max_future
        self.upload = self.latest - max_future
        self.keyed: dict[str, str | None] = dict.fromkeys(KEY_COLUMNS)

    def start(self, key: str, head: bytes, which: str = "") -> None:
        """A new object (``which`` it is; the same again changes nothing): its key's account
        and region fill the key columns, and a format whose first lines name its fields reads
        them from ``head`` (its first bytes, decompressed)."""
        if which and which == self.started:
            return
        self.started = which
        self.keyed = key_columns(key)
        if self.begin is not None:
            self.begin(head)

    def refresh_clock(self) -> None:
        self.latest = datetime.now(UTC).replace(tzinfo=None) + self.max_future

    def check(self, line: bytes) -> tuple[Any, ...] | Invalid | None:
        """The row of one line in the table's column order, why it is invalid, or ``None``."""
        try:
            found = self.decode(line, self.upload)
            return found if not isinstance(found, dict) else self.record(found)
        except Exception as exc:  # the safety net: one strange line never fails its object
            return Invalid("unprocessable_line", f"this line could not be read ({exc!r:.200})")

    def check_many(self, line: bytes) -> list[Any]:
        assert self.decode_many is not None
        try:
            found = self.decode_many(line, self.upload)
        except Exception as exc:
            return [Invalid("unprocessable_line", f"this line could not be read ({exc!r:.200})")]
        return [f if not isinstance(f, dict) else self.record(f) for f in found]

    def record(self, found: dict[str, Any]) -> tuple[Any, ...] | Invalid:
        """The typed row of one decoded record (its ``event_time`` already a ``datetime``)."""
        when = found.get("event_time")
        if not isinstance(when, datetime):
            return when if isinstance(when, Invalid) else Invalid("bad_timestamp", "no time")
        if not self.min_timestamp <= when <= self.latest:
            return Invalid(
                "timestamp_out_of_range",
                f"{when.isoformat()}Z is outside {self.min_timestamp.isoformat()}Z .. now + "
                f"{self.max_future}",
            )
        values = {**found, **self.keyed}
        for name, convert in self.converters:
            value = values.get(name)
            if value is not None and name != "event_time":
                value = convert(value)
                if type(value) is Invalid:
                    return value
                values[name] = value
        return tuple(values.get(name) for name, _ in self.columns)


def typed_rows(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Rows of a typed reference as a table of ``schema``."""
    if not rows:
        return schema.empty_table()
    columns = zip(*rows, strict=True)
    return pa.Table.from_arrays(
        [pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


def typed_column(texts: pa.Array, kind: str) -> tuple[pa.Array, np.ndarray]:
    """A column of texts (nulls absent) as ``kind``, and which rows the reference would accept
    as they are: the bulk path keeps a row only when every column is certain."""
    arrow = arrow_type(kind)
    if pa.types.is_string(arrow):
        return texts.cast(pa.string()), np.ones(len(texts), bool)
    pattern = TEXT_PATTERNS.get(kind)
    if pattern is None:
        return pa.nulls(len(texts), arrow), ~texts.is_valid().to_numpy(zero_copy_only=False)
    ok = pc.match_substring_regex(texts, pattern).fill_null(True).to_numpy(zero_copy_only=False)
    if kind == "boolean":
        return pc.equal(texts, "true"), ok
    clean = pc.if_else(pa.array(ok), texts, pa.scalar(None, texts.type)) if not ok.all() else texts
    try:
        return clean.cast(arrow), ok
    except pa.ArrowInvalid:  # an impossible date (2026-02-30): the reference says which
        return pa.nulls(len(texts), arrow), ~texts.is_valid().to_numpy(zero_copy_only=False)


def _converter(name: str, kind: str) -> Callable[[Any], Any]:
    """Checks one value of column ``name``: a text is read as ``kind`` by ``TEXT_PATTERNS`` (what
    the bulk path accepts too); a decoded JSON value is checked against ``kind`` as it is."""
    arrow = arrow_type(kind)
    pattern = re.compile(TEXT_PATTERNS.get(kind, r"^$"))

    def bad(value: Any) -> Invalid:
        shown = repr(value) if len(repr(value)) <= SHORT else repr(value)[: SHORT - 3] + "..."
        return Invalid(f"bad_type:{name}", f"{name} must be {kind}, got {shown}")

    def convert(value: Any) -> Any:
        if pa.types.is_string(arrow):
            return value if type(value) is str else _json_text(value)
        if type(value) is str:
            if not pattern.match(value):
                return bad(value)
            if kind == "boolean":
                return value == "true"
            if kind == "date":
                try:
                    return date.fromisoformat(value)
                except ValueError:
                    return bad(value)
            if kind == "float":  # stored as 32 bits: the value the file will hold
                return float(np.float32(value))
            return float(value) if pa.types.is_floating(arrow) else int(value)
        try:
            pa.array([value], arrow)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return bad(value)
        return value

    return convert


def _json_text(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


class TypedBulk:
    """The bulk path of a typed format's engine, as the pipeline asks for it."""

    def __init__(self, engine: Any, validator: TypedValidator) -> None:
        self.engine, self.validator = engine, validator
        self.schema = schema_of(validator.columns)

    def decide_text(self, text: bytes, offsets: np.ndarray) -> Any:
        from ..columnar import Decided

        return Decided(*self.engine.decide_text(text, offsets, self.validator))

    def decide(self, lines: list[bytes]) -> Any:
        from .regex import as_text

        return self.decide_text(*as_text(lines))

"""The bulk path of validation: a whole batch of lines decided at once, in Arrow's C++.

``validate.Validator.check`` stays the definition of what a line means; this module only makes
the common case fast. It parses a batch's object-looking lines with ``pyarrow.json`` and accepts
a line only when vectorised checks prove the reference would give exactly the same row. Every
other line (every invalid one, and every one it is not sure about) is left to the reference, so
the output never depends on which path a line took (``tests/test_columnar.py`` checks that line
for line). A line is accepted when all of these hold:

* it starts with ``{`` and ends with ``}`` (a ``\\r`` after it is fine) and pyarrow reads it as
  one row: a part pyarrow refuses (invalid JSON, a duplicate key, a key whose type changes
  between lines) is split around the row it names and read again, the named line left out;
* no value is nested (their JSON text is the reference's business), every number is an integer
  read as int64 or a finite double with a fraction (an integral double was ``1.0`` or a huge
  integer, which the reference writes differently), keys are printable ASCII without ``"`` or
  ``\\``;
* its time, level and message are where the reference finds them (``fields.py``'s first
  candidate with a value in that row: rows are grouped by that choice), its message is a text
  and not a container's ``log`` (which may hold the app's JSON), and it is not GELF (whose
  numeric levels are syslog's);
* its attribute keys (all but the time, level, message and extra columns) come in the
  order of the first line with the same keys, checked by one regular expression per set of
  present keys (that order is the order of the attributes map), and unless every column is
  present it has no ``null`` value (Arrow cannot tell an absent key from ``"k": null``; a value
  follows a colon and JSON whitespace, so ``:\\s*null`` finds every one, and a string "null" is
  not one);
* the time is ``YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}][Z|+HH:MM|-HH:MM]`` or integer epoch
  seconds or milliseconds (under 1e14), inside the accepted range; the level and every declared extra column
  and custom rule pass, decided once per distinct value by the reference's own functions.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from .fields import EPOCH, MILLIS_THRESHOLD, level_name
from .formats.ndjson import is_utf8
from .parquet import ARROW_TYPES
from .validate import Invalid, Row, Validator

#: A failing part smaller than this goes to the reference whole (cheaper than reading it again).
MIN_PART = 32
#: Parts pyarrow may refuse per batch before the rest of the batch goes to the reference.
MAX_FAILURES = 48
#: Integer epochs this large are microseconds or nanoseconds; the reference decides them.
EPOCH_LIMIT = 10**14
MAP = pa.map_(pa.string(), pa.string())
_ROW = re.compile(r" in row (\d+)")
_CHANGED = re.compile(r"Column\(/([^/]*)\) changed from")
_CONVERT = re.compile(r"Failed to convert JSON to (\w+)")
#: Column types worth declaring to pyarrow, and how many columns to remember at most.
_SCALAR_TYPES = (pa.types.is_string, pa.types.is_int64, pa.types.is_float64, pa.types.is_boolean)
MAX_LEARNED = 64
#: Keys that changed type whose lines are read apart by kind from the start (2 keys: 4 parts).
MAX_KIND_SPLITS = 2
#: Lines of such a key's rarer kind, when fewer than one in this many, go to the reference.
RARE_KIND = 64
#: A part with more distinct keys than this goes to the reference (the key-order expression
#: would outgrow RE2, and per-column work would dominate).
MAX_COLUMNS = 256
_PLAIN_KEY = re.compile(r"[ !#-\[\]-~]*")
_ISO = (
    r"^\d{4}-\d\d-\d\d[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
)
_NAIVE, _UTC = pa.timestamp("us"), pa.timestamp("us", "UTC")
_OK_TYPES = (pa.types.is_string, pa.types.is_int64, pa.types.is_boolean, pa.types.is_null)


@dataclass
class Decided:
    """Rows the bulk path proved valid: where they are among the lines given, and their columns
    (``event_time``, ``level``, ``message``, ``attributes`` and the extra columns)."""

    positions: np.ndarray
    table: pa.Table


class Columnar:
    """Decides batches for one validator; remembers the column types it has seen."""

    def __init__(
        self,
        validator: Validator,
        extra_types: Mapping[str, str],
        min_part: int = MIN_PART,
        max_failures: int = MAX_FAILURES,
    ) -> None:
        self.validator = validator
        self.min_part, self.max_failures = min_part, max_failures
        self.extra_types = dict(extra_types)
        self.schema = pa.schema(
            [
                ("event_time", pa.timestamp("us")),
                ("level", pa.string()),
                ("message", pa.string()),
                ("attributes", MAP),
                *((name, ARROW_TYPES[t.split("(", 1)[0]]) for name, t in extra_types.items()),
            ]
        )
        #: Column types seen so far, declared to pyarrow from then on (pyarrow would make
        #: timestamps of some strings: those are declared strings, to keep their exact text).
        self.learned: Declared = {}
        #: Keys whose type changed between lines: never declared.
        self.unstable: set[str] = set()

    def decide(self, lines: Sequence[bytes]) -> Decided:
        """The lines (without ``\\n``) this path can prove valid, with their columns."""
        lengths = np.fromiter(map(len, lines), np.int64, len(lines))
        offsets = np.zeros(len(lines) + 1, np.int64)
        np.cumsum(lengths + 1, out=offsets[1:])
        return self.decide_text(b"\n".join(lines) + b"\n", offsets)

    def decide_text(self, text: bytes, offsets: np.ndarray) -> Decided:
        """``decide`` for lines given as one text, each ending with ``\\n``, with the offsets
        where they start (and, last, where the text ends): the batch as read, never cut up."""
        array, chosen = _candidates(text, offsets)
        found: list[Decided | None] = []
        for table, part, where in self._parse(array, chosen):
            try:
                found.append(self._accept(table, part, where))
            except UnicodeError:  # a line is not UTF-8: read the part again without such lines
                utf8 = np.array([is_utf8(x) for x in part.to_pylist()], bool)
                for again, lines, at in self._parse(part, utf8):
                    with contextlib.suppress(UnicodeError):  # still not: the reference takes it
                        found.append(self._accept(again, lines, where[at]))
        kept = [f for f in found if f is not None and len(f.positions)]
        if not kept:
            return Decided(np.empty(0, np.int64), self.schema.empty_table())
        return Decided(
            np.concatenate([f.positions for f in kept]),
            pa.concat_tables([f.table for f in kept]),
        )

    def _parse(
        self, array: pa.LargeBinaryArray, chosen: np.ndarray
    ) -> Iterator[tuple[pa.Table, pa.LargeBinaryArray, np.ndarray]]:
        """Read the ``chosen`` lines in parts with pyarrow; a refused part is split around the
        row it names.

        Column types learned from earlier parts are declared (pyarrow reads declared columns
        half again as fast as it infers them); a declaration a part disagrees with is dropped.
        """
        todo = self._by_kind(array, chosen, dict(self.learned))
        failures = 0
        while todo:
            part, where, declared = todo.pop()
            if len(part) == 0:
                continue
            try:
                table = _read(part, declared)
            except (pa.ArrowInvalid, UnicodeError) as exc:
                failures += 1
                if failures <= self.max_failures and len(part) >= self.min_part:
                    todo += self._split(part, where, declared, str(exc))
                continue
            if table.num_rows != len(part):  # a line held two objects: halve and look again
                failures += 1
                if failures <= self.max_failures and len(part) >= self.min_part:
                    todo += _halves(part, where, declared)
                continue
            dated = {f.name: pa.string() for f in table.schema if not _readable(f.type)}
            if dated:  # pyarrow made timestamps of strings: read those as text
                self.learned.update(dated)
                todo.append((part, where, declared | dated))
                continue
            self._learn(table.schema)
            yield table, part, where

    def _by_kind(
        self, lines: pa.LargeBinaryArray, chosen: np.ndarray, declared: Declared
    ) -> list[Part]:
        """The first parts to read, each copied out of all ``lines`` once: the ``chosen`` ones,
        and for keys that changed type in earlier parts (``unstable``) the lines where the key
        holds a string apart from the others, so that the read does not fail at the first line
        of the other kind (a failed read costs up to a whole read). Which part a line lands in
        only decides speed: pyarrow still checks every declared type. Lines of a kind rarer
        than one in ``RARE_KIND`` (the corpus' ``"message": 42``) are left to the reference:
        reading them apart would cost a copy and a read of their own."""
        kinds: list[tuple[np.ndarray, Declared]] = [(chosen, declared)]
        for name in sorted(self.unstable)[:MAX_KIND_SPLITS]:
            text = _matches(lines, _string_valued(name))
            split = []
            for mask, types in kinds:
                others = {n: t for n, t in types.items() if n != name}
                for kind, kind_types in (
                    (mask & text, others | {name: pa.string()}),
                    (mask & ~text, others),
                ):
                    if kind.sum() * RARE_KIND >= mask.sum() and kind.any():
                        split.append((kind, kind_types))
            kinds = split
        parts = []
        for mask, types in kinds:
            where = np.flatnonzero(mask)
            parts.append(
                (lines if len(where) == len(lines) else lines.take(pa.array(where)), where, types)
            )
        return parts

    def _learn(self, schema: pa.Schema) -> None:
        for field in schema:
            known = field.name in self.learned or len(self.learned) < MAX_LEARNED
            if (
                known
                and field.name not in self.unstable
                and any(test(field.type) for test in _SCALAR_TYPES)
            ):
                self.learned.setdefault(field.name, field.type)

    def _split(
        self, part: pa.LargeBinaryArray, where: np.ndarray, declared: Declared, why: str
    ) -> list[Part]:
        """What to read next after pyarrow refused ``part`` with the message ``why``.

        A value a declared type cannot hold drops the declarations of that type. Otherwise
        the rows before the one named are fine; a key that changed type splits the rest in
        two: rows where that key holds a string and the others (which split again if they
        still disagree); any other refusal leaves the named line to the reference. Without a
        row number the part is halved. Every result is smaller than ``part`` or declares less,
        so splitting ends.
        """
        converting = _CONVERT.search(why)
        if converting:
            failed = {n for n, t in declared.items() if str(t) == converting[1]} or {
                n for n, t in declared.items() if t != pa.string()
            }
            for name in failed:
                self.learned.pop(name, None)
            kept = {n: t for n, t in declared.items() if n not in failed}
            return [(part, where, kept)] if kept != declared else _halves(part, where, declared)
        row = _ROW.search(why)
        at = int(row[1]) if row else -1
        if not 0 <= at < len(part):
            return _halves(part, where, declared)
        head: Part = (part[:at], where[:at], declared)
        skip = [head, (part[at + 1 :], where[at + 1 :], declared)]
        changed = _CHANGED.search(why)
        if changed is None or not _PLAIN_KEY.fullmatch(changed[1]):
            return skip
        name, tail, rest = changed[1], part[at:], where[at:]
        self.learned.pop(name, None)
        self.unstable.add(name)
        text_kind = _matches(tail, _string_valued(name))
        if text_kind.all() or not text_kind.any():
            return skip
        others = {n: t for n, t in declared.items() if n != name}
        return [
            head,
            (tail.filter(pa.array(text_kind)), rest[text_kind], others | {name: pa.string()}),
            (tail.filter(pa.array(~text_kind)), rest[~text_kind], others),
        ]

    def _accept(
        self, table: pa.Table, lines: pa.LargeBinaryArray, where: np.ndarray
    ) -> Decided | None:
        """Check a parsed part row by row, in bulk; build the columns of the rows that pass.

        Rows are taken in groups by where their time, level and message are (``_role_groups``):
        a file of pino lines with a few tutorial-shaped ones is two groups."""
        names = table.column_names
        if not names or len(names) > MAX_COLUMNS:
            return None
        try:
            cols = {name: _column(table.column(name)) for name in names}
        except pa.ArrowException as exc:  # a malformed array: leave the part alone
            if "UTF8" in str(exc) or "UTF-8" in str(exc):
                raise UnicodeError(str(exc)) from exc
            return None
        presence = np.stack([_present(cols[name]) for name in names], axis=1)
        found = [
            self._accept_roles(cols, presence, lines, where, roles, rows)
            for roles, rows in self._role_groups(presence, names)
        ]
        kept = [f for f in found if f is not None]
        if len(kept) < 2:
            return kept[0] if kept else None
        return Decided(
            np.concatenate([f.positions for f in kept]),
            pa.concat_tables([f.table for f in kept]),
        )

    def _role_groups(
        self, presence: np.ndarray, names: list[str]
    ) -> list[tuple[tuple[str, str, str], np.ndarray]]:
        """The rows of each choice of time, level and message columns: for each role, the first
        candidate (``fields.py``) with a value in that row, as the reference picks it. Rows
        lacking a role, and rows whose message is a container's ``log`` (maybe the app's JSON,
        read again), are left to the reference."""
        fields = self.validator.fields
        index = {name: i for i, name in enumerate(names)}
        picks, options = [], []
        for keys in (fields.time_keys, fields.level_keys, fields.message_keys):
            here = [k for k in keys if k in index]
            if not here:
                return []
            present = presence[:, [index[k] for k in here]]
            picks.append(np.where(present.any(axis=1), present.argmax(axis=1), -1))
            options.append(here)
        sizes = [len(here) for here in options]
        code = (picks[0] * sizes[1] + picks[1]) * sizes[2] + picks[2]
        code = np.where((picks[0] >= 0) & (picks[1] >= 0) & (picks[2] >= 0), code, -1)
        groups = []
        for value in np.unique(code).tolist():
            if value < 0:
                continue
            rest, message = divmod(value, sizes[2])
            time, level = divmod(rest, sizes[1])
            roles = (options[0][time], options[1][level], options[2][message])
            if roles[2] == "log" and not fields.pinned:
                continue
            groups.append((roles, code == value))
        return groups

    def _accept_roles(
        self,
        cols: dict[str, pa.Array],
        presence: np.ndarray,
        lines: pa.LargeBinaryArray,
        where: np.ndarray,
        roles: tuple[str, str, str],
        rows: np.ndarray,
    ) -> Decided | None:
        """``_accept`` for the ``rows`` whose time, level and message are in ``roles``."""
        time_key, level_key, message_key = roles
        names = list(cols)
        event_time, ok = self._event_time(cols[time_key])
        ok &= rows
        scale = self.validator.fields.scale
        level, level_ok = _per_value(cols[level_key], partial(_level, level_key, scale))
        message = cols[message_key]
        ok &= level_ok & pa.types.is_string(message.type) & _present(message)
        if "short_message" in cols and "version" in cols:  # GELF: levels on syslog's scale
            ok &= ~(_present(cols["short_message"]) & _present(cols["version"]))
        for i, name in enumerate(names):
            ok &= ~presence[:, i] | _certain(name, cols[name])
        ok &= ~_matches_in(lines, _NULL_VALUE, ok & ~presence.all(axis=1))
        reserved = self.validator.extra_names | set(roles)
        ordered, codes, orders = _key_orders(lines, presence, names, ok, reserved)
        ok &= ordered
        extras = []
        for name, athena_type in self.extra_types.items():
            column = cols.get(name, pa.nulls(len(where)))
            values, good = _per_value(column, _converter(self.validator, name))
            extras.append(values.cast(ARROW_TYPES[athena_type.split("(", 1)[0]]))
            ok &= good
        ok &= self._rules(cols, level, dict(zip(self.extra_types, extras, strict=True)))
        if not ok.any():
            return None
        keep = pa.array(ok)
        attributes = _attributes(
            {n: c.filter(keep) for n, c in cols.items() if n not in reserved}, codes[ok], orders
        )
        columns = [
            pa.array(event_time[ok], pa.timestamp("us")),
            level.filter(keep),
            message.filter(keep),
            attributes,
            *(e.filter(keep) for e in extras),
        ]
        return Decided(where[ok], pa.Table.from_arrays(columns, schema=self.schema))

    def _event_time(self, ts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Microseconds since the epoch and whether each row's timestamp is certain and in range."""
        if pa.types.is_string(ts.type):
            micros, ok = _iso_micros(ts)
        elif pa.types.is_int64(ts.type):
            value = ts.fill_null(0).to_numpy()
            ok = _present(ts) & (np.abs(value) < EPOCH_LIMIT)
            scale = np.where(np.abs(value) >= MILLIS_THRESHOLD, 1000, 1_000_000)
            micros = np.where(ok, value, 0) * scale
        else:
            return np.zeros(len(ts), np.int64), np.zeros(len(ts), bool)
        low = _micros(self.validator.min_timestamp)
        high = _micros(self.validator.latest)
        return micros, ok & (micros >= low) & (micros <= high)

    def _rules(
        self, cols: dict[str, pa.Array], level: pa.Array, extras: dict[str, pa.Array]
    ) -> np.ndarray:
        """Rows every custom rule passes, each rule run once per distinct value."""
        ok = np.ones(len(level), bool)
        absent = pa.nulls(len(level))
        for rule in self.validator.rules:
            field = rule.field
            column = level if field == "level" else extras.get(field, cols.get(field, absent))

            def passes(value: Any, rule: Any = rule) -> tuple[None, bool]:
                if value is None:
                    return None, not rule.required
                return None, rule.check(value) is None

            ok &= _per_value(column, passes)[1]
        return ok


def _candidates(data: bytes, offsets: np.ndarray) -> tuple[pa.LargeBinaryArray, np.ndarray]:
    """All lines as one array over ``data`` (no copy), each with its ``\\n`` (so the array's
    bytes are the lines as a file), and which start with ``{`` and end with ``}``. pyarrow's
    JSON reader does not check UTF-8: ``_column`` does, for the strings it reads."""
    n = len(offsets) - 1
    buf = np.frombuffer(data, np.uint8)
    last = buf[np.maximum(offsets[1:] - 2, 0)]
    before = buf[np.maximum(offsets[1:] - 3, 0)]
    closed = (last == ord("}")) | ((last == ord("\r")) & (before == ord("}")))
    first = buf[np.minimum(offsets[:-1], max(len(buf) - 1, 0))] == ord("{")
    array = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return array, (np.diff(offsets) >= 3) & first & closed


def line_offsets(text: bytes) -> np.ndarray:
    """Where each line of ``text`` (lines ending with ``\\n``) starts, and where the text ends."""
    ends = np.flatnonzero(np.frombuffer(text, np.uint8) == ord("\n")) + 1
    return np.concatenate([np.zeros(1, np.int64), ends])


def _read(part: pa.LargeBinaryArray, declared: Declared) -> pa.Table:
    offsets = _offsets(part)
    data = part.buffers()[2][int(offsets[0]) : int(offsets[-1])]
    schema = pa.schema(list(declared.items()))
    return pj.read_json(
        pa.BufferReader(data),
        read_options=pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 16)),
        parse_options=pj.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="infer", newlines_in_values=False
        ),
    )


def _offsets(array: pa.Array) -> np.ndarray:
    """The value offsets of a (large) string or binary array, as int64, slicing respected."""
    width = np.int64 if array.type in (pa.large_binary(), pa.large_string()) else np.int32
    raw = np.frombuffer(array.buffers()[1], width)
    return raw[array.offset : array.offset + len(array) + 1].astype(np.int64)


#: Column types declared to pyarrow for a part.
Declared = dict[str, pa.DataType]
#: Lines still to read, where they are in the batch, and what to declare.
Part = tuple[pa.LargeBinaryArray, np.ndarray, Declared]


def _halves(part: pa.LargeBinaryArray, where: np.ndarray, declared: Declared) -> list[Part]:
    if len(part) < 2:
        return []
    half = len(part) // 2
    return [(part[:half], where[:half], declared), (part[half:], where[half:], declared)]


def _column(chunked: pa.ChunkedArray) -> pa.Array:
    """One column as one checked array; a nested column only says where it has a value (as
    binary, a type no row is accepted with): its values are never needed, and pyarrow's JSON
    reader can build malformed nested arrays (a list starting with null)."""
    if pa.types.is_nested(chunked.type):
        valid = [c.is_valid() for c in chunked.chunks] or [pa.array([], pa.bool_())]
        empty, null = pa.scalar(b"", pa.binary()), pa.scalar(None, pa.binary())
        return pc.if_else(pa.concat_arrays(valid), empty, null)
    column = chunked.combine_chunks()
    column.validate(full=True)
    return column


def _readable(kind: pa.DataType) -> bool:
    """Whether pyarrow kept a value as JSON gave it (it turns some strings into timestamps)."""
    return not (pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind))


def _present(column: pa.Array) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.zeros(len(column), bool)
    return column.is_valid().to_numpy(zero_copy_only=False)


def _certain(name: str, column: pa.Array) -> np.ndarray | bool:
    """Where this column's value has exactly one text the reference would give it."""
    if not _PLAIN_KEY.fullmatch(name):
        return False
    kind = column.type
    if pa.types.is_float64(kind):
        value = column.fill_null(0.5).to_numpy()
        return np.isfinite(value) & (value != np.trunc(value))
    return any(test(kind) for test in _OK_TYPES)


#: Finds every ``null`` value of a flat object (and, harmlessly, some text inside strings).
_NULL_VALUE = r":[ \t\r\n]*null"


def _matches_in(lines: pa.LargeBinaryArray, pattern: str, rows: np.ndarray) -> np.ndarray:
    """``_matches`` for the ``rows`` of ``lines`` (False elsewhere). When they are most of the
    lines (one rare key, like an invalid line's ``raw_message``, makes most rows of a part
    partial), every line is searched: cheaper than copying most of them out first."""
    if rows.sum() * 4 > len(rows):
        return rows & _matches(lines, pattern)
    found = np.zeros(len(rows), bool)
    if rows.any():
        found[rows] = _matches(lines.filter(pa.array(rows)), pattern)
    return found


def _string_valued(name: str) -> str:
    """Finds lines where key ``name`` (a plain key) holds a string."""
    return '"' + re.escape(name) + r'"\s*:\s*"'


def _matches(lines: pa.Array, pattern: str) -> np.ndarray:
    found = pc.match_substring_regex(lines, pattern).fill_null(False)
    return found.to_numpy(zero_copy_only=False)


def _key_orders(
    lines: pa.LargeBinaryArray,
    presence: np.ndarray,
    names: list[str],
    ok: np.ndarray,
    reserved: frozenset[str],
) -> tuple[np.ndarray, np.ndarray, dict[int, list[str]]]:
    """Rows whose attribute keys (the keys not ``reserved``) come in the same order as in the
    first row with the same keys present: the order of the attributes map.

    That first row's key order is read from its text (pyarrow's column order is not the text's:
    columns it was told to read as strings come first); one regular expression per set of
    present keys checks the other rows. Only the attribute keys are in it: where the reserved
    keys stand does not change a row, and the expression then starts at the first attribute key
    (half the bytes to scan); with one attribute key or none there is no order to check.
    Returns which rows passed, each row's set number and each set's attribute key order.
    """
    result = np.zeros(len(ok), bool)
    if presence.shape[1] < 63:
        codes = presence.astype(np.int64) @ (np.int64(1) << np.arange(presence.shape[1]))
    else:
        codes = np.unique(presence, axis=0, return_inverse=True)[1].reshape(-1)
    codes = np.where(ok, codes, -1)
    orders: dict[int, list[str]] = {}
    for code in np.unique(codes[ok]).tolist():
        chosen = codes == code
        keys = json.loads(lines[int(np.argmax(chosen))].as_py(), object_pairs_hook=_keys)
        if sorted(keys) != sorted(
            n for n, here in zip(names, presence[chosen][0], strict=True) if here
        ):
            continue
        attributes = [key for key in keys if key not in reserved]
        orders[code] = attributes
        if len(attributes) < 2:
            result[chosen] = True
            continue
        regex = ".*".join('"' + re.escape(key) + r'"\s*:' for key in attributes)
        result |= _matches_in(lines, regex, chosen)
    return result, codes, orders


def _keys(pairs: list[tuple[str, Any]]) -> list[str]:
    return [key for key, _ in pairs]


def _iso_micros(ts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """ISO-8601 text of the one strict form -> microseconds since the epoch, and which parsed.

    The regular expression proves the layout; Arrow's own ISO-8601 cast then reads the texts
    (ten times faster than picking the digits out with numpy), those with a zone offset as UTC
    and those without as they are. Arrow refuses a whole array for one impossible date (the
    30th of February): then ``_civil_micros`` reads them and says which are real dates.
    """
    ok = _matches(ts, _ISO) & _present(ts)
    micros = np.zeros(len(ts), np.int64)
    if not ok.any():
        return micros, ok
    texts = ts if ok.all() else ts.filter(pa.array(ok))
    try:
        micros[ok] = _cast_micros(texts)
    except pa.ArrowInvalid:
        micros[ok], ok[ok] = _civil_micros(texts)
    return micros, ok


def _cast_micros(texts: pa.Array) -> np.ndarray:
    """Microseconds of texts of the strict form, by Arrow's cast; those ending in a digit have
    no zone."""
    last = np.frombuffer(texts.buffers()[2], np.uint8)[_offsets(texts)[1:] - 1]
    naive = (last >= ord("0")) & (last <= ord("9"))
    micros = np.empty(len(texts), np.int64)
    for chosen, kind in ((naive, _NAIVE), (~naive, _UTC)):
        if chosen.any():
            part = texts if chosen.all() else texts.filter(pa.array(chosen))
            micros[chosen] = part.cast(kind).cast(pa.int64()).to_numpy()
    return micros


def _civil_micros(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds of texts of the strict form, and which are real dates, read with numpy.

    The characters are read at fixed places from a matrix of one text per row: a view of the
    bytes when the texts have one length (the usual case), else one gather. The fraction and
    the offset are found from each text's length and last characters.
    """
    n, offsets = len(texts), _offsets(texts)
    length = offsets[1:] - offsets[:-1]
    buf = np.frombuffer(texts.buffers()[2], np.uint8)
    width = int(length.max())
    if (length == width).all():
        chars = buf[offsets[0] : offsets[-1]].reshape(n, width)
    else:
        chars = buf[np.minimum(offsets[:-1, None] + np.arange(width), len(buf) - 1)]
    digit = chars.astype(np.int16) - 48  # one row of characters per text, digits as 0-9
    rows = np.arange(n)

    def number(*places: int | np.ndarray) -> np.ndarray:
        value = np.zeros(n, np.int64)
        for place in places:
            value = value * 10 + (digit[:, place] if type(place) is int else digit[rows, place])
        return value

    year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
    seconds = number(11, 12) * 3600 + number(14, 15) * 60 + number(17, 18)
    sign = digit[rows, np.maximum(length - 6, 0)] + 48
    signed = (length >= 25) & ((sign == ord("+")) | (sign == ord("-")))
    zone = np.where(signed, 6, np.where(digit[rows, length - 1] + 48 == ord("Z"), 1, 0))
    offset = np.where(
        signed, number(length - 5, length - 4) * 60 + number(length - 2, length - 1), 0
    )
    offset = np.where(sign == ord("-"), -offset, offset)
    fraction_digits = np.maximum(length - 20 - zone, 0)
    fraction = np.zeros(n, np.int64)
    for k in range(6):
        place = min(20 + k, width - 1)
        fraction = fraction * 10 + np.where(k < fraction_digits, digit[:, place], 0)
    good = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    month = np.clip(month, 1, 12)
    good &= day <= _days_in_month(year, month)
    days = _days_from_civil(year, month, day)
    micros = np.where(good, (days * 86400 + seconds - offset * 60) * 1_000_000 + fraction, 0)
    return micros, good


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[m]
    return days + ((m == 2) & leap)


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _level(key: str, scale: str | None, value: Any) -> tuple[str | None, bool]:
    """The reference's own level rule, for one distinct value."""
    level = level_name(value, key, scale)
    return level, level is not None


def _converter(validator: Validator, name: str) -> Callable[[Any], tuple[Any, bool]]:
    convert = dict(validator.extras)[name]

    def check(value: Any) -> tuple[Any, bool]:
        if value is None:
            return None, True
        converted = convert(value)
        return (None, False) if type(converted) is Invalid else (converted, True)

    return check


def _per_value(
    column: pa.Array, decide: Callable[[Any], tuple[Any, bool]]
) -> tuple[pa.Array, np.ndarray]:
    """``decide`` run once per distinct value of ``column``: the results per row, and which
    rows passed. Nulls are decided as ``None``."""
    if pa.types.is_null(column.type):
        result, good = decide(None)
        return pa.array([result] * len(column)), np.full(len(column), good)
    encoded = column.dictionary_encode()
    outcomes = [decide(v) for v in encoded.dictionary.to_pylist()]
    null_outcome = decide(None)
    outcomes.append(null_outcome)
    index = encoded.indices.fill_null(len(outcomes) - 1).to_numpy()
    good = np.array([g for _, g in outcomes], bool)[index]
    values = pa.array([v for v, _ in outcomes]).take(pa.array(index))
    return values, good


def _attributes(
    columns: dict[str, pa.Array], codes: np.ndarray, orders: dict[int, list[str]]
) -> pa.MapArray:
    """The attributes map: each row's keys in its own order (``orders`` of its ``codes``) with
    the JSON text of their values."""
    n = len(codes)
    names = list(columns)
    index = {name: i for i, name in enumerate(names)}
    counts = np.zeros(n, np.int64)
    for code, order in orders.items():
        counts[codes == code] = len(order)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    key_at = np.zeros(offsets[-1], np.int64)
    value_at = np.zeros(offsets[-1], np.int64)
    for code, order in orders.items():
        rows = np.flatnonzero(codes == code)
        for slot, name in enumerate(order):
            key_at[offsets[rows] + slot] = index[name]
            value_at[offsets[rows] + slot] = index[name] * n + rows
    texts = [_text(columns[name]) for name in names] or [pa.array([], pa.string())]
    values = pa.concat_arrays(texts).take(pa.array(value_at))
    keys = pa.array(names or [""], pa.string()).take(pa.array(key_at))
    return pa.MapArray.from_arrays(pa.array(offsets.astype(np.int32)), keys, values).cast(MAP)


def _text(column: pa.Array) -> pa.Array:
    """Each value's text as the reference writes it (``validate._text``)."""
    if pa.types.is_string(column.type):
        return column
    if pa.types.is_float64(column.type):
        return pa.array(
            [None if v is None else orjson.dumps(v).decode() for v in column.to_pylist()],
            pa.string(),
        )
    if any(test(column.type) for test in _OK_TYPES):
        return column.cast(pa.string())
    return pa.nulls(len(column), pa.string())  # nested: no accepted row has a value here


def rows_table(rows: Sequence[Row], schema: pa.Schema) -> pa.Table:
    """Rows of the reference validator as the same columns ``decide`` gives."""
    if not rows:
        return schema.empty_table()
    event_time, level, message, attributes, extras = zip(*rows, strict=True)
    columns = [event_time, level, message, attributes, *zip(*extras, strict=True)]
    return pa.Table.from_arrays(
        [pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )

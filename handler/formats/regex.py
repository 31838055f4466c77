"""The engine of the line formats a regular expression describes (access logs, syslog, CRI,
``pattern``): one ``Layout`` gives both the reference and the bulk path.

The reference matches one line with Python's ``re``; the bulk path matches a whole batch with
Arrow's RE2 kernel (``pyarrow.compute.extract_regex``), so a layout's expressions stay in the
syntax both share (named groups, classes, no look-around). A group that did not take part, is
empty, or holds one of the layout's ``nil`` texts (``-`` in access logs and syslog) is absent.
Character classes are ASCII in both (``re.ASCII``), as in RE2. Groups become fields in the
expression's order: ``time``, ``level`` and ``message`` are the
row's, every other group an attribute. A line no expression matches is ``no_match``.

The bulk path accepts a line only when it is certain of the reference's row: it matched, its
time was read (the strict ISO form, or the layout's strptime format), its level is known and
its message present; with declared extra columns or custom rules it leaves every line to the
reference. The rest go to the reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..verdicts import Decoded, Invalid
from .ndjson import is_utf8, undecodable

if TYPE_CHECKING:
    from ..columnar import Decided
    from ..validate import Validator

#: A syslog 3164 time more than this after the upload is from the year before.
YEAR_SLACK = timedelta(days=1)
#: ISO texts with 7-9 fraction digits or a decimal comma, read as the reference does.
_LONG_FRACTION = (r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)[.,](\d{1,6})\d{0,3}", r"\1.\2")


@dataclass(frozen=True)
class Layout:
    """A line format: its expressions (tried in order) and what turns groups into fields."""

    name: str
    expressions: tuple[str, ...]
    example: str
    nil: frozenset[str] = frozenset()
    #: strptime format of the ``time`` group, ``{year}`` standing for the upload's year
    #: (``None``: the rules of ``fields.py``).
    time_format: str | None = None
    #: The group the level is read from and how (``None``: the ``level`` group as it is).
    level_from: str | None = None
    level: Callable[[str], str | None] | None = None
    #: Groups rewritten before they are read (both paths): (group, regex, replacement).
    rewrite: tuple[tuple[str, str, str], ...] = ()
    #: The groups the row's time, level and message come from (the bulk path's view; the
    #: reference finds them by the format's field mode).
    roles: tuple[str, str, str] = ("time", "level", "message")
    #: Lines whose message is a JSON object go to the reference (read again as JSON).
    json_inside: bool = False
    compiled: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "compiled", tuple(re.compile(e, re.ASCII) for e in self.expressions)
        )

    def decode(self, line: bytes, upload: datetime) -> Decoded:
        """The fields of one line (the reference)."""
        text = text_of(line)
        if not isinstance(text, str):
            return text
        first, joined, rest = text.partition("\n")  # a multi-line record (``records.py``)
        if joined:  # its first line's CR (``text_of`` took only the record's last one)
            first = first.removesuffix("\r")
        for expression in self.compiled:
            found = expression.fullmatch(first)
            if found is not None:
                fields = self.fields(found.groupdict(), upload)
                if joined:
                    more = rest.replace("\r\n", "\n").removesuffix("\r")
                    fields["message"] = f"{fields.get('message', '')}\n{more}"
                return fields
        return Invalid(
            "no_match",
            f"not a {self.name} line (like: {self.example[:100]}); set the source's format to "
            'the producer\'s, or format = "pattern" with your own expression',
        )

    def fields(self, groups: dict[str, Any], upload: datetime) -> dict[str, Any]:
        """Groups -> fields: absent ones dropped, rewrites applied, time and level read."""
        out = {k: v for k, v in groups.items() if v and v not in self.nil}
        for name, pattern, replacement in self.rewrite:
            if name in out:
                out[name] = re.sub(pattern, replacement, out[name])
        if self.time_format and "time" in out:
            parsed = self._time(out["time"], upload.year)
            if parsed is not None and "{year}" in self.time_format and parsed > upload + YEAR_SLACK:
                parsed = self._time(out["time"], upload.year - 1)
            out["time"] = parsed if parsed is not None else out["time"]
        if self.level is not None:
            source = out.get(self.level_from or "level")
            level = self.level(source) if source is not None else None
            out.pop("level", None)
            if level is not None:
                out = {"level": level, **out}
        return out

    def _time(self, text: str, year: int) -> datetime | None:
        time_format = self.time_format or ""
        if "{year}" in time_format:
            text, time_format = f"{year} {text}", time_format.replace("{year}", "%Y")
        try:
            parsed = datetime.strptime(text, time_format)
        except ValueError:
            return None
        offset = parsed.utcoffset()
        return parsed.replace(tzinfo=None) - offset if offset is not None else parsed


class RegexBulk:
    """The bulk path of one layout, for one validator."""

    def __init__(self, validator: Validator, extras: dict[str, str], layout: Layout) -> None:
        from ..columnar import Columnar

        self.validator, self.layout = validator, layout
        self.schema = Columnar(validator, extras).schema
        self.off = bool(extras) or bool(validator.rules)
        source = validator.source
        self.time_format = source.time_format or layout.time_format
        self.time_key = source.time or layout.roles[0]
        self.level_key = source.level or layout.roles[1]
        self.message_key = source.message or layout.roles[2]

    def decide(self, lines: list[bytes]) -> Decided:
        return self.decide_text(*as_text(lines))

    def decide_text(self, text: bytes, offsets: np.ndarray) -> Decided:
        from ..columnar import Decided

        lines, usable = utf8_lines(text, offsets)
        empty = Decided(np.empty(0, np.int64), self.schema.empty_table())
        if self.off or not len(lines):
            return empty
        taken = np.zeros(len(lines), bool)
        found: list[Decided] = []
        for expression in self.layout.expressions:
            rest = np.flatnonzero(usable & ~taken)
            if not len(rest):
                break
            part = lines.take(pa.array(rest))
            matched = pc.extract_regex(part, f"^(?:{expression})$")
            hit = matched.is_valid().to_numpy(zero_copy_only=False)
            taken[rest[hit]] = True
            if hit.any():
                groups = matched.filter(pa.array(hit))
                found.append(self._rows(groups, rest[hit]))
        kept = [f for f in found if len(f.positions)]
        if not kept:
            return empty
        return Decided(
            np.concatenate([f.positions for f in kept]),
            pa.concat_tables([f.table for f in kept]),
        )

    def _rows(self, groups: pa.StructArray, where: np.ndarray) -> Decided:
        from ..columnar import Decided, _attributes

        layout, n = self.layout, len(groups)
        names = [groups.type.field(i).name for i in range(groups.type.num_fields)]
        cols = {name: groups.field(name) for name in names}
        for name, pattern, replacement in layout.rewrite:
            if name in cols:
                cols[name] = pc.replace_substring_regex(cols[name], pattern, replacement)
        present = {name: self._present(col) for name, col in cols.items()}
        micros, ok = self._times(cols, present, n)
        level, level_ok = self._levels(cols, present, n)
        ok &= level_ok
        message = cols.get(self.message_key)
        if message is None:
            return Decided(np.empty(0, np.int64), self.schema.empty_table())
        ok &= present[self.message_key]
        if layout.json_inside:
            ok &= ~pc.starts_with(pc.utf8_ltrim_whitespace(message), "{").to_numpy(
                zero_copy_only=False
            )
        roles = {self.time_key, self.message_key, self.level_key}
        attribute_names = [name for name in names if name not in roles]
        if not ok.any():
            return Decided(np.empty(0, np.int64), self.schema.empty_table())
        keep = pa.array(ok)
        rows = np.flatnonzero(ok)
        presence = (
            np.stack([present[name][rows] for name in attribute_names], axis=1)
            if (attribute_names)
            else np.zeros((len(rows), 0), bool)
        )
        codes, orders = _codes(presence, attribute_names)
        attributes = _attributes(
            {name: cols[name].filter(keep).cast(pa.string()) for name in attribute_names},
            codes,
            orders,
        )
        table = pa.Table.from_arrays(
            [
                pa.array(micros[ok], pa.int64()).cast(pa.timestamp("us")),
                level.filter(keep),
                message.filter(keep).cast(pa.string()),
                attributes,
            ],
            schema=self.schema,
        )
        return Decided(where[ok], table)

    def _present(self, column: pa.Array) -> np.ndarray:
        text = column.cast(pa.string())
        ok = pc.not_equal(text, "").fill_null(False)
        for nil in self.layout.nil:
            ok = pc.and_(ok, pc.not_equal(text, nil))
        return ok.to_numpy(zero_copy_only=False)

    def _times(
        self, cols: dict[str, pa.Array], present: dict[str, np.ndarray], n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from ..columnar import _iso_micros, _micros

        column = cols.get(self.time_key)
        if column is None:
            return np.zeros(n, np.int64), np.zeros(n, bool)
        ok = present[self.time_key].copy()
        time_format = self.time_format
        if time_format and _printable(time_format):
            upload = self.validator.upload
            micros, ok = self._strptime(column, time_format, upload.year, ok)
            if "{year}" in time_format:
                late = micros > _micros(upload + YEAR_SLACK)
                if late.any():
                    earlier, earlier_ok = self._strptime(column, time_format, upload.year - 1, ok)
                    micros = np.where(late, earlier, micros)
                    ok &= ~late | earlier_ok
        elif time_format:
            return np.zeros(n, np.int64), np.zeros(n, bool)
        else:
            texts = pc.replace_substring_regex(column.cast(pa.string()), *_LONG_FRACTION)
            micros, iso_ok = _iso_micros(texts)
            ok &= iso_ok
        low = _micros(self.validator.min_timestamp)
        high = _micros(self.validator.latest)
        return micros, ok & (micros >= low) & (micros <= high)

    @staticmethod
    def _strptime(
        column: pa.Array, time_format: str, year: int, ok: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Microseconds of each text by Arrow's strptime, and which are certain: Arrow takes
        an impossible date (the 29th of February of 2026) as the next one, so a time is kept
        only when printing it again (in its own zone) gives the text back."""
        texts = column.cast(pa.string())
        if "{year}" in time_format:
            texts = pc.binary_join_element_wise(str(year), texts, " ")
            time_format = time_format.replace("{year}", "%Y")
        times = pc.strptime(texts, format=time_format, unit="us", error_is_null=True)
        micros, ok = _filled(times, ok)
        local, local_format = micros, time_format
        if time_format.endswith(" %z"):
            local = micros + _offset_micros(texts)
            local_format = time_format[:-3]
            texts = pc.utf8_slice_codeunits(texts, 0, -6)
        seconds = pa.array(local // 1_000_000, pa.timestamp("s"))  # %S of "us" prints fractions
        printed = pc.strftime(seconds, format=local_format)
        return micros, ok & pc.equal(printed, texts).fill_null(False).to_numpy(zero_copy_only=False)

    def _levels(
        self, cols: dict[str, pa.Array], present: dict[str, np.ndarray], n: int
    ) -> tuple[pa.Array, np.ndarray]:
        from ..columnar import _per_value
        from ..fields import level_name

        layout = self.layout
        name = (layout.level_from or "level") if layout.level else self.level_key
        column = cols.get(name)
        default = self.validator.source.default_level
        if column is None or not present[name].any():
            if default is None:
                return pa.nulls(n, pa.string()), np.zeros(n, bool)
            return pa.array([default] * n, pa.string()), np.ones(n, bool)
        here = present[name]
        rule = layout.level or (lambda v: level_name(v, name, self.validator.fields.scale))

        def decide(value: Any) -> tuple[str | None, bool]:
            level = rule(value) if value is not None else None
            return level, level is not None

        masked = pc.if_else(pa.array(here), column.cast(pa.string()), pa.scalar(None, pa.string()))
        level, ok = _per_value(masked, decide)
        if default is not None:
            level = pc.if_else(pa.array(here), level.cast(pa.string()), default)
            ok = ok | ~here
        return level.cast(pa.string()), ok


def _printable(time_format: str) -> bool:
    """Formats the bulk path reads: no fractions (Arrow has no ``%f``), a zone only at the end."""
    return "%f" not in time_format and "%z" not in time_format.removesuffix(" %z")


def _offset_micros(texts: pa.Array) -> np.ndarray:
    """The ``+hhmm`` offsets at the end of each text, in microseconds (0 where there is none)."""
    tail = pc.utf8_slice_codeunits(texts, -5)
    sign = pc.if_else(pc.starts_with(tail, "-"), -1, 1).to_numpy(zero_copy_only=False)
    hours = pc.utf8_slice_codeunits(tail, 1, 3)
    minutes = pc.utf8_slice_codeunits(tail, 3, 5)
    numbers = [
        pc.cast(pc.if_else(pc.utf8_is_digit(x), x, "0"), pa.int64()).to_numpy()
        for x in (hours, minutes)
    ]
    return sign * (numbers[0] * 3600 + numbers[1] * 60) * 1_000_000


def _filled(times: pa.Array, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = times.is_valid().to_numpy(zero_copy_only=False)
    micros = times.cast(pa.timestamp("us")).cast(pa.int64()).fill_null(0).to_numpy()
    return micros, ok & valid


def _codes(presence: np.ndarray, names: list[str]) -> tuple[np.ndarray, dict[int, list[str]]]:
    """Each row's set of present attribute groups, and each set's keys (in the groups' order)."""
    if not names:
        return np.zeros(len(presence), np.int64), {0: []}
    unique, codes = np.unique(presence, axis=0, return_inverse=True)
    orders = {
        i: [n for n, here in zip(names, row, strict=True) if here] for i, row in enumerate(unique)
    }
    return codes.reshape(-1), orders


def text_of(line: bytes) -> str | Invalid | None:
    """A text format's line as text without its ``\\r``: ``None`` when blank, ``invalid_utf8``
    when it is not UTF-8."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return undecodable(line, "")
    text = text.removesuffix("\r")
    return text if text.strip() else None


def as_text(lines: list[bytes]) -> tuple[bytes, np.ndarray]:
    """Lines as one text, each ending with ``\\n``, and where each starts (and the text ends)."""
    ends = np.cumsum(np.fromiter((len(x) + 1 for x in lines), np.int64, len(lines)))
    return b"".join(line + b"\n" for line in lines), np.concatenate([np.zeros(1, np.int64), ends])


def utf8_lines(text: bytes, offsets: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """The lines of ``text`` (each ending with ``\\n``) as strings without the ``\\n`` (nor a
    ``\\r`` before it), and which are UTF-8 (the others are empty here, for the reference)."""
    n = len(offsets) - 1
    whole = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(text)]
    )
    lines = pc.binary_slice(whole, 0, -1)
    try:
        strings = lines.cast(pa.large_string())
        usable = np.ones(n, bool)
    except pa.ArrowInvalid:
        usable = np.array([is_utf8(x) for x in lines.to_pylist()], bool)
        blank = pa.scalar(b"", pa.large_binary())
        strings = pc.if_else(pa.array(usable), lines, blank).cast(pa.large_string())
    if b"\r" in text:
        strings = pc.replace_substring_regex(strings, "\r$", "")
    return strings, usable

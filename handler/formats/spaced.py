"""The engine of AWS's space-separated logs (ALB, NLB, Classic LB, S3 server access): one
``SpacedLayout`` gives both the reference and the bulk path.

A line is cut into tokens at every space outside double quotes (a quote left open runs to the
end of the line). A token in quotes loses them, as AWS's own Athena regex strips them, except
where AWS's table keeps them (``keep_quotes``); ``-`` is absent (NULL). A field can span tokens
(S3's ``[06/Feb/2019:00:00:38 +0000]``) and split into columns (``client:port``, the request's
verb, URL and protocol). Fields past ``required`` may be missing (older versions of the log):
their columns are NULL. Tokens past the last known field are AWS's newer fields: they fill, in
order, the columns declared in the table's ``glue_ddl`` file that the layout does not know (add
one, ``catalog apply``, ``reprocess --stale-only``), and what remains is kept as read in
``new_fields``. Nothing a line holds is dropped.

The bulk path finds every token of a batch at once with numpy (the count of quotes before a
space says whether it is inside quotes), gathers each field's bytes into an Arrow column and types it; it keeps a
line only when every value is certain (``typed.typed_column``) and leaves the rest to the
reference, which ``tests/test_aws_formats.py`` holds it to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..fields import EPOCH, parse_timestamp
from ..verdicts import Invalid
from .regex import RegexBulk, text_of, utf8_lines
from .typed import KEY_COLUMNS, NEW_FIELDS, TypedValidator, schema_of, typed_column

_QUOTE, _NEWLINE = 34, 10
_EPOCH = r"^[0-9]{1,11}$"
_EPOCH_RE = re.compile(_EPOCH)
_REQUEST_RE = re.compile(r"^(?P<verb>[^ ]*) (?P<url>.*) (?P<proto>[^ ]*)$", re.DOTALL)
_HOSTPORT_RE = re.compile(r"^(?P<host>.*):(?P<port>[0-9]*)$", re.DOTALL)


@dataclass(frozen=True)
class Field:
    """One field of a line: the columns it fills and how."""

    columns: tuple[str, ...]
    #: ``hostport`` (``ip:port``, split at the last colon) or ``request`` (verb, URL, protocol).
    split: str = ""
    tokens: int = 1
    bracketed: bool = False
    keep_quotes: bool = False


def one(name: str, **how: Any) -> Field:
    return Field((name,), **how)


@dataclass(frozen=True)
class SpacedLayout:
    """A space-separated log: its fields in order and where its event time is."""

    name: str
    fields: tuple[Field, ...]
    #: The column the event time is read from (or columns, joined by ``T``: CloudFront's date
    #: and time), and its strptime format (``None``: ISO-8601; ``epoch``: whole seconds).
    time: str | tuple[str, ...]
    time_format: str | None
    example: str
    #: Fields every line has; the others may be missing at the end of older lines.
    required: int = 0
    separator: str = " "
    #: Double quotes group a field's text (not in tab-separated CloudFront logs).
    quotes: bool = True
    #: Lines that start with this are not records (CloudFront's ``#Version``, ``#Fields``).
    comment: str | None = None
    starts: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        places = np.cumsum([0, *(f.tokens for f in self.fields)])
        object.__setattr__(self, "starts", tuple(int(p) for p in places))

    @property
    def known(self) -> tuple[str, ...]:
        return tuple(c for f in self.fields for c in f.columns)

    def tokens_for(self, fields: int) -> int:
        return self.starts[fields]


def split_tokens(text: str, separator: str = " ", quotes: bool = True) -> list[str]:
    """Tokens of one line: cut at each separator outside double quotes (an open quote runs to
    the end)."""
    if not quotes or '"' not in text:
        return text.split(separator)
    out: list[str] = []
    current: list[str] = []
    parts = text.split('"')
    for i, part in enumerate(parts):
        if i % 2:
            current.append('"' + part + ('"' if i < len(parts) - 1 else ""))
            continue
        pieces = part.split(separator)
        current.append(pieces[0])
        for piece in pieces[1:]:
            out.append("".join(current))
            current = [piece]
    out.append("".join(current))
    return out


class Spaced:
    """A layout read into one table's columns: the reference decoder and the bulk path."""

    def __init__(self, layout: SpacedLayout, columns: list[tuple[str, str]]) -> None:
        self.layout = layout
        self.columns = columns
        self.schema = schema_of(columns)  # once per reader, not per batch
        known = set(layout.known) | {"event_time", NEW_FIELDS, *KEY_COLUMNS}
        #: Declared columns the layout does not know: AWS's newer fields, in order.
        self.added = [name for name, _ in columns if name not in known]
        self.has_new = any(name == NEW_FIELDS for name, _ in columns)
        self.total = layout.tokens_for(len(layout.fields))
        self.least = layout.tokens_for(layout.required or len(layout.fields))
        names = {name for name, _ in columns}
        #: Fields the layout knows that no column holds (a header's new names): kept in
        #: ``new_fields`` as ``name=value``.
        self.unknown = [c for c in layout.known if c not in names]
        #: A line that is the object's header, not a record (``HeaderDriven``).
        self.header: str | None = None

    # -- the reference ----------------------------------------------------------------------

    def decode(
        self, line: bytes, upload: datetime | None = None
    ) -> dict[str, Any] | Invalid | None:
        """The texts of one line by column, with its ``event_time``."""
        text = text_of(line)
        if not isinstance(text, str):
            return text
        layout = self.layout
        if text == self.header or (layout.comment and text.startswith(layout.comment)):
            return None
        if layout.quotes and text.count('"') % 2:
            return Invalid(
                "no_match",
                f"a double quote is never closed (a cut-off {layout.name} line?): {text[-60:]!r}",
            )
        tokens = split_tokens(text, layout.separator, layout.quotes)
        if len(tokens) < self.least:
            return Invalid(
                "no_match",
                f"not a {layout.name} line: {len(tokens)} fields where at least {self.least} "
                f"are expected (like: {layout.example[:100]})",
            )
        out: dict[str, Any] = {}
        for number, spec in enumerate(layout.fields):
            start, stop = layout.starts[number], layout.starts[number + 1]
            if start >= len(tokens):
                out.update(dict.fromkeys(spec.columns))
                continue
            value = layout.separator.join(tokens[start:stop])
            if spec.bracketed:
                if not (len(value) >= 2 and value[0] == "[" and value[-1] == "]"):
                    return Invalid("no_match", f"{spec.columns[0]} {value!r:.80} is not [...]")
                value = value[1:-1]
            out.update(
                zip(spec.columns, _split(spec, _unquoted(value, spec.keep_quotes)), strict=True)
            )
        rest = tokens[self.total :]
        for name, token in zip(self.added, rest, strict=False):
            out[name] = _nil(_unquoted(token, False))
        rest = rest[len(self.added) :]
        if self.has_new:
            rest = [f"{name}={_dash(out.get(name))}" for name in self.unknown] + rest
            out[NEW_FIELDS] = layout.separator.join(rest) if rest else None
        times = [out.get(c) for c in _columns(layout.time)]
        when = "T".join(times) if None not in times else None  # type: ignore[arg-type]
        moment = self._time(when) if when is not None else None
        if moment is None:
            return Invalid(
                "bad_timestamp",
                f"{layout.time} {when!r:.80} is not a time "
                f"({layout.time_format or 'ISO-8601'}, like in: {layout.example[:80]})",
            )
        out["event_time"] = moment
        return out

    def _time(self, text: str) -> datetime | None:
        if self.layout.time_format is None:
            return parse_timestamp(text)
        if self.layout.time_format == "epoch":
            return EPOCH + timedelta(seconds=int(text)) if _EPOCH_RE.match(text) else None
        try:
            parsed = datetime.strptime(text, self.layout.time_format)
        except ValueError:
            return None
        offset = parsed.utcoffset()
        return parsed.replace(tzinfo=None) - offset if offset is not None else parsed

    # -- the bulk path ----------------------------------------------------------------------

    def decide_text(
        self, text: bytes, offsets: np.ndarray, validator: TypedValidator
    ) -> tuple[np.ndarray, pa.Table]:
        """The lines of ``text`` this path is certain of, and their rows."""
        schema = self.schema
        n = len(offsets) - 1
        if not n:
            return np.empty(0, np.int64), schema.empty_table()
        buf = np.frombuffer(text, np.uint8)
        starts, ends, first, count, odd = _tokens(buf, offsets, self.layout)
        usable = ~odd  # a quote never closed: the reference says why
        try:
            text.decode()
        except UnicodeDecodeError:
            usable &= utf8_lines(text, offsets)[1]
        if b"\r" in text:
            usable &= buf[np.maximum(offsets[1:] - 2, 0)] != ord("\r")
        if self.layout.comment:
            usable &= buf[offsets[:-1]] != ord(self.layout.comment[0])
        if self.header is not None:  # the header line is not a record: the reference says so
            usable &= ~_equal_lines(text, offsets, self.header.encode())
        positions, tables = [], []
        marks = _Marks(buf)
        for tokens in range(self.least, self.total + 1):
            where = np.flatnonzero((count == tokens) & usable)
            if len(where):
                found = self._group(
                    buf, starts, ends, first[where], tokens, validator, schema, marks
                )
                positions.append(where[found[0]])
                tables.append(found[1])
        if not positions:
            return np.empty(0, np.int64), schema.empty_table()
        return np.concatenate(positions), pa.concat_tables(tables)

    def _group(
        self,
        buf: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        first: np.ndarray,
        tokens: int,
        validator: TypedValidator,
        schema: pa.Schema,
        marks: _Marks,
    ) -> tuple[np.ndarray, pa.Table]:
        """Lines of ``tokens`` tokens each, as rows; which of them are certain."""
        layout, n = self.layout, len(first)
        ok = np.ones(n, bool)
        texts: dict[str, pa.Array] = {}
        for number, spec in enumerate(layout.fields):
            begin, stop = layout.starts[number], layout.starts[number + 1]
            if begin >= tokens:
                texts.update({c: pa.nulls(n, pa.string()) for c in spec.columns})
                continue
            lo, hi = starts[first + begin].copy(), ends[first + stop - 1].copy()
            if spec.bracketed:
                ok &= (
                    (hi - lo >= 2)
                    & (buf[lo] == ord("["))
                    & (buf[np.maximum(hi - 1, 0)] == ord("]"))
                )
                lo, hi = lo + 1, np.maximum(hi - 1, lo + 1)
            if not spec.keep_quotes:
                quoted = (
                    (hi - lo >= 2) & (buf[lo] == _QUOTE) & (buf[np.maximum(hi - 1, 0)] == _QUOTE)
                )
                lo, hi = lo + quoted, hi - quoted
            if spec.split:  # its parts found on the bytes, as the reference's rule finds them
                parts = _spans(spec.split, buf, lo, hi, marks)
                for name, (at, to, absent) in zip(spec.columns, parts, strict=True):
                    texts[name] = _gather(buf, at, to, absent, blank=True)
            else:
                texts[spec.columns[0]] = _gather(buf, lo, hi)
        when = [texts[c] for c in _columns(layout.time)]
        joined = when[0] if len(when) == 1 else pc.binary_join_element_wise(*when, "T")
        moment, time_ok = self._times(joined, validator)
        ok &= time_ok
        columns = []
        for name, kind in self.columns:
            if name == "event_time":
                columns.append(pa.array(moment, pa.int64()).cast(pa.timestamp("us")))
            elif name in KEY_COLUMNS:
                columns.append(pa.array([validator.keyed[name]] * n, pa.string()))
            elif name in texts:
                typed, certain = typed_column(texts[name], kind)
                columns.append(typed)
                ok &= certain
            elif name == NEW_FIELDS and self.unknown:
                named = [
                    pc.binary_join_element_wise(f"{c}=", texts[c].fill_null("-"), "")
                    for c in self.unknown
                ]
                columns.append(pc.binary_join_element_wise(*named, layout.separator))
            else:  # an added column or new_fields: no token left for them in these lines
                columns.append(pa.nulls(n, schema.field(name).type))
        table = pa.Table.from_arrays(columns, schema=schema)
        return np.flatnonzero(ok), table.filter(pa.array(ok))

    def _times(self, column: pa.Array, validator: TypedValidator) -> tuple[np.ndarray, np.ndarray]:
        from ..columnar import _iso_micros, _micros

        present = column.is_valid().to_numpy(zero_copy_only=False)
        if self.layout.time_format is None:
            micros, ok = _iso_micros(column.fill_null(""))
        elif self.layout.time_format == "epoch":
            ok = pc.match_substring_regex(column, _EPOCH).fill_null(False)
            ok = ok.to_numpy(zero_copy_only=False)
            digits = pc.if_else(pa.array(ok), column, "0").cast(pa.int64()).to_numpy()
            micros = digits * 1_000_000
        else:
            micros, ok = RegexBulk._strptime(column, self.layout.time_format, 2000, present)
        low, high = _micros(validator.min_timestamp), _micros(validator.latest)
        return micros, ok & present & (micros >= low) & (micros <= high)


def _unquoted(value: str, keep: bool) -> str | None:
    if not keep and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1]
    return _nil(value)


def _nil(value: str | None) -> str | None:
    return None if value == "-" else value


def _split(spec: Field, value: str | None) -> tuple[str | None, ...]:
    """A field's value cut into its columns: ``ip:port`` at the last colon followed by digits
    only, a request at its first and last space; where that does not fit, all of it is the
    first column. ``-`` and empty parts are absent."""
    if not spec.split:
        return (value,)
    if value is None or value.rstrip() == "- - -":  # a request that never was: all absent
        return (None,) * len(spec.columns)
    found = (_HOSTPORT_RE if spec.split == "hostport" else _REQUEST_RE).match(value)
    if found is None:
        return (_blank_nil(value),) + (None,) * (len(spec.columns) - 1)
    return tuple(_blank_nil(part) for part in found.groups())


def _blank_nil(value: str) -> str | None:
    return None if value in ("-", "") else value


def _gather(
    buf: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    absent: np.ndarray | None = None,
    blank: bool = False,
) -> pa.Array:
    """The bytes ``buf[lo:hi]`` of each row as one string array (the text is UTF-8 here), a
    ``-`` as NULL (found here, on the bytes, rather than by comparing texts after), and with
    ``blank`` an empty text too; ``absent`` rows are NULL."""
    size = np.maximum(hi - lo, 0)
    nil = (size == 1) & (buf[np.minimum(lo, len(buf) - 1)] == ord("-"))
    if blank:
        nil |= size == 0
    if absent is not None:
        nil |= absent
    lengths = np.where(nil, 0, size)
    offsets = np.zeros(len(lo) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.repeat(lo - offsets[:-1], lengths) + np.arange(offsets[-1])
    valid = pa.py_buffer(np.packbits(~nil, bitorder="little")) if nil.any() else None
    data = pa.py_buffer(buf[index].tobytes())
    if offsets[-1] < 2**31:  # a batch's column: 32-bit offsets, no copy to narrow them
        return pa.StringArray.from_buffers(
            len(lo), pa.py_buffer(offsets.astype(np.int32)), data, valid
        )
    return pa.LargeStringArray.from_buffers(len(lo), pa.py_buffer(offsets), data, valid).cast(
        pa.string()
    )


class _Marks:
    """Where a batch's colons and spaces are, found once and only if asked."""

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = buf
        self._found: dict[str, np.ndarray] = {}

    def get(self, what: str) -> np.ndarray:
        if what not in self._found:
            buf = self.buf
            if what == "colons":
                self._found[what] = np.flatnonzero(buf == ord(":"))
            else:
                self._found[what] = np.flatnonzero(buf == ord(" "))
        return self._found[what]


Span = tuple[np.ndarray, np.ndarray, np.ndarray]


def _spans(
    split: str, buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, marks: _Marks
) -> list[Span]:
    """``_split``'s rule on the bytes: each part's start, end and whether it is absent."""
    none = np.zeros(len(lo), bool)
    if split == "hostport":  # the last colon, when only digits follow it
        colons = marks.get("colons")
        at = np.searchsorted(colons, hi) - 1
        colon = colons[np.maximum(at, 0)] if len(colons) else np.full(len(lo), -1)
        has = (at >= 0) & (colon >= lo)
        fits = has & _digits(buf, np.maximum(colon, 0) + 1, hi)
        return [(lo, np.where(fits, colon, hi), none), (colon + 1, hi, ~fits)]
    spaces = marks.get("spaces")  # a request: its first and its last space
    first = np.searchsorted(spaces, lo)
    last = np.searchsorted(spaces, hi) - 1
    s1 = spaces[np.minimum(first, len(spaces) - 1)] if len(spaces) else lo
    s2 = spaces[np.maximum(last, 0)] if len(spaces) else lo
    fits = (first < last) & (s1 < hi) & (s2 >= lo)
    never = _never(buf, lo, hi)
    return [
        (lo, np.where(fits, s1, hi), never),
        (s1 + 1, s2, ~fits | never),
        (s2 + 1, hi, ~fits | never),
    ]


def _digits(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether ``buf[lo:hi]`` is digits only (empty too), for each row: up to 8 bytes at once,
    longer ones one by one (ports are short)."""
    size = np.maximum(hi - lo, 0)
    width = np.arange(8)
    chars = buf[np.minimum(lo[:, None] + width, len(buf) - 1)]
    digit = ((chars >= ord("0")) & (chars <= ord("9"))) | (width >= size[:, None])
    out = digit.all(axis=1)
    for i in np.flatnonzero(size > 8).tolist():
        out[i] = bytes(buf[lo[i] : hi[i]]).isdigit()
    return out


def _never(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Requests that never were (``- - -``, spaces after): the reference's rule, asked only of
    the rows that start so."""
    out = np.zeros(len(lo), bool)
    start = np.minimum(lo[:, None] + np.arange(5), len(buf) - 1)
    maybe = (hi - lo >= 5) & (buf[start] == np.frombuffer(b"- - -", np.uint8)).all(axis=1)
    for i in np.flatnonzero(maybe).tolist():
        out[i] = bytes(buf[lo[i] : hi[i]]).decode("utf-8", "replace").rstrip() == "- - -"
    return out


def _equal_lines(text: bytes, offsets: np.ndarray, line: bytes) -> np.ndarray:
    """Which lines of ``text`` are exactly ``line``."""
    lengths = np.diff(offsets) - 1
    out = np.zeros(len(lengths), bool)
    for i in np.flatnonzero(lengths == len(line)).tolist():
        out[i] = text[offsets[i] : offsets[i] + len(line)] == line
    return out


def _columns(time: str | tuple[str, ...]) -> tuple[str, ...]:
    return (time,) if isinstance(time, str) else time


def _tokens(buf: np.ndarray, offsets: np.ndarray, layout: SpacedLayout) -> tuple[np.ndarray, ...]:
    """Every token of a batch: its start and end, each line's first token and count, and which
    lines leave a quote open.

    A separator is a cut when an even number of quotes came before it in its line: found from
    the positions of the separators and the quotes alone (a line with an odd number of quotes
    gets one more, virtual, at its newline, so the next line starts even).
    """
    newlines = offsets[1:] - 1
    separators = np.flatnonzero(buf == ord(layout.separator))
    odd = np.zeros(len(newlines), bool)
    if layout.quotes:
        quotes = np.flatnonzero(buf == _QUOTE)
        per_line = np.searchsorted(quotes, offsets[1:]) - np.searchsorted(quotes, offsets[:-1])
        odd = per_line % 2 == 1
        if odd.any():
            quotes = np.sort(np.concatenate([quotes, newlines[odd]]))
        separators = separators[np.searchsorted(quotes, separators) % 2 == 0]
    cut = np.zeros(len(buf), bool)
    cut[separators] = True
    cut[newlines] = True
    cuts = np.flatnonzero(cut)
    starts = np.concatenate([[0], cuts[:-1] + 1])
    first = np.searchsorted(cuts, offsets[:-1])
    count = np.searchsorted(cuts, newlines, side="right") - first
    return starts, cuts, first, count, odd


class HeaderDriven:
    """A log whose first lines name its fields (VPC Flow Logs' header, CloudFront's
    ``#Fields:``): ``start`` reads them from the start of each object and the object is read by
    the layout they give, so any custom field order and version works; fields a file lacks are
    NULL, fields no column names are kept in ``new_fields``."""

    def __init__(
        self,
        layout_for: Callable[[str | None], tuple[SpacedLayout, str | None]],
        columns: list[tuple[str, str]],
    ) -> None:
        self.layout_for, self.columns = layout_for, columns
        self.start(b"")

    def start(self, head: bytes) -> None:
        """Read the object's first bytes (decompressed) for its header."""
        text = head.decode("utf-8", "replace").replace("\r\n", "\n")
        layout, header = self.layout_for(text)
        self.inner = Spaced(layout, self.columns)
        self.inner.header = header

    def decode(
        self, line: bytes, upload: datetime | None = None
    ) -> dict[str, Any] | Invalid | None:
        return self.inner.decode(line, upload)

    def decide_text(
        self, text: bytes, offsets: np.ndarray, validator: TypedValidator
    ) -> tuple[np.ndarray, pa.Table]:
        return self.inner.decide_text(text, offsets, validator)


def _dash(value: str | None) -> str:
    """An absent value as the log writes it."""
    return "-" if value is None else value

"""Turn a byte stream into numbered lines, in bounded memory.

The object is read ``read_bytes`` at a time, gunzipped on the fly when it starts with the gzip
magic bytes (whatever its name), and cut into lines. Lines are handed out in batches of about
``chunk_bytes`` input bytes and at most ``chunk_lines`` lines, so memory depends on those two and
never on the object size, the line length or the compression ratio. A line longer than
``max_line_bytes`` is not buffered: its first 64 KiB are kept for the error row and the rest is
skipped. Runs of blank (empty or whitespace-only) lines are counted in bulk, never one by one,
and decompression stops with a ``decompressed_too_large`` marker past ``max_bytes``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
RAW_LINE_CAP = 64 * 1024
#: A stretch of whitespace that may hold many blank lines (one character class: a fast scan).
_WHITESPACE = re.compile(rb"[ \t\r\n\x0b\x0c]{32,}")
#: Fewer blank lines in a row than this are split like any other lines.
_MIN_RUN = 16


@dataclass
class LongLine:
    """A line over the limit: its first bytes (for the error row) and its full length."""

    head: bytes
    length: int


@dataclass
class Unreadable:
    """The rest of the object cannot be read; it becomes one error row with this code."""

    detail: str
    code: str = "invalid_gzip"


@dataclass
class Text:
    """Whole lines exactly as read, each ending with ``\\n``: the common case, kept as one piece
    (the reading process never cuts it into lines; the worker's columnar path reads it whole)."""

    data: bytes
    count: int


@dataclass
class Blank:
    """``count`` consecutive blank lines, counted without being kept."""

    count: int


@dataclass
class Joined:
    """The ``count`` continuation lines of the multi-line record just before it (``records.py``):
    they move line numbers on, but are not records of their own."""

    count: int


Line = bytes | LongLine | Unreadable | Blank | Joined
Item = Line | Text


@dataclass
class Batch:
    """Consecutive lines of the object; ``first`` is the 1-based number of the first one.

    ``count`` is the number of lines (records), a ``Blank`` run counting for as many lines as it
    holds and a ``Joined`` marker for none; ``physical`` also counts the lines ``Joined`` stands
    for.
    ``plain`` says every item is a ``bytes`` line (no blank run, long line or read failure), so
    line numbers follow from positions without looking at each item. A plain batch may come as
    ``text`` instead: its lines as read, each ending with ``\\n`` (``lines`` is then empty).
    """

    first: int
    lines: list[Line]
    input_bytes: int
    count: int = -1
    plain: bool = False
    text: bytes = b""

    def all_lines(self) -> list[Line]:
        """The batch's items, its text cut into lines if it came as text."""
        return cast(list[Line], _cut(self.text)) if self.text else self.lines

    def __post_init__(self) -> None:
        if self.count < 0:
            if self.plain:
                self.count = len(self.lines)
            else:
                self.count = sum(_records(x) for x in self.lines)

    @property
    def physical(self) -> int:
        """Lines as read: ``count`` and the continuation lines of multi-line records."""
        if self.plain or self.text:
            return self.count
        return self.count + sum(x.count for x in self.lines if type(x) is Joined)


def _records(item: Line) -> int:
    if isinstance(item, Blank):
        return item.count
    return 0 if isinstance(item, Joined) else 1


def read_blocks(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """Read a file-like object ``size`` bytes at a time."""
    while block := stream.read(size):
        yield block


def decompressed(
    blocks: Iterable[bytes], limit: int, max_bytes: int | None = None
) -> Iterator[bytes | Unreadable]:
    """Yield the object's bytes, gunzipped if it starts with the gzip magic bytes.

    Concatenated gzip members (as written by many log shippers) are all read. ``limit`` bounds
    each output piece, so a small, highly compressed object cannot blow up memory. A corrupt or
    truncated gzip stream ends with an ``Unreadable`` marker instead of an exception: retrying
    cannot fix it, and the lines before the damage are still good. Past ``max_bytes`` of output
    the stream ends the same way, with a ``decompressed_too_large`` marker.
    """
    pieces = _decompressed(blocks, limit)
    yield from pieces if max_bytes is None else _capped(pieces, max_bytes)


def _capped(pieces: Iterator[bytes | Unreadable], max_bytes: int) -> Iterator[bytes | Unreadable]:
    seen = 0
    for piece in pieces:
        if isinstance(piece, Unreadable):
            yield piece
            return
        if seen + len(piece) > max_bytes:
            if max_bytes > seen:
                yield piece[: max_bytes - seen]
            yield Unreadable(
                f"the object decompresses to more than MAX_DECOMPRESSED_BYTES={max_bytes}; "
                "the lines before that point were kept, the rest was not read (raise the limit "
                "and process the object again to read it all)",
                "decompressed_too_large",
            )
            return
        seen += len(piece)
        yield piece


def _decompressed(blocks: Iterable[bytes], limit: int) -> Iterator[bytes | Unreadable]:
    blocks = iter(blocks)
    first = b""
    for block in blocks:
        first += block
        if len(first) >= 2:
            break
    if not first.startswith(GZIP_MAGIC):
        if first:
            yield first
        yield from blocks
        return
    yield from _gunzip(_chain(first, blocks), limit)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _gunzip(blocks: Iterator[bytes], limit: int) -> Iterator[bytes | Unreadable]:
    inflater = zlib.decompressobj(31)
    member_open = True
    for block in blocks:
        data = block
        while data:
            if not member_open:
                if not data.strip(b"\0"):  # zero padding after the last member
                    break
                inflater, member_open = zlib.decompressobj(31), True
            try:
                out = inflater.decompress(data, limit)
            except zlib.error as exc:
                yield Unreadable(f"gzip data is corrupt: {exc}")
                return
            if out:
                yield out
            if inflater.eof:
                data, member_open = inflater.unused_data, False
            else:
                data = inflater.unconsumed_tail
    if member_open:
        try:
            tail = inflater.flush()
        except zlib.error as exc:  # pragma: no cover - flush after decompress rarely fails
            yield Unreadable(f"gzip data is corrupt: {exc}")
            return
        if tail:
            yield tail
        if not inflater.eof:
            yield Unreadable("gzip stream is truncated: the object ends in the middle of a member")


def batches(
    pieces: Iterable[bytes | Unreadable],
    max_line_bytes: int,
    chunk_bytes: int,
    chunk_lines: int = 100_000,
    chunk_values: int = 400_000,
) -> Iterator[Batch]:
    """Cut the byte pieces into lines; group them into batches of about ``chunk_bytes`` input
    bytes, at most ``chunk_lines`` kept lines (blank runs are not kept, only counted) and about
    ``chunk_values`` JSON values (commas, counted per piece): lines of thousands of tiny
    attributes would otherwise hold a million map entries in one batch.

    A line is everything up to ``\\n`` (a final line without one counts too). A UTF-8 byte order
    mark at the start of the object is dropped; ``\\r`` is left for the validator to strip.
    """
    splitter = _Splitter(max_line_bytes)
    pending: list[Item] = []
    number, weight, size, special, values = 1, 0, 0, False, 0
    for piece in _without_bom(pieces):
        ended = isinstance(piece, Unreadable)
        out: list[Item]
        if isinstance(piece, Unreadable):
            out = [*splitter.finish(), piece]
            special = True
        else:
            out = splitter.feed(piece)
            size += len(piece)
            values += count_byte(piece, b",")
        pending += out
        weight += _weight(out)
        special = splitter.made_special() or special
        flush = size >= chunk_bytes or values >= chunk_values or ended
        while weight > chunk_lines or (flush and (pending or size)):
            batch, pending = _take(number, pending, chunk_lines, size, special)
            yield batch
            number, weight, size, values = number + batch.count, len(pending), 0, 0
            special = special and bool(pending)
        if ended:
            return
    pending += splitter.finish()
    special = splitter.made_special() or special
    while pending or size:
        batch, pending = _take(number, pending, chunk_lines, size, special)
        yield batch
        number, size = number + batch.count, 0


def count_byte(data: bytes, byte: bytes) -> int:
    """How many times ``byte`` occurs in ``data``: a vectorised comparison is five times faster
    than ``bytes.count`` for one byte, and the reading process counts every byte twice."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == ord(byte)))


def _weight(items: list[Item]) -> int:
    """Lines in freshly split items (a ``Text``, if any, is the last one)."""
    if items and type(items[-1]) is Text:
        return len(items) - 1 + items[-1].count
    return len(items)


def _take(
    number: int, pending: list[Item], chunk_lines: int, size: int, special: bool
) -> tuple[Batch, list[Item]]:
    """The next batch from ``pending`` and what is left: all of it as one text when it is only
    whole lines as read and not too many, else at most ``chunk_lines`` items."""
    texts = [x for x in pending if type(x) is Text]
    if pending and len(texts) == len(pending):
        count = sum(t.count for t in texts)
        if count <= chunk_lines:
            text = b"".join(t.data for t in texts)
            return Batch(number, [], size, count=count, plain=True, text=text), []
    lines = _expand(pending)
    rest: list[Item] = [*lines[chunk_lines:]]
    return Batch(number, lines[:chunk_lines], size, plain=not special), rest


def _expand(items: list[Item]) -> list[Line]:
    """``items`` with every ``Text`` cut into its lines."""
    lines: list[Line] = []
    for item in items:
        if isinstance(item, Text):
            lines += _cut(item.data)
        else:
            lines.append(item)
    return lines


def _cut(text: bytes) -> list[bytes]:
    """Lines that each end with ``\\n``, without it."""
    return text[:-1].split(b"\n")


def _without_bom(pieces: Iterable[bytes | Unreadable]) -> Iterator[bytes | Unreadable]:
    head = b""
    pieces = iter(pieces)
    for piece in pieces:
        if isinstance(piece, Unreadable):
            break
        head += piece
        if len(head) >= len(BOM) or not BOM.startswith(head):
            break
    else:
        piece = None
    if head:
        yield head.removeprefix(BOM)
    if isinstance(piece, Unreadable):
        yield piece
    yield from pieces


class _Splitter:
    """Incremental line splitter that never holds more than ``max_line_bytes`` of one line."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max = max_line_bytes
        self.partial = b""
        self.long: LongLine | None = None
        self.special = False

    def made_special(self) -> bool:
        """Whether a ``Blank`` or ``LongLine`` came out since the last call."""
        made, self.special = self.special, False
        return made

    def feed(self, piece: bytes) -> list[Item]:
        """The items the piece completes; a ``Text``, if any, comes last."""
        out: list[Item] = []
        if self.long is not None:
            cut = piece.find(b"\n")
            if cut < 0:
                self._grow(piece)
                return out
            self._grow(piece[:cut])
            out.append(self.long)
            self.special = True
            self.long, piece = None, piece[cut + 1 :]
        data = self.partial + piece if self.partial else piece
        newlines = count_byte(data, b"\n")
        if newlines * 8 > len(data):  # lines of under 8 bytes on average: blank runs?
            self.partial = self._split_runs(data, out)
        elif newlines and not self._may_hold_long_line(data, cut := data.rfind(b"\n") + 1):
            out.append(Text(data[:cut], newlines))
            self.partial = data[cut:]
        else:
            self.partial = self._split(data, out)
        if len(self.partial) > self.max:
            self.long = LongLine(self.partial[:RAW_LINE_CAP], len(self.partial))
            self.partial = b""
        return out

    def _may_hold_long_line(self, data: bytes, end: int) -> bool:
        """Whether the whole lines in ``data[:end]`` may include one over the limit: such a line
        covers a whole aligned window of half the limit without a newline; a few ``find``
        calls look."""
        window = max(1, self.max // 2)
        starts = range(0, end - window + 1, window)
        return any(data.find(b"\n", i, i + window) < 0 for i in starts)

    def _split(self, data: bytes, out: list[Item]) -> bytes:
        """Append the complete lines of ``data`` to ``out``; return the unfinished last one."""
        parts = data.split(b"\n")
        partial = parts.pop()
        if parts and max(map(len, parts)) > self.max:
            out.extend(self._mark_long(parts))
            self.special = True
        else:
            out.extend(parts)
        return partial

    def _split_runs(self, data: bytes, out: list[Item]) -> bytes:
        """Like ``_split``, but a run of blank lines becomes one ``Blank`` (found by a regex and
        counted with ``bytes.count``, never looked at line by line)."""
        start = 0
        for stretch in _WHITESPACE.finditer(data):
            first, last = data.find(b"\n", *stretch.span()), data.rfind(b"\n", *stretch.span())
            at_line_start = stretch.start() == 0 or data[stretch.start() - 1] == 10
            begin = stretch.start() if at_line_start else first + 1  # first whole blank line
            count = data.count(b"\n", begin, last + 1)
            if first < 0 or count < _MIN_RUN or begin < start:
                continue
            tail = self._split(data[start:begin], out)
            assert not tail  # ``begin`` is the start of a line
            out.append(Blank(count))
            self.special = True
            start = last + 1
        return self._split(data[start:], out)

    def finish(self) -> list[Line]:
        if self.long is not None:
            long, self.long = self.long, None
            self.special = True
            return [long]
        line, self.partial = self.partial, b""
        return [line] if line else []

    def _grow(self, piece: bytes) -> None:
        assert self.long is not None
        self.long.length += len(piece)
        room = RAW_LINE_CAP - len(self.long.head)
        if room > 0:
            self.long.head += piece[:room]

    def _mark_long(self, parts: list[bytes]) -> list[Line]:
        return [p if len(p) <= self.max else LongLine(p[:RAW_LINE_CAP], len(p)) for p in parts]

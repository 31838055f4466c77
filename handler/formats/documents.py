"""One JSON document per object, its records in an array (CloudTrail's ``{"Records":[...]}``),
as one line per record, streamed: a file of any size is read a piece at a time and memory holds
at most one piece and one record, so ``MAX_LINE_BYTES`` bounds a record, never the file.

Each piece is scanned with numpy: a quote not escaped by an odd run of backslashes opens or
closes a string; outside strings, ``{``/``[`` and ``}``/``]`` move the depth; an object that
opens at depth 3 (``{`` document, ``[`` array, ``{`` record) is a record until its depth
closes. Newlines between a record's tokens (pretty-printed files) become spaces. The scan
carries its state (in a string, a pending backslash run, the depth, an unfinished record) from
piece to piece. A record cut off by the end of the object is passed on as it is, and becomes its
line's ``invalid_json`` row. An object that does not start like the document (``{"Records":``)
passes through unchanged, so the same events one per line (NDJSON) are read too.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

#: Bytes read before telling whether the object starts like the document.
_DECIDE = 4096
_OPEN = np.zeros(256, bool)
_OPEN[[ord("{"), ord("[")]] = True
_CLOSE = np.zeros(256, bool)
_CLOSE[[ord("}"), ord("]")]] = True


def splitter(key: str) -> Any:
    """The splitter of documents whose records are under ``key``."""
    start = re.compile(rb'\s*\{\s*"' + re.escape(key.encode()) + rb'"\s*:\s*\[')

    def split(pieces: Iterable[Any]) -> Iterator[Any]:
        return _Split(start, 3, _line).run(pieces)

    return split


def objects(first_key: str, each: Callable[[bytes], bytes]) -> Any:
    """The splitter of objects written back to back (``{...}{...}``, CloudWatch Logs through
    Firehose) whose first key is ``first_key``: ``each`` turns one object into its lines."""
    start = re.compile(rb'\s*\{\s*"' + re.escape(first_key.encode()) + rb'"\s*:')

    def split(pieces: Iterable[Any]) -> Iterator[Any]:
        return _Split(start, 1, each).run(pieces)

    return split


def _line(record: bytes) -> bytes:
    return record + b"\n"


class _Split:
    def __init__(self, start: re.Pattern[bytes], depth: int, each: Callable[[bytes], bytes]):
        self.start, self.at, self.each = start, depth, each
        self.in_string = 0
        self.backslashes = 0  # the length of the backslash run the last piece ended with
        self.depth = 0
        self.partial: list[bytes] = []

    def run(self, pieces: Iterable[Any]) -> Iterator[Any]:
        stream = iter(pieces)
        head: list[Any] = []
        while sum(len(p) for p in head if type(p) is bytes) < _DECIDE:  # enough to tell
            piece = next(stream, None)
            if piece is None or type(piece) is not bytes:
                if piece is not None:
                    head.append(piece)
                break
            head.append(piece)
        start = b"".join(p for p in head if type(p) is bytes)
        if not self.start.match(start):
            yield from (p for p in head if type(p) is not bytes or p)
            yield from stream
            return
        rest = [p for p in head if type(p) is not bytes]
        for piece in itertools.chain([start], rest, stream):
            if type(piece) is not bytes:  # a read failure: the record it cut is passed on
                if self.partial:
                    yield self.each(b"".join(self.partial))
                    self.partial = []
                yield piece
                continue
            out = self.scan(piece)
            if out:
                yield out
        if self.partial:
            yield self.each(b"".join(self.partial))

    def scan(self, piece: bytes) -> bytes:
        """The records that end in this piece, one per line; an unfinished one is kept."""
        buf = np.frombuffer(piece, np.uint8)
        n = len(buf)
        index = np.arange(n, dtype=np.int32)
        backslash = buf == ord("\\")
        last_other = np.maximum.accumulate(np.where(~backslash, index, -1))
        before = np.concatenate([[-1], last_other[:-1]])
        run = index - 1 - before + np.where(before < 0, self.backslashes, 0)
        quote = (buf == ord('"')) & (run % 2 == 0)
        inside = (np.cumsum(quote, dtype=np.int32) + self.in_string) % 2 == 1  # after each byte
        outside = ~inside & ~quote
        opens = _OPEN[buf] & outside
        closes = _CLOSE[buf] & outside
        depth = self.depth + np.cumsum(opens.astype(np.int8) - closes, dtype=np.int32)
        starts = np.flatnonzero(opens & (depth == self.at))
        ends = np.flatnonzero(closes & (depth == self.at - 1)) + 1
        # carry the state on
        self.in_string = int(inside[-1]) if n else self.in_string
        trailing = n - 1 - int(last_other[-1]) if n else 0
        self.backslashes = trailing + (self.backslashes if n and last_other[-1] < 0 else 0)
        was_open = self.depth >= self.at
        self.depth = int(depth[-1]) if n else self.depth
        text = buf.copy()
        text[((buf == 10) | (buf == 13)) & outside] = ord(" ")
        data = text.tobytes()
        out: list[bytes] = []
        if was_open:
            if not len(ends):
                self.partial.append(data)
                return b""
            out.append(self.each(b"".join(self.partial) + data[: ends[0]]))
            self.partial = []
            ends = ends[1:]
        for start, end in zip(starts, ends, strict=False):
            out.append(self.each(data[start:end]))
        if len(starts) > len(ends):
            self.partial = [data[starts[len(ends)] :]]
        return b"".join(out)

"""Multi-line records: a stack trace or a traceback continues its first line.

A source with ``multiline`` names how a record starts (``pattern`` sources: a line matching it,
usually the layout's time); every other line continues the open record, up to the source's
``max_record_lines`` lines and ``MAX_RECORD_BYTES`` bytes (past either, the next line starts a
record of its own). A blank line ends a record (and is counted blank). A record travels as one item, its lines joined by ``\\n``, followed by a
``Joined`` marker that moves line numbers past its continuation lines, so a record's
``source_line`` is its first line and counts stay per record: records read = valid + invalid +
blank, and the manifest also gives ``physical_lines``. Runs in the reading process, before
batches go to workers, so a record cut by a batch boundary is carried whole into the next.

Example (Python's ``logging`` with a traceback)::

    2005-03-19 15:10:26,618 - app - ERROR - failed      <- a record starts
    Traceback (most recent call last):                 <- continues it
      File "app.py", line 3, in <module>
    ZeroDivisionError: division by zero
    -> one row: level ERROR, message "failed\\nTraceback (most recent call last):\\n..."
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .parse import Batch, Blank, Joined, Line

#: Bytes of one record at most; past it the next line starts a record of its own.
MAX_RECORD_BYTES = 256 * 1024


def records(
    batches: Iterator[Batch], start: str, max_lines: int, max_bytes: int = MAX_RECORD_BYTES
) -> Iterator[Batch]:
    """The batches with each record's continuation lines joined to its first line."""
    starts = re.compile(start.encode())
    open_lines: list[bytes] = []
    open_first, size = 0, 0
    for batch in batches:
        out: list[Line] = []
        first = open_first if open_lines else batch.first
        number = batch.first
        for item in batch.all_lines():
            if (
                isinstance(item, bytes)
                and _continues(item, open_lines, size, max_lines, max_bytes)
                and starts.match(item) is None
            ):
                open_lines.append(item)
                size += len(item) + 1
                number += 1
                continue
            _close(open_lines, out)
            if isinstance(item, bytes):
                open_lines, open_first, size = [item], number, len(item)
                number += 1
            else:
                out.append(item)
                number += item.count if type(item) is Blank else 1
        if out:
            yield Batch(first, out, batch.input_bytes)
    if open_lines:
        tail: list[Line] = []
        _close(open_lines, tail)
        yield Batch(open_first, tail, 0)


def _continues(item: bytes, lines: list[bytes], size: int, max_lines: int, max_bytes: int) -> bool:
    """Whether ``item`` may continue the open record (the start pattern is checked apart)."""
    return (
        bool(lines)
        and len(lines) < max_lines
        and size + len(item) < max_bytes
        and bool(item.strip())
    )


def _close(lines: list[bytes], out: list[Line]) -> None:
    """The open record onto ``out`` (and the marker for its continuation lines)."""
    if not lines:
        return
    out.append(b"\n".join(lines))
    if len(lines) > 1:
        out.append(Joined(len(lines) - 1))
    lines.clear()

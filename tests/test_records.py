"""Multi-line records through the pipeline: a record cut by a batch boundary is carried whole,
its ``source_line`` is its first line, counts are per record (records read = valid + invalid +
blank) and the manifest gives the physical lines; bounds cut runaway records."""

from __future__ import annotations

from pathlib import Path

import pytest

from handler.parse import Batch, Blank, Joined
from handler.records import records
from handler.sources import source

from .conftest import RAW, Lake

PATTERN = r"(?P<time>\S+ \S+) - (?P<logger>\S+) - (?P<level>[A-Z]+) - (?P<message>.*)"
PYTHON = source("py", format="pattern", pattern=PATTERN, multiline=r"\d{4}-\d\d-\d\d ")
TRACE = (
    'Traceback (most recent call last):\n  File "app.py", line {i}, in <module>\n'
    "ZeroDivisionError: division by zero\n"
)


def body(records_: int) -> bytes:
    out = []
    for i in range(records_):
        out.append(f"2025-07-21 10:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d} - app - ")
        out.append(f"ERROR - failed {i}\n{TRACE.format(i=i)}" if i % 3 == 0 else f"INFO - ok {i}\n")
        if i % 50 == 7:
            out.append("\n" * 20)  # a run of blank lines ends a record
    return "".join(out).encode()


@pytest.mark.parametrize("chunk_bytes", [256, 4096, 8 * 1024 * 1024])
def test_records_cut_by_batches_are_carried_whole(lake: Lake, chunk_bytes: int) -> None:
    data = body(300)
    lake.put("py/app.log", data)
    pipe = lake.pipeline(chunk_bytes=chunk_bytes, read_bytes=128)
    result = pipe.process(_object(lake), spec=PYTHON)
    physical = data.count(b"\n")
    assert result.physical_lines == physical
    assert result.lines_read == result.valid + result.invalid + result.blank
    assert (result.valid, result.invalid) == (300, 0)
    assert result.blank == 20 * 6
    rows = lake.rows("processed").sort_values("source_line")
    assert len(rows) == 300
    failed = rows[rows.level == "ERROR"]
    assert failed.message.str.endswith("ZeroDivisionError: division by zero").all()
    lines = data.split(b"\n")
    for line_no, message in zip(rows.source_line, rows.message, strict=True):
        assert lines[line_no - 1].decode().endswith(message.split("\n", 1)[0])  # its first line
    assert lake.manifest("py/app.log")["physical_lines"] == physical


def _object(lake: Lake) -> object:
    from handler.source import s3_object

    return s3_object(lake.s3, RAW, "py/app.log")


def test_a_runaway_record_is_cut_at_its_bound() -> None:
    lines = [b"2025-07-21 10:00:00,000 - app - ERROR - start"] + [b"  at x"] * 2500
    out = list(records(iter([Batch(1, list(lines), 0, plain=True)]), r"\d{4}-", 1000))
    items = [x for b in out for x in b.lines]
    joined = [x for x in items if type(x) is bytes]
    assert [x.count(b"\n") + 1 for x in joined] == [1000, 1000, 501]  # cut at 1,000 lines
    assert sum(b.physical for b in out) == 2501
    assert all(isinstance(x, bytes | Joined | Blank) for x in items)


def test_lines_before_the_first_start_are_records_of_their_own() -> None:
    lines = [b"  orphan continuation", b"2025-07-21 10:00:00,000 - a - INFO - m", b"  more"]
    out = list(records(iter([Batch(1, list(lines), 0, plain=True)]), r"\d{4}-", 1000))
    assert [x for b in out for x in b.lines if type(x) is bytes] == [
        b"  orphan continuation",
        b"2025-07-21 10:00:00,000 - a - INFO - m\n  more",
    ]
    assert out[0].first == 1


def test_multiline_needs_the_pattern_format(tmp_path: Path) -> None:
    from handler.exceptions import ConfigError
    from handler.sources import load_sources

    path = tmp_path / "s.toml"
    path.write_text("[[source]]\nname = 'a'\nmatch = '*'\nmultiline = '^x'\n")
    with pytest.raises(ConfigError, match='multiline works with format = "pattern"'):
        load_sources(path)

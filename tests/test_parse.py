"""Line splitting, decompression and batching: exact counts, bounded memory."""

from __future__ import annotations

import gzip
import io
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from handler.parse import Blank, LongLine, Unreadable, batches, decompressed, read_blocks


def lines_of(
    data: bytes, read: int = 7, chunk: int = 64, max_line: int = 1000, chunk_lines: int = 100
) -> list:
    """Every line, a ``Blank`` run given back as that many empty lines."""
    pieces = decompressed(read_blocks(io.BytesIO(data), read), read)
    out = []
    expected_first = 1
    for batch in batches(pieces, max_line, chunk, chunk_lines):
        assert batch.first == expected_first
        assert len(batch.all_lines()) <= chunk_lines
        expected_first += batch.count
        for line in batch.all_lines():
            out.extend([b""] * line.count if isinstance(line, Blank) else [line])
    return out


def test_lf_crlf_blank_and_final_line_without_newline() -> None:
    assert lines_of(b"a\r\nb\n\n  \nc") == [b"a\r", b"b", b"", b"  ", b"c"]


def test_trailing_newline_adds_no_line() -> None:
    assert lines_of(b"a\nb\n") == [b"a", b"b"]
    assert lines_of(b"") == []
    assert lines_of(b"\n") == [b""]


def test_bom_dropped_only_at_start_even_when_split_across_reads() -> None:
    data = b"\xef\xbb\xbf" + b'{"a":1}\n\xef\xbb\xbfx\n'
    assert lines_of(data, read=1) == [b'{"a":1}', b"\xef\xbb\xbfx"]
    assert lines_of(data, read=2) == [b'{"a":1}', b"\xef\xbb\xbfx"]


def test_gzip_detected_by_magic_bytes_and_multi_member() -> None:
    data = gzip.compress(b"one\ntwo\n") + gzip.compress(b"three\n")
    assert lines_of(data, read=5) == [b"one", b"two", b"three"]


def test_only_the_gzip_magic_bytes_start_decompression() -> None:
    assert lines_of(b"plain\n") == [b"plain"]
    assert lines_of(b"\x1f plain\n") == [b"\x1f plain"]  # one magic byte is not enough


def test_corrupt_gzip_keeps_good_lines_and_marks_the_rest() -> None:
    good = gzip.compress(b"one\ntwo\n" * 100)
    corrupt = good[:40] + b"\x00garbage" * 10
    out = lines_of(corrupt, read=16)
    assert isinstance(out[-1], Unreadable)
    assert all(line in (b"one", b"two") for line in out[:-1])


def test_truncated_gzip_is_reported() -> None:
    data = gzip.compress(b"one\ntwo\n" * 1000)[:-30]
    out = lines_of(data, read=64, chunk=1 << 20)
    assert isinstance(out[-1], Unreadable)
    assert "truncated" in out[-1].detail


def test_gzip_bomb_is_decompressed_in_bounded_pieces() -> None:
    data = gzip.compress(b"x" * 50_000_000 + b"\n")
    sizes = [len(p) for p in decompressed(read_blocks(io.BytesIO(data), 1 << 16), 1 << 20)]
    assert max(sizes) <= 1 << 20
    assert sum(sizes) == 50_000_001


def test_long_line_is_not_buffered_and_keeps_its_head() -> None:
    data = b"short\n" + b"y" * 5000 + b"\nafter\n" + b"z" * 3000
    out = lines_of(data, read=100, max_line=1000)
    assert out[0] == b"short"
    assert isinstance(out[1], LongLine) and out[1].length == 5000 and out[1].head == b"y" * 5000
    assert out[2] == b"after"
    assert isinstance(out[3], LongLine) and out[3].length == 3000


def test_long_line_inside_one_read() -> None:
    out = lines_of(b"a" * 2000 + b"\nb\n", read=10_000, max_line=1000)
    assert isinstance(out[0], LongLine) and out[0].length == 2000
    assert out[1] == b"b"


def test_line_at_exactly_the_limit_is_kept() -> None:
    assert lines_of(b"a" * 1000 + b"\n", read=3, max_line=1000) == [b"a" * 1000]


def test_batches_are_bounded_by_chunk_size() -> None:
    data = b"".join(b"line %d\n" % i for i in range(10_000))
    pieces = decompressed(read_blocks(io.BytesIO(data), 1000), 1000)
    sizes = [b.input_bytes for b in batches(pieces, 1000, 4096)]
    assert max(sizes) < 4096 + 1000
    assert sum(sizes) == len(data)


def expected_lines(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 64), st.integers(1, 200), st.integers(1, 50))
def test_any_bytes_never_crash_and_conserve_lines(
    data: bytes, read: int, chunk: int, max_line: int
) -> None:
    out = lines_of(data, read=read, chunk=chunk, max_line=max_line)
    if data.startswith(b"\x1f\x8b"):  # taken for gzip: good lines, then one Unreadable marker
        assert all(not isinstance(x, Unreadable) for x in out[:-1])
        return
    assert len(out) == expected_lines(data.removeprefix(b"\xef\xbb\xbf"))
    if not any(isinstance(x, LongLine) for x in out):  # blank runs come back as blank lines
        assert [x.strip() for x in out] == [
            x.strip() for x in data.removeprefix(b"\xef\xbb\xbf").removesuffix(b"\n").split(b"\n")
        ][: len(out)]
    for x in out:
        assert isinstance(x, LongLine) or len(x) <= max_line
        assert not isinstance(x, LongLine) or x.length > max_line


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), max_size=40))
def test_gzipped_lines_round_trip(lines: list[bytes]) -> None:
    data = b"".join(line + b"\n" for line in lines)
    if data.startswith(b"\xef\xbb\xbf"):
        return
    assert lines_of(zlib.compress(b"") and gzip.compress(data), read=3) == lines


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"", b" ", b"\r", b" \t ", b"x", b'{"a":1}']), max_size=400),
    st.integers(1, 300),
    st.integers(1, 50),
)
def test_blank_runs_and_line_caps_conserve_every_line(
    lines: list[bytes], read: int, chunk_lines: int
) -> None:
    data = b"\n".join(lines)
    out = lines_of(data, read=read, chunk=1 << 20, chunk_lines=chunk_lines)
    assert len(out) == expected_lines(data)
    assert [x.strip() for x in out] == [x.strip() for x in data.split(b"\n")][: len(out)]


def test_megabytes_of_newlines_are_a_few_blank_runs_not_millions_of_lines() -> None:
    data = b'{"a":1}\n' + b"\n" * 8_000_000 + b" \r\n" * 1000 + b"last"
    pieces = decompressed(read_blocks(io.BytesIO(gzip.compress(data)), 1 << 16), 1 << 20)
    found = list(batches(pieces, 1000, 1 << 20, 1000))
    assert sum(b.count for b in found) == 8_001_002
    assert sum(len(b.all_lines()) for b in found) < 100  # runs are counted, never kept
    kept = [x for b in found for x in b.all_lines() if not isinstance(x, Blank)]
    assert kept[0] == b'{"a":1}' and kept[-1] == b"last"


def test_tiny_lines_are_cut_into_batches_of_at_most_chunk_lines() -> None:
    data = b"x\n" * 250_000
    pieces = decompressed(read_blocks(io.BytesIO(data), 1 << 20), 1 << 20)
    found = list(batches(pieces, 1000, 8 << 20, 100_000))
    assert [b.count for b in found] == [100_000, 100_000, 50_000]
    assert [b.first for b in found] == [1, 100_001, 200_001]


def test_decompression_stops_at_the_cap_and_keeps_what_came_before() -> None:
    data = gzip.compress(b"line\n" * 100_000)
    pieces = list(decompressed(read_blocks(io.BytesIO(data), 4096), 4096, max_bytes=50_000))
    assert sum(len(p) for p in pieces if isinstance(p, bytes)) == 50_000
    assert isinstance(pieces[-1], Unreadable) and pieces[-1].code == "decompressed_too_large"
    assert "MAX_DECOMPRESSED_BYTES=50000" in pieces[-1].detail


def test_batches_say_whether_every_item_is_a_plain_line() -> None:
    """A batch of only ``bytes`` lines is "plain": its line numbers follow from positions."""

    def plain(data: bytes) -> list[tuple[bool, int]]:
        pieces = decompressed(read_blocks(io.BytesIO(data), 64), 64)
        return [(b.plain, b.count) for b in batches(pieces, 100, 1 << 20, 1000)]

    assert plain(b"a\nb\n" * 50) == [(True, 100)]
    assert plain(b"a\n" + b"\n" * 40 + b"b\n") == [(False, 42)]  # a Blank run
    assert plain(b"a\n" + b"x" * 300 + b"\nb\n") == [(False, 3)]  # a LongLine
    assert plain(b"a\nb") == [(True, 2)]


def test_lines_of_many_tiny_attributes_are_cut_by_their_values() -> None:
    """A few wide lines can hold a million map entries: batches are also bounded by values."""
    line = b"{" + b",".join(b'"k%d":0' % i for i in range(1000)) + b"}\n"
    pieces = decompressed(read_blocks(io.BytesIO(line * 50), 4096), 4096)
    found = list(batches(pieces, 1 << 20, 8 << 20, 100_000, chunk_values=10_000))
    assert sum(b.count for b in found) == 50
    assert max(b.count for b in found) <= 10 + 1  # 10,000 values, plus what one piece adds
    assert len(found) >= 5


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 90), max_size=40),
    st.integers(1, 300),
    st.integers(1, 60),
    st.integers(16, 400),
)
def test_lines_of_any_lengths_read_in_any_pieces_come_out_exactly(
    lengths: list[int], read: int, max_line: int, chunk: int
) -> None:
    """Whole pieces kept as text or cut into lines, long lines found wherever they fall."""
    lines = [bytes([97 + i % 26]) * n for i, n in enumerate(lengths)]
    out = lines_of(b"".join(x + b"\n" for x in lines), read, chunk, max_line, chunk_lines=7)
    expected = [x if len(x) <= max_line else len(x) for x in lines]
    assert [x.length if isinstance(x, LongLine) else x for x in out] == expected

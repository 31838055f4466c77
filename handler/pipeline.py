"""Process one raw object: stream, validate, write both tables, commit the manifest.

Exactly-once effect without locks: every attempt writes files under its own names, listed in its
own record before they are written, and then tries to win the object's head manifest with a
conditional write (``ledger.py``, ``docs/exactly-once.md``). Files of attempts that lose, crash or
read an older version are deleted by the winner and by every later delivery. Counts always
balance: lines read = valid + invalid + blank, recorded in the manifest.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

import boto3
import numpy as np
import pyarrow as pa

from .columnar import Decided, line_offsets, rows_table
from .config import Config
from .erasure import Erasures, apply
from .fingerprint import fingerprint
from .formats import FORMATS, Bulk, typed_reader, validator_for
from .formats.typed import typed_rows
from .ledger import Attempt, Ledger, deliver
from .objects import iso, now
from .parse import (
    RAW_LINE_CAP,
    Batch,
    Blank,
    Joined,
    Line,
    LongLine,
    Unreadable,
    batches,
    decompressed,
    read_blocks,
)
from .partition import partitions_for
from .records import records
from .sink import SORT_KEYS, Sink, preload_pandas
from .sniff import HEAD_BYTES, recognise
from .source import SourceObject, s3_object
from .sources import DEFAULT, Source
from .validate import STANDARD_COLUMNS, Invalid, Row
from .workers import fan_out, fresh_session

SAMPLE_ERRORS = 10
#: The "version" a deletion commits: no object version is ever this.
DELETED = "deleted"


@dataclass
class Result:
    """What happened to one object; also the body of its manifest and of its log line."""

    source_uri: str
    version: str
    #: processed | duplicate | superseded | missing | unmatched | dry_run, and for a deletion
    #: deleted | kept (its source keeps a deleted object's rows) | exists (re-uploaded since)
    status: str
    source: str = ""
    format: str = ""
    lines_read: int = 0
    #: Lines as read: ``lines_read`` counts records, and a multi-line record is one.
    physical_lines: int = 0
    valid: int = 0
    invalid: int = 0
    blank: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    error_counts: dict[str, int] = field(default_factory=dict)
    sample_errors: list[dict[str, Any]] = field(default_factory=list)
    #: Rows an erasure record removed before they were written, by table (``erasure.py``).
    erased: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)

    def manifest_fields(self) -> dict[str, Any]:
        """What the head manifest keeps of it (the ledger adds who, which version, which files)."""
        doc = self.as_dict()
        for key in ("sample_errors", "status", "source_uri", "version", "files", "source"):
            doc.pop(key)
        return doc


@dataclass
class Part:
    """What one batch gave (counts, its first errors, its partitions), or the sum of several.

    Worker processes send one per batch back to the parent, which adds them up.
    """

    lines: int = 0
    physical: int = 0
    valid: int = 0
    invalid: int = 0
    blank: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, Any]] = field(default_factory=list)
    erased: Counter[str] = field(default_factory=Counter)
    #: The partitions written, by table (``processed``, ``errors`` or a typed table).
    dts: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, other: Part) -> None:
        """Count another batch in; samples stay the first ``SAMPLE_ERRORS`` by line, in any order."""
        self.lines += other.lines
        self.physical += other.physical
        self.valid += other.valid
        self.invalid += other.invalid
        self.blank += other.blank
        self.codes.update(other.codes)
        self.erased.update(other.erased)
        self.samples = sorted(self.samples + other.samples, key=lambda s: s["line"])
        del self.samples[SAMPLE_ERRORS:]
        for table, dts in other.dts.items():
            self.dts[table] |= dts


class Pipeline:
    """Everything that lives for a whole container: config, AWS session, validator, sinks."""

    def __init__(self, config: Config, session: boto3.Session | None = None) -> None:
        self.config = config
        self.session = config.retrying(session or boto3.Session())
        self.s3 = self.session.client("s3")
        processed = config.tables["processed"]
        self.extras = {c.name: c.type for c in processed.columns if c.name not in STANDARD_COLUMNS}
        self._readers: dict[str, Reader] = {}
        self._sinks: dict[str, Sink] = {}
        self.partitions = partitions_for(config, self.s3)
        self.erasures = Erasures(self.s3, config.processed_bucket, config.manifest_prefix)

    def sink(self, table: str) -> Sink:
        """The writer of one table (``processed``, ``errors``, ``alb_logs``...), made when first
        written."""
        found = self._sinks.get(table)
        if found is None:
            cfg = self.config
            found = Sink(
                cfg.tables[table],
                cfg.glue_database,
                cfg.catalog_name(table),
                self.session,
                SORT_KEYS[table],
            )
            self._sinks[table] = found
        return found

    def reader(self, spec: Source) -> Reader:
        """The validator and bulk path of one source (made once per container)."""
        found = self._readers.get(spec.name)
        if found is None or found.spec != spec:
            cfg, fmt = self.config, FORMATS[spec.format]
            validator: Any
            bulk: Bulk
            if fmt.table != "processed":
                validator, bulk = typed_reader(
                    fmt, cfg.tables[fmt.table], cfg.min_timestamp, cfg.max_future
                )
            else:
                validator = validator_for(
                    spec, self.extras, cfg.rules, cfg.min_timestamp, cfg.max_future
                )
                bulk = fmt.bulk(validator, self.extras)
            found = Reader(spec, validator, bulk, fingerprint(cfg, spec), fmt.table)
            self._readers[spec.name] = found
        return found

    def source_for(self, key: str) -> Source | None:
        """The source that reads ``key`` (``None``: no source reads it)."""
        return self.config.source_for(key)

    def with_session(self, session: boto3.Session) -> Pipeline:
        """The same pipeline on another session (a forked worker must not share connections)."""
        return Pipeline(self.config, session)

    def process_s3(self, bucket: str, key: str) -> Result:
        """Process the current version of ``s3://bucket/key`` (skip it if it is gone)."""
        source = s3_object(self.s3, bucket, key)
        if source is None:
            return Result(f"s3://{bucket}/{key}", "", "missing")
        return self.process(source)

    def remove_s3(self, bucket: str, key: str) -> Result:
        """An object was deleted: if its source says ``on_delete = "remove"``, commit its
        deletion like a version without rows (the head says ``deleted``; its sweep removes the
        old version's rows from every partition), exactly once and only while it is still gone."""
        uri = f"s3://{bucket}/{key}"
        spec = self.source_for(key)
        if spec is None or spec.on_delete != "remove":
            return Result(uri, "", "kept", source=spec.name if spec else "")
        if s3_object(self.s3, bucket, key) is not None:
            return Result(uri, "", "exists", source=spec.name)  # its own notification follows
        reader, cfg = self.reader(spec), self.config
        ledger = Ledger(
            self.s3,
            cfg.processed_bucket,
            cfg.manifest_prefix,
            uri,
            cfg.lease,
            self.partitions.publish,
            reader.fingerprint["digest"],
        )

        def current() -> str:
            found = s3_object(self.s3, bucket, key)
            return DELETED if found is None else found.version

        def work(attempt: Attempt) -> dict[str, Any]:
            fields = Result(uri, DELETED, "deleted").manifest_fields()
            return fields | {
                "deleted": True,
                "deleted_at": iso(now()),
                "source": spec.name,
                "fingerprint": reader.fingerprint,
            }

        outcome, _ = deliver(ledger, DELETED, current, work)
        status = "deleted" if outcome in {"processed", "duplicate"} else "exists"
        return Result(uri, DELETED, status, source=spec.name, format=spec.format)

    def process(
        self, source: SourceObject, dry_run: bool = False, spec: Source | None = None
    ) -> Result:
        """Process one object (read by ``spec``, or the source its key matches); with
        ``dry_run`` validate and count only, writing nothing."""
        started = time.monotonic()
        spec = spec or self.source_for(source.key) or _recognised(source)
        if spec is None:
            return Result(source.uri, source.version, "unmatched")
        reader = self.reader(spec)
        if dry_run:
            total = _Run(self, source, None, spec).consume()
            return _result(source, total, None, "dry_run", started, spec)
        cfg = self.config
        ledger = Ledger(
            self.s3,
            cfg.processed_bucket,
            cfg.manifest_prefix,
            source.uri,
            cfg.lease,
            self.partitions.publish,
            reader.fingerprint["digest"],
        )
        made: list[Result] = []

        def work(attempt: Attempt) -> dict[str, Any]:
            run = _Run(self, source, attempt, spec)
            total = run.consume()
            for table, dts in total.dts.items():
                self.sink(table).register(dts)
            made.append(_result(source, total, attempt, "processed", started, spec))
            fields = made[0].manifest_fields() | run.details()
            return fields | {"source": spec.name, "fingerprint": reader.fingerprint}

        outcome, head = deliver(ledger, source.version, source.current_version, work)
        if outcome == "duplicate":
            return _from_manifest(head.doc or {}, "duplicate", spec)
        result = made[0] if outcome == "processed" else replace(made[0], status=outcome, files=[])
        result.seconds = round(time.monotonic() - started, 3)
        return result


def _recognised(source: SourceObject) -> Source | None:
    """The built-in AWS source an object no glob matched starts like (``sniff.py``)."""
    with source.open() as stream:
        return recognise(stream.read(HEAD_BYTES))


def _result(
    source: SourceObject,
    total: Part,
    attempt: Attempt | None,
    status: str,
    started: float,
    spec: Source,
) -> Result:
    result = Result(
        source_uri=source.uri,
        version=source.version,
        status=status,
        source=spec.name,
        format=spec.format,
        lines_read=total.lines,
        physical_lines=total.physical,
        valid=total.valid,
        invalid=total.invalid,
        blank=total.blank,
        bytes_read=source.size,
        files=sorted(attempt.files) if attempt else [],
        error_counts=dict(sorted(total.codes.items())),
        sample_errors=total.samples,
        erased=dict(sorted(total.erased.items())),
        seconds=round(time.monotonic() - started, 3),
    )
    assert result.lines_read == result.valid + result.invalid + result.blank
    return result


class _Run:
    """One pass over one object: validate every batch and, unless ``attempt`` is None, write it."""

    def __init__(
        self,
        pipe: Pipeline,
        source: SourceObject,
        attempt: Attempt | None,
        spec: Source | None = None,
    ) -> None:
        self.pipe, self.source, self.attempt = pipe, source, attempt
        self.spec = spec or pipe.source_for(source.key) or DEFAULT
        self.dry = attempt is None
        self.ingested_at = datetime.now(UTC).replace(tzinfo=None)
        #: The object's first bytes, decompressed (read before any batch: headers are there).
        self.head = b""
        self.upload_dt = source.last_modified.date().isoformat()
        #: The erasure records known when the attempt started: applied to every row written.
        self.erasures = [] if attempt is None else pipe.erasures.current()

    def details(self) -> dict[str, Any]:
        """Manifest fields about the object and this pass."""
        return {
            "last_modified": self.source.last_modified.isoformat() + "Z",
            "ingested_at": self.ingested_at.isoformat() + "Z",
            "erasures": sorted(e.id for e in self.erasures),
        }

    def consume(self) -> Part:
        cfg = self.pipe.config
        total = Part()
        with self.source.open() as stream, _gc_paused():
            blocks = read_blocks(stream, cfg.read_bytes)
            pieces = decompressed(blocks, cfg.read_bytes, cfg.max_decompressed_bytes)
            split = FORMATS[self.spec.format].split
            if split is not None:  # one document of records: a line per record, streamed
                pieces = split(pieces)
            if self.pipe.reader(self.spec).table != "processed":  # a typed format may need
                first = next(pieces, b"")  # the object's first lines (a header)
                self.head = first[:HEAD_BYTES] if type(first) is bytes else b""
                pieces = itertools.chain([first], pieces)
            cut = batches(
                pieces, cfg.max_line_bytes, cfg.chunk_bytes, cfg.chunk_lines, cfg.chunk_values
            )
            if self.spec.multiline:
                cut = records(cut, self.spec.multiline, self.spec.max_record_lines)
            numbered = enumerate(cut)
            workers = min(cfg.workers, self.source.size // cfg.chunk_bytes)
            if workers > 1:
                preload_pandas()
                parts: Iterator[Part] = fan_out(
                    numbered, workers, self.handle, self.claim, self._reconnect, self.source.uri
                )
            else:
                parts = (self.handle(number, batch, self.claim) for number, batch in numbered)
            for part in parts:
                total.add(part)
        return total

    def _reconnect(self) -> None:
        """In a forked worker: the same pipeline on new connections (never share a client)."""
        self.pipe = self.pipe.with_session(fresh_session(self.pipe.session))

    def claim(self, paths: list[str]) -> None:
        """List files about to be written in the attempt's record, so a crash can't lose them."""
        assert self.attempt is not None
        self.attempt.claim(paths)

    def handle(self, number: int, batch: Batch, claim: Callable[[list[str]], None]) -> Part:
        """Validate one batch and (unless dry) write its files, after ``claim``-ing their names.

        The columnar path decides the lines it can prove valid in bulk; every other line goes
        through the reference validator, in line order (so the first errors are the samples).
        """
        reader = self.pipe.reader(self.spec)
        reader.validator.upload = self.source.last_modified
        reader.validator.refresh_clock()
        if reader.table != "processed":
            reader.validator.start(
                self.source.key, self.head, f"{self.source.uri}#{self.source.version}"
            )
        decided, numbers, found = self._decide(batch)
        rows, row_lines, errors, blank = found
        valid = len(rows) + len(decided.positions)
        many = reader.validator.decode_many is not None  # counts are per record
        part = Part(
            lines=valid + len(errors.lines) + blank if many else batch.count,
            physical=batch.physical,
            valid=valid,
            invalid=len(errors.lines),
            blank=blank,
            codes=errors.codes,
            samples=errors.samples(SAMPLE_ERRORS),
        )
        if not self.dry:
            processed = self._processed(decided, numbers[decided.positions], rows, row_lines)
            self._write(number, processed, errors, claim, part)
        return part

    def _decide(self, batch: Batch) -> tuple[Decided, np.ndarray, Checked]:
        """What the columnar path proved, every line's number, and the reference's verdicts on
        the rest. A batch of lines only goes whole as text (as it was read, or joined)."""
        if batch.text or batch.plain:
            text = batch.text or b"".join(line + b"\n" for line in cast(list[bytes], batch.lines))
            return self._decide_text(batch.first, text)
        texts = [x for x in batch.lines if type(x) is bytes]
        bulk = self.pipe.reader(self.spec).bulk
        decided = bulk.decide(texts) if self.pipe.config.columnar and texts else _none(bulk)
        return decided, *self._check_mixed(batch, _proven(decided, len(texts)))

    def _decide_text(self, first: int, text: bytes) -> tuple[Decided, np.ndarray, Checked]:
        """``_decide`` for lines given as one text: only the lines left over are cut out of it."""
        offsets = line_offsets(text)
        bulk = self.pipe.reader(self.spec).bulk
        on = self.pipe.config.columnar
        decided = bulk.decide_text(text, offsets) if on else _none(bulk)
        rest = np.flatnonzero(~_proven(decided, len(offsets) - 1)).tolist()
        bounds = offsets.tolist()
        numbers = np.arange(first, first + len(offsets) - 1)
        lines = [text[bounds[i] : bounds[i + 1] - 1] for i in rest]
        return decided, numbers, self._check(zip(numbers[rest].tolist(), lines, strict=True))

    def _check(self, numbered: Iterable[tuple[int, Line]]) -> Checked:
        """The reference validator over ``(line number, item)`` pairs, in line order."""
        validator = self.pipe.reader(self.spec).validator
        check, many = validator.check, validator.decode_many is not None
        limit = self.pipe.config.max_line_bytes
        rows: list[Row] = []
        row_lines: list[int] = []
        errors = _Errors()
        blank = 0
        for line_no, line in numbered:
            if type(line) is bytes:
                if many and line:  # a line of many records: each is counted
                    for row in validator.check_many(line) or [None]:
                        blank += self._verdict(row, line, line_no, rows, row_lines, errors)
                    continue
                row = check(line) if line else None
                blank += self._verdict(row, line, line_no, rows, row_lines, errors)
            elif type(line) is Blank:
                blank += line.count
            elif isinstance(line, LongLine):
                detail = f"line is {line.length} bytes, over MAX_LINE_BYTES={limit}"
                errors.add(line.head, Invalid("line_too_long", detail), line_no)
            else:
                assert isinstance(line, Unreadable)
                errors.add(b"", Invalid(line.code, line.detail), line_no)
        return rows, row_lines, errors, blank

    @staticmethod
    def _verdict(
        row: Row | Invalid | None,
        line: bytes,
        line_no: int,
        rows: list[Row],
        row_lines: list[int],
        errors: _Errors,
    ) -> int:
        """File one verdict of the reference; 1 when it was a blank line."""
        if type(row) is tuple:
            rows.append(row)
            row_lines.append(line_no)
            return 0
        if isinstance(row, Invalid):
            errors.add(line, row, line_no)
            return 0
        return 1

    def _check_mixed(self, batch: Batch, fast: np.ndarray) -> tuple[np.ndarray, Checked]:
        """Line numbers of a batch with blank runs, long lines or a read failure, and the
        reference's verdict on every item the columnar path did not prove valid."""
        numbers = np.empty(len(fast), np.int64)
        todo: list[tuple[int, Line]] = []
        line_no, k = batch.first, 0
        for line in batch.lines:
            if type(line) is bytes:
                numbers[k] = line_no
                if not fast[k]:
                    todo.append((line_no, line))
                k += 1
            elif type(line) is Joined:
                line_no += line.count
                continue
            else:
                todo.append((line_no, line))
            line_no += line.count if type(line) is Blank else 1
        return numbers, self._check(todo)

    def _processed(
        self, decided: Decided, fast_lines: np.ndarray, rows: list[Row], row_lines: list[int]
    ) -> pa.Table:
        """The batch's valid rows from both paths with the loglake columns, ordered by event
        time and then line: the order the file is sorted in (``sink.SORT_KEYS``), in one take,
        which rows already in line and time order (most logs, read as one part) do not need."""
        reader = self.pipe.reader(self.spec)
        schema = reader.bulk.schema
        made = rows_table if reader.table == "processed" else typed_rows
        table = pa.concat_tables([decided.table, made(rows, schema)])
        lines = np.concatenate([fast_lines, np.asarray(row_lines, np.int64)])
        times = table.column("event_time").to_numpy()
        if np.any(times[1:] < times[:-1]) or np.any(lines[1:] < lines[:-1]):
            order = np.lexsort((lines, times))
            table, lines = table.take(pa.array(order)), lines[order]
        n = len(lines)
        uri = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), [self.source.uri])
        ingested = np.full(n, np.datetime64(self.ingested_at, "us"))
        return (
            table.append_column("source_uri", uri.cast(pa.string()))
            .append_column("source_line", pa.array(lines))
            .append_column("ingested_at", pa.array(ingested))
        )

    def _write(
        self,
        number: int,
        processed: pa.Table,
        errors: _Errors,
        claim: Callable[[list[str]], None],
        part: Part,
    ) -> None:
        assert self.attempt is not None
        pipe, name = self.pipe, f"{self.attempt.id}-{number:05d}"
        target = pipe.reader(self.spec).table
        outputs: list[tuple[Sink, str, str, pa.Table]] = []
        if processed.num_rows:  # sorted by time: each day is one slice
            days = processed.column("event_time").to_numpy().astype("datetime64[D]")
            starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
            for start, stop in zip(starts, [*starts[1:], len(days)], strict=True):
                rows = processed.slice(start, stop - start)
                outputs.append((pipe.sink(target), target, str(days[start]), rows))
        if errors.lines:
            columns = errors.columns(self.source.uri, self.ingested_at)
            columns["target_table"] = [pipe.config.catalog_name(target)] * len(errors.lines)
            outputs.append((pipe.sink("errors"), "errors", self.upload_dt, pa.table(columns)))
        outputs = self._erase(outputs, part)
        if not outputs:
            return
        planned = [sink.path(dt, name) for sink, _, dt, _ in outputs]
        claim(planned)
        for (sink, table, dt, rows), path in zip(outputs, planned, strict=True):
            sink.write(path, rows)
            part.dts[table].add(dt)

    def _erase(
        self, outputs: list[tuple[Sink, str, str, pa.Table]], part: Part
    ) -> list[tuple[Sink, str, str, pa.Table]]:
        """The outputs without the rows erasure records remove (a replay brings none back)."""
        if not self.erasures:
            return outputs
        kept = []
        for sink, table, dt, rows in outputs:
            rows, erased = apply(self.erasures, table, dt, rows)
            if erased:
                part.erased[table] += erased
            if rows.num_rows:
                kept.append((sink, table, dt, rows))
        return kept


#: The reference validator's verdicts: rows, their line numbers, error rows, blank lines.
Checked = tuple[list[Row], list[int], "_Errors", int]


class _Errors:
    """Column buffers of the invalid lines of one batch."""

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.codes: Counter[str] = Counter()
        self.code: list[str] = []
        self.detail: list[str] = []
        self.lines: list[int] = []

    def add(self, raw: bytes, why: Invalid, line_no: int) -> None:
        self.raw.append(raw[:RAW_LINE_CAP].removesuffix(b"\r").decode("utf-8", "replace"))
        self.code.append(why.code)
        self.detail.append(why.detail)
        self.codes[why.code] += 1
        self.lines.append(line_no)

    def samples(self, limit: int) -> list[dict[str, Any]]:
        return [
            {"line": n, "code": c, "detail": d}
            for n, c, d in zip(self.lines[:limit], self.code, self.detail, strict=False)
        ]

    def columns(self, uri: str, ingested_at: datetime) -> dict[str, list[Any]]:
        n = len(self.lines)
        return {
            "raw_line": self.raw,
            "error_code": self.code,
            "error_detail": self.detail,
            "source_uri": [uri] * n,
            "source_line": self.lines,
            "ingested_at": [ingested_at] * n,
        }


def _proven(decided: Decided, count: int) -> np.ndarray:
    """Which of ``count`` lines the columnar path proved valid."""
    fast = np.zeros(count, bool)
    fast[decided.positions] = True
    return fast


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small rows are alive.

    The rows hold no reference cycles (reference counting frees them), but each collection would
    walk every live row: with it running, half the time went to the collector.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _from_manifest(doc: dict[str, Any], status: str, spec: Source) -> Result:
    known = Result.__dataclass_fields__
    values = {k: v for k, v in doc.items() if k in known and k not in {"status", "sample_errors"}}
    values.setdefault("source", spec.name)
    values.setdefault("format", spec.format)
    return Result(status=status, **values)


@dataclass(frozen=True)
class Reader:
    """How one source's objects are read: its validator (the reference), its format's bulk
    path, and the fingerprint of the rows they make."""

    spec: Source
    validator: Any  # a Validator, or a TypedValidator for a typed table
    bulk: Bulk
    fingerprint: dict[str, Any]
    #: The table its rows go to (``processed`` or a typed table).
    table: str = "processed"


def _none(bulk: Bulk) -> Decided:
    """Nothing decided in bulk (``COLUMNAR=off``, or no lines)."""
    return Decided(np.empty(0, np.int64), bulk.schema.empty_table())

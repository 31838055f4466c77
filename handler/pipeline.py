"""Process one raw object: stream, validate, write both tables, record the manifest.

Exactly-once effect without locks: output names are derived from (object, version, batch,
partition), so two deliveries of the same version write the same files; a manifest per object
says which files belong to it, so files of an interrupted attempt or of an older version are
deleted after the new ones are in place. Counts always balance: lines read = valid + invalid +
blank, recorded in the manifest.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import numpy as np
import pandas as pd

from .config import Config
from .exceptions import ObjectChangedError
from .manifest import COMPLETE, IN_PROGRESS, manifest_key, read_manifest, write_manifest
from .parse import RAW_LINE_CAP, Batch, LongLine, Unreadable, batches, decompressed, read_blocks
from .sink import Sink
from .source import SourceObject, s3_object, split_s3_uri
from .validate import STANDARD_COLUMNS, Invalid, Row, Validator
from .workers import fan_out

SAMPLE_ERRORS = 10


@dataclass
class Result:
    """What happened to one object; also the body of its manifest and of its log line."""

    source_uri: str
    version: str
    status: str  # processed | duplicate | missing | dry_run
    lines_read: int = 0
    valid: int = 0
    invalid: int = 0
    blank: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    error_counts: dict[str, int] = field(default_factory=dict)
    sample_errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


@dataclass
class Part:
    """What one batch gave (counts, its first errors, its partitions), or the sum of several.

    Worker processes send one per batch back to the parent, which adds them up.
    """

    lines: int = 0
    valid: int = 0
    invalid: int = 0
    blank: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, Any]] = field(default_factory=list)
    dts: dict[str, set[str]] = field(default_factory=lambda: {"processed": set(), "errors": set()})

    def add(self, other: Part) -> None:
        """Count another batch in; samples stay the first ``SAMPLE_ERRORS`` by line, in any order."""
        self.lines += other.lines
        self.valid += other.valid
        self.invalid += other.invalid
        self.blank += other.blank
        self.codes.update(other.codes)
        self.samples = sorted(self.samples + other.samples, key=lambda s: s["line"])
        del self.samples[SAMPLE_ERRORS:]
        for table, dts in other.dts.items():
            self.dts[table] |= dts


class Pipeline:
    """Everything that lives for a whole container: config, AWS session, validator, sinks."""

    def __init__(self, config: Config, session: boto3.Session | None = None) -> None:
        self.config = config
        self.session = session or boto3.Session()
        self.s3 = self.session.client("s3")
        processed = config.tables["processed"]
        extras = {c.name: c.type for c in processed.columns if c.name not in STANDARD_COLUMNS}
        self.validator = Validator(extras, config.rules, config.min_timestamp, config.max_future)
        self.extra_names = tuple(extras)
        db = config.glue_database
        self.processed = Sink(processed, db, config.processed_table, self.session)
        self.errors = Sink(config.tables["errors"], db, config.errors_table, self.session)

    def with_session(self, session: boto3.Session) -> Pipeline:
        """The same pipeline on another session (a forked worker must not share connections)."""
        return Pipeline(self.config, session)

    def process_s3(self, bucket: str, key: str) -> Result:
        """Process the current version of ``s3://bucket/key`` (skip it if it is gone)."""
        source = s3_object(self.s3, bucket, key)
        if source is None:
            return Result(f"s3://{bucket}/{key}", "", "missing")
        return self.process(source)

    def process(self, source: SourceObject, dry_run: bool = False) -> Result:
        """Process one object; with ``dry_run`` validate and count only, writing nothing."""
        started = time.monotonic()
        bucket = self.config.processed_bucket
        mkey = manifest_key(self.config.manifest_prefix, source.uri)
        previous = None if dry_run else read_manifest(self.s3, bucket, mkey)
        if (
            previous
            and previous.get("status") == COMPLETE
            and previous.get("version") == source.version
        ):
            return _from_manifest(previous, "duplicate")
        stale = set(previous.get("files", []) + previous.get("stale", [])) if previous else set()
        run = _Run(self, source, mkey, stale, dry_run)
        total = run.consume()
        result = Result(
            source_uri=source.uri,
            version=source.version,
            status="dry_run" if dry_run else "processed",
            lines_read=total.lines,
            valid=total.valid,
            invalid=total.invalid,
            blank=total.blank,
            bytes_read=source.size,
            files=sorted(run.claimed),
            error_counts=dict(sorted(total.codes.items())),
            sample_errors=total.samples,
        )
        assert result.lines_read == result.valid + result.invalid + result.blank
        result.seconds = round(time.monotonic() - started, 3)
        if not dry_run:
            run.finish(result, total.dts)
            result.seconds = round(time.monotonic() - started, 3)
        return result


class _Run:
    """One attempt at one object."""

    def __init__(self, pipe: Pipeline, source: SourceObject, mkey: str, stale: set[str], dry: bool):
        self.pipe, self.source, self.mkey, self.stale, self.dry = pipe, source, mkey, stale, dry
        #: Every file this attempt will write, listed in the manifest before it is written.
        self.claimed: list[str] = []
        self.ingested_at = datetime.now(UTC).replace(tzinfo=None)
        self.stem = hashlib.sha256(f"{source.uri}\n{source.version}".encode()).hexdigest()[:24]
        self.upload_dt = source.last_modified.date().isoformat()

    def consume(self) -> Part:
        cfg = self.pipe.config
        total = Part()
        with self.source.open() as stream, _gc_paused():
            pieces = decompressed(read_blocks(stream, cfg.read_bytes), cfg.read_bytes)
            numbered = enumerate(batches(pieces, cfg.max_line_bytes, cfg.chunk_bytes))
            workers = min(cfg.workers, self.source.size // cfg.chunk_bytes)
            if workers > 1:
                parts: Iterator[Part] = fan_out(self, numbered, workers)
            else:
                parts = (self.handle(number, batch, self.claim) for number, batch in numbered)
            for part in parts:
                total.add(part)
        return total

    def claim(self, paths: list[str]) -> None:
        """Record files about to be written in the in-progress manifest, so a crash can't lose them."""
        self.claimed.extend(p for p in paths if p not in self.claimed)
        self._save_manifest(IN_PROGRESS, files=self.claimed)

    def handle(self, number: int, batch: Batch, claim: Callable[[list[str]], None]) -> Part:
        """Validate one batch and (unless dry) write its files, after ``claim``-ing their names."""
        validator = self.pipe.validator
        validator.refresh_clock()
        check = validator.check
        rows: list[Row] = []
        row_lines: list[int] = []
        errors = _Errors()
        blank = 0
        for line_no, line in enumerate(batch.lines, batch.first):
            if type(line) is bytes:
                row = check(line)
                if type(row) is tuple:
                    rows.append(row)
                    row_lines.append(line_no)
                elif isinstance(row, Invalid):
                    errors.add(line, row, line_no)
                else:
                    blank += 1
            elif isinstance(line, LongLine):
                limit = self.pipe.config.max_line_bytes
                detail = f"line is {line.length} bytes, over MAX_LINE_BYTES={limit}"
                errors.add(line.head, Invalid("line_too_long", detail), line_no)
            else:
                assert isinstance(line, Unreadable)
                errors.add(b"", Invalid("invalid_gzip", line.detail), line_no)
        part = Part(
            lines=len(batch.lines),
            valid=len(rows),
            invalid=len(errors.lines),
            blank=blank,
            codes=errors.codes,
            samples=errors.samples(SAMPLE_ERRORS),
        )
        if not self.dry:
            self._write(number, self._processed_frame(rows, row_lines), errors, claim, part)
        return part

    def _processed_frame(self, rows: list[Row], row_lines: list[int]) -> pd.DataFrame:
        """The batch's valid rows as columns (one transpose in C, not one append per value)."""
        if not rows:
            return pd.DataFrame()
        event_time, level, message, attributes, extras = zip(*rows, strict=True)
        n = len(rows)
        columns: dict[str, Any] = {
            "event_time": pd.array(event_time, dtype="datetime64[us]"),
            "level": level,
            "message": message,
            "attributes": attributes,
            "source_uri": [self.source.uri] * n,
            "source_line": row_lines,
            "ingested_at": pd.array([self.ingested_at] * n, dtype="datetime64[us]"),
        }
        names = self.pipe.extra_names
        if names:
            for name, values in zip(names, zip(*extras, strict=True), strict=True):
                columns[name] = values
        return pd.DataFrame(columns)

    def _write(
        self,
        number: int,
        processed: pd.DataFrame,
        errors: _Errors,
        claim: Callable[[list[str]], None],
        part: Part,
    ) -> None:
        pipe, name = self.pipe, f"{self.stem}-{number:05d}"
        outputs: list[tuple[Sink, str, str, pd.DataFrame]] = []
        if len(processed):
            days = processed["event_time"].to_numpy().astype("datetime64[D]")
            for day in np.unique(days):
                outputs.append((pipe.processed, "processed", str(day), processed[days == day]))
        if errors.lines:
            frame = pd.DataFrame(errors.columns(self.source.uri, self.ingested_at))
            outputs.append((pipe.errors, "errors", self.upload_dt, frame))
        if not outputs:
            return
        planned = [sink.path(dt, name) for sink, _, dt, _ in outputs]
        claim(planned)
        for (sink, table, dt, frame), path in zip(outputs, planned, strict=True):
            sink.write(path, frame)
            part.dts[table].add(dt)

    def finish(self, result: Result, dts: dict[str, set[str]]) -> None:
        """Register the partitions written, then mark the manifest complete and drop stale files."""
        pipe = self.pipe
        pipe.processed.register(dts["processed"])
        pipe.errors.register(dts["errors"])
        if self.source.uri.startswith("s3://"):
            now = s3_object(pipe.s3, *split_s3_uri(self.source.uri))
            if now is None or now.version != self.source.version:
                raise ObjectChangedError(
                    f"{self.source.uri} changed while it was processed; retrying reads the new bytes"
                )
        doc = result.as_dict()
        for key in ("sample_errors", "status", "source_uri", "version"):
            doc.pop(key)
        self._save_manifest(COMPLETE, **doc)
        pipe.processed.delete(sorted(self.stale - set(self.claimed)))

    def _save_manifest(self, status: str, **fields: Any) -> None:
        doc = {
            "source_uri": self.source.uri,
            "version": self.source.version,
            "last_modified": self.source.last_modified.isoformat() + "Z",
            "ingested_at": self.ingested_at.isoformat() + "Z",
            "stale": sorted(self.stale - set(self.claimed)) if status == IN_PROGRESS else [],
            **fields,
            "status": status,
        }
        cfg = self.pipe.config
        write_manifest(self.pipe.s3, cfg.processed_bucket, self.mkey, doc)


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


def _from_manifest(doc: dict[str, Any], status: str) -> Result:
    known = Result.__dataclass_fields__
    values = {k: v for k, v in doc.items() if k in known and k not in {"status", "sample_errors"}}
    return Result(status=status, **values)

"""Retention: a table forgets whole partitions older than its ``'loglake.retention_days'``.

A partition whose ``dt`` is more than its table's retention ago is **expired** in one conditional
write of its record (``partition.py``): every file it showed goes to the trash, the record keeps
what it held (files, rows by attempt, bytes) under ``expired``, and the manifest follows, so
readers stop seeing it at once. The files are deleted once the reader grace has passed (the
trash); then the partition's manifest and its Glue partition go. An expired record stays: it is
what keeps a replayed object (``reprocess``, a redelivery, a re-upload) from showing rows for the
day again, and what ``status`` subtracts. Files the record showed that are gone (a lifecycle rule
or a delete outside loglake) are recorded as ``vanished`` instead of failing every later step.
Steps, states and why every interleaving converges: ``docs/lifecycle.md``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import boto3
import pyarrow.parquet as pq

from .config import Config
from .objects import iso, now
from .partition import Partitions, Record, add_counts, by_attempt, partitions_for, vanished_entry

#: Files read at once to count the rows of a partition being expired.
READERS = 8


@dataclass(frozen=True)
class RetentionOptions:
    """What ``loglake retention apply`` (or the scheduled run) asks for."""

    tables: tuple[str, ...] | None = None  # None: every table
    dry_run: bool = False
    today: date | None = None  # None: today, UTC


@dataclass
class Expiry:
    """What retention did to one partition (one line of the command's output)."""

    table: str
    dt: str
    outcome: str  # expired | dry_run | removed | waiting | vanished
    files: int = 0
    rows: int = 0
    bytes: int = 0
    vanished: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cutoffs(config: Config, today: date | None = None) -> dict[str, str]:
    """Table -> its oldest day kept: every partition before it is expired (tables with a
    retention only)."""
    today = today or now().date()
    return {
        name: (today - timedelta(days=table.retention_days)).isoformat()
        for name, table in config.tables.items()
        if table.retention_days
    }


def apply_retention(
    config: Config,
    session: boto3.Session,
    options: RetentionOptions,
    progress: Callable[[int, int, Expiry], None] | None = None,
    out_of_time: Callable[[], bool] = lambda: False,
) -> list[Expiry]:
    """Expire every partition past its table's retention, and record files that vanished from
    the others; report each partition that changed (or would)."""
    s3 = config.retrying(session).client("s3")
    parts = partitions_for(config, s3)
    keep = cutoffs(config, options.today)
    chosen = [
        (table, dt) for table in options.tables or tuple(config.tables) for dt in parts.days(table)
    ]
    expirer = Expirer(parts, session.client("glue"), config)
    results = []
    for number, (table, dt) in enumerate(chosen, 1):
        if out_of_time():
            break
        if table in keep and dt < keep[table]:
            result = expirer.expire(table, dt, options.dry_run)
        else:
            result = expirer.reconcile(table, dt, options.dry_run)
        if result is not None:
            results.append(result)
            if progress:
                progress(number, len(chosen), result)
    return results


class Expirer:
    """Expires and reconciles the partitions of one lake."""

    def __init__(self, parts: Partitions, glue: Any, config: Config) -> None:
        self.parts, self.glue, self.config = parts, glue, config

    def expire(self, table: str, dt: str, dry_run: bool) -> Expiry | None:
        """Expire one partition, or carry an expiry on (its trash purged, then its manifest
        and Glue partition removed)."""
        started = time.monotonic()
        record = self.parts.read(table, dt)
        if record.expired:
            return None if dry_run else self._finish(record, started)
        if dry_run:
            files, counts, size, gone = self._contents(record)
            rows = sum(n for by in counts.values() for n in by.values())
            return Expiry(table, dt, "dry_run", len(files), rows, size, len(gone))
        done: list[Expiry] = []

        def edit(record: Record) -> tuple[dict[str, Any] | None, list[str]]:
            done.clear()
            if record.expired:
                return None, []
            files, counts, size, gone = self._contents(record)
            rows = sum(n for by in counts.values() for n in by.values())
            done.append(Expiry(table, dt, "expired", len(files), rows, size, len(gone)))
            doc = dict(record.doc, live={}, compacted={}, trash=record.dropping(files))
            doc["expired"] = {"at": iso(now()), "files": len(files), "rows": rows, "bytes": size}
            doc["removed"] = record.removing("expired", counts)
            doc["vanished"] = record.vanished | gone
            return doc, []

        record = self.parts.change(table, dt, edit)
        result = done[0] if done else Expiry(table, dt, "expired")
        if (self._finish(record, started) or result).outcome == "removed":
            result.outcome = "removed"  # nothing to wait for: no file was left to show
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def _contents(
        self, record: Record
    ) -> tuple[list[str], dict[str, dict[str, int]], int, dict[str, dict[str, Any]]]:
        """The visible files still there, their rows by attempt, their bytes, and the visible
        files that are gone (as ``vanished`` entries). Listed after the record was read: a file
        it shows was written before, so one missing from the listing was deleted."""
        present = self.parts.present(record.table, record.dt)
        there = [u for u in record.visible if u in present]
        entries: dict[str, Any] = record.live | record.compacted
        gone = {u: vanished_entry(entries[u]) for u in record.visible if u not in present}
        with ThreadPoolExecutor(READERS) as pool:
            found = list(pool.map(self._attempts, there))
        counts: dict[str, dict[str, int]] = {}
        for by in found:
            counts = add_counts(counts, by)
        return there, counts, sum(present[u] for u in there), gone

    def _attempts(self, uri: str) -> dict[str, dict[str, int]]:
        got = self.parts.get(self.parts.key(uri))
        if got is None:
            return {}
        columns = ["source_uri", "ingested_at", "source_line"]
        return by_attempt(pq.read_table(io.BytesIO(got[0]), columns=columns))

    def _finish(self, record: Record, started: float) -> Expiry | None:
        """After the grace: the trash purged by ``sync``/``purge``; once it is empty, the
        manifest and the Glue partition go (readers listing the day find nothing either way)."""
        table, dt = record.table, record.dt
        expired = record.expired or {}
        if expired.get("removed_at") and not record.trash:
            return None  # done on an earlier run
        record = self.parts.purge(table, dt, self.parts.sync(table, dt), record)
        if record.trash:
            return Expiry(table, dt, "waiting", len(record.trash))
        self.parts.delete([self.parts.manifest_key(table, dt)])
        self.glue_forget(table, dt)
        expired = dict(expired, removed_at=iso(now()))
        record = self.parts.read(table, dt)
        self.parts.replace(record, dict(record.doc, expired=expired))  # lost: the next run again
        return Expiry(
            table,
            dt,
            "removed",
            expired.get("files", 0),
            expired.get("rows", 0),
            expired.get("bytes", 0),
            seconds=round(time.monotonic() - started, 3),
        )

    def glue_forget(self, table: str, dt: str) -> None:
        """Delete the day's Glue partition (gone already is fine)."""
        self.glue.batch_delete_partition(
            DatabaseName=self.config.glue_database,
            TableName=self.config.catalog_name(table),
            PartitionsToDelete=[{"Values": [dt]}],
        )

    def reconcile(self, table: str, dt: str, dry_run: bool) -> Expiry | None:
        """Record the files the partition shows that were deleted outside loglake as
        ``vanished`` (no longer shown, so queries and compaction work again); ``None`` when
        none are."""
        record = self.parts.read(table, dt)
        present = self.parts.present(table, dt)
        if all(u in present for u in record.visible):
            return None
        if dry_run:
            gone = [u for u in record.visible if u not in present]
            return Expiry(table, dt, "vanished", vanished=len(gone))
        gone = self.parts.reconcile(table, dt)
        return Expiry(table, dt, "vanished", vanished=len(gone)) if gone else None

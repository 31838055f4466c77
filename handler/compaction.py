"""Compaction: merge a partition's small files into a few big ones, exactly once.

A log shipper uploads an object a minute; each becomes a file per table and day, and Athena slows
with the file count, not the data size. Compaction rewrites the files of completed objects in a
partition into as few files as the target size allows (same encoding as fresh files), checks the
rows (count and a checksum of ``source_uri, source_line``) before anything is removed, records
which files went where in the partition's record (``partition.py``), and only then swaps the
files. No lock: a claim in the record is a conditional write, and a dead compaction's claim is
taken over after the lease. Steps, states and why every interleaving converges:
``docs/compaction.md``.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .config import Config
from .exceptions import CompactionError
from .ledger import MAX_TRIES, _pause
from .manifest import COMPLETE, manifest_key, read_json
from .objects import iso, now
from .parquet import arrow_schema, conform, encode
from .partition import (
    BUILDING,
    INSTALLING,
    Record,
    lease_expired,
    partitions_for,
)
from .sink import SORT_KEYS

MB = 1_000_000
#: A compacted file at least this share of the target is full: left alone.
FULL_SHARE = 0.75


TAKEN_OVER = "another run took this partition over; nothing was changed"


class _TakenOver(Exception):
    """Another run took the partition over (this one was idle past the lease)."""


@dataclass(frozen=True)
class CompactOptions:
    """What ``loglake compact`` (or the scheduled event) asks for."""

    tables: tuple[str, ...] = ("processed", "errors")
    since: str | None = None  # first day, inclusive (YYYY-MM-DD)
    until: str | None = None  # last day, inclusive
    min_age: timedelta = timedelta(hours=6)
    target_bytes: int = 256 * MB
    dry_run: bool = False


@dataclass
class PartitionResult:
    """What compaction did to one partition (one line of the command's output)."""

    table: str
    dt: str
    outcome: str  # compacted | dry_run | skipped | aborted
    reason: str = ""
    files_before: int = 0
    files_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    rows: int = 0
    seconds: float = 0.0
    swap_seconds: float = 0.0  # outputs and inputs both visible to readers

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compact_lake(
    config: Config,
    session: boto3.Session,
    options: CompactOptions,
    progress: Callable[[int, int, PartitionResult], None] | None = None,
    out_of_time: Callable[[], bool] = lambda: False,
) -> list[PartitionResult]:
    """Compact every partition of the chosen tables and days; report each as it is done.

    ``out_of_time`` is asked before each partition (a Lambda invocation has 15 minutes).
    """
    compactor = Compactor(config, config.retrying(session).client("s3"))
    chosen = [
        (table, dt)
        for table in options.tables
        for dt in compactor.days(table)
        if (options.since is None or dt >= options.since)
        and (options.until is None or dt <= options.until)
    ]
    results = []
    for number, (table, dt) in enumerate(chosen, 1):
        if out_of_time():
            break
        result = compactor.compact(table, dt, options)
        results.append(result)
        if progress:
            progress(number, len(chosen), result)
    return results


@dataclass
class _Build:
    """The outputs of one compaction, built and checked in staging, not yet recorded."""

    id: str
    snapshot: dict[str, dict[str, Any]]  # the compacted inputs' record entries as claimed
    used: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # final uri -> staging uri
    bodies: dict[str, bytes] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: int = 0


class Compactor:
    """Compacts partitions of one lake."""

    def __init__(self, config: Config, s3: Any) -> None:
        self.config, self.s3 = config, s3
        self.parts = partitions_for(config, s3)
        self.lease = config.lease

    def days(self, table: str) -> list[str]:
        """The days that have a partition folder in ``table``'s location."""
        location = self.parts.locations[table]
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.parts.bucket, Prefix=f"{location}dt=", Delimiter="/"
        )
        found = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
        return sorted(p[len(location) + 3 :].rstrip("/") for p in found)

    def compact(self, table: str, dt: str, options: CompactOptions) -> PartitionResult:
        """Compact one partition, or say why not."""
        started = time.monotonic()
        result = PartitionResult(table, dt, "skipped")
        for _ in range(MAX_TRIES):
            listing, newest = self._files(table, dt)
            record = self.parts.read(table, dt)
            result.files_before = result.files_after = len(listing)
            result.bytes_before = result.bytes_after = sum(listing.values())
            blocked = self._settle(record, options.dry_run)
            if blocked == "again":
                continue
            if blocked:
                result.reason = blocked
                break
            plan = self._plan(record, listing, newest, options)
            if isinstance(plan, str):
                result.reason = plan
                break
            if options.dry_run:
                result.outcome, result.files_after = "dry_run", len(listing) - sum(map(len, plan))
                result.files_after += len(plan)
                break
            claimed = self._claim(record, [u for group in plan for u in group])
            if claimed is None:
                result.reason = "another compaction of this partition is running"
                break
            self._run(claimed, plan, listing, result)
            break
        result.seconds = round(time.monotonic() - started, 3)
        return result

    # -- the steps --------------------------------------------------------------------------
    def _files(self, table: str, dt: str) -> tuple[dict[str, int], datetime | None]:
        """The partition's Parquet files (URI -> size) and when the newest one arrived."""
        prefix = f"{self.parts.locations[table]}dt={dt}/"
        items = self.parts.listing(prefix)
        newest = max((item["LastModified"] for item in items), default=None)
        files = {
            self.parts.uri(item["Key"]): int(item["Size"])
            for item in items
            if item["Key"].endswith(".parquet")
        }
        return files, newest

    def _settle(self, record: Record, dry_run: bool) -> str:
        """Deal with a pending compaction first: ``""`` to go on, ``"again"``, or why not."""
        pending = record.pending
        if not pending:
            return ""
        if pending["phase"] == INSTALLING:
            if dry_run:
                return "a compaction is being installed"
            self.parts.install(record)
            return "again"
        if not lease_expired(pending, self.lease):
            return (
                f"another compaction of this partition is running (since {pending['claimed_at']})"
            )
        if dry_run:
            return f"a compaction that stopped at {pending['claimed_at']} will be cleaned up"
        self._abandon(record)
        return "again"

    def _plan(
        self,
        record: Record,
        listing: dict[str, int],
        newest: datetime | None,
        options: CompactOptions,
    ) -> list[list[str]] | str:
        """Groups of input files, one per output file, or why there is nothing to do."""
        if not listing:
            return "no files"
        age = now() - newest.replace(tzinfo=None) if newest else timedelta(0)
        if age < options.min_age:
            hours = options.min_age.total_seconds() / 3600
            return f"received a file {_duration(age)} ago (--min-age {hours:g} h)"
        full = {
            u for u in record.compacted if listing.get(u, 0) >= FULL_SHARE * options.target_bytes
        }
        candidates = sorted(u for u in listing if u not in full)
        if len(candidates) < 2:
            return "nothing to merge"
        groups: list[list[str]] = [[]]
        size = 0
        for uri in candidates:
            if groups[-1] and size + listing[uri] > options.target_bytes:
                groups.append([])
                size = 0
            groups[-1].append(uri)
            size += listing[uri]
        merges = [g for g in groups if len(g) > 1]
        return merges or "nothing to merge"

    def _claim(self, record: Record, inputs: list[str]) -> Record | None:
        """Write this compaction's claim; ``None`` when another one claimed the partition first."""
        pending = {
            "id": f"{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
            "phase": BUILDING,
            "claimed_at": iso(now()),
            "inputs": inputs,
        }
        if not self.parts.replace(record, dict(record.doc, pending=pending)):
            return None
        claimed = self.parts.read(record.table, record.dt)
        return claimed if (claimed.pending or {}).get("id") == pending["id"] else None

    def _run(
        self,
        claimed: Record,
        plan: list[list[str]],
        listing: dict[str, int],
        result: PartitionResult,
    ) -> None:
        pending = claimed.pending
        assert pending is not None
        build = _Build(
            pending["id"],
            {u: claimed.compacted[u] for u in pending["inputs"] if u in claimed.compacted},
        )
        try:
            for number, group in enumerate(plan):
                self._build_one(claimed, build, number, group)
        except _TakenOver:
            self._drop_staging(claimed.table, claimed.dt, build.id)
            result.outcome, result.reason = "aborted", TAKEN_OVER
            return
        except BaseException:
            self._abandon(self.parts.read(claimed.table, claimed.dt), build.id)
            raise
        if not build.outputs:
            self._abandon(self.parts.read(claimed.table, claimed.dt), build.id)
            result.reason = "no completed objects to merge"
            return
        summary: dict[str, Any] = {
            "at": iso(now()),
            "files_before": len(listing),
            "files_after": len(listing) - len(build.used) + len(build.outputs),
            "bytes_before": sum(listing.values()),
            "bytes_after": sum(listing.values())
            - sum(listing[u] for u in build.used)
            + sum(map(len, build.bodies.values())),
            "rows": build.rows,
        }
        reason = self._record(claimed, build, summary)
        if reason:
            result.outcome, result.reason = "aborted", reason
            return
        result.swap_seconds = self._install(claimed.table, claimed.dt, build)
        result.outcome = "compacted"
        result.files_after, result.bytes_after = summary["files_after"], summary["bytes_after"]
        result.rows = build.rows

    def _build_one(self, claimed: Record, build: _Build, number: int, group: list[str]) -> None:
        """Merge one group into a staged file; check its rows against the inputs'."""
        schema = arrow_schema(self.config.tables[claimed.table].types)
        inputs, members = [], {}
        used = []
        for uri in group:
            got = self.parts.get(self.parts.key(uri))
            if got is None:  # removed since the listing (a sweep): not ours to merge
                continue
            table = conform(pq.read_table(io.BytesIO(got[0])), schema)
            if uri in build.snapshot:
                members.update(build.snapshot[uri]["members"])
            else:
                owner = self._owner(table, uri)
                if owner is None:  # an object in progress, a crashed attempt, a replaced file
                    continue
                members[uri] = owner
            inputs.append(table)
            used.append(uri)
        if len(used) < 2:
            return
        merged = pa.concat_tables(inputs)
        body = encode(merged, SORT_KEYS[claimed.table])
        staging = (
            self.parts.staging_prefix(claimed.table, claimed.dt, build.id) + f"{number:03d}.parquet"
        )
        self.s3.put_object(Bucket=self.parts.bucket, Key=staging, Body=body)
        stored = self.parts.get(staging)
        if stored is None:
            raise _TakenOver  # a run that took the partition over removed it
        if _fingerprint(pq.read_table(io.BytesIO(stored[0]))) != _fingerprint(merged):
            raise CompactionError(
                f"{claimed.table} dt={claimed.dt}: the merged file does not hold exactly the rows "
                "of its inputs; nothing was changed"
            )
        location = self.parts.locations[claimed.table]
        final = self.parts.uri(f"{location}dt={claimed.dt}/c-{build.id}-{number:03d}.parquet")
        build.used += used
        build.outputs[final] = self.parts.uri(staging)
        build.bodies[final] = body
        build.entries[final] = {"members": members, "rows": merged.num_rows, "bytes": len(body)}
        build.rows += merged.num_rows

    def _owner(self, table: pa.Table, uri: str) -> list[str] | None:
        """``[source_uri, ingested_at]`` of a file its object's complete manifest lists, else None."""
        sources = table.column("source_uri").unique().to_pylist()
        stamps = table.column("ingested_at").unique().to_pylist()
        if len(sources) != 1 or len(stamps) != 1:
            return None
        key = manifest_key(self.config.manifest_prefix, sources[0])
        found = read_json(self.s3, self.parts.bucket, key)
        if found is None or found[0].get("status") != COMPLETE or uri not in found[0]["files"]:
            return None
        return [sources[0], iso(stamps[0])]

    def _record(self, claimed: Record, build: _Build, summary: dict[str, Any]) -> str:
        """Record where the rows went (conditionally); a reason if the compaction must stop."""
        for _ in range(MAX_TRIES):
            record = self.parts.read(claimed.table, claimed.dt)
            if (record.pending or {}).get("id") != build.id:
                self._drop_staging(claimed.table, claimed.dt, build.id)
                return TAKEN_OVER
            touched = set(build.used) | {m for e in build.snapshot.values() for m in e["members"]}
            changed = any(record.compacted.get(u) != e for u, e in build.snapshot.items())
            if touched & set(record.doc.get("removals", [])) or changed:
                self._abandon(record, build.id)
                return (
                    "an object in it was replaced meanwhile; nothing was changed, run compact again"
                )
            compacted = {u: e for u, e in record.compacted.items() if u not in build.snapshot}
            pending = dict(
                record.pending or {},
                phase=INSTALLING,
                inputs=build.used,
                outputs=build.outputs,
                summary=summary,
            )
            doc = dict(record.doc, compacted=compacted | build.entries, pending=pending)
            if self.parts.replace(record, doc):
                return ""
            _pause()
        raise CompactionError(f"{claimed.table} dt={claimed.dt}: its record kept changing")

    def _install(self, table: str, dt: str, build: _Build) -> float:
        """Swap the files: outputs in place, then the inputs deleted right after.

        Returns how long both were visible (0 if someone else finished the install).
        """
        for _ in range(MAX_TRIES):
            record = self.parts.read(table, dt)
            pending = record.pending
            if not pending or pending["id"] != build.id:
                return 0.0  # someone finished it
            if self.parts.install(record, build.bodies):
                return self.parts.swap_seconds
            _pause()
        raise CompactionError(f"{table} dt={dt}: its record kept changing while installing")

    def _abandon(self, record: Record, compaction: str | None = None) -> None:
        """Drop a compaction that will not be recorded: its staged files, then its claim."""
        pending = record.pending
        if not pending or (compaction and pending["id"] != compaction):
            if compaction:
                self._drop_staging(record.table, record.dt, compaction)
            return
        self._drop_staging(record.table, record.dt, pending["id"])
        doc = {k: v for k, v in record.doc.items() if k not in {"pending", "removals"}}
        self.parts.replace(record, doc)  # lost a race: the next run looks again

    def _drop_staging(self, table: str, dt: str, compaction: str) -> None:
        prefix = self.parts.staging_prefix(table, dt, compaction)
        self.parts.delete(self.parts.list_keys(prefix))


def _fingerprint(table: pa.Table) -> tuple[int, int]:
    """Row count and an order-free checksum of ``(source_uri, source_line)``.

    pandas is imported here, by the compaction function only: ingestion never needs it.
    """
    import pandas as pd

    frame = table.select(["source_uri", "source_line"]).to_pandas()
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return table.num_rows, int(np.sum(hashes, dtype=np.uint64))


def _duration(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"

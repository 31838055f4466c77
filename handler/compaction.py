"""Compaction: merge a partition's small files into a few big ones, exactly once.

A log shipper uploads an object a minute; each becomes a file per table and day, and Athena slows
with the file count, not the data size. Compaction rewrites the files readers see in a partition
into as few files as the target size allows (same encoding as fresh files), under names no
manifest lists yet, checks the rows (count and a checksum of ``source_uri, source_line``), and
then swaps inputs for outputs in one conditional write of the partition's record
(``partition.py``), which the manifest follows: readers see the inputs or the outputs, never both.
The inputs go to the trash and are deleted after the grace period. No lock: a claim in the record
is a conditional write, and a dead compaction's claim is taken over after the lease. Steps,
states and why every interleaving converges: ``docs/compaction.md``.
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
from .ledger import MAX_TRIES
from .objects import iso, now
from .parquet import arrow_schema, conform, encode
from .partition import Record, lease_expired, partitions_for
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

    #: The tables (``processed``, ``errors``, ``alb_logs``...); ``None``: every table.
    tables: tuple[str, ...] | None = None
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
        for table in options.tables or tuple(config.tables)
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
    """The outputs of one compaction, built and checked under names no manifest lists yet."""

    id: str
    snapshot: dict[str, dict[str, Any]]  # the compacted inputs' record entries as claimed
    used: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
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
        return self.parts.days(table)

    def compact(self, table: str, dt: str, options: CompactOptions) -> PartitionResult:
        """Compact one partition, or say why not.

        Whatever happens, the partition's manifest is brought up to date and its trash purged
        first: the scheduled run is also what deletes files readers stopped seeing.
        """
        started = time.monotonic()
        result = PartitionResult(table, dt, "skipped")
        if not options.dry_run:
            self.parts.purge(table, dt, self.parts.sync(table, dt))
        for _ in range(MAX_TRIES):
            record = self.parts.read(table, dt)
            listing, newest = self._files(record)
            if len(listing) < len(record.visible) and not options.dry_run:
                self.parts.reconcile(table, dt)  # some were deleted outside loglake
                continue
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
    def _files(self, record: Record) -> tuple[dict[str, int], datetime | None]:
        """The files readers see in the partition (URI -> size) and when the newest arrived."""
        prefix = f"{self.parts.locations[record.table]}dt={record.dt}/"
        visible = set(record.visible)
        items = [i for i in self.parts.listing(prefix) if self.parts.uri(i["Key"]) in visible]
        newest = max((item["LastModified"] for item in items), default=None)
        return {self.parts.uri(item["Key"]): int(item["Size"]) for item in items}, newest

    def _settle(self, record: Record, dry_run: bool) -> str:
        """Deal with a pending compaction first: ``""`` to go on, ``"again"``, or why not."""
        pending = record.pending
        if not pending:
            return ""
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
            "phase": "building",
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
            self._drop_outputs(claimed.table, claimed.dt, build.id)
            result.outcome, result.reason = "aborted", TAKEN_OVER
            return
        except BaseException:
            self._abandon(self.parts.read(claimed.table, claimed.dt), build.id)
            raise
        if not build.outputs:
            self._abandon(self.parts.read(claimed.table, claimed.dt), build.id)
            result.reason = "nothing to merge"
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
        reason = self._install(claimed, build, summary)
        if reason:
            result.outcome, result.reason = "aborted", reason
            return
        result.outcome = "compacted"
        result.files_after, result.bytes_after = summary["files_after"], summary["bytes_after"]
        result.rows = build.rows

    def _build_one(self, claimed: Record, build: _Build, number: int, group: list[str]) -> None:
        """Merge one group into a new file no reader lists yet; check its rows against the inputs'."""
        schema = arrow_schema(self.config.tables[claimed.table].types)
        inputs, members = [], {}
        used = []
        for uri in group:
            got = self.parts.get(self.parts.key(uri))
            if got is None:  # purged since the listing: not ours to merge
                continue
            table = conform(pq.read_table(io.BytesIO(got[0])), schema)
            if uri in build.snapshot:
                members.update(build.snapshot[uri]["members"])
            else:
                owner = _owner(table, claimed.live.get(uri))
                if owner is None:
                    continue
                members[uri] = owner
            inputs.append(table)
            used.append(uri)
        if len(used) < 2:
            return
        merged = pa.concat_tables(inputs)
        body = encode(merged, SORT_KEYS[claimed.table])
        final = self.parts.new_file(claimed.table, claimed.dt, f"c-{build.id}-{number:03d}")
        self.s3.put_object(Bucket=self.parts.bucket, Key=self.parts.key(final), Body=body)
        stored = self.parts.get(self.parts.key(final))
        if stored is None:
            raise _TakenOver  # a run that took the partition over removed it
        if _fingerprint(pq.read_table(io.BytesIO(stored[0]))) != _fingerprint(merged):
            raise CompactionError(
                f"{claimed.table} dt={claimed.dt}: the merged file does not hold exactly the rows "
                "of its inputs; nothing was changed"
            )
        build.used += used
        build.outputs.append(final)
        build.bodies[final] = body
        build.entries[final] = {"members": members, "rows": merged.num_rows, "bytes": len(body)}
        build.rows += merged.num_rows

    def _install(self, claimed: Record, build: _Build, summary: dict[str, Any]) -> str:
        """Swap inputs for outputs in one conditional write of the record (readers see one or
        the other, never both); a reason if the compaction must stop, changing nothing."""
        owners = {u: claimed.live[u] for u in build.used if u in claimed.live}
        stop: list[str] = []

        def edit(record: Record) -> tuple[dict[str, Any] | None, list[str]]:
            stop.clear()
            if (record.pending or {}).get("id") != build.id:
                stop.append(TAKEN_OVER)
                return None, []
            same = all(
                record.compacted.get(u) == build.snapshot[u]
                if u in build.snapshot
                else record.live.get(u) == owners.get(u)
                for u in build.used
            )
            if not same:
                stop.append(
                    "an object in it was replaced meanwhile; nothing was changed, run compact again"
                )
                return None, []
            used = set(build.used)
            doc = {k: v for k, v in record.doc.items() if k != "pending"}
            doc["live"] = {f: o for f, o in record.live.items() if f not in used}
            doc["compacted"] = {
                u: e for u, e in record.compacted.items() if u not in used
            } | build.entries
            doc["trash"] = record.dropping(build.used)
            doc["last"] = summary
            return doc, []

        self.parts.change(claimed.table, claimed.dt, edit)
        if stop:
            self._abandon(self.parts.read(claimed.table, claimed.dt), build.id)
            return stop[0]
        return ""

    def _abandon(self, record: Record, compaction: str | None = None) -> None:
        """Drop a compaction that will not be installed: its outputs, then its claim."""
        pending = record.pending
        if not pending or (compaction and pending["id"] != compaction):
            if compaction:
                self._drop_outputs(record.table, record.dt, compaction)
            return
        self._drop_outputs(record.table, record.dt, pending["id"])
        doc = {k: v for k, v in record.doc.items() if k != "pending"}
        self.parts.replace(record, doc)  # lost a race: the next run looks again

    def _drop_outputs(self, table: str, dt: str, compaction: str) -> None:
        """Delete a compaction's outputs: never named by a manifest, so nobody saw them."""
        prefix = f"{self.parts.locations[table]}dt={dt}/c-{compaction}-"
        self.parts.delete(self.parts.list_keys(prefix))


def _owner(table: pa.Table, source_uri: str | None) -> list[str] | None:
    """``[source_uri, ingested_at]`` of a live file's rows (one attempt wrote them all)."""
    sources = table.column("source_uri").unique().to_pylist()
    stamps = table.column("ingested_at").unique().to_pylist()
    if source_uri is None or sources != [source_uri] or len(stamps) != 1:
        return None
    return [source_uri, iso(stamps[0])]


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

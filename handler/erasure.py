"""Erasure: remove the rows that match a predicate from a table, exactly once, for good.

An erasure is a durable **record**, ``_manifests/_erasures/<id>.json``: the table, the predicate
(its SQL, and the JSON tree ``loglake/predicate.py`` compiled it to, evaluated here with Arrow),
the range of ``dt`` it covers, when, by whom, and the rows it removed per partition and file. It
is written before any file is touched, and from then on:

* every write of an object (a first delivery, a redelivery, ``reprocess``, a re-upload of the
  same bytes) filters its rows through the records whose table and range cover them before
  writing (``Erasures.apply``), and lists their ids in its head manifest;
* the erasure rewrites each file its partitions show that holds a matching row, under a new name,
  and swaps them in one conditional write of the partition's record (``partition.py``), which
  also lists the erasure there: readers see the old file or the new one, never both;
* a publish that would show files written by an attempt that did not know an erasure the
  partition lists (it listed the records just before this one was written) filters them first.

The id is a digest of table, predicate and range, so running the same erasure again (after a
crash, or twice) resumes the same record and removes nothing twice. Protocol and interleavings:
``docs/lifecycle.md``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from .exceptions import ObjectChangedError
from .ledger import MAX_TRIES
from .manifest import read_json
from .objects import iso, list_keys, now, replace_json
from .partition import Partitions, Record, Rewrite, add_counts, partitions_for
from .predicate import Tree, matches_any

if TYPE_CHECKING:
    from .config import Config

#: Files read at once by an erasure.
READERS = 8


def erasure_id(table: str, where: str, since: str | None, until: str) -> str:
    """The same erasure asked again has the same id (so it resumes, never doubles)."""
    text = json.dumps([table, " ".join(where.split()), since, until])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- the records ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Erasure:
    """One erasure record's rule: which rows of which table it removes."""

    id: str
    table: str
    where: str
    tree: Tree
    since: str | None
    until: str

    def covers(self, table: str, dt: str) -> bool:
        return table == self.table and (self.since is None or dt >= self.since) and dt <= self.until

    def rule(self) -> dict[str, Any]:
        """What a partition's record keeps of it, to filter late files without a lookup."""
        return {"id": self.id, "tree": self.tree}


class Erasures:
    """The erasure records of a lake, as one container knows them (each read once)."""

    def __init__(self, s3: Any, bucket: str, manifest_prefix: str) -> None:
        self.s3, self.bucket = s3, bucket
        self.prefix = f"{manifest_prefix}_erasures/"
        self._known: dict[str, Erasure] = {}
        self._lock = threading.Lock()

    def key(self, erasure_id: str) -> str:
        return f"{self.prefix}{erasure_id}.json"

    def current(self) -> list[Erasure]:
        """Every erasure there is: one listing, and a read of each record not seen before."""
        keys = list_keys(self.s3, self.bucket, self.prefix)
        for key in keys:
            if key not in self._known and (found := read_json(self.s3, self.bucket, key)):
                with self._lock:
                    self._known[key] = from_doc(found[0])
        return [self._known[k] for k in keys if k in self._known]

    def read(self, erasure_id: str) -> tuple[dict[str, Any], str] | None:
        return read_json(self.s3, self.bucket, self.key(erasure_id))

    def all_docs(self) -> list[dict[str, Any]]:
        """Every record in full (for ``loglake erase --list``)."""
        docs = (
            read_json(self.s3, self.bucket, k) for k in list_keys(self.s3, self.bucket, self.prefix)
        )
        return sorted((d[0] for d in docs if d), key=lambda d: d["created_at"])


def from_doc(doc: dict[str, Any]) -> Erasure:
    return Erasure(
        doc["id"], doc["table"], doc["where"], doc["tree"], doc.get("since"), doc["until"]
    )


def apply(erasures: list[Erasure], table: str, dt: str, rows: pa.Table) -> tuple[pa.Table, int]:
    """``rows`` of ``table`` for ``dt`` without those the covering erasures match, and how many
    went (what every write of an object does before writing)."""
    covering = [e for e in erasures if e.covers(table, dt)]
    if not covering or rows.num_rows == 0:
        return rows, 0
    hit = matches_any([e.tree for e in covering], rows)
    kept = rows.filter(pc.invert(hit))
    return kept, rows.num_rows - kept.num_rows


# -- rewriting a partition's files ------------------------------------------------------------
@dataclass
class PartitionErasure:
    """What an erasure did (or would do) to one partition."""

    table: str
    dt: str
    outcome: str  # erased | dry_run | unchanged | done | expired
    files: int = 0
    rows: int = 0
    bytes: int = 0
    written: int = 0
    by_file: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def installed(
    record: Record, rewrites: dict[str, Rewrite | None], rule: dict[str, Any]
) -> dict[str, Any]:
    """The record with each rewritten file replaced by its new one (or gone, when no row was
    left), the rule listed, and the rows removed counted by attempt."""
    done = {u: r for u, r in rewrites.items() if r is not None and u in set(record.visible)}
    counts: dict[str, dict[str, int]] = {}
    for found in done.values():
        counts = add_counts(counts, found.counts)
    doc = dict(record.doc)
    doc["live"] = {f: o for f, o in record.live.items() if f not in done}
    doc["compacted"] = {f: e for f, e in record.compacted.items() if f not in done} | {
        r.new: r.entry for r in done.values() if r.new
    }
    doc["trash"] = record.dropping(sorted(done))
    doc["cleared"] = sorted(
        {*record.doc.get("cleared", []), *(c for r in done.values() for c in r.cleared)}
    )
    rules = [r for r in record.doc.get("erasures", []) if r["id"] != rule["id"]]
    doc["erasures"] = [*rules, rule]
    doc["removed"] = record.removing("erased", counts)
    return doc


def erase_partition(
    parts: Partitions,
    erasure: Erasure,
    dt: str,
    dry_run: bool,
    clock: Callable[[], float],
    lease: timedelta,
) -> PartitionErasure:
    """Rewrite the partition's files without ``erasure``'s rows, exactly once: every try reads
    the record, rewrites the files it shows that were not rewritten on an earlier try (files are
    never changed in place, so earlier results stay true), and installs them in one conditional
    write. Outputs that did not get installed are deleted; nobody saw them."""
    started = clock()
    table = erasure.table
    result = PartitionErasure(table, dt, "unchanged")
    stem = f"c-x{erasure.id}"
    if not dry_run:
        _drop_abandoned(parts, table, dt, stem, lease)
    cache: dict[str, Rewrite | None] = {}
    final: list[dict[str, Any]] = []

    def rewrite(record: Record, uri: str) -> Rewrite | FileNotFoundError | None:
        try:
            return parts.rewrite(record, uri, [erasure.tree], stem, not dry_run)
        except FileNotFoundError as gone:
            return gone

    def edit(record: Record) -> tuple[dict[str, Any] | None, list[str]]:
        final.clear()
        result.outcome = "unchanged"
        if record.expired:
            result.outcome = "expired"
            return None, []
        if any(r["id"] == erasure.id for r in record.doc.get("erasures", [])):
            result.outcome = "done"  # installed by an earlier run: later files applied it
            return None, []
        todo = [u for u in record.visible if u not in cache]
        with ThreadPoolExecutor(READERS) as pool:
            made = list(pool.map(lambda u: rewrite(record, u), todo))
        gone = any(isinstance(m, FileNotFoundError) for m in made)
        if gone and parts.read(table, dt).etag != record.etag:
            raise _Moved  # replaced and purged since the read: look again
        cache.update(
            (u, m) for u, m in zip(todo, made, strict=True) if not isinstance(m, FileNotFoundError)
        )
        found = {u: cache[u] for u in record.visible if cache.get(u) is not None}
        final.append(found)
        if dry_run or not found:
            return None, []
        return installed(record, cache, erasure.rule()), []

    for _ in range(MAX_TRIES):
        try:
            parts.change(table, dt, edit)
            break
        except _Moved:
            continue
    else:
        raise ObjectChangedError(f"{table} dt={dt} kept changing under the erasure; run it again")
    found = final[0] if final else {}
    kept = {r.new for r in found.values() if r and r.new} if not dry_run else set()
    parts.delete([parts.key(r.new) for r in cache.values() if r and r.new and r.new not in kept])
    if result.outcome in {"expired", "done"}:
        return result
    result.outcome = ("dry_run" if dry_run else "erased") if found else "unchanged"
    result.files = len(found)
    result.rows = sum(r.removed for r in found.values() if r)
    result.bytes = sum(r.bytes_in for r in found.values() if r)
    result.written = sum(r.entry.get("bytes", 0) for r in found.values() if r)
    result.by_file = {u: r.removed for u, r in found.items() if r}
    result.seconds = round(clock() - started, 3)
    return result


class _Moved(Exception):
    """A shown file was gone because the record changed after it was read."""


def _drop_abandoned(parts: Partitions, table: str, dt: str, stem: str, lease: timedelta) -> None:
    """Delete outputs of a run of this erasure that died before installing them: never shown,
    and older than the lease (a live run installs within it, as a compaction does)."""
    shown = set(parts.read(table, dt).visible)
    old = now() - lease
    items = parts.listing(f"{parts.locations[table]}dt={dt}/{stem}-")
    parts.delete(
        [
            i["Key"]
            for i in items
            if parts.uri(i["Key"]) not in shown and i["LastModified"].replace(tzinfo=None) < old
        ]
    )


# -- a whole erasure --------------------------------------------------------------------------
@dataclass(frozen=True)
class EraseRequest:
    """What ``loglake erase`` asks for; ``tree`` is the compiled ``where``."""

    table: str
    where: str
    tree: Tree
    since: str | None
    until: str
    dry_run: bool = False
    by: str = ""


def erase_lake(
    config: Config,
    s3: Any,
    request: EraseRequest,
    progress: Callable[[int, int, PartitionErasure], None] | None = None,
) -> tuple[dict[str, Any], list[PartitionErasure]]:
    """Run one erasure over every partition of its range: its record first (so every later
    write applies it), then each partition, then the record's totals. Returns the record and
    each partition's result."""
    parts = partitions_for(config, s3)
    records = Erasures(s3, config.processed_bucket, config.manifest_prefix)
    eid = erasure_id(request.table, request.where, request.since, request.until)
    doc = _begin(records, eid, request)
    erasure = from_doc(doc)
    chosen = [
        dt
        for dt in parts.days(request.table)
        if (request.since is None or dt >= request.since) and dt <= request.until
    ]
    results = []
    for number, dt in enumerate(chosen, 1):
        result = erase_partition(parts, erasure, dt, request.dry_run, time.monotonic, config.lease)
        results.append(result)
        if progress:
            progress(number, len(chosen), result)
    if request.dry_run:
        return doc, results
    return _finish(records, eid, results), results


def _begin(records: Erasures, eid: str, request: EraseRequest) -> dict[str, Any]:
    """The erasure's record: written now (``running``) unless a run of it exists already."""
    found = records.read(eid)
    if found is not None:
        return found[0]
    doc = {
        "id": eid,
        "table": request.table,
        "where": request.where,
        "tree": request.tree,
        "since": request.since,
        "until": request.until,
        "created_at": iso(now()),
        "by": request.by,
        "state": "running",
        "partitions": {},
        "rows": 0,
    }
    if not request.dry_run and not replace_json(
        records.s3, records.bucket, records.key(eid), doc, None
    ):
        found = records.read(eid)  # another run of the same erasure wrote it first
        assert found is not None
        return found[0]
    return doc


def _finish(records: Erasures, eid: str, results: list[PartitionErasure]) -> dict[str, Any]:
    """Add this run's partitions to the record and mark it done (partitions an earlier run
    did keep their numbers)."""
    for _ in range(MAX_TRIES):
        found = records.read(eid)
        assert found is not None
        doc, etag = found
        partitions = dict(doc.get("partitions", {}))
        for r in results:
            if r.outcome == "erased":
                partitions[r.dt] = {"files": r.by_file, "rows": r.rows, "bytes": r.bytes}
        rows = sum(p["rows"] for p in partitions.values())
        new = dict(doc, partitions=partitions, rows=rows, state="done", finished_at=iso(now()))
        if replace_json(records.s3, records.bucket, records.key(eid), new, etag):
            return new
    raise ObjectChangedError(f"erasure {eid}: its record kept changing; run it again")

"""Partition records: which compacted file holds the rows of which object's files.

Compaction (``compaction.py``) merges the files of completed objects into a few big files. The
object manifests keep listing the files their attempt wrote; the partition's record, one JSON
document per table and day at ``_manifests/_partitions/<table>/dt=<day>.json``, says which of
those files now live inside which compacted file, and as which rows (``source_uri`` plus the
``ingested_at`` of the attempt that wrote them). Like a head manifest it is only ever replaced
with a conditional PUT, so a compaction and a sweep that touch one partition at once serialise on
it. The protocol and why every interleaving converges: ``docs/compaction.md``.

The sweep of a re-uploaded object does not just delete its old files: ``release`` deletes those
still on their own, and rewrites each compacted file that absorbed some without their rows (one
conditional PUT per file, so the rewrite is atomic for readers and never loses another writer's
change).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .exceptions import ObjectChangedError
from .ledger import MAX_TRIES, _pause
from .manifest import read_json
from .objects import (
    delete_keys,
    get_bytes,
    list_keys,
    listing,
    now,
    parse_iso,
    put_if,
    replace_json,
)
from .parquet import encode
from .sink import SORT_KEYS

if TYPE_CHECKING:
    from .config import Config

BUILDING, INSTALLING = "building", "installing"


@dataclass
class Record:
    """A partition's record as read, with the ETag a conditional replace must match."""

    table: str
    dt: str
    doc: dict[str, Any]
    etag: str | None

    @property
    def compacted(self) -> dict[str, dict[str, Any]]:
        """Compacted file URI -> ``{"members": {file: [source_uri, ingested_at]}, "rows": n}``."""
        found: dict[str, dict[str, Any]] = self.doc.get("compacted", {})
        return found

    @property
    def pending(self) -> dict[str, Any] | None:
        return self.doc.get("pending")

    def holder(self, file: str) -> str | None:
        """The compacted file that absorbed ``file``, if any."""
        for compacted, entry in self.compacted.items():
            if file in entry["members"]:
                return compacted
        return None


class Partitions:
    """The records of every partition of the lake's tables, in the processed bucket."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        manifest_prefix: str,
        locations: dict[str, str],
        sort_keys: dict[str, tuple[str, ...]],
    ) -> None:
        """``locations``: table -> its key prefix (``processed/``); ``sort_keys``: its file order."""
        self.s3, self.bucket = s3, bucket
        self.prefix = f"{manifest_prefix}_partitions/"
        self.locations, self.sort_keys = locations, sort_keys
        #: How long the last ``install`` left outputs and inputs visible together.
        self.swap_seconds = 0.0

    # -- addressing -------------------------------------------------------------------------
    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def key(self, uri: str) -> str:
        prefix = f"s3://{self.bucket}/"
        if not uri.startswith(prefix):
            raise ValueError(f"{uri} is outside the processed bucket {self.bucket}")
        return uri[len(prefix) :]

    def locate(self, uri: str) -> tuple[str, str] | None:
        """``(table, dt)`` of a data file, or ``None`` when it is not in a table's partition."""
        key = self.key(uri)
        for table, location in self.locations.items():
            rest = key.removeprefix(location)
            if rest != key and rest.startswith("dt=") and "/" in rest:
                return table, rest[3:].split("/", 1)[0]
        return None

    def record_key(self, table: str, dt: str) -> str:
        return f"{self.prefix}{table}/dt={dt}.json"

    def staging_prefix(self, table: str, dt: str, compaction: str) -> str:
        """Where a compaction writes its outputs before they are installed: outside every table."""
        return f"_staging/{table}/dt={dt}/{compaction}/"

    # -- the record -------------------------------------------------------------------------
    def read(self, table: str, dt: str) -> Record:
        found = read_json(self.s3, self.bucket, self.record_key(table, dt))
        if found is None:
            return Record(table, dt, {"table": table, "dt": dt, "compacted": {}}, None)
        return Record(table, dt, found[0], found[1])

    def replace(self, record: Record, doc: dict[str, Any]) -> bool:
        """Write ``doc`` as the record if it is still ``record``; ``False`` if someone got there first."""
        key = self.record_key(record.table, record.dt)
        return replace_json(self.s3, self.bucket, key, doc, record.etag)

    def records(self) -> list[Record]:
        """Every partition record there is (for status)."""
        found = []
        for key in self.list_keys(self.prefix):
            table, name = key[len(self.prefix) :].split("/", 1)
            dt = name.removeprefix("dt=").removesuffix(".json")
            record = self.read(table, dt)
            if record.etag:
                found.append(record)
        return found

    # -- S3 ---------------------------------------------------------------------------------
    def listing(self, prefix: str) -> list[dict[str, Any]]:
        return listing(self.s3, self.bucket, prefix)

    def list_keys(self, prefix: str) -> list[str]:
        return list_keys(self.s3, self.bucket, prefix)

    def get(self, key: str) -> tuple[bytes, str] | None:
        return get_bytes(self.s3, self.bucket, key)

    def put_if(self, key: str, body: bytes, condition: dict[str, str]) -> bool:
        return put_if(self.s3, self.bucket, key, body, condition)

    def delete(self, keys: list[str]) -> None:
        delete_keys(self.s3, self.bucket, keys)

    # -- installing a recorded compaction (anyone may finish it) -----------------------------
    def install(self, record: Record, staged: dict[str, bytes] | None = None) -> bool:
        """Finish a compaction whose record says ``installing``: outputs in place, inputs gone.

        Every step is idempotent, so the compaction itself, a rerun after a crash and a sweep
        that needs the outputs in place can all run it, even at once. An output is put in place
        only if absent (``If-None-Match: *``), so a file a sweep has already rewritten is never
        put back. Returns ``False`` if the record changed before it could be closed (read again).
        ``swap_seconds`` is then how long readers could see outputs and inputs both: from the
        first output in place to the inputs deleted.
        """
        pending = record.pending
        assert pending is not None and pending["phase"] == INSTALLING
        visible: float | None = None
        for final, staging in pending["outputs"].items():
            body = (staged or {}).get(final)
            if body is None:
                got = self.get(self.key(staging))
                if got is None:  # installed (and its staging copy removed) already
                    continue
                body = got[0]
            self.put_if(self.key(final), body, {"IfNoneMatch": "*"})
            visible = visible or time.monotonic()
        self.delete([self.key(uri) for uri in pending["inputs"]])
        self.swap_seconds = time.monotonic() - visible if visible else 0.0
        self.delete([self.key(uri) for uri in pending["outputs"].values()])
        closed = {k: v for k, v in record.doc.items() if k not in {"pending", "removals"}}
        if pending.get("summary"):
            closed["last"] = pending["summary"]
        return self.replace(record, closed)

    # -- the sweep of replaced files --------------------------------------------------------
    def release(self, uris: list[str]) -> None:
        """Remove the rows of files a newer version replaced, wherever they live now.

        Files still on their own are deleted; files absorbed by a compacted file are cut out of
        it. While a compaction of the partition is pending, the files are first written into the
        record's ``removals``, so that compaction cannot record rows it read before they went.
        """
        by_partition: dict[tuple[str, str], list[str]] = {}
        loose: list[str] = []
        for uri in sorted(set(uris)):
            where = self.locate(uri)
            if where is None:
                loose.append(uri)
            else:
                by_partition.setdefault(where, []).append(uri)
        self.delete([self.key(u) for u in loose])
        for (table, dt), files in by_partition.items():
            self._release_in(table, dt, files)

    def _release_in(self, table: str, dt: str, files: list[str]) -> None:
        for _ in range(MAX_TRIES):
            record = self.read(table, dt)
            pending = record.pending
            if pending and not set(files) <= set(record.doc.get("removals", [])):
                removals = sorted(set(record.doc.get("removals", [])) | set(files))
                if not self.replace(record, dict(record.doc, removals=removals)):
                    _pause()
                    continue
                record = self.read(table, dt)
                pending = record.pending
            holders: dict[str, list[str]] = {}
            for file in files:
                holder = record.holder(file)
                if holder is not None:
                    holders.setdefault(holder, []).append(file)
            self.delete([self.key(f) for f in files if record.holder(f) is None])
            if (
                pending
                and pending["phase"] == INSTALLING
                and set(holders) & set(pending["outputs"])
            ):
                self.install(record)  # its outputs must be in place before they can be cut
                continue
            if all(self._cut(record, holder, cut) for holder, cut in holders.items()):
                return
            _pause()
        raise ObjectChangedError(f"partition {table} dt={dt} kept changing while rows were removed")

    def _cut(self, record: Record, holder: str, files: list[str]) -> bool:
        """Rewrite ``holder`` without the rows of ``files``, then drop them from the record."""
        entry = record.compacted[holder]
        gone = {tuple(entry["members"][f]) for f in files}
        got = self.get(self.key(holder))
        if got is not None:
            table = pq.read_table(io.BytesIO(got[0]))
            kept = table.filter(_not_from(table, gone))
            if kept.num_rows != table.num_rows:
                body = encode(kept, self.sort_keys[record.table])
                if not self.put_if(self.key(holder), body, {"IfMatch": got[1]}):
                    return False
                entry = dict(entry, rows=kept.num_rows, bytes=len(body))
        members = {f: m for f, m in entry["members"].items() if f not in set(files)}
        compacted = dict(record.compacted, **{holder: dict(entry, members=members)})
        return self.replace(record, dict(record.doc, compacted=compacted))


def _not_from(table: pa.Table, gone: set[tuple[str, str]]) -> Any:
    """A mask of the rows not written by any of the ``(source_uri, ingested_at)`` attempts."""
    keep: Any = pa.array([True] * table.num_rows)
    for source_uri, ingested_at in gone:
        stamp = pa.scalar(parse_iso(ingested_at), type=pa.timestamp("us"))
        same = pc.and_(
            pc.equal(table.column("source_uri"), source_uri),
            pc.equal(table.column("ingested_at"), stamp),
        )
        keep = pc.and_(keep, pc.invert(same))
    return keep


def lease_expired(pending: dict[str, Any], lease: timedelta) -> bool:
    """A pending compaction idle for longer than the lease: its process is taken to be dead."""
    return now() - parse_iso(pending["claimed_at"]) > lease


def partitions_for(config: Config, s3: Any) -> Partitions:
    """The partition records of ``config``'s two tables."""
    prefix = f"s3://{config.processed_bucket}/"
    locations = {
        name: table.location.removeprefix(prefix).rstrip("/") + "/"
        for name, table in config.tables.items()
    }
    return Partitions(s3, config.processed_bucket, config.manifest_prefix, locations, SORT_KEYS)

"""Partition records and manifests: which files a reader sees, changed atomically.

Every table is a symlink table (``glue_ddl/``): a reader lists the partition's folder under the
table's LOCATION and finds one text file, ``manifest``, naming the Parquet files to read. The
data files are written elsewhere (``loglake.files``), where no reader looks, so a file is seen
only once a manifest names it, and stops being seen the moment one no longer does.

What the manifest says comes from the partition's **record**, one JSON document per table and
day at ``_manifests/_partitions/<table>/dt=<day>.json``, only ever replaced with a conditional
PUT (so a commit, a sweep and a compaction that touch one partition at once serialise on it):

* ``live``: each original file of a committed version -> its object's ``source_uri``;
* ``compacted``: each compacted file -> its ``members`` (the original files whose rows it holds,
  as ``[source_uri, ingested_at]`` of the attempt that wrote them);
* ``trash``: files readers no longer see, kept until ``READER_GRACE_SECONDS`` after the manifest
  stopped naming them, so no query that listed them before fails;
* ``seq``: how many times the record was written; the manifest carries the ``seq`` it was made
  from (object metadata) and only ever moves forward;
* ``pending``: at most one compaction's claim (``compaction.py``).

The visible files are ``live`` plus ``compacted``. ``publish`` makes a partition show one object's
current committed version (its head manifest, ``ledger.py``), ``change`` applies any other edit,
and both then ``sync`` the manifest and ``purge`` the trash. The protocol and why every
interleaving converges: ``docs/exactly-once.md`` and ``docs/compaction.md``.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from .exceptions import ObjectChangedError
from .ledger import MAX_TRIES, Head, _pause
from .manifest import read_json
from .objects import (
    delete_keys,
    error_code,
    get_bytes,
    iso,
    list_keys,
    listing,
    now,
    parse_iso,
    put_if,
    replace_json,
)
from .parquet import encode
from .predicate import Tree, matches_any
from .sink import SORT_KEYS

if TYPE_CHECKING:
    from .config import Config

MANIFEST = "manifest"
#: What an edit of a record returns: the new document (``None``: nothing to change) and the keys
#: of files it wrote for it, which are deleted if the edit loses its race (nobody saw them).
Edit = Callable[["Record"], tuple[dict[str, Any] | None, list[str]]]


@dataclass
class Record:
    """A partition's record as read, with the ETag a conditional replace must match."""

    table: str
    dt: str
    doc: dict[str, Any]
    etag: str | None

    @property
    def seq(self) -> int:
        return int(self.doc.get("seq", 0))

    @property
    def live(self) -> dict[str, str]:
        """Original file URI -> the ``source_uri`` of the object whose committed rows it holds."""
        found: dict[str, str] = self.doc.get("live", {})
        return found

    @property
    def compacted(self) -> dict[str, dict[str, Any]]:
        """Compacted file URI -> ``{"members": {file: [source_uri, ingested_at]}, "rows": n}``."""
        found: dict[str, dict[str, Any]] = self.doc.get("compacted", {})
        return found

    @property
    def trash(self) -> dict[str, dict[str, Any]]:
        """File URI -> ``{"seq": record seq that dropped it, "dropped_at": when no manifest
        named it any more (set once a manifest of that seq was seen)}``."""
        found: dict[str, dict[str, Any]] = self.doc.get("trash", {})
        return found

    @property
    def pending(self) -> dict[str, Any] | None:
        return self.doc.get("pending")

    @property
    def expired(self) -> dict[str, Any] | None:
        """Set once retention removed the partition (``retention.py``): when, and what it held.
        Nothing is shown in it again: a replayed object's rows for the day are not brought back."""
        return self.doc.get("expired")

    @property
    def removed(self) -> dict[str, dict[str, dict[str, int]]]:
        """Rows taken out of the partition, by cause (``expired``, ``erased``), then by the
        ``source_uri`` and ``ingested_at`` of the attempt that wrote them (for ``status``)."""
        found: dict[str, dict[str, dict[str, int]]] = self.doc.get("removed", {})
        return found

    @property
    def vanished(self) -> dict[str, dict[str, Any]]:
        """Files the record showed that were deleted outside loglake (a lifecycle rule, by
        hand): no longer shown, with what is known of their rows."""
        found: dict[str, dict[str, Any]] = self.doc.get("vanished", {})
        return found

    def removing(self, cause: str, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
        """``removed`` with ``counts`` (by source, then attempt) added under ``cause``."""
        return self.removed | {cause: add_counts(self.removed.get(cause, {}), counts)}

    @property
    def cleared(self) -> set[str]:
        """Original files all of whose rows an erasure removed: never shown again."""
        return set(self.doc.get("cleared", []))

    @property
    def erasures(self) -> list[dict[str, Any]]:
        """The erasures installed here (``{"id", "tree"}``): a file written by an attempt that
        did not apply one of them is filtered before it is shown (``erasure.py``)."""
        found: list[dict[str, Any]] = self.doc.get("erasures", [])
        return found

    @property
    def visible(self) -> list[str]:
        """The files a reader of this partition sees."""
        return sorted(set(self.live) | set(self.compacted))

    def absorbed(self) -> dict[str, str]:
        """Original file -> the compacted file that holds its rows."""
        return {m: c for c, entry in self.compacted.items() for m in entry["members"]}

    def dropping(self, files: list[str]) -> dict[str, dict[str, Any]]:
        """``trash`` with ``files`` added, as dropped by the next write of this record."""
        added = {f: {"seq": self.seq + 1, "dropped_at": None} for f in files}
        return {**self.trash, **added}


@dataclass
class Rewrite:
    """A shown file with rows an erasure matches, rewritten without them under a new name
    (``new`` is ``None`` when no row was left: nothing written, its originals ``cleared``)."""

    uri: str
    removed: int
    bytes_in: int
    counts: dict[str, dict[str, int]]
    new: str | None = None
    entry: dict[str, Any] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)


class Partitions:
    """The records and manifests of every partition of the lake's tables."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        manifest_prefix: str,
        locations: dict[str, str],
        sort_keys: dict[str, tuple[str, ...]],
        listings: dict[str, str] | None = None,
        grace: timedelta = timedelta(minutes=30),
    ) -> None:
        """``locations``: table -> key prefix of its data files (``processed/``); ``listings``:
        table -> key prefix readers list (``symlink/processed/``); ``sort_keys``: file order."""
        self.s3, self.bucket = s3, bucket
        self.prefix = f"{manifest_prefix}_partitions/"
        self.locations, self.sort_keys = locations, sort_keys
        self.listings = listings or {t: f"symlink/{loc}" for t, loc in locations.items()}
        self.grace = grace

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

    def manifest_key(self, table: str, dt: str) -> str:
        """The one file readers find in the partition's folder of the table's LOCATION."""
        return f"{self.listings[table]}dt={dt}/{MANIFEST}"

    def new_file(self, table: str, dt: str, stem: str) -> str:
        """A data file's URI in the partition (a name no reader lists until a manifest does)."""
        return self.uri(f"{self.locations[table]}dt={dt}/{stem}.parquet")

    # -- the record -------------------------------------------------------------------------
    def read(self, table: str, dt: str) -> Record:
        found = read_json(self.s3, self.bucket, self.record_key(table, dt))
        if found is None:
            return Record(table, dt, {"table": table, "dt": dt, "seq": 0}, None)
        return Record(table, dt, found[0], found[1])

    def replace(self, record: Record, doc: dict[str, Any]) -> bool:
        """Write ``doc`` as the record if it is still ``record``; ``False`` if someone got there
        first. The write's ``seq`` is one more than the record's."""
        key = self.record_key(record.table, record.dt)
        return replace_json(self.s3, self.bucket, key, dict(doc, seq=record.seq + 1), record.etag)

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

    def days(self, table: str) -> list[str]:
        """The days that have a folder of files in ``table``'s location or a record (whose
        files may all have been deleted outside loglake)."""
        location = self.locations[table]
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{location}dt=", Delimiter="/"
        )
        found = {
            p["Prefix"][len(location) + 3 :].rstrip("/")
            for page in pages
            for p in page.get("CommonPrefixes", [])
        }
        records = f"{self.prefix}{table}/dt="
        found |= {k[len(records) :].removesuffix(".json") for k in self.list_keys(records)}
        return sorted(found)

    def present(self, table: str, dt: str) -> dict[str, int]:
        """The files in the partition's folder now (URI -> size): one listing."""
        prefix = f"{self.locations[table]}dt={dt}/"
        return {self.uri(i["Key"]): int(i["Size"]) for i in self.listing(prefix)}

    def reconcile(self, table: str, dt: str) -> list[str]:
        """Stop showing files of the partition that were deleted outside loglake (recorded as
        ``vanished``); returns them. The folder is listed after each read of the record: a
        file the record shows was written before it, so if the listing lacks it, it is gone."""
        gone: list[str] = []

        def edit(record: Record) -> tuple[dict[str, Any] | None, list[str]]:
            there = self.present(table, dt)
            gone[:] = [u for u in record.visible if u not in there]
            if not gone:
                return None, []
            entries: dict[str, Any] = record.live | record.compacted
            doc = dict(
                record.doc, vanished=record.vanished | {u: vanished_entry(entries[u]) for u in gone}
            )
            doc["live"] = {f: o for f, o in record.live.items() if f not in gone}
            doc["compacted"] = {f: e for f, e in record.compacted.items() if f not in gone}
            return doc, []

        self.change(table, dt, edit)
        return gone

    def change(self, table: str, dt: str, edit: Edit) -> Record:
        """Apply ``edit`` to the record until a conditional write lands (or there is nothing to
        change), then bring the manifest up to date and purge the trash. Returns the record."""
        for _ in range(MAX_TRIES):
            record = self.read(table, dt)
            doc, written = edit(record)
            if doc is None or self.replace(record, doc):
                # The record as it now stands, so neither step below reads it again.
                now_is = (
                    record
                    if doc is None
                    else Record(table, dt, dict(doc, seq=record.seq + 1), None)
                )
                return self.purge(table, dt, self.sync(table, dt, now_is), now_is)
            self.delete(written)  # never named by a manifest: nobody can have seen them
            _pause()
        raise ObjectChangedError(f"partition {table} dt={dt} kept changing; will retry")

    # -- the manifest -----------------------------------------------------------------------
    def sync(self, table: str, dt: str, known: Record | None = None) -> int:
        """Make the manifest show the record as it is now; returns the ``seq`` it shows.

        Whoever wrote the record syncs right after (``known``: what it wrote, used for the first
        try instead of reading it back), and every later writer or redelivery syncs too, so a
        crash between the two only delays the change. A manifest is replaced only with
        ``If-Match`` on the one read and only by a newer record, so it never goes back.
        """
        key = self.manifest_key(table, dt)
        for _ in range(MAX_TRIES):
            shown, etag = self._manifest_seq(key)
            record, known = known or self.read(table, dt), None
            if shown >= record.seq or (record.seq == 0 and record.etag is None):  # or no record
                return shown
            body = "".join(f"{uri}\n" for uri in record.visible).encode()
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            meta = {"ContentType": "text/plain", "Metadata": {"seq": str(record.seq)}}
            if put_if(self.s3, self.bucket, key, body, condition, **meta):
                return record.seq
            _pause()
        raise ObjectChangedError(f"the manifest of {table} dt={dt} kept changing; will retry")

    def _manifest_seq(self, key: str) -> tuple[int, str | None]:
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
                return -1, None
            raise
        return int(head.get("Metadata", {}).get("seq", "-1")), str(head["ETag"])

    def shown(self, table: str, dt: str) -> list[str]:
        """The files the manifest names now (what a reader listing the partition reads)."""
        got = self.get(self.manifest_key(table, dt))
        return [] if got is None else got[0].decode().split()

    def showing(self, files: list[str]) -> bool:
        """Readers see every one of ``files`` now: each is named by its partition's manifest,
        or the compacted file holding its rows is. A commit is complete before its partitions
        are published; this is the moment after which a query counts the object's rows."""
        wanted: dict[tuple[str, str], list[str]] = {}
        for uri in files:
            if (where := self.locate(uri)) is not None:
                wanted.setdefault(where, []).append(uri)
        for (table, dt), uris in wanted.items():
            shown = set(self.shown(table, dt))
            record = self.read(table, dt)
            holders = record.absorbed()
            # Never to be shown: rows all erased, or a day already expired by retention.
            settled = record.cleared | set((record.expired or {}).get("refused", []))
            hidden = shown | settled
            if any(u not in hidden and holders.get(u) not in shown for u in uris):
                return False
        return True

    # -- the trash --------------------------------------------------------------------------
    def purge(self, table: str, dt: str, synced: int, known: Record | None = None) -> Record:
        """Delete trashed files the manifests stopped naming at least the grace period ago.

        ``synced`` is a manifest ``seq`` seen just now: every file dropped at or before it is
        named by no manifest since, so its grace starts now at the latest (``dropped_at``). Files
        are deleted before they leave the record, so a crash in between loses track of none.
        ``known``: the record as just written or read; it is read again only to change it.
        """
        if known is not None and self._trash_after(known, synced)[0] == known.trash:
            return known
        for _ in range(MAX_TRIES):
            record = self.read(table, dt)
            trash, expired = self._trash_after(record, synced)
            if trash == record.trash:
                return record
            self.delete([self.key(uri) for uri in expired])
            doc = dict(record.doc, trash=trash)
            if self.replace(record, doc):
                return Record(table, dt, dict(doc, seq=record.seq + 1), None)
            _pause()
        return self.read(table, dt)  # someone else is writing it; they purge too

    def _trash_after(self, record: Record, synced: int) -> tuple[dict[str, Any], list[str]]:
        """The record's trash with ``dropped_at`` stamped where ``synced`` allows, less the
        entries whose grace has passed; and those entries."""
        moment = now()
        trash, expired = {}, []
        for uri, entry in record.trash.items():
            if entry.get("dropped_at") is None and entry["seq"] <= synced:
                entry = dict(entry, dropped_at=iso(moment))
            dropped = entry.get("dropped_at")
            if dropped is not None and moment - parse_iso(dropped) >= self.grace:
                expired.append(uri)
            else:
                trash[uri] = entry
        return trash, expired

    # -- publishing an object's committed version --------------------------------------------
    def publish(self, source_uri: str, read_head: Callable[[], Head], files: list[str]) -> None:
        """Make every partition that ``files`` touch show exactly ``source_uri``'s head version.

        ``files`` are the head's files and its ``stale`` ones (where the replaced version had
        rows). Each partition's record is read first and the head after it, so a publisher that
        read an older head can only write a record older than the newer head's own publish,
        which then replaces it. Stale files no record names were never shown: deleted now.
        """
        by_partition: dict[tuple[str, str], list[str]] = {}
        for uri in sorted(set(files)):
            where = self.locate(uri)
            if where is None:
                self.delete([self.key(uri)])
            else:
                by_partition.setdefault(where, []).append(uri)
        for (table, dt), touched in by_partition.items():
            heads: list[Head] = []

            def edit(record: Record, heads: list[Head] = heads) -> Any:
                heads[:] = [read_head()]
                return self._show(record, source_uri, heads[0])

            record = self.change(table, dt, edit)
            mine = set() if record.expired else set(heads[0].get("files", []))
            keep = mine | set(record.live) | set(record.trash)
            self.delete([self.key(u) for u in touched if u not in keep])

    def _show(
        self, record: Record, source_uri: str, head: Head
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """The record showing ``head``'s rows of ``source_uri`` in this partition, and nothing
        else of that object (its other files dropped, its other rows cut out of compacted files)."""
        if not head.complete:
            return None, []
        here = {f for f in head.get("files", []) if self.locate(f) == (record.table, record.dt)}
        if record.expired:
            return self._refuse(record, source_uri, head, here)
        absorbed = record.absorbed()
        hidden = absorbed.keys() | record.trash.keys() | record.cleared
        want = {f for f in here if f not in hidden}
        have = {f for f, owner in record.live.items() if owner == source_uri}
        late = self._late(record, head, sorted(want - have))
        cuts: dict[str, list[str]] = {}
        for holder, entry in record.compacted.items():
            gone = [m for m, (src, _) in entry["members"].items() if src == source_uri]
            gone = [m for m in gone if m not in here]
            if gone:
                cuts[holder] = gone
        if want == have and not cuts:
            return None, []
        want -= late.keys()
        live = {f: o for f, o in record.live.items() if f not in have - want}
        live |= {f: source_uri for f in want}
        compacted = dict(record.compacted) | {r.new: r.entry for r in late.values() if r.new}
        written: list[str] = [self.key(r.new) for r in late.values() if r.new]
        vanished = dict(record.vanished)
        for holder, gone in cuts.items():
            entry = compacted.pop(holder)
            try:
                cut = self._cut(record, holder, entry, gone)
            except FileNotFoundError:  # deleted outside loglake: nothing left to cut or show
                vanished[holder] = vanished_entry(entry)
                continue
            if cut is not None:
                compacted[cut[0]] = cut[1]
                written.append(self.key(cut[0]))
        dropped = sorted((have - want) | (set(cuts) - set(vanished)) | late.keys())
        doc = dict(record.doc, live=live, compacted=compacted, trash=record.dropping(dropped))
        if vanished:
            doc["vanished"] = vanished
        if late:
            doc["cleared"] = sorted(record.cleared | {c for r in late.values() for c in r.cleared})
            counts: dict[str, dict[str, int]] = {}
            for found in late.values():
                counts = add_counts(counts, found.counts)
            doc["removed"] = record.removing("erased", counts)
        return doc, written

    def _late(self, record: Record, head: Head, new: list[str]) -> dict[str, Rewrite]:
        """``new`` files (about to be shown) rewritten without the rows of erasures installed
        in the partition that their attempt did not apply: it listed the erasure records just
        before one was written (``erasure.py``)."""
        applied = set(head.get("erasures", []))
        trees = [r["tree"] for r in record.erasures if r["id"] not in applied]
        if not trees or not new:
            return {}
        found = {}
        for uri in new:
            try:
                found[uri] = self.rewrite(record, uri, trees, "c-late")
            except FileNotFoundError:  # its own file gone: shown as is, reconcile records it
                continue
        return {f: r for f, r in found.items() if r is not None}

    def _refuse(
        self, record: Record, source_uri: str, head: Head, here: set[str]
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """An expired partition shows nothing: a replayed object's files for the day are not
        shown (``publish`` deletes them) and their rows are counted as expired, once."""
        expired = record.expired or {}
        new = sorted(here - set(expired.get("refused", [])))
        if not new:
            return None, []
        rows = 0
        for uri in new:
            got = self.get(self.key(uri))
            rows += 0 if got is None else pq.read_metadata(pa.BufferReader(got[0])).num_rows
        counts = {source_uri: {iso(parse_iso(head.get("ingested_at"))): rows}}
        refused = sorted({*expired.get("refused", []), *new})
        doc = dict(record.doc, expired=dict(expired, refused=refused))
        doc["removed"] = record.removing("expired", counts)
        return doc, []

    def _cut(
        self, record: Record, holder: str, entry: dict[str, Any], gone: list[str]
    ) -> tuple[str, dict[str, Any]] | None:
        """A new compacted file with ``holder``'s rows minus those of ``gone`` members
        (``None`` when no row is left). Written under a new name: ``holder`` stays readable."""
        got = self.get(self.key(holder))
        if got is None:
            raise FileNotFoundError(holder)
        table = pq.read_table(io.BytesIO(got[0]))
        kept = table.filter(_not_from(table, {tuple(entry["members"][m]) for m in gone}))
        members = {m: o for m, o in entry["members"].items() if m not in set(gone)}
        if kept.num_rows == 0:
            return None
        stem = f"c-{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}-cut"
        uri = self.new_file(record.table, record.dt, stem)
        body = encode(kept, self.sort_keys[record.table])
        self.s3.put_object(Bucket=self.bucket, Key=self.key(uri), Body=body)
        return uri, dict(entry, members=members, rows=kept.num_rows, bytes=len(body))

    # -- rewriting a file without an erasure's rows ---------------------------------------------
    def rewrite(
        self, record: Record, uri: str, trees: list[Tree], stem: str, write: bool = True
    ) -> Rewrite | None:
        """``uri`` without the rows ``trees`` match, written (unless not ``write``), read back
        and checked, under a new compacted file named from ``stem`` that takes its place;
        ``None`` when no row matches; ``FileNotFoundError`` when the file is gone (replaced and
        purged since the record was read, or deleted outside loglake)."""
        got = self.get(self.key(uri))
        if got is None:
            raise FileNotFoundError(uri)
        table = pq.read_table(io.BytesIO(got[0]))
        hit = matches_any(trees, table)
        removed = pc.sum(hit).as_py() or 0
        if not removed:
            return None
        kept = table.filter(pc.invert(hit))
        members = _members(record, uri, table)
        found = Rewrite(uri, removed, len(got[0]), by_attempt(table.filter(hit)))
        if kept.num_rows == 0:
            found.cleared = sorted(members)
            return found
        found.new = self.new_file(record.table, record.dt, f"{stem}-{uuid.uuid4().hex[:8]}")
        body = encode(kept, self.sort_keys[record.table])
        found.entry = {"members": members, "rows": kept.num_rows, "bytes": len(body)}
        if write:
            self.s3.put_object(Bucket=self.bucket, Key=self.key(found.new), Body=body)
            stored = self.get(self.key(found.new))
            check = None if stored is None else pq.read_table(io.BytesIO(stored[0]))
            if (
                check is None
                or check.num_rows != kept.num_rows
                or pc.any(matches_any(trees, check)).as_py()
            ):
                raise ObjectChangedError(f"{found.new}: not exactly the kept rows; will retry")
        return found

    # -- S3 ---------------------------------------------------------------------------------
    def listing(self, prefix: str) -> list[dict[str, Any]]:
        return listing(self.s3, self.bucket, prefix)

    def list_keys(self, prefix: str) -> list[str]:
        return list_keys(self.s3, self.bucket, prefix)

    def get(self, key: str) -> tuple[bytes, str] | None:
        return get_bytes(self.s3, self.bucket, key)

    def delete(self, keys: list[str]) -> None:
        delete_keys(self.s3, self.bucket, keys)


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


def _members(record: Record, uri: str, table: pa.Table) -> dict[str, list[str]]:
    """The original files whose rows ``uri`` holds: its compacted members, or itself."""
    if uri in record.compacted:
        members: dict[str, list[str]] = record.compacted[uri]["members"]
        return dict(members)
    stamp = table.column("ingested_at")[0].as_py()
    return {uri: [record.live.get(uri) or table.column("source_uri")[0].as_py(), iso(stamp)]}


def vanished_entry(entry: dict[str, Any] | str) -> dict[str, Any]:
    """What a vanished file's record entry said of its rows: a compacted file's count and
    members, or a live file's object (its count is only in its own footer, now gone)."""
    if isinstance(entry, str):
        return {"noticed_at": iso(now()), "source_uri": entry, "rows": None}
    return {"noticed_at": iso(now()), "rows": entry.get("rows"), "members": entry["members"]}


def add_counts(
    counts: dict[str, dict[str, int]], more: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    """Row counts by source and attempt, summed (a new dict; neither argument changes)."""
    total = {source: dict(attempts) for source, attempts in counts.items()}
    for source, attempts in more.items():
        mine = total.setdefault(source, {})
        for stamp, rows in attempts.items():
            mine[stamp] = mine.get(stamp, 0) + rows
    return total


def by_attempt(table: pa.Table) -> dict[str, dict[str, int]]:
    """Rows of ``table`` by ``source_uri``, then the ``ingested_at`` of the attempt (``iso``)."""
    counts: dict[str, dict[str, int]] = {}
    if table.num_rows == 0:
        return counts
    grouped = table.group_by(["source_uri", "ingested_at"]).aggregate([("source_line", "count")])
    names = ("source_uri", "ingested_at", "source_line_count")
    for source, stamp, rows in zip(*(grouped.column(n).to_pylist() for n in names), strict=True):
        counts.setdefault(source, {})[iso(stamp)] = rows
    return counts


def lease_expired(pending: dict[str, Any], lease: timedelta) -> bool:
    """A pending compaction idle for longer than the lease: its process is taken to be dead."""
    return now() - parse_iso(pending["claimed_at"]) > lease


def partitions_for(config: Config, s3: Any) -> Partitions:
    """The partition records and manifests of ``config``'s two tables."""
    prefix = f"s3://{config.processed_bucket}/"

    def key_prefix(uri: str) -> str:
        return uri.removeprefix(prefix).rstrip("/") + "/"

    tables = config.tables
    return Partitions(
        s3,
        config.processed_bucket,
        config.manifest_prefix,
        {name: key_prefix(table.location) for name, table in tables.items()},
        SORT_KEYS,
        {name: key_prefix(table.listing) for name, table in tables.items()},
        config.reader_grace,
    )

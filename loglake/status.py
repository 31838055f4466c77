"""What the pipeline has done: objects, rows, queue depths, errors by code."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

from handler.compaction import CompactOptions
from handler.config import Config
from handler.manifest import read_manifest
from handler.objects import iso, parse_iso
from handler.partition import Record, partitions_for


@dataclass
class Status:
    """Totals over every manifest, plus the queues."""

    objects: int = 0
    #: Objects whose deletion removed their rows (a source with ``on_delete = "remove"``).
    deleted: int = 0
    in_progress: int = 0
    valid: int = 0
    invalid: int = 0
    blank: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)
    #: Objects per source that read them, as "name (format)".
    sources: Counter[str] = field(default_factory=Counter)
    newest: list[dict[str, Any]] = field(default_factory=list)
    queue: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    lake: list[TableHealth] = field(default_factory=list)
    #: Rows of the objects' current versions no longer in the tables: cause (``expired``,
    #: ``erased``) -> table -> rows (``retention.py``, ``erasure.py``).
    removed: dict[str, Counter[str]] = field(default_factory=dict)
    #: Files the tables showed that were deleted outside loglake (rows unknown).
    vanished: int = 0

    def in_tables(self) -> tuple[int, int]:
        """Valid and invalid rows the tables hold now: as read, less what was removed."""
        gone = Counter[str]()
        for by_table in self.removed.values():
            gone.update(by_table)
        errors = gone.pop("errors", 0)
        return self.valid - sum(gone.values()), self.invalid - errors


@dataclass
class TableHealth:
    """How fragmented one table is: what makes Athena slow is the file count, not the bytes."""

    table: str
    partitions: int = 0
    files: int = 0
    bytes: int = 0
    smallest: int = 0
    under_target: int = 0
    last_compaction: str = ""
    #: Files readers no longer see, kept for READER_GRACE_SECONDS for queries that listed them.
    trash: int = 0

    @property
    def average(self) -> int:
        return self.bytes // self.files if self.files else 0


def collect(
    session: boto3.Session,
    config: Config,
    queue_url: str | None,
    target_bytes: int = CompactOptions.target_bytes,
) -> Status:
    """Read every head manifest, count the attempts in progress, read the queue attributes, and
    measure each table's files against the compaction target."""
    s3 = session.client("s3")
    processed_bucket, prefix = config.processed_bucket, config.manifest_prefix
    records = partitions_for(config, s3).records()
    status = Status(lake=lake_health(s3, config, target_bytes, records))
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=processed_bucket, Prefix=prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    attempts = f"{prefix}_attempts/"
    # An attempt's record is a folder of segments: <hash of the object>/<attempt>/<n>.json.
    status.in_progress = len({k.rsplit("/", 1)[0] for k in keys if k.startswith(attempts)})
    # Heads only: not attempts' records, partition records or the layout marker (``_*``).
    heads = [k for k in keys if not k[len(prefix) :].startswith("_")]
    found = (read_manifest(s3, processed_bucket, k) for k in heads)
    docs = [doc for doc in found if doc is not None]  # one deleted since the listing is skipped
    for doc in docs:
        if doc.get("status") != "complete":
            continue
        if doc.get("deleted"):
            status.deleted += 1
            continue
        status.objects += 1
        status.valid += doc.get("valid", 0)
        status.invalid += doc.get("invalid", 0)
        status.blank += doc.get("blank", 0)
        status.error_codes.update(doc.get("error_counts", {}))
        status.sources[f"{doc.get('source', 'default')} ({doc.get('format', 'ndjson')})"] += 1
    current = {
        d["source_uri"]: iso(parse_iso(d["ingested_at"]))
        for d in docs
        if d.get("status") == "complete" and d.get("ingested_at")
    }
    status.removed = removed_rows(records, current)
    for doc in docs:
        if doc.get("status") == "complete" and doc.get("erased"):
            status.removed.setdefault("erased", Counter()).update(doc["erased"])
    status.vanished = sum(len(r.vanished) for r in records)
    status.newest = sorted(docs, key=lambda d: d.get("ingested_at", ""), reverse=True)[:5]
    if queue_url:
        sqs = session.client("sqs")
        status.queue = _depth(sqs, queue_url)
        policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]
        if "RedrivePolicy" in policy:
            dlq_name = json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"].split(":")[-1]
            status.dead_letters = _depth(sqs, sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"])
    return status


def removed_rows(records: list[Record], current: dict[str, str]) -> dict[str, Counter[str]]:
    """Rows removed from the tables, by cause and table, of the attempts whose rows the objects'
    heads say the tables hold (``current``: source_uri -> ``ingested_at``); rows of replaced
    versions were removed with their version, and are not counted again."""
    found: dict[str, Counter[str]] = {}
    for record in records:
        for cause, by_source in record.removed.items():
            rows = sum(
                n
                for source, attempts in by_source.items()
                for stamp, n in attempts.items()
                if current.get(source) == stamp
            )
            if rows:
                found.setdefault(cause, Counter())[record.table] += rows
    return found


def lake_health(
    s3: Any, config: Config, target_bytes: int, records: list[Record] | None = None
) -> list[TableHealth]:
    """Partitions, files and sizes per table, and when each was last compacted (a typed table
    only once it has a partition)."""
    parts = partitions_for(config, s3)
    last: dict[str, str] = {}
    visible: set[str] = set()
    trash: dict[str, int] = {}
    for record in parts.records() if records is None else records:
        at = record.doc.get("last", {}).get("at", "")
        last[record.table] = max(last.get(record.table, ""), at)
        visible.update(parts.key(uri) for uri in record.visible)
        trash[record.table] = trash.get(record.table, 0) + len(record.trash)
    health = []
    for table, location in parts.locations.items():
        if table not in ("processed", "errors") and table not in last:
            continue
        sizes: dict[str, list[int]] = {}
        for item in parts.listing(f"{location}dt="):
            if item["Key"] in visible:  # what readers see: not the trash, not in-flight files
                day = item["Key"][len(location) :].split("/", 1)[0]
                sizes.setdefault(day, []).append(int(item["Size"]))
        every = [size for day in sizes.values() for size in day]
        health.append(
            TableHealth(
                table=table,
                partitions=len(sizes),
                files=len(every),
                bytes=sum(every),
                smallest=min(every, default=0),
                under_target=sum(size < target_bytes for size in every),
                last_compaction=last.get(table, ""),
                trash=trash.get(table, 0),
            )
        )
    return health


def _depth(sqs: Any, url: str) -> dict[str, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return {"waiting": int(attrs.get(names[0], 0)), "in_flight": int(attrs.get(names[1], 0))}

"""Move a lake written before readers' manifests to them: once, idempotently, in any order.

A lake of an earlier loglake has plain Parquet tables over ``processed/`` and ``errors/`` and no
manifests. ``publish_committed`` publishes every object's committed version (``partition.publish``,
the step every commit takes now), finishes a compaction the old protocol left half-installed, and
writes a marker so it runs once per lake; ``repoint_partitions`` points registered partitions at
the manifests. ``loglake catalog apply`` runs both (and then points the tables), and ``loglake
deploy`` runs the first after the stack update, so an object the previous function committed
just before the switch is published too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

from handler.config import Config
from handler.ddl import TableDef
from handler.ledger import Ledger
from handler.manifest import COMPLETE, read_manifest
from handler.objects import error_code, get_bytes, list_keys
from handler.partition import Partitions, Record, partitions_for

#: Written once every committed object of the lake is published (under the manifest prefix).
MARKER = "_layout.json"


def publish_committed(
    config: Config, session: boto3.Session, progress: Callable[[int], None] | None = None
) -> int | None:
    """Publish every committed object into the manifests, unless done before; how many were.

    ``None``: already done (the marker is there) or no processed bucket yet. Safe to run while
    objects are processed: publishing is what every commit does, and it is idempotent.
    """
    s3 = config.retrying(session).client("s3")
    marker = f"{config.manifest_prefix}{MARKER}"
    try:
        if get_bytes(s3, config.processed_bucket, marker) is not None:
            return None
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            return None
        raise
    parts = partitions_for(config, s3)
    for record in parts.records():
        _finish_old_compaction(parts, record)
    published = 0
    for uri, files in _committed(s3, config):
        ledger = Ledger(s3, config.processed_bucket, config.manifest_prefix, uri, config.lease)
        parts.publish(uri, ledger.read_head, files)
        published += 1
        if progress and published % 500 == 0:
            progress(published)
    body = json.dumps({"layout": "manifests", "published": published}).encode()
    s3.put_object(Bucket=config.processed_bucket, Key=marker, Body=body)
    return published


def repoint_partitions(glue: Any, database: str, tables: dict[str, TableDef]) -> None:
    """Point every registered partition of ``tables`` at its folder of manifests."""
    for name, table in tables.items():
        pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=name)
        base = table.listing.rstrip("/")
        for page in pages:
            for partition in page["Partitions"]:
                values = partition["Values"]
                where = table.storage(f"{base}/dt={values[0]}/")
                glue.update_partition(
                    DatabaseName=database,
                    TableName=name,
                    PartitionValueList=values,
                    PartitionInput={"Values": values, "StorageDescriptor": where},
                )


def _finish_old_compaction(parts: Partitions, record: Record) -> None:
    """A compaction the previous version left half-installed: its outputs (already in the
    record) put in place from staging, its inputs into the trash, its claim dropped."""
    pending = record.pending
    if not pending:
        return
    if pending.get("phase") == "installing":
        for final, staging in pending.get("outputs", {}).items():
            got = parts.get(parts.key(staging))
            if got is not None and parts.get(parts.key(final)) is None:
                parts.s3.put_object(Bucket=parts.bucket, Key=parts.key(final), Body=got[0])
        parts.delete([parts.key(u) for u in pending.get("outputs", {}).values()])
        trash = record.dropping(list(pending.get("inputs", [])))
    else:
        trash = record.trash
    doc = {k: v for k, v in record.doc.items() if k not in {"pending", "removals"}}
    parts.replace(record, dict(doc, trash=trash))


def _committed(s3: Any, config: Config) -> Iterator[tuple[str, list[str]]]:
    """Every object with a complete head manifest: its URI and its files (and stale ones)."""
    prefix = config.manifest_prefix
    for key in list_keys(s3, config.processed_bucket, prefix):
        if key.startswith((f"{prefix}_attempts/", f"{prefix}_partitions/")) or key == (
            f"{prefix}{MARKER}"
        ):
            continue
        doc = read_manifest(s3, config.processed_bucket, key)
        if doc and doc.get("status") == COMPLETE and doc.get("source_uri"):
            yield doc["source_uri"], doc.get("files", []) + doc.get("stale", [])

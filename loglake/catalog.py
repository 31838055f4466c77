"""Create the Glue database and tables from ``glue_ddl/`` (what ``loglake catalog apply`` does).

Idempotent, and additive: a column added to a table's file (anywhere in the list) is added to the
existing table in place, and ``int``→``bigint`` / ``float``→``double`` widen in place; its
partitions and projection settings stay. Both engines match Parquet columns by name, so files
written before read the new column as NULL. Anything else (a dropped, renamed or re-typed column)
is refused with what to do instead, and nothing is changed, so data is never silently re-typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from handler.config import Config
from handler.ddl import SYMLINK_INPUT, TableDef, glue_column
from handler.exceptions import SchemaMismatchError


@dataclass(frozen=True)
class Change:
    """What ``apply`` did to one object: ``created``, ``updated`` or ``unchanged``."""

    kind: str
    name: str
    action: str


def table_input(table: TableDef, catalog_name: str) -> dict[str, Any]:
    """The Glue ``TableInput`` for a table definition (a symlink table at its LOCATION)."""
    return {
        "Name": catalog_name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", **table.properties},
        "PartitionKeys": [glue_column(c) for c in table.partition_keys],
        "StorageDescriptor": table.storage(table.listing),
    }


def apply(
    config: Config,
    session: boto3.Session | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Change]:
    """Create or check the database and both tables; raise on a column mismatch, changing nothing."""
    glue = (session or boto3.Session()).client("glue")
    changes = [_ensure_database(glue, config.glue_database)]
    wanted = {
        config.processed_table: config.tables["processed"],
        config.errors_table: config.tables["errors"],
    }
    existing = {name: _get_table(glue, config.glue_database, name) for name in wanted}
    for name, table in wanted.items():
        current = existing[name]
        if current is not None:
            _check_columns(config.glue_database, name, table, current)
    old = {
        n: t for n, t in wanted.items() if existing[n] is not None and _plain_parquet(existing[n])
    }
    if old:
        changes.append(_migrate(config, session or boto3.Session(), old, progress))
    for name, table in wanted.items():
        changes.append(_ensure_table(glue, config.glue_database, name, table, existing[name]))
    return changes


def _plain_parquet(current: dict[str, Any] | None) -> bool:
    """A table written by loglake before manifests: readers list its data files directly."""
    return current is not None and current["StorageDescriptor"].get("InputFormat") != SYMLINK_INPUT


def _migrate(
    config: Config,
    session: boto3.Session,
    tables: dict[str, TableDef],
    progress: Callable[[int], None] | None = None,
) -> Change:
    """Move a lake written before manifests to them, once and idempotently.

    Every object's committed version is published into the manifests (``partition.publish``,
    the step every commit takes now), then the tables' registered partitions are pointed at the
    manifests (the tables themselves right after, by ``_ensure_table``). Until that switch
    readers list the data files as before; after it, exactly the committed versions. Running it
    again publishes nothing new.
    """
    from handler.ledger import Ledger
    from handler.partition import partitions_for

    s3 = config.retrying(session).client("s3")
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
    glue = session.client("glue")
    for name, table in tables.items():
        pages = glue.get_paginator("get_partitions").paginate(
            DatabaseName=config.glue_database, TableName=name
        )
        base = table.listing.rstrip("/")
        for page in pages:
            for partition in page["Partitions"]:
                values = partition["Values"]
                glue.update_partition(
                    DatabaseName=config.glue_database,
                    TableName=name,
                    PartitionValueList=values,
                    PartitionInput={
                        "Values": values,
                        "StorageDescriptor": table.storage(f"{base}/dt={values[0]}/"),
                    },
                )
    names = " and ".join(sorted(tables))
    return Change("lake", f"{names} to manifests ({published:,} objects published)", "moved")


def _finish_old_compaction(parts: Any, record: Any) -> None:
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
    from handler.manifest import COMPLETE, read_manifest
    from handler.objects import list_keys

    prefix = config.manifest_prefix
    for key in list_keys(s3, config.processed_bucket, prefix):
        if key.startswith((f"{prefix}_attempts/", f"{prefix}_partitions/")):
            continue
        doc = read_manifest(s3, config.processed_bucket, key)
        if doc and doc.get("status") == COMPLETE and doc.get("source_uri"):
            yield doc["source_uri"], doc.get("files", []) + doc.get("stale", [])


def _ensure_database(glue: Any, database: str) -> Change:
    try:
        glue.get_database(Name=database)
        return Change("database", database, "unchanged")
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": database, "Description": "loglake log tables"})
        return Change("database", database, "created")


def _get_table(glue: Any, database: str, name: str) -> dict[str, Any] | None:
    try:
        table: dict[str, Any] = glue.get_table(DatabaseName=database, Name=name)["Table"]
        return table
    except glue.exceptions.EntityNotFoundException:
        return None


#: Type changes Parquet readers (Athena, pyarrow) apply to old files on their own.
WIDENINGS = {("int", "bigint"), ("integer", "bigint"), ("float", "double")}


def _check_columns(database: str, name: str, table: TableDef, current: dict[str, Any]) -> None:
    """Refuse anything but added columns and widened types, saying what to do instead."""
    where = f"table {database}.{name}"
    have = {c["Name"]: _type(c) for c in current["StorageDescriptor"]["Columns"]}
    want = {c.name: c.type for c in table.columns}
    keys_have = [(c["Name"], _type(c)) for c in current.get("PartitionKeys", [])]
    if keys_have != [(c.name, c.type) for c in table.partition_keys]:
        raise SchemaMismatchError(
            f"{where}: its partition keys differ from glue_ddl/{table.name}.sql; partition keys "
            "cannot change in place. Nothing was changed: restore them, or create a new table."
        )
    gone = [column for column in have if column not in want]
    if gone:
        raise SchemaMismatchError(
            f"{where}: glue_ddl/{table.name}.sql no longer declares {', '.join(gone)}; dropping or "
            "renaming a column is not supported in place (old files still hold it). Nothing was "
            "changed: put it back, and add a new column next to it if you want another name."
        )
    for column, old in have.items():
        new = want[column]
        if old != new and (old, new) not in WIDENINGS:
            raise SchemaMismatchError(
                f"{where}: column {column} is {old} in the table and {new} in "
                f"glue_ddl/{table.name}.sql; only int→bigint and float→double widen in place. "
                "Nothing was changed: keep the type, or add a new column with the new type."
            )


def _type(column: dict[str, str]) -> str:
    return column["Type"].replace(" ", "").lower()


def _ensure_table(
    glue: Any, database: str, name: str, table: TableDef, current: dict[str, Any] | None
) -> Change:
    wanted = table_input(table, name)
    if current is None:
        glue.create_table(DatabaseName=database, TableInput=wanted)
        return Change("table", f"{database}.{name}", "created")
    same = (
        current.get("Parameters", {}) == wanted["Parameters"]
        and current["StorageDescriptor"].get("Location") == table.listing
        and not _plain_parquet(current)
        and [(c["Name"], _type(c)) for c in current["StorageDescriptor"]["Columns"]]
        == [(c.name, c.type) for c in table.columns]
    )
    if same:
        return Change("table", f"{database}.{name}", "unchanged")
    glue.update_table(DatabaseName=database, TableInput=wanted)
    return Change("table", f"{database}.{name}", "updated")

"""Create the Glue database and tables from ``glue_ddl/`` (what ``loglake catalog apply`` does).

Idempotent, and additive: a column added to a table's file (anywhere in the list) is added to the
existing table in place, and ``int``→``bigint`` / ``float``→``double`` widen in place; its
partitions and projection settings stay. Both engines match Parquet columns by name, so files
written before read the new column as NULL. Anything else (a dropped, renamed or re-typed column)
is refused with what to do instead, and nothing is changed, so data is never silently re-typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from handler.config import Config
from handler.ddl import SYMLINK_INPUT, TableDef, glue_column
from handler.exceptions import SchemaMismatchError

from .migrate import publish_committed, repoint_partitions


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
    """Create or check the database and every table; raise on a column mismatch, changing nothing."""
    glue = (session or boto3.Session()).client("glue")
    changes = [_ensure_database(glue, config.glue_database)]
    wanted = {config.catalog_name(role): table for role, table in config.tables.items()}
    existing = {name: _get_table(glue, config.glue_database, name) for name in wanted}
    for name, table in wanted.items():
        current = existing[name]
        if current is not None:
            _check_columns(config.glue_database, name, table, current)
    old = {n: t for n, t in wanted.items() if _plain_parquet(existing[n])}
    published = publish_committed(config, session or boto3.Session(), progress)
    if old:
        repoint_partitions(glue, config.glue_database, old)
    if published or old:
        names = " and ".join(sorted(old or wanted))
        done = f"{names} to manifests ({published or 0:,} objects published)"
        changes.append(Change("lake", done, "moved"))
    for name, table in wanted.items():
        changes.append(_ensure_table(glue, config.glue_database, name, table, existing[name]))
    return changes


def _plain_parquet(current: dict[str, Any] | None) -> bool:
    """A table written by loglake before manifests: readers list its data files directly."""
    return current is not None and current["StorageDescriptor"].get("InputFormat") != SYMLINK_INPUT


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

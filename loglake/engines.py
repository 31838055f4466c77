"""Two engines behind one interface: Athena (awswrangler) and local (DuckDB over the Glue tables).

Both bind parameter values; neither pastes them into SQL text. Athena receives ``?`` placeholders
and server-side ``ExecutionParameters``; DuckDB receives ``$name`` placeholders and a dict.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Protocol

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import sqlglot
from pyarrow import fs
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from handler.parquet import ARROW_TYPES

from .queries import QueryError, SavedQuery, to_qmark

#: Athena's (Trino's) per-file pseudo-columns, which the local engine provides too.
PSEUDO_COLUMNS = pa.schema([("$path", pa.string()), ("$file_size", pa.int64())])


class Engine(Protocol):
    """Runs a saved query with bound values and returns the result as a DataFrame."""

    def run(self, query: SavedQuery, values: dict[str, Any]) -> pd.DataFrame: ...


def athena_literal(value: Any) -> str:
    """One Athena execution parameter: a single SQL literal, quotes doubled, so it stays data."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return "'" + str(value).replace("'", "''") + "'"


class AthenaEngine:
    """``wr.athena.read_sql_query`` with the workgroup, database and execution parameters."""

    def __init__(
        self,
        session: boto3.Session,
        database: str,
        workgroup: str = "primary",
        s3_output: str | None = None,
    ) -> None:
        self.session, self.database, self.workgroup, self.s3_output = (
            session,
            database,
            workgroup,
            s3_output,
        )

    def run(self, query: SavedQuery, values: dict[str, Any]) -> pd.DataFrame:
        import awswrangler as wr

        if os.environ.get("AWS_ENDPOINT_URL"):
            raise QueryError(
                f"--engine athena needs AWS, but AWS_ENDPOINT_URL points at "
                f"{os.environ['AWS_ENDPOINT_URL']} (the local stack runs no Athena): use "
                "--engine local, or unset AWS_ENDPOINT_URL to query Athena"
            )
        sql, names = to_qmark(query.sql)
        frame: pd.DataFrame = wr.athena.read_sql_query(
            sql,
            database=self.database,
            params=[athena_literal(values[n]) for n in names] or None,
            paramstyle="qmark",
            workgroup=self.workgroup,
            s3_output=self.s3_output,
            ctas_approach=False,
            boto3_session=self.session,
        )
        return frame


def _frame(table: pa.Table) -> pd.DataFrame:
    """A result as pandas with whole numbers kept whole: DuckDB sums and counts come back as
    HUGEINT or DECIMAL(38,0), which pandas would turn into floats (``1.0``)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.scale == 0:
            table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
    return table.to_pandas(integer_object_nulls=True, maps_as_pydicts="strict")


class LocalEngine:
    """DuckDB over the Parquet files that the Glue catalog points at, read through pyarrow's S3."""

    def __init__(self, session: boto3.Session, database: str) -> None:
        self.session = session
        self.database = database
        self.glue = session.client("glue")
        self.fs = _s3_filesystem(session)

    def run(self, query: SavedQuery, values: dict[str, Any]) -> pd.DataFrame:
        import duckdb

        tree = sqlglot.parse_one(query.sql, read="athena")
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        con = duckdb.connect()
        for table in tree.find_all(exp.Table):
            if table.name not in ctes:
                con.register(table.name, self.dataset(table.name))
                table.set("db", None)
                table.set("catalog", None)
        try:
            sql = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
        except sqlglot.errors.UnsupportedError as exc:
            raise QueryError(f"the local engine cannot run {query.ref}: {exc}") from None
        used = {p.name for p in tree.find_all(exp.Placeholder)}
        try:
            result = con.sql(sql, params={k: v for k, v in values.items() if k in used})
            return _frame(result.to_arrow_table())
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise QueryError(f"the local engine cannot run {query.ref}: {first}") from None

    def dataset(self, table: str) -> ds.Dataset | pa.Table:
        """The table's files, found through its Glue location and registered partitions."""
        try:
            meta = self.glue.get_table(DatabaseName=self.database, Name=table)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            raise QueryError(
                f"table {self.database}.{table} does not exist: run `loglake catalog apply`"
            ) from None
        location = meta["StorageDescriptor"]["Location"]
        schema = _schema(meta)
        files = {
            path: size
            for prefix in self._partition_locations(table, location)
            for path, size in self._files(prefix).items()
        }
        if not files:
            return schema.empty_table()
        hive = ds.HivePartitioning(pa.schema([schema.field("dt")]))
        base = _strip(location)
        parquet = ds.ParquetFileFormat()
        fragments = [
            parquet.make_fragment(
                path,
                self.fs,
                partition_expression=hive.parse(path.removeprefix(base).lstrip("/"))
                & (pc.field("$path") == f"s3://{path}")
                & (pc.field("$file_size") == size),
            )
            for path, size in sorted(files.items())
        ]
        return ds.FileSystemDataset(fragments, schema, parquet, self.fs)

    def _partition_locations(self, table: str, location: str) -> list[str]:
        pages = self.glue.get_paginator("get_partitions").paginate(
            DatabaseName=self.database, TableName=table
        )
        found = [p["StorageDescriptor"]["Location"] for page in pages for p in page["Partitions"]]
        return sorted(found) or [location]

    def _files(self, prefix: str) -> dict[str, int]:
        """Every Parquet file under ``prefix`` and its size in bytes."""
        selector = fs.FileSelector(_strip(prefix), recursive=True, allow_not_found=True)
        return {
            info.path: info.size
            for info in self.fs.get_file_info(selector)
            if info.type == fs.FileType.File and info.path.endswith(".parquet")
        }


def _schema(meta: dict[str, Any]) -> pa.Schema:
    columns = meta["StorageDescriptor"]["Columns"] + meta.get("PartitionKeys", [])
    fields = []
    for column in columns:
        type_ = column["Type"].replace(" ", "").lower()
        if type_ not in ARROW_TYPES:
            raise QueryError(
                f"the local engine cannot read column {column['Name']} of type {type_}"
            )
        fields.append(pa.field(column["Name"], ARROW_TYPES[type_]))
    return pa.schema(fields + list(PSEUDO_COLUMNS))


def _strip(uri: str) -> str:
    return uri.removeprefix("s3://").rstrip("/")


def _s3_filesystem(session: boto3.Session) -> fs.S3FileSystem:
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials else None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    options: dict[str, Any] = {"region": session.region_name or "us-east-1"}
    if frozen:
        options.update(
            access_key=frozen.access_key, secret_key=frozen.secret_key, session_token=frozen.token
        )
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options.update(endpoint_override=host.rstrip("/"), scheme=scheme)
    return fs.S3FileSystem(**options)


def engine_for(
    engine: str,
    session: boto3.Session,
    database: str,
    workgroup: str = "primary",
    s3_output: str | None = None,
) -> LocalEngine | AthenaEngine:
    """The engine named ``local`` (DuckDB over the lake's files) or ``athena``."""
    if engine == "local":
        return LocalEngine(session, database)
    return AthenaEngine(session, database, workgroup, s3_output)


def run_saved(
    ref: str,
    given: dict[str, str],
    engine: str = "local",
    workgroup: str = "primary",
    s3_output: str | None = None,
    session: boto3.Session | None = None,
) -> pd.DataFrame:
    """Resolve ``ref``, check and type its parameters, and run it on ``engine`` (local | athena)."""
    from handler.config import Config

    from .queries import resolve
    from .target import session as default_session

    saved = resolve(ref)
    values = saved.bind(given)
    database = Config.from_env().glue_database
    runner = engine_for(engine, session or default_session(), database, workgroup, s3_output)
    return runner.run(saved, values)

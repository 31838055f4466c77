"""Two engines behind one interface: Athena (awswrangler) and local (DuckDB over the Glue tables).

Both bind parameter values; neither pastes them into SQL text. Athena receives ``?`` placeholders
and server-side ``ExecutionParameters``; DuckDB receives ``$name`` placeholders and a dict.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from handler.ddl import SYMLINK_INPUT
from handler.parquet import arrow_type

from .queries import QueryError, SavedQuery, to_qmark
from .render import Rows

if TYPE_CHECKING:  # imported where used: `loglake query` on a small lake needs neither
    import pandas as pd
    import pyarrow.dataset as ds
    from pyarrow import fs

#: Athena's (Trino's) per-file pseudo-columns, which the local engine provides too.
PSEUDO_COLUMNS = pa.schema([("$path", pa.string()), ("$file_size", pa.int64())])


class Engine(Protocol):
    """Runs a saved query with bound values: ``run`` answers a DataFrame (for the report),
    ``rows`` the same result as ``Rows`` (for printing)."""

    def run(self, query: SavedQuery, values: dict[str, Any]) -> pd.DataFrame: ...

    def rows(self, query: SavedQuery, values: dict[str, Any]) -> Rows: ...


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

    def rows(self, query: SavedQuery, values: dict[str, Any]) -> Rows:
        return Rows.of(self.run(query, values))


def _whole(table: pa.Table) -> pa.Table:
    """Whole numbers kept whole: DuckDB sums and counts come back as HUGEINT or
    DECIMAL(38,0), which pandas would turn into floats (``1.0``)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.scale == 0:
            table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
    return table


class LocalEngine:
    """DuckDB over the files Athena would read for the Glue tables, read through pyarrow's S3."""

    def __init__(self, session: boto3.Session, database: str, list_once: bool = False) -> None:
        self.session = session
        self.database = database
        self.glue = session.client("glue")
        #: ``list_once``: each table's files are listed at its first query only, so the
        #: report's queries, run within seconds of each other, read one snapshot of the lake.
        self.list_once = list_once
        self._sources: dict[str, ds.Dataset | pa.Table] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def run(self, query: SavedQuery, values: dict[str, Any]) -> pd.DataFrame:
        frame: pd.DataFrame = self.arrow(query, values).to_pandas(
            integer_object_nulls=True, maps_as_pydicts="strict"
        )
        return frame

    def rows(self, query: SavedQuery, values: dict[str, Any]) -> Rows:
        return Rows.of(self.arrow(query, values))

    def arrow(self, query: SavedQuery, values: dict[str, Any]) -> pa.Table:
        """The result as DuckDB answers it, as Arrow (whole numbers whole)."""
        import duckdb

        tree = sqlglot.parse_one(query.sql, read="athena")
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        con = duckdb.connect()
        for table in tree.find_all(exp.Table):
            if table.name not in ctes:
                con.register(table.name, self.source(table.name))
                table.set("db", None)
                table.set("catalog", None)
        try:
            sql = tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
        except sqlglot.errors.UnsupportedError as exc:
            raise QueryError(f"the local engine cannot run {query.ref}: {exc}") from None
        used = {p.name for p in tree.find_all(exp.Placeholder)}
        try:
            result = con.sql(sql, params={k: v for k, v in values.items() if k in used})
            return _whole(result.to_arrow_table())
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise QueryError(f"the local engine cannot run {query.ref}: {first}") from None

    def source(self, table: str) -> ds.Dataset | pa.Table:
        """What a query reads for ``table``: a small table's rows (``READ_WHOLE``), read whole
        with its files side by side (faster for a laptop's lake than a dataset, and without
        its import), or a bigger one's ``dataset``; with ``list_once`` found once."""
        if not self.list_once:
            return self._list(table, whole=True)
        with self._lock:
            lock = self._locks.setdefault(table, threading.Lock())
        with lock:
            if table not in self._sources:
                self._sources[table] = self._list(table, whole=True)
            return self._sources[table]

    def dataset(self, table: str) -> ds.Dataset | pa.Table:
        """The table's rows as Athena would read them (``listed_files``), as a lazy dataset
        (DuckDB reads only the columns and days a query needs); no files: an empty table."""
        return self._list(table, whole=False)

    def _list(self, table: str, whole: bool) -> ds.Dataset | pa.Table:
        meta = table_meta(self.glue, self.database, table)
        schema = _schema(meta)
        s3 = self.session.client("s3")
        files = listed_files(s3, self.glue, self.database, table, meta)
        if not files:
            return schema.empty_table()
        if whole and sum(f.size for f in files) <= READ_WHOLE:
            with ThreadPoolExecutor(LISTERS) as pool:
                parts = list(pool.map(lambda f: _read_whole(s3, f, schema), files))
            return pa.concat_tables(parts)
        import pyarrow.dataset as ds

        parquet = ds.ParquetFileFormat()
        fragments = []
        filesystem = _s3_filesystem(self.session)
        for file in files:
            where = (pc.field("$path") == file.uri) & (pc.field("$file_size") == file.size)
            if file.dt is not None:
                where = where & (pc.field("dt") == file.dt)
            fragments.append(
                parquet.make_fragment(_strip(file.uri), filesystem, partition_expression=where)
            )
        return ds.FileSystemDataset(fragments, schema, parquet, filesystem)


#: Tables with at most this many bytes of files are read whole by the local engine.
READ_WHOLE = 64 * 1024 * 1024


def _read_whole(s3: Any, file: Listed, schema: pa.Schema) -> pa.Table:
    """One file's rows in the table's schema: its partition value and Athena's ``$path`` and
    ``$file_size`` added, columns it predates as NULLs, narrower types widened."""
    bucket, key = _split(file.uri)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    got = pq.ParquetFile(io.BytesIO(body)).read()  # (read_table would import pyarrow.dataset)
    given: dict[str, str | int | None] = {"$path": file.uri, "$file_size": file.size, "dt": file.dt}
    columns = []
    for field in schema:
        if field.name in got.column_names:
            columns.append(got.column(field.name).cast(field.type))
        elif (value := given.get(field.name)) is None:
            columns.append(pa.nulls(got.num_rows, field.type))
        else:
            columns.append(_constant(value, field.type, got.num_rows))
    return pa.Table.from_arrays(columns, schema=schema)


def _constant(value: str | int, kind: pa.DataType, count: int) -> pa.Array:
    """``count`` copies of ``value``, made from buffers: converting a Python value
    (``pa.array``, ``pa.scalar``) makes pyarrow import pandas, a third of a second that
    `loglake query` has no use for."""
    if isinstance(value, int):
        data = pa.py_buffer(np.full(count, value, dtype=np.int64))
        return pa.Array.from_buffers(pa.int64(), count, [None, data]).cast(kind)
    text = value.encode()
    offsets = pa.py_buffer(np.array([0, len(text)], dtype=np.int32))
    one = pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(text)])
    zeros = pa.py_buffer(np.zeros(count, dtype=np.int32))
    indices = pa.Array.from_buffers(pa.int32(), count, [None, zeros])
    return pa.DictionaryArray.from_arrays(indices, one).cast(kind)


def table_meta(glue: Any, database: str, table: str) -> dict[str, Any]:
    """The Glue table, or a QueryError saying how to create it."""
    try:
        meta: dict[str, Any] = glue.get_table(DatabaseName=database, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException:
        raise QueryError(
            f"table {database}.{table} does not exist: run `loglake catalog apply`"
        ) from None
    return meta


@dataclass(frozen=True)
class Listed:
    """One data file a query of the whole table reads, with its partition value and size."""

    dt: str | None
    uri: str
    size: int


def listed_files(
    s3: Any, glue: Any, database: str, table: str, meta: dict[str, Any] | None = None
) -> list[Listed]:
    """The files Athena reads for a query of the whole table, found the way Athena finds them.

    Its partitions are projected (``projection.*`` and ``storage.location.template``) or, with
    projection off, the ones registered in Glue. In each partition folder the files are listed,
    not recursively, names starting with ``_`` or ``.`` hidden (as in Hadoop, Athena and Trino);
    for a symlink table each listed file is a manifest naming one data file per line. A named
    file that is gone fails the query, as in Athena (``HIVE_CANNOT_OPEN_SPLIT``).
    """
    meta = meta or table_meta(glue, database, table)
    symlink = meta["StorageDescriptor"].get("InputFormat") == SYMLINK_INPUT

    def files(dt: str | None, location: str) -> list[Listed]:
        bucket, _ = _split(location)
        found = []
        for key, size in _listing(s3, location):
            if not symlink:
                found.append(Listed(dt, f"s3://{bucket}/{key}", size))
                continue
            named = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().split()
            found += [Listed(dt, uri, size) for uri, size in _sizes(s3, table, named).items()]
        return found

    partitions = _partitions(s3, glue, database, table, meta)
    with ThreadPoolExecutor(LISTERS) as pool:  # a few requests per partition, side by side
        return [f for listed in pool.map(lambda p: files(*p), partitions) for f in listed]


def _partitions(
    s3: Any, glue: Any, database: str, table: str, meta: dict[str, Any]
) -> list[tuple[str | None, str]]:
    """``(dt, location)`` of every partition a query of the whole table reads."""
    params = meta.get("Parameters", {})
    location = meta["StorageDescriptor"]["Location"]
    if not meta.get("PartitionKeys"):
        return [(None, location)]
    if params.get("projection.enabled", "").lower() == "true":
        return _projected(params, location, lambda uri: _folders(s3, uri))
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    found = [
        (p["Values"][0], p["StorageDescriptor"]["Location"])
        for page in pages
        for p in page["Partitions"]
    ]
    return sorted(found)


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _folders(s3: Any, uri: str) -> list[str]:
    """The folders right under ``uri``, as URIs."""
    bucket, prefix = _split(uri)
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    return [
        f"s3://{bucket}/{p['Prefix']}" for page in pages for p in page.get("CommonPrefixes", [])
    ]


def _listing(s3: Any, location: str) -> list[tuple[str, int]]:
    """The files right in a partition folder that Hive-style readers read, with sizes."""
    bucket, prefix = _split(location.rstrip("/") + "/")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    items = [o for page in pages for o in page.get("Contents", [])]
    return sorted(
        (o["Key"], int(o["Size"]))
        for o in items
        if not o["Key"][len(prefix) :].startswith(("_", ".")) and o["Key"] != prefix
    )


#: Partitions listed at once (each is a listing, a manifest and a HEAD per file it names).
LISTERS = 8
#: Up to this many named files are looked at one by one; more, by listing their folder (which
#: may also hold many files readers no longer see, waiting out the grace period).
HEADS = 20


def _sizes(s3: Any, table: str, uris: list[str]) -> dict[str, int]:
    """Each named file's size (``HEAD`` each, or one listing of each folder they are in)."""
    sizes: dict[str, int] = {}
    if len(uris) <= HEADS:
        for uri in uris:
            bucket, key = _split(uri)
            with contextlib.suppress(s3.exceptions.ClientError):
                sizes[uri] = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    else:
        for folder in {uri.rsplit("/", 1)[0] + "/" for uri in uris}:
            bucket, _ = _split(folder)
            sizes |= {f"s3://{bucket}/{key}": size for key, size in _listing(s3, folder)}
    gone = [uri for uri in uris if uri not in sizes]
    if gone:
        raise QueryError(
            f"{table}: {gone[0]} is listed but gone (Athena: HIVE_CANNOT_OPEN_SPLIT); run the "
            "query again, and if it stays gone (deleted outside loglake), run `loglake retention "
            "apply` to stop listing it"
        )
    return {uri: sizes[uri] for uri in uris}


def _projected(
    params: dict[str, str], location: str, folders: Callable[[str], list[str]]
) -> list[tuple[str | None, str]]:
    """The partitions Athena's projection of a ``date`` column ``dt`` gives that hold a folder.

    Athena computes every day of ``projection.dt.range`` and reads its template location; days
    with no folder are empty, so listing the template's parent gives the same rows, faster.
    """
    template = params.get("storage.location.template", location.rstrip("/") + "/dt=${dt}/")
    parent, _, _ = template.partition("${dt}")
    first, last = _range(params.get("projection.dt.range", ""))
    found = []
    for folder in folders(parent.rsplit("/", 1)[0] + "/"):
        if not folder.startswith(parent):
            continue
        value = folder[len(parent) :].split("/", 1)[0]
        try:
            day = datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            continue  # not a value the projection's format yields
        if first <= day <= last:
            found.append((value, template.replace("${dt}", value)))
    return sorted(found)


def _range(text: str) -> tuple[datetime, datetime]:
    """``2000-01-01,NOW+1DAYS`` as two datetimes (``NOW``, ``NOW-3DAYS`` and dates allowed)."""

    def point(part: str) -> datetime:
        part = part.strip().upper()
        if part.startswith("NOW"):
            offset = part[3:].removesuffix("DAYS").removesuffix("DAY") or "0"
            return datetime.now(UTC).replace(tzinfo=None) + timedelta(days=int(offset))
        return datetime.strptime(part, "%Y-%m-%d")

    if "," not in text:
        return datetime.min, datetime.max
    start, end = text.split(",", 1)
    return point(start), point(end)


def _schema(meta: dict[str, Any]) -> pa.Schema:
    columns = meta["StorageDescriptor"]["Columns"] + meta.get("PartitionKeys", [])
    fields = []
    for column in columns:
        type_ = column["Type"].replace(" ", "").lower()
        try:
            kind = arrow_type(type_)
        except ValueError:
            raise QueryError(
                f"the local engine cannot read column {column['Name']} of type {type_}"
            ) from None
        fields.append(pa.field(column["Name"], kind))
    return pa.schema(fields + list(PSEUDO_COLUMNS))


def _strip(uri: str) -> str:
    return uri.removeprefix("s3://").rstrip("/")


def _s3_filesystem(session: boto3.Session) -> fs.S3FileSystem:
    from pyarrow import fs

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
    list_once: bool = False,
) -> LocalEngine | AthenaEngine:
    """The engine named ``local`` (DuckDB over the lake's files) or ``athena``."""
    if engine == "local":
        return LocalEngine(session, database, list_once)
    return AthenaEngine(session, database, workgroup, s3_output)


def run_saved(
    ref: str,
    given: dict[str, str],
    engine: str = "local",
    workgroup: str = "primary",
    s3_output: str | None = None,
    session: boto3.Session | None = None,
) -> Rows:
    """Resolve ``ref``, check and type its parameters, and run it on ``engine`` (local | athena)."""
    from .queries import resolve

    saved = resolve(ref)
    return _run(saved, saved.bind(given), engine, workgroup, s3_output, session)


def run_sql(
    sql: str,
    origin: str = "the command line",
    engine: str = "local",
    workgroup: str = "primary",
    s3_output: str | None = None,
    session: boto3.Session | None = None,
) -> Rows:
    """Run one ad-hoc ``SELECT`` (``loglake sql``) on the same engines as the saved queries.

    Only a query is accepted (``SELECT``, ``WITH``, ``UNION``...): DDL, ``INSERT`` or several
    statements are refused before any engine runs, so an ad-hoc question cannot change the lake.
    """
    statements = [s for s in _parse_all(sql, origin) if s is not None]
    if len(statements) != 1:
        raise QueryError(f"{origin}: give exactly one SELECT statement, got {len(statements)}")
    if not isinstance(statements[0], exp.Query):
        head = " ".join(sql.split())[:40]
        raise QueryError(
            f"{origin}: loglake sql runs one SELECT (or WITH ... SELECT), not {head!r}"
        )
    if statements[0].find(exp.Placeholder) is not None:
        raise QueryError(
            f"{origin}: placeholders need a saved query (queries/<name>/v1.sql and "
            "`loglake query NAME -p name=value`); write the value into the SQL here"
        )
    query = SavedQuery("ad-hoc SQL", 0, "", (), sql.strip().rstrip(";"), Path(origin))
    return _run(query, {}, engine, workgroup, s3_output, session)


def _parse_all(sql: str, origin: str) -> list[Any]:
    try:
        return sqlglot.parse(sql, read="athena")
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        raise QueryError(f"{origin}: not valid Athena SQL: {first}") from None


def _run(
    query: SavedQuery,
    values: dict[str, Any],
    engine: str,
    workgroup: str,
    s3_output: str | None,
    session: boto3.Session | None,
) -> Rows:
    from handler.config import Config

    from .target import session as default_session

    database = Config.from_env().glue_database
    runner = engine_for(engine, session or default_session(), database, workgroup, s3_output)
    return runner.rows(query, values)

"""Write rows as Parquet files at exact paths and register their partitions in Glue.

Every file name is chosen by the caller (an attempt's own names, see ``ledger.py``), and the
partition is then registered through the catalog API. The table's declared types are always
used, so a write never infers or changes a schema; ``parquet.encode`` decides the encoding, the
same for fresh files and compacted ones.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
import threading

import boto3
import pyarrow as pa

from .ddl import TableDef
from .parquet import COMPRESSION, arrow_schema, conform, encode

#: Each table's sort order within a file: what its queries filter on.
SORT_KEYS = {"processed": ("event_time",), "errors": ("source_uri", "source_line")}


class CatalogLibrary:
    """awswrangler (and pandas with it), which only registering partitions needs, loaded once per
    container while the workers of the first big object run instead of before them.

    Importing it takes half a second of one core. The parent process forks its workers first
    and then imports it in a thread, while it mostly waits for them; ``Sink.register`` needs it
    only at the end. Workers never need pandas (rows go to Parquet from Arrow), so they tell
    pyarrow there is none (``without_pandas``): pyarrow would import it on a process's first
    array, half a second in every worker of every object.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Import it in a background thread, unless it is loaded or loading."""
        if self._thread is None and "awswrangler" not in sys.modules:
            self._thread = threading.Thread(target=_import_catalog_library, daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """Let a background import finish: a process must not fork while a thread imports (the
        child would inherit the import lock held)."""
        if self._thread is not None:
            self._thread.join()


def _import_catalog_library() -> None:
    with contextlib.suppress(Exception):  # registering imports it again and reports the error
        import awswrangler  # noqa: F401


def without_pandas() -> None:
    """In a forked worker: make ``import pandas`` fail unless the parent had loaded it, so that
    pyarrow, which asks for pandas on a process's first array, goes on without it. (A ``None``
    in ``sys.modules`` would not do: pyarrow's compiled import takes it as the module.)"""
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _NoPandas())


class _NoPandas(importlib.abc.MetaPathFinder):
    """Finds pandas nowhere."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError("a worker process does not load pandas", name=name)
        return None


class Sink:
    """Writes one table's files and remembers which partitions it already registered."""

    def __init__(
        self,
        table: TableDef,
        database: str,
        catalog_name: str,
        session: boto3.Session,
        sort_by: tuple[str, ...],
    ):
        self.table = table
        self.sort_by = sort_by
        self.schema = arrow_schema(table.types)
        self.s3 = session.client("s3")
        self.database = database
        self.catalog_name = catalog_name
        self.session = session
        self._registered: set[str] = set()

    def path(self, dt: str, stem: str) -> str:
        """The S3 path of one output file: ``<location>dt=<dt>/<stem>.parquet``."""
        return f"{self.table.location.rstrip('/')}/dt={dt}/{stem}.parquet"

    def write(self, path: str, rows: pa.Table) -> None:
        """Write one Parquet file with exactly the table's columns, in the declared order."""
        rows = conform(rows, self.schema)
        bucket, key = path.removeprefix("s3://").split("/", 1)
        self.s3.put_object(Bucket=bucket, Key=key, Body=encode(rows, self.sort_by))

    def register(self, dts: set[str]) -> None:
        """Add the partitions to the Glue table (already-existing ones are fine).

        awswrangler (and pandas with it) is imported here or by ``CatalogLibrary``, once per
        container, not on the path every batch takes: rows go to Parquet straight from Arrow.
        """
        import awswrangler as wr

        wr.config.botocore_config = self.session._session.get_default_client_config()
        new = sorted(dts - self._registered)
        if not new:
            return
        base = self.table.location.rstrip("/")
        wr.catalog.add_parquet_partitions(
            database=self.database,
            table=self.catalog_name,
            partitions_values={f"{base}/dt={dt}/": [dt] for dt in new},
            compression=COMPRESSION,
            boto3_session=self.session,
        )
        self._registered.update(new)

"""Write rows as Parquet files at exact paths and register their partitions in Glue.

awswrangler's dataset mode would name every file ``prefix + uuid4``, so a retry would add a
second copy. Here every file name is derived from the source object, its version, the batch and
the partition, so a retry overwrites; the partition is then registered through the catalog API.
The table's declared types are always passed in, so a write never infers or changes a schema.
"""

from __future__ import annotations

import awswrangler as wr
import boto3
import pandas as pd

from .ddl import TableDef

#: INT64 microsecond timestamps, never INT96 (aws-sdk-pandas#3357): exact in Athena and DuckDB.
PARQUET_OPTIONS = {
    "flavor": None,
    "version": "2.6",
    "coerce_timestamps": "us",
    "use_deprecated_int96_timestamps": False,
    "allow_truncated_timestamps": False,
}


class Sink:
    """Writes one table's files and remembers which partitions it already registered."""

    def __init__(self, table: TableDef, database: str, catalog_name: str, session: boto3.Session):
        self.table = table
        self.database = database
        self.catalog_name = catalog_name
        self.session = session
        self.dtype = dict(table.types)
        self._registered: set[str] = set()

    def path(self, dt: str, stem: str) -> str:
        """The S3 path of one output file: ``<location>dt=<dt>/<stem>.parquet``."""
        return f"{self.table.location.rstrip('/')}/dt={dt}/{stem}.parquet"

    def write(self, path: str, frame: pd.DataFrame) -> None:
        """Write one Parquet file with exactly the table's columns, in the declared order."""
        wr.s3.to_parquet(
            frame[list(self.dtype)],
            path=path,
            index=False,
            compression="snappy",
            dtype=self.dtype,
            pyarrow_additional_kwargs=dict(PARQUET_OPTIONS),
            boto3_session=self.session,
            use_threads=False,
        )

    def register(self, dts: set[str]) -> None:
        """Add the partitions to the Glue table (already-existing ones are fine)."""
        new = sorted(dts - self._registered)
        if not new:
            return
        base = self.table.location.rstrip("/")
        wr.catalog.add_parquet_partitions(
            database=self.database,
            table=self.catalog_name,
            partitions_values={f"{base}/dt={dt}/": [dt] for dt in new},
            compression="snappy",
            boto3_session=self.session,
        )
        self._registered.update(new)

    def delete(self, paths: list[str]) -> None:
        """Remove files an earlier attempt or version left behind."""
        if paths:
            wr.s3.delete_objects(sorted(paths), boto3_session=self.session, use_threads=False)

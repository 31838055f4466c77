"""Write rows as Parquet files at exact paths and register their partitions in Glue.

Every file name is chosen by the caller (an attempt's own names, see ``ledger.py``), under the
table's data location, which no reader lists (``partition.py`` names committed files in the
manifests readers do list); the partition is registered through the Glue API. The table's
declared types are always used, so a write never infers or changes a schema; ``parquet.encode``
decides the encoding, the same for fresh files and compacted ones.
"""

from __future__ import annotations

import boto3
import pyarrow as pa

from .ddl import TableDef
from .parquet import arrow_schema, conform, encode


class _SortKeys(dict[str, tuple[str, ...]]):
    """Each table's sort order within a file: what its queries filter on. ``errors`` by where
    the line was; every other table (``processed`` and the typed ones) by event time."""

    def __missing__(self, table: str) -> tuple[str, ...]:
        return ("event_time",)


SORT_KEYS = _SortKeys(errors=("source_uri", "source_line"))


def preload_pandas() -> None:
    """Import pandas in this process now.

    Called before forking workers: pyarrow imports pandas the first time a process builds an
    array. Imported once before the fork, every worker inherits it instead of importing pandas
    again (0.4 s each, for every object), and shares its memory with this process.
    """
    import pandas  # noqa: F401


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

        A partition's location is its folder of the table's LOCATION, where its manifest will
        be: registering it shows a reader nothing until a commit's manifest names files.
        """
        new = sorted(dts - self._registered)
        if not new:
            return
        glue = self.session.client("glue")
        base = self.table.listing.rstrip("/")
        inputs = [
            {"Values": [dt], "StorageDescriptor": self.table.storage(f"{base}/dt={dt}/")}
            for dt in new
        ]
        for start in range(0, len(inputs), 100):  # Glue's limit per call
            answer = glue.batch_create_partition(
                DatabaseName=self.database,
                TableName=self.catalog_name,
                PartitionInputList=inputs[start : start + 100],
            )
            for error in answer.get("Errors", []):
                if error["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException":
                    raise RuntimeError(
                        f"Glue refused partition {error['PartitionValues']} of "
                        f"{self.database}.{self.catalog_name}: {error['ErrorDetail']}"
                    )
        self._registered.update(new)

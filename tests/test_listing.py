"""The local engine finds a table's files by Athena's rules, so a local test says what Athena reads.

Partitions are projected from the table's ``projection.*`` properties (registered ones with
projection off), hidden names (``_``, ``.``) are skipped, a symlink table's manifests are read,
files no manifest names are not, and a named file that is gone fails the query, as Athena's
``HIVE_CANNOT_OPEN_SPLIT`` does.
"""

from __future__ import annotations

import pytest

from loglake.engines import listed_files
from loglake.exceptions import QueryError

from .conftest import PROCESSED, RAW, Lake, good, ndjson


def listed(lake: Lake, table: str = "processed_logs") -> list[tuple[str | None, str]]:
    glue = lake.session.client("glue")
    found = listed_files(lake.s3, glue, lake.config.glue_database, table)
    return sorted((f.dt, f.uri.rsplit("/", 1)[1]) for f in found)


def one_object(lake: Lake) -> list[tuple[str | None, str]]:
    lake.put("app/one.log", ndjson(good(1), good(2, "2025-07-22")))
    assert lake.pipeline().process_s3(RAW, "app/one.log").status == "processed"
    return listed(lake)


def test_only_the_files_a_manifest_names_are_read(lake: Lake) -> None:
    files = one_object(lake)
    assert [dt for dt, _ in files] == ["2025-07-21", "2025-07-22"]
    # Another Parquet file in the data folder, hidden files beside the manifest: none is read.
    body = lake.s3.get_object(Bucket=PROCESSED, Key=lake.files("processed/dt=2025-07-21/")[0])
    data = body["Body"].read()
    lake.s3.put_object(Bucket=PROCESSED, Key="processed/dt=2025-07-21/stray.parquet", Body=data)
    for hidden in ("_SUCCESS", ".manifest.crc", "_tmp_manifest"):
        key = f"symlink/processed/dt=2025-07-21/{hidden}"
        lake.s3.put_object(Bucket=PROCESSED, Key=key, Body=b"s3://nowhere/x.parquet\n")
    assert listed(lake) == files
    assert len(lake.rows()) == 2


def test_projection_reads_its_range_and_registered_partitions_only_without_it(
    lake: Lake,
) -> None:
    files = one_object(lake)
    manifest = lake.s3.get_object(Bucket=PROCESSED, Key="symlink/processed/dt=2025-07-21/manifest")
    named = manifest["Body"].read()
    for day in ("1999-12-31", "2999-01-01", "not-a-day"):  # outside the range or the format
        key = f"symlink/processed/dt={day}/manifest"
        lake.s3.put_object(Bucket=PROCESSED, Key=key, Body=named)
    assert listed(lake) == files
    glue = lake.session.client("glue")
    table = glue.get_table(DatabaseName="log_analytics_db", Name="processed_logs")["Table"]
    glue.update_table(
        DatabaseName="log_analytics_db",
        TableInput={
            "Name": "processed_logs",
            "StorageDescriptor": table["StorageDescriptor"],
            "PartitionKeys": table["PartitionKeys"],
            "Parameters": dict(table["Parameters"], **{"projection.enabled": "false"}),
        },
    )
    glue.delete_partition(
        DatabaseName="log_analytics_db", TableName="processed_logs", PartitionValues=["2025-07-22"]
    )
    assert listed(lake) == [files[0]]  # only what Glue has registered


def test_a_named_file_that_is_gone_fails_the_query_as_athena_does(lake: Lake) -> None:
    one_object(lake)
    lake.s3.delete_object(Bucket=PROCESSED, Key=lake.files("processed/dt=2025-07-22/")[0])
    with pytest.raises(QueryError, match="HIVE_CANNOT_OPEN_SPLIT"):
        listed(lake)

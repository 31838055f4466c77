"""`loglake catalog apply` (idempotent, refuses to re-type a table) and `loglake process`."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.compaction import CompactOptions, compact_lake
from handler.config import Config
from handler.exceptions import SchemaMismatchError
from handler.partition import partitions_for
from handler.pipeline import Pipeline
from handler.source import local_file
from loglake.catalog import apply
from loglake.cli import main

from .conftest import SAMPLE, Lake, good, ndjson


def test_apply_is_idempotent(lake: Lake) -> None:
    assert {c.action for c in apply(lake.config, lake.session)} == {"unchanged"}


def test_apply_refuses_a_table_with_other_columns_and_changes_nothing(lake: Lake) -> None:
    glue = lake.session.client("glue")
    table = glue.get_table(DatabaseName="log_analytics_db", Name="errors_logs")["Table"]
    columns = table["StorageDescriptor"]["Columns"]
    columns[1]["Type"] = "int"
    glue.update_table(
        DatabaseName="log_analytics_db",
        TableInput={
            "Name": "errors_logs",
            "StorageDescriptor": {**table["StorageDescriptor"], "Columns": columns},
            "PartitionKeys": table["PartitionKeys"],
            "Parameters": table["Parameters"],
        },
    )
    with pytest.raises(SchemaMismatchError, match="error_code"):
        apply(lake.config, lake.session)
    after = glue.get_table(DatabaseName="log_analytics_db", Name="errors_logs")["Table"]
    assert after["StorageDescriptor"]["Columns"][1]["Type"] == "int"
    result = CliRunner().invoke(main, ["catalog", "apply"])
    assert result.exit_code == 2 and result.output.startswith(
        "Error: table log_analytics_db.errors_logs: column error_code is int in the table and "
        "string in glue_ddl/errors_logs.sql; only int→bigint and float→double widen in place."
    )


def test_process_local_file_into_the_tables_and_dry_run(lake: Lake) -> None:
    dry = CliRunner().invoke(main, ["process", str(SAMPLE), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "lines read 4 = valid 3 + invalid 1 + blank 0" in dry.stdout
    assert "line 3: missing_field:level" in dry.stdout
    assert lake.files("") == []
    wet = CliRunner().invoke(main, ["process", str(SAMPLE)])
    assert wet.exit_code == 0, wet.output
    rows = lake.rows()
    assert len(rows) == 3 and set(rows["source_uri"]) == {SAMPLE.resolve().as_uri()}
    again = CliRunner().invoke(main, ["process", str(SAMPLE)])
    assert again.stdout.startswith("duplicate:")
    assert len(lake.rows()) == 3


def test_process_missing_s3_object_is_one_line(lake: Lake) -> None:
    result = CliRunner().invoke(main, ["process", "s3://loglake-raw/nope.log"])
    assert (
        result.exit_code == 2
        and result.output == "Error: s3://loglake-raw/nope.log does not exist\n"
    )


PIPELINE = Pipeline(Config(chunk_bytes=64, read_bytes=7, max_line_bytes=120))
GOOD_LINE = b'{"timestamp": "2025-07-21T10:00:00Z", "level": "info", "message": "ok"}'


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(st.binary(max_size=150), st.sampled_from([
    GOOD_LINE, b"", b"   ", b"\r", b'{"timestamp": 1, "level": "INFO", "message": "old"}', b"[]",
])), max_size=30))  # fmt: skip
def test_any_object_conserves_its_lines(lines: list[bytes]) -> None:
    data = b"\n".join(line.replace(b"\n", b" ") for line in lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.log"
        path.write_bytes(data)
        result = PIPELINE.process(local_file(path), dry_run=True)
    body = data.removeprefix(b"\xef\xbb\xbf")  # a leading byte order mark is not content
    expected = 0 if not body else body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    if data.startswith(b"\x1f\x8b"):  # taken for gzip: what it holds is not these lines
        return
    assert result.lines_read == expected
    lines = body.split(b"\n")[:expected]
    if any(len(line) > 120 for line in lines):  # over max_line_bytes: line_too_long, even if blank
        return
    assert result.blank == sum(1 for line in lines if not line.strip())
    assert result.valid == lines.count(GOOD_LINE)


OLD_PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}


def as_written_before_manifests(lake: Lake) -> None:
    """Turn the lake into what the version before manifests left: plain Parquet tables at the
    data locations (partitions too), no manifests, records holding only compaction entries."""
    glue = lake.session.client("glue")
    for name, role in (("processed_logs", "processed"), ("errors_logs", "errors")):
        table = glue.get_table(DatabaseName="log_analytics_db", Name=name)["Table"]
        location = lake.config.tables[role].location
        storage = {**table["StorageDescriptor"], **OLD_PARQUET, "Location": location}
        params = {k: v.replace("/symlink/", "/") for k, v in table["Parameters"].items()}
        glue.update_table(
            DatabaseName="log_analytics_db",
            TableInput={
                "Name": name,
                "StorageDescriptor": storage,
                "PartitionKeys": table["PartitionKeys"],
                "Parameters": params,
            },
        )
        for part in glue.get_partitions(DatabaseName="log_analytics_db", TableName=name)[
            "Partitions"
        ]:
            where = {**storage, "Location": f"{location}dt={part['Values'][0]}/"}
            glue.update_partition(
                DatabaseName="log_analytics_db",
                TableName=name,
                PartitionValueList=part["Values"],
                PartitionInput={"Values": part["Values"], "StorageDescriptor": where},
            )
    for key in [*lake.files("symlink/"), "_manifests/_layout.json"]:
        lake.s3.delete_object(Bucket="loglake-processed", Key=key)
    parts = partitions_for(lake.config, lake.s3)
    for record in parts.records():
        old = {k: v for k, v in record.doc.items() if k not in {"live", "trash", "seq"}}
        lake.s3.put_object(
            Bucket="loglake-processed",
            Key=parts.record_key(record.table, record.dt),
            Body=json.dumps(old).encode(),
        )


def test_apply_moves_a_lake_written_before_manifests_exactly_once(lake: Lake) -> None:
    pipe = lake.pipeline()
    for n in range(4):
        lake.put(f"old/{n}.log", ndjson(*(good(n * 10 + i) for i in range(5)), "{bad"))
        assert pipe.process_s3("loglake-raw", f"old/{n}.log").status == "processed"
    compact_lake(lake.config, lake.session, CompactOptions(min_age=timedelta(0)))
    lake.put("old/late.log", ndjson(good(900), "{bad"))  # after the compaction: on its own
    assert pipe.process_s3("loglake-raw", "old/late.log").status == "processed"
    before = (lake.rows()[["source_uri", "source_line"]].values.tolist(), len(lake.rows("errors")))
    as_written_before_manifests(lake)
    old = (lake.rows()[["source_uri", "source_line"]].values.tolist(), len(lake.rows("errors")))
    assert old == before  # readers of the old tables list the data files themselves

    changes = apply(lake.config, lake.session)
    assert (
        "lake",
        "errors_logs and processed_logs to manifests (5 objects published)",
        "moved",
    ) in [(c.kind, c.name, c.action) for c in changes]
    after = (lake.rows()[["source_uri", "source_line"]].values.tolist(), len(lake.rows("errors")))
    assert after == before and len(before[0]) == 21 and before[1] == 5
    assert {c.action for c in apply(lake.config, lake.session)} == {"unchanged"}
    # The moved lake goes on as any other: a re-upload replaces rows inside the compacted file.
    lake.put("old/1.log", ndjson(good(500), "{bad"))
    assert pipe.process_s3("loglake-raw", "old/1.log").status == "processed"
    rows = lake.rows()
    assert len(rows) == 17 and sorted(rows[rows.source_uri.str.endswith("/1.log")].source_line) == [
        1
    ]

"""`loglake catalog apply` (idempotent, refuses to re-type a table) and `loglake process`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.config import Config
from handler.exceptions import SchemaMismatchError
from handler.pipeline import Pipeline
from handler.source import local_file
from loglake.catalog import apply
from loglake.cli import main

from .conftest import SAMPLE, Lake


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

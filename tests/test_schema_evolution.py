"""Additive schema evolution: `catalog apply` adds and widens columns in place, refuses the rest."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from handler.compaction import CompactOptions, compact_lake
from handler.ddl import DEFAULT_DDL_DIR
from handler.exceptions import SchemaMismatchError
from loglake.catalog import apply
from loglake.cli import main
from loglake.engines import LocalEngine

from .conftest import RAW, Lake, good, ndjson

DB = "log_analytics_db"


def ddl_dir(tmp_path: Path, edit: Any = None, name: str = "processed_logs") -> Path:
    """A copy of glue_ddl/ with ``edit(text) -> text`` applied to one table's file."""
    target = tmp_path / f"ddl-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(DEFAULT_DDL_DIR, target)
    if edit:
        path = target / f"{name}.sql"
        path.write_text(edit(path.read_text()))
    return target


def add_after(column: str, new: str) -> Any:
    return lambda text: re.sub(rf"(\n  {column} [^\n]*\n)", rf"\1  {new},\n", text, count=1)


def glue_table(lake: Lake, name: str = "processed_logs") -> dict[str, Any]:
    table: dict[str, Any] = lake.session.client("glue").get_table(DatabaseName=DB, Name=name)[
        "Table"
    ]
    return table


def test_a_column_added_anywhere_is_added_in_place_and_old_rows_read_null(
    served_lake: Lake, tmp_path: Path
) -> None:
    lake = served_lake
    lake.put("before.log", ndjson(good(1, user_id="u-old"), good(2)))
    lake.pipeline().process_s3(RAW, "before.log")
    before = glue_table(lake)
    evolved = dataclasses.replace(
        lake.config, ddl_dirs=(ddl_dir(tmp_path, add_after("level", "user_id string")),)
    )
    changes = {c.name: c.action for c in apply(evolved, lake.session)}
    assert changes[f"{DB}.processed_logs"] == "updated"
    assert changes[f"{DB}.errors_logs"] == "unchanged"
    after = glue_table(lake)
    names = [c["Name"] for c in after["StorageDescriptor"]["Columns"]]
    assert names[:3] == ["event_time", "level", "user_id"]
    assert after["Parameters"] == before["Parameters"]  # projection settings kept
    assert after["PartitionKeys"] == before["PartitionKeys"]
    assert lake.partitions("processed_logs") == ["2025-07-21"]
    assert {c.action for c in apply(evolved, lake.session)} == {"unchanged"}

    lake.put("after.log", ndjson(good(3, user_id="u-new"), good(4)))
    lake.pipeline(ddl_dirs=evolved.ddl_dirs).process_s3(RAW, "after.log")
    expected = {
        ("before.log", 1): None,  # written before the column existed: NULL, not "u-old"
        ("before.log", 2): None,
        ("after.log", 1): "u-new",
        ("after.log", 2): None,
    }
    assert user_ids(lake) == expected
    # Compaction merges files of both schemas into one file of the new one.
    (result,) = compact_lake(evolved, lake.session, CompactOptions(min_age=timedelta(0)))
    assert (result.outcome, result.files_before, result.files_after) == ("compacted", 2, 1)
    assert user_ids(lake) == expected


def user_ids(lake: Lake) -> dict[tuple[str, int], str | None]:
    rows = LocalEngine(lake.session, DB).dataset("processed_logs").to_table().to_pylist()
    return {(r["source_uri"].rsplit("/", 1)[1], r["source_line"]): r["user_id"] for r in rows}


def test_int_widens_to_bigint_in_place(served_lake: Lake, tmp_path: Path) -> None:
    lake = served_lake
    narrow = dataclasses.replace(
        lake.config, ddl_dirs=(ddl_dir(tmp_path, add_after("message", "retries int")),)
    )
    apply(narrow, lake.session)
    lake.put("narrow.log", ndjson(good(1, retries=3)))
    lake.pipeline(ddl_dirs=narrow.ddl_dirs).process_s3(RAW, "narrow.log")
    wide = dataclasses.replace(
        lake.config, ddl_dirs=(ddl_dir(tmp_path, add_after("message", "retries bigint")),)
    )
    assert "updated" in {c.action for c in apply(wide, lake.session)}
    lake.put("wide.log", ndjson(good(2, retries=2**40)))
    lake.pipeline(ddl_dirs=wide.ddl_dirs).process_s3(RAW, "wide.log")
    table = LocalEngine(lake.session, DB).dataset("processed_logs").to_table()
    assert sorted(table.column("retries").to_pylist()) == [3, 2**40]


REFUSED = {
    "dropped": (lambda t: t.replace("  message     string             COMMENT 'the log message',\n", ""), "no longer declares message"),
    "renamed": (lambda t: t.replace("  message     string", "  msg         string"), "no longer declares message"),
    "retyped": (lambda t: t.replace("  source_line bigint", "  source_line string"), "column source_line is bigint in the table and string"),
    "narrowed": (lambda t: t.replace("  source_line bigint", "  source_line int   "), "column source_line is bigint in the table and int"),
    "partition key": (lambda t: t.replace("PARTITIONED BY (dt string", "PARTITIONED BY (day string"), "partition keys"),
}  # fmt: skip


@pytest.mark.parametrize("change", sorted(REFUSED))
def test_other_changes_are_refused_with_what_to_do_and_change_nothing(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    edit, message = REFUSED[change]
    before = glue_table(lake)
    changed = dataclasses.replace(lake.config, ddl_dirs=(ddl_dir(tmp_path, edit),))
    with pytest.raises(SchemaMismatchError, match=message):
        apply(changed, lake.session)
    assert glue_table(lake)["StorageDescriptor"] == before["StorageDescriptor"]
    monkeypatch.setenv("GLUE_DDL_DIR", str(changed.ddl_dirs[0]))
    result = CliRunner().invoke(main, ["catalog", "apply"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith("Error: table log_analytics_db.processed_logs")
    assert "Nothing was changed" in result.output

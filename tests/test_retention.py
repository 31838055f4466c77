"""Retention against moto: whole partitions past a table's retention go, exactly once, and stay
gone whatever is replayed; files deleted behind loglake's back never crash a command."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from moto import mock_aws

from handler.compaction import CompactOptions, compact_lake
from handler.ddl import DEFAULT_DDL_DIR
from handler.partition import partitions_for
from handler.retention import RetentionOptions, apply_retention
from handler.rules import parse_rules
from loglake.cli import main
from loglake.exceptions import QueryError
from loglake.status import collect

from .conftest import PROCESSED, RAW, Lake, good, make_lake, ndjson

TODAY = date(2025, 7, 31)
#: Kept: 2025-07-21 and later (10 days before TODAY).
KEEP = "2025-07-21"
NOW = CompactOptions(min_age=timedelta(0))


def with_retention(folder: Path, table: str = "processed_logs", days: int = 10) -> Path:
    """A project's glue_ddl/ folder whose ``table`` keeps ``days`` days."""
    folder.mkdir(exist_ok=True)
    text = (DEFAULT_DDL_DIR / f"{table}.sql").read_text()
    text = text.replace(
        "  'classification'", f"  'loglake.retention_days' = '{days}',\n  'classification'", 1
    )
    (folder / f"{table}.sql").write_text(text)
    return folder


def month(lake: Lake, objects: int = 3) -> None:
    """30 days (2025-07-01 .. 30) of ``objects`` objects each: 4 rows and a bad line apiece."""
    pipe = lake.pipeline()
    for day in range(1, 31):
        for n in range(objects):
            key = f"m/{day:02d}-{n}.log"
            rows = [good(i, f"2025-07-{day:02d}", n=n) for i in range(4)]
            lake.put(key, ndjson(*rows, "{bad"))
            assert pipe.process_s3(RAW, key).status == "processed"


def by_day(lake: Lake) -> Counter[str]:
    return Counter(lake.rows()["dt"])


def assert_status_exact(lake: Lake) -> None:
    """``status``'s rows in the tables are the rows a reader counts."""
    valid, invalid = collect(lake.session, lake.config, None).in_tables()
    assert (valid, invalid) == (len(lake.rows()), len(lake.rows("errors")))


@pytest.fixture
def month_lake(aws_env: None, tmp_path: Path) -> Iterator[Lake]:
    with mock_aws():
        lake = make_lake(workers=1, ddl_dirs=(DEFAULT_DDL_DIR, with_retention(tmp_path / "ddl")))
        month(lake)
        yield lake


def expire(lake: Lake, dry_run: bool = False) -> list:
    return apply_retention(
        lake.config, lake.session, RetentionOptions(dry_run=dry_run, today=TODAY)
    )


def test_a_month_keeps_its_last_ten_days_through_compaction_reupload_and_reprocess(
    month_lake: Lake,
) -> None:
    lake = month_lake
    compact_lake(lake.config, lake.session, NOW)  # old days compacted, so both kinds expire
    assert sum(by_day(lake).values()) == 30 * 3 * 4
    dry = expire(lake, dry_run=True)
    assert [(r.dt, r.outcome, r.rows) for r in dry] == [
        (f"2025-07-{d:02d}", "dry_run", 12) for d in range(1, 21)
    ]
    assert sum(by_day(lake).values()) == 30 * 3 * 4  # a dry run changes nothing
    done = expire(lake)
    assert [(r.dt, r.outcome, r.rows) for r in done] == [
        (f"2025-07-{d:02d}", "removed", 12) for d in range(1, 21)
    ]
    assert by_day(lake) == Counter({f"2025-07-{d}": 12 for d in range(21, 31)})
    assert len(lake.rows("errors")) == 90  # errors_logs keeps 90 days by upload day: all here
    assert not lake.files("processed/dt=2025-07-0") and not lake.files("processed/dt=2025-07-1")
    assert min(lake.partitions("processed_logs")) == KEEP
    assert_status_exact(lake)
    assert expire(lake) == []  # a second run finds nothing to do

    # A re-upload of an expired day's object (and one spanning both sides of the cutoff), a
    # reprocess of every object under a new rule, then a compaction: expired rows stay gone.
    lake.put("m/01-0.log", ndjson(*[good(i, "2025-07-01") for i in range(6)]))
    lake.put("m/20-0.log", ndjson(good(1, "2025-07-20"), good(2, "2025-07-25")))
    pipe = lake.pipeline()
    assert pipe.process_s3(RAW, "m/01-0.log").status == "processed"
    assert pipe.process_s3(RAW, "m/20-0.log").status == "processed"
    strict = lake.pipeline(rules=parse_rules('{"n": {"max_length": 5}}'))
    for day in range(1, 31):
        for n in range(3):
            strict.process_s3(RAW, f"m/{day:02d}-{n}.log")
    compact_lake(lake.config, lake.session, NOW)
    expected = Counter({f"2025-07-{d}": 12 for d in range(21, 31)})
    expected["2025-07-25"] += 1
    assert by_day(lake) == expected
    assert not lake.files("processed/dt=2025-07-01/")  # the replayed files were deleted
    assert_status_exact(lake)


def test_readers_stop_seeing_an_expired_day_at_once_and_its_files_go_after_the_grace(
    month_lake: Lake,
) -> None:
    lake = month_lake
    lake.config = replace(lake.config, reader_grace=timedelta(hours=1))
    done = expire(lake)
    assert {r.outcome for r in done} == {"expired"}
    assert min(by_day(lake)) == KEEP
    assert lake.files("processed/dt=2025-07-01/")  # still readable by a query that listed it
    records = partitions_for(lake.config, lake.s3)
    assert records.read("processed", "2025-07-01").trash
    again = expire(lake)
    assert {r.outcome for r in again} == {"waiting"}
    lake.config = replace(lake.config, reader_grace=timedelta(0))
    last = expire(lake)
    assert {r.outcome for r in last} == {"removed"}
    assert not lake.files("processed/dt=2025-07-0")
    assert_status_exact(lake)


def test_files_deleted_behind_loglakes_back_are_recorded_and_no_command_crashes(
    month_lake: Lake,
) -> None:
    lake = month_lake
    compact_lake(
        lake.config, lake.session, CompactOptions(min_age=timedelta(0), since="2025-07-25")
    )
    # As a lifecycle rule would: a compacted file, an original file and a whole day's files.
    doomed = [
        *lake.files("processed/dt=2025-07-25/"),
        lake.files("processed/dt=2025-07-22/")[0],
        *lake.files("processed/dt=2025-07-23/"),
    ]
    lake.s3.delete_objects(Bucket=PROCESSED, Delete={"Objects": [{"Key": k} for k in doomed]})
    with pytest.raises(QueryError, match="loglake retention apply"):
        lake.rows()  # as Athena would (HIVE_CANNOT_OPEN_SPLIT), with what to do
    found = expire(lake)
    assert sorted((r.dt, r.outcome, r.vanished) for r in found if r.dt >= KEEP) == [
        ("2025-07-22", "vanished", 1),
        ("2025-07-23", "vanished", 3),
        ("2025-07-25", "vanished", 1),
    ]
    rows = by_day(lake)
    assert (rows["2025-07-22"], rows["2025-07-23"], rows["2025-07-25"]) == (8, 0, 0)
    info = collect(lake.session, lake.config, None)
    assert info.vanished == 5
    # Every other command still works over the lake: compaction, a re-upload whose rows were in
    # the vanished compacted file, a reprocess, status.
    compact_lake(lake.config, lake.session, NOW)
    lake.put("m/25-1.log", ndjson(good(7, "2025-07-25"), good(8, "2025-07-26")))
    assert lake.pipeline().process_s3(RAW, "m/25-1.log").status == "processed"
    record = partitions_for(lake.config, lake.s3).read("processed", "2025-07-22")
    (owner,) = {entry["source_uri"] for entry in record.vanished.values()}
    strict = lake.pipeline(rules=parse_rules('{"n": {"max_length": 5}}'))
    assert strict.process_s3(RAW, owner.removeprefix(f"s3://{RAW}/")).status == "processed"
    rows = by_day(lake)
    assert rows["2025-07-25"] == 1 and rows["2025-07-26"] == 13
    assert rows["2025-07-22"] == 12  # its vanished file's object, processed again, is back whole
    assert len(lake.rows()) == sum(rows.values())


def test_the_command_prints_each_partition_and_refuses_an_unknown_table(
    month_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = month_lake
    monkeypatch.setenv("GLUE_DDL_DIR", ":".join(map(str, lake.config.ddl_dirs)))
    runner = CliRunner()
    shown = runner.invoke(main, ["retention", "show"])
    assert shown.exit_code == 0, shown.output
    assert "processed" in shown.output and "10 days" in shown.output
    assert "errors" in shown.output and "90 days" in shown.output
    dry = runner.invoke(main, ["retention", "apply", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove" in dry.output and "rows" in dry.output
    bad = runner.invoke(main, ["retention", "apply", "--table", "nope"])
    assert bad.exit_code != 0 and "Error: --table 'nope' is not a table" in bad.output


def test_an_upload_into_an_expired_day_is_settled_for_upload_wait(month_lake: Lake) -> None:
    """``loglake upload --wait`` waits until readers see an object's files: one whose day has
    expired is never shown, and must not be waited for."""
    lake = month_lake
    expire(lake)
    lake.put("m/old.log", ndjson(good(1, "2025-07-02"), good(2, "2025-07-25")))
    result = lake.pipeline().process_s3(RAW, "m/old.log")
    assert result.status == "processed"
    assert partitions_for(lake.config, lake.s3).showing(result.files)
    assert by_day(lake)["2025-07-25"] == 13 and "2025-07-02" not in by_day(lake)

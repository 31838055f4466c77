"""Compaction against moto: exact rows before and after, whatever interleaves with it."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from moto import mock_aws

from handler.compaction import CompactOptions, Compactor, compact_lake
from handler.ledger import Attempt, Ledger
from handler.partition import partitions_for
from handler.pipeline import _Run
from handler.source import s3_object
from loglake.cli import main
from loglake.engines import run_saved

from .conftest import PROCESSED, RAW, Lake, good, make_lake, ndjson

NOW = CompactOptions(min_age=timedelta(0))


def shipper(lake: Lake, objects: int, lines: int, day: str = "2025-07-21") -> None:
    """``objects`` uploads of ``lines`` lines each (one bad line per object), all processed."""
    pipe = lake.pipeline()
    for n in range(objects):
        records = [good(n * lines + i, day, n=n) for i in range(lines - 1)] + ["{bad"]
        lake.put(f"ship/{n:04d}.log", ndjson(*records))
        assert pipe.process_s3(RAW, f"ship/{n:04d}.log").status == "processed"


def counts(lake: Lake) -> tuple[Counter[tuple[str, int]], Counter[tuple[str, int]]]:
    rows, errors = lake.rows(), lake.rows("errors")
    return (
        Counter(zip(rows["source_uri"], rows["source_line"], strict=True)),
        Counter(zip(errors["source_uri"], errors["source_line"], strict=True)),
    )


def test_small_files_become_one_per_partition_with_the_same_rows(lake: Lake) -> None:
    shipper(lake, 30, 20)
    before = counts(lake)
    assert len(lake.files("processed/")) == 30 and len(lake.files("errors/")) == 30
    results = compact_lake(lake.config, lake.session, NOW)
    assert [(r.table, r.outcome, r.files_before, r.files_after) for r in results] == [
        ("processed", "compacted", 30, 1),
        ("errors", "compacted", 30, 1),
    ]
    assert counts(lake) == before
    assert sum(before[0].values()) == 30 * 19 and max(before[0].values()) == 1
    assert len(lake.files("processed/")) == 1 and len(lake.files("errors/")) == 1
    data = lake.s3.get_object(Bucket=PROCESSED, Key=lake.files("processed/")[0])["Body"].read()
    times = pq.read_table(io.BytesIO(data)).column("event_time").to_pylist()
    assert times == sorted(times)


class Crash(BaseException):
    """The compacting process is gone: no further request leaves it."""


class Hooked:
    """A boto3 S3 client that runs ``hook(number, name)`` before each of its calls."""

    def __init__(self, client: Any, hook: Callable[[int, str], None]) -> None:
        self._client, self._hook, self.calls = client, hook, 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            self._hook(self.calls, name)
            return attr(*args, **kwargs)

        return call


#: Objects in the lakes of the call-by-call tests (each adds two S3 calls to a compaction).
OBJECTS = 4


def fresh_lake(objects: int = OBJECTS, lines: int = 5, lease: timedelta = timedelta(0)) -> Lake:
    """A lake of small objects; with the default lease of 0 any pending claim is taken over."""
    lake = make_lake(workers=1, lease=lease)
    shipper(lake, objects, lines)
    return lake


def compactor(lake: Lake, hook: Callable[[int, str], None] = lambda n, name: None) -> Any:
    return Compactor(lake.config, Hooked(lake.session.client("s3"), hook))


def calls_of_one_compaction() -> int:
    with mock_aws():
        lake = fresh_lake()
        counting = compactor(lake)
        assert counting.compact("processed", "2025-07-21", NOW).outcome == "compacted"
        return int(counting.s3.calls)


def assert_exact(lake: Lake, expected: tuple[Counter[Any], Counter[Any]]) -> None:
    """Every expected row exactly once, nothing pending, and no file but the ones readers see
    (no leftover output, nothing in the trash: these lakes have no grace period)."""
    assert counts(lake) == expected
    records = partitions_for(lake.config, lake.s3).records()
    assert {r.table for r in records} == {"processed", "errors"}
    for record in records:
        assert record.pending is None and record.trash == {}
        files = {f"s3://{PROCESSED}/{k}" for k in lake.files(f"{record.table}/dt={record.dt}/")}
        assert files == set(record.visible), (record.table, record.dt)


def test_a_crash_before_any_call_of_a_compaction_then_a_rerun_is_exact(aws_env: None) -> None:
    total = calls_of_one_compaction()
    assert total > 10
    for stop in range(1, total + 1):
        with mock_aws():
            lake = fresh_lake()
            before = counts(lake)

            def crash(n: int, name: str, stop: int = stop) -> None:
                if n == stop:
                    raise Crash(name)

            with pytest.raises(Crash):
                compactor(lake, crash).compact("processed", "2025-07-21", NOW)
            # Readers see every row exactly once, whatever call the compaction died before.
            assert counts(lake) == before, stop
            rerun = compactor(lake).compact("processed", "2025-07-21", NOW)
            assert rerun.outcome in {"compacted", "skipped"}, (stop, rerun)
            assert_exact(lake, before)
            assert len(lake.files("processed/")) == 1, (stop, rerun)


Rows = tuple[Counter[Any], Counter[Any]]


def at_every_call(
    action: Callable[[Lake], Any], lease: timedelta = timedelta(0)
) -> Iterator[tuple[int, Lake, Rows, Any, Any]]:
    """For each S3 call of a compaction: a fresh lake where ``action`` runs just before it.

    Before every call a reader counts the rows: the compaction never changes what it sees (the
    rows before ``action``, then the rows right after it). Yields the call number, the lake, its
    rows before, the compaction's result and what ``action`` returned.
    """
    for at in range(1, calls_of_one_compaction() + 1):
        with mock_aws():
            lake = fresh_lake(lease=lease)
            before = counts(lake)
            done: list[Any] = []
            seen = [before]

            def hook(
                n: int,
                name: str,
                at: int = at,
                lake: Lake = lake,
                done: list[Any] = done,
                seen: list[Rows] = seen,
            ) -> None:
                assert counts(lake) == seen[0], (at, n, name)
                if n == at:
                    done.append(action(lake))
                    seen[0] = counts(lake)

            result = compactor(lake, hook).compact("processed", "2025-07-21", NOW)
            yield at, lake, before, result, done[0] if done else None


def test_a_reupload_during_any_step_of_a_compaction_replaces_exactly_its_rows(
    aws_env: None,
) -> None:
    def reupload(lake: Lake) -> None:
        lake.put("ship/0002.log", ndjson(good(900), good(901), "{also bad"))
        assert lake.pipeline().process_s3(RAW, "ship/0002.log").status == "processed"

    for at, lake, _, _, _ in at_every_call(reupload):
        compact_lake(lake.config, lake.session, NOW)  # whatever was left to do
        rows, errors = counts(lake)
        uri = f"s3://{RAW}/ship/0002.log"
        assert sorted(line for (u, line) in rows if u == uri) == [1, 2], at
        assert sorted(line for (u, line) in errors if u == uri) == [3], at
        assert max(rows.values()) == 1 and sum(rows.values()) == (OBJECTS - 1) * 4 + 2, at
        assert max(errors.values()) == 1 and sum(errors.values()) == OBJECTS, at
        assert_exact(lake, (rows, errors))


def test_ingestion_during_any_step_of_a_compaction_keeps_the_new_files(aws_env: None) -> None:
    def ingest(lake: Lake) -> list[str]:
        lake.put("ship/late.log", ndjson(good(1000), good(1001), "{late bad"))
        return lake.pipeline().process_s3(RAW, "ship/late.log").files

    for at, lake, before, result, files in at_every_call(ingest):
        late = f"s3://{RAW}/ship/late.log"
        expected = (
            before[0] + Counter({(late, 1): 1, (late, 2): 1}),
            before[1] + Counter({(late, 3): 1}),
        )
        # A new file is only ever removed once a compacted file holds its rows (it was
        # committed before the compaction read the record); otherwise it is untouched.
        present = {
            f"s3://{PROCESSED}/{k}" for k in lake.files("processed/") + lake.files("errors/")
        }
        parts = partitions_for(lake.config, lake.s3)
        absorbed = {
            **parts.read("processed", "2025-07-21").absorbed(),
            **parts.read("errors", "2025-07-21").absorbed(),
        }
        assert all(f in present or f in absorbed for f in files), (at, result)
        compact_lake(lake.config, lake.session, NOW)
        assert_exact(lake, expected)


@pytest.mark.parametrize("lease", [timedelta(hours=1), timedelta(0)], ids=["live", "taken-over"])
def test_two_compactions_at_once_one_wins_the_other_changes_nothing(
    aws_env: None, lease: timedelta
) -> None:
    def other(lake: Lake) -> Any:
        return compactor(lake).compact("processed", "2025-07-21", NOW)

    for at, lake, before, first, second in at_every_call(other, lease):
        outcomes = [first.outcome, second.outcome]
        assert outcomes.count("compacted") == 1, (at, first, second)
        assert_exact(lake, before)
        assert len(lake.files("processed/dt=2025-07-21/")) == 1, at


def test_redelivery_after_compaction_adds_nothing(lake: Lake) -> None:
    shipper(lake, 5, 4)
    compact_lake(lake.config, lake.session, NOW)
    before, files = counts(lake), lake.files("")
    for n in range(5):
        assert lake.pipeline().process_s3(RAW, f"ship/{n:04d}.log").status == "duplicate"
    assert counts(lake) == before and lake.files("") == files


def test_files_of_an_object_in_progress_are_left_alone(lake: Lake) -> None:
    shipper(lake, 4, 5)
    pipe = lake.pipeline()
    lake.put("ship/slow.log", ndjson(good(500), good(501), "{slow bad"))
    source = s3_object(lake.s3, RAW, "ship/slow.log")
    assert source is not None
    ledger = Ledger(lake.s3, PROCESSED, "_manifests/", source.uri, timedelta(hours=1))
    attempt = Attempt(ledger, source.version)
    _Run(pipe, source, attempt).consume()  # written and listed in its record, not committed
    committed = counts(lake)
    results = compact_lake(lake.config, lake.session, NOW)
    # Only the files readers see are counted and merged: the attempt's are not among them.
    assert [(r.files_before, r.files_after) for r in results] == [(4, 1), (4, 1)]
    for path in attempt.files:  # untouched
        assert path.removeprefix(f"s3://{PROCESSED}/") in lake.files("")
    assert counts(lake) == committed
    # The object's delivery then commits it exactly once, and the stale attempt's files go.
    assert pipe.process_s3(RAW, "ship/slow.log").status == "processed"
    rows, errors = counts(lake)
    assert sum(rows.values()) == 4 * 4 + 2 and max(rows.values()) == 1
    assert sum(errors.values()) == 4 + 1 and max(errors.values()) == 1
    for path in attempt.files:
        assert path.removeprefix(f"s3://{PROCESSED}/") not in lake.files("")


def test_young_partitions_wait_and_dry_run_changes_nothing(lake: Lake) -> None:
    shipper(lake, 3, 3)
    files = lake.files("")
    waiting = compact_lake(lake.config, lake.session, CompactOptions())
    assert [r.outcome for r in waiting] == ["skipped", "skipped"]
    assert "--min-age 6 h" in waiting[0].reason
    dry = compact_lake(
        lake.config, lake.session, CompactOptions(min_age=timedelta(0), dry_run=True)
    )
    assert [(r.outcome, r.files_before, r.files_after) for r in dry] == [("dry_run", 3, 1)] * 2
    assert lake.files("") == files


def test_a_shippers_morning_of_480_objects_compacts_to_one_file_per_partition(
    served_lake: Lake,
) -> None:
    """The issue's case, over HTTP: 480 objects of 100 lines, the CLI, the saved query."""
    lake = served_lake
    pipe = lake.pipeline(workers=1)
    levels = ["INFO", "WARN", "ERROR", "DEBUG"]
    for n in range(480):
        records = [good(n * 100 + i, level=levels[(n + i) % 4], shipper="a") for i in range(99)] + [
            "{torn line"
        ]
        lake.put(f"morning/{n:03d}.log", ndjson(*records))
        assert pipe.process_s3(RAW, f"morning/{n:03d}.log").status == "processed"
    before = run_saved("level_counts", {}, session=lake.session)
    rows_before = counts(lake)
    assert len(lake.files("processed/")) == 480 and len(lake.files("errors/")) == 480

    result = CliRunner().invoke(main, ["compact", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert "[1/2] processed dt=2025-07-21: merged 480 files into 1" in result.stderr
    assert "[2/2] errors dt=" in result.stderr and "480 files into 1" in result.stderr
    assert "compacted 2 of 2 partition(s): 960 files -> 2" in result.stdout

    after = run_saved("level_counts", {}, session=lake.session)
    assert sorted(after.rows) == sorted(before.rows)
    assert sum(n for _, n in before.rows) == 480 * 99
    assert counts(lake) == rows_before
    # Readers see one file per partition; the inputs wait out the grace period (30 minutes by
    # default) for queries that listed them just before, then the next run deletes them.
    parts = partitions_for(lake.config, lake.s3)
    assert len(parts.shown("processed", "2025-07-21")) == 1
    assert len(lake.files("processed/")) == 481
    assert len(parts.read("processed", "2025-07-21").trash) == 480
    status = CliRunner().invoke(main, ["status"])
    assert status.exit_code == 0, status.output
    assert "processed  1 partitions  1 files" in status.output
    assert "errors     1 partitions  1 files" in status.output
    assert "480 replaced files kept for running queries" in status.output
    assert "last compaction never" not in status.output
    again = CliRunner().invoke(main, ["compact", "--min-age", "0"])
    assert "nothing to merge" in again.stderr and "compacted 0 of 2" in again.stdout
    assert len(lake.files("processed/")) == 481  # still within the grace period
    later = CliRunner().invoke(
        main, ["compact", "--min-age", "0"], env={"READER_GRACE_SECONDS": "0"}
    )
    assert later.exit_code == 0, later.output
    assert len(lake.files("processed/")) == 1 and len(lake.files("errors/")) == 1
    assert counts(lake) == rows_before


def test_showing_is_true_once_readers_see_an_objects_rows_also_after_compaction(
    lake: Lake,
) -> None:
    """What `upload --wait` waits for: every file of the head, or its compacted holder, named by
    its partition's manifest (a head is complete a moment before its partitions are published)."""
    lake.put("a.log", ndjson(good(1), good(2), "bad"))
    lake.put("b.log", ndjson(good(3)))
    for key in ("a.log", "b.log"):
        lake.pipeline().process_s3(RAW, key)
    parts = partitions_for(lake.config, lake.s3)
    files = lake.manifest("a.log")["files"]
    assert len(files) == 2 and parts.showing(files)
    unpublished = parts.new_file("processed", "2025-07-21", "never-published")
    assert not parts.showing([*files, unpublished])
    compact_lake(lake.config, lake.session, NOW)
    assert parts.showing(files)  # absorbed: the holder is shown in their stead
    assert not set(files) & set(parts.shown("processed", "2025-07-21"))

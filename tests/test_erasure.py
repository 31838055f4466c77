"""Erasure against moto: exactly the matching rows go, once, and never come back."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from click.testing import CliRunner
from moto import mock_aws

from handler.compaction import CompactOptions, Compactor, compact_lake
from handler.erasure import EraseRequest, erase_lake
from handler.predicate import matches
from handler.rules import parse_rules
from loglake.cli import main
from loglake.erase import request
from loglake.exceptions import LifecycleUsageError
from loglake.predicate import compile_predicate
from loglake.status import collect

from .conftest import RAW, Lake, good, make_lake, ndjson
from .test_compaction import Crash, Hooked

USER = "attributes['user_id'] = 'u-1'"
#: The call-by-call tests erase the last three of the ten days (2 rows of u-1 a day: one object).
SINCE = "2025-07-08"
NOW = CompactOptions(min_age=timedelta(0))
FIXTURES = Path(__file__).parent / "fixtures"


def users(lake: Lake) -> Counter[str | None]:
    """Rows per user_id attribute of what a reader sees."""
    rows = lake.rows()
    return Counter(dict(a).get("user_id") for a in rows["attributes"])


def lines(lake: Lake) -> Counter[tuple[str, int]]:
    rows = lake.rows()
    return Counter(zip(rows["source_uri"], rows["source_line"], strict=True))


def ten_days(lake: Lake, objects: int = 2) -> None:
    """10 days x ``objects`` objects: 6 rows (users u-0, u-1, u-2 twice each) and a bad line."""
    pipe = lake.pipeline()
    for day in range(1, 11):
        for n in range(objects):
            key = f"e/{day:02d}-{n}.log"
            rows = [good(i, f"2025-07-{day:02d}", user_id=f"u-{i % 3}") for i in range(6)]
            lake.put(key, ndjson(*rows, "{bad"))
            assert pipe.process_s3(RAW, key).status == "processed"


def erasing(lake: Lake, where: str = USER, dry_run: bool = False, **kw: Any) -> EraseRequest:
    return request(lake.config, "processed", where, kw.get("since"), "2025-07-31", dry_run)


def run(lake: Lake, asked: EraseRequest, s3: Any = None) -> tuple[dict[str, Any], list[Any]]:
    return erase_lake(lake.config, s3 or lake.s3, asked)


def assert_status_exact(lake: Lake) -> None:
    valid, invalid = collect(lake.session, lake.config, None).in_tables()
    assert (valid, invalid) == (len(lake.rows()), len(lake.rows("errors")))


@pytest.fixture
def days_lake(aws_env: None) -> Iterator[Lake]:
    with mock_aws():
        lake = make_lake(workers=1)
        ten_days(lake)
        compact_lake(
            lake.config, lake.session, CompactOptions(min_age=timedelta(0), until="2025-07-05")
        )
        yield lake


# -- the predicate ------------------------------------------------------------------------------
COLUMNS = {
    "event_time": "timestamp",
    "level": "string",
    "message": "string",
    "attributes": "map<string,string>",
    "source_line": "bigint",
}


@pytest.mark.parametrize(
    "where",
    [
        "attributes['user_id'] = 'u-123'",
        "level IN ('DEBUG', 'TRACE') AND message LIKE '%password=%'",
        "event_time < TIMESTAMP '2025-07-21 10:00:00' AND NOT (level = 'INFO')",
        "attributes['tenant'] IS NULL OR source_line >= 10",
        "message IS NOT NULL AND source_line <> -1",
    ],
)
def test_plain_predicates_compile(where: str) -> None:
    assert compile_predicate(where, COLUMNS)["op"]


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ("lower(level) = 'info'", "functions are not allowed"),
        ("level = (SELECT max(level) FROM t)", "not a literal"),
        ("user_id = 'u-1'", "no column 'user_id'"),
        ("dt = '2025-07-21'", "no column 'dt'"),
        ("level['x'] = 'y'", "level is not a map column"),
        ("t.level = 'INFO'", "not a column"),
        ("level", "not a condition"),
        ("level = ", "not valid SQL"),
        ("level IN (SELECT 1)", "IN takes a list of literals"),
    ],
)
def test_anything_but_a_plain_predicate_is_refused_in_one_line(where: str, why: str) -> None:
    with pytest.raises(LifecycleUsageError) as caught:
        compile_predicate(where, COLUMNS)
    assert why in str(caught.value) and "\n" not in str(caught.value)


def published_rows() -> pa.Table:
    """Rows decoded from producers' published output (the fixtures of the logger formats), with
    NULLs, missing attribute keys and odd strings, as the table holds them."""
    import io

    import pyarrow.parquet as pq

    with mock_aws():
        lake = make_lake(workers=1)
        pipe = lake.pipeline()
        for path in sorted((FIXTURES / "producers").glob("*.jsonl")):
            lake.put(f"p/{path.name}.log", path.read_bytes())
            pipe.process_s3(RAW, f"p/{path.name}.log")
        lake.put("p/users.log", ndjson(*[good(i, user_id=f"u-{i % 4}") for i in range(20)]))
        pipe.process_s3(RAW, "p/users.log")
        tables = []
        for key in lake.files("processed/"):
            body = lake.s3.get_object(Bucket="loglake-processed", Key=key)["Body"].read()
            tables.append(pq.read_table(io.BytesIO(body)))
        return pa.concat_tables(tables, promote_options="permissive")


DIFFERENTIAL = [
    "attributes['user_id'] = 'u-1'",
    "attributes['user_id'] <> 'u-1'",
    "attributes['user_id'] IN ('u-1', 'u-3')",
    "NOT attributes['user_id'] IN ('u-1', 'u-3')",
    "attributes['user_id'] IS NULL",
    "level = 'ERROR' OR message LIKE '%fail%'",
    "NOT (level = 'INFO') AND source_line > 2",
    "event_time >= TIMESTAMP '2025-07-21 10:00:05'",
    "message LIKE 'event 1_'",
    "level IN ('WARN', 'ERROR') AND attributes['user_id'] IS NOT NULL",
]


def test_the_handler_matches_exactly_the_rows_duckdb_selects_for_the_same_sql(
    aws_env: None,
) -> None:
    """Differential: Arrow's evaluation of the compiled tree against DuckDB running the SQL."""
    rows = published_rows()
    assert rows.num_rows > 40
    con = duckdb.connect()
    con.register("t", rows)
    sizes = []
    for where in DIFFERENTIAL:
        mine = rows.filter(matches(compile_predicate(where, COLUMNS), rows))
        ours = zip(
            mine.column("source_uri").to_pylist(),
            mine.column("source_line").to_pylist(),
            strict=True,
        )
        sql = sqlglot.transpile(where, read="athena", write="duckdb")[0]
        picked = con.sql(f"SELECT source_uri, source_line FROM t WHERE {sql}").fetchall()
        assert Counter(ours) == Counter(picked), where
        sizes.append(len(picked))
    assert sum(0 < n < rows.num_rows for n in sizes) >= 7, sizes  # the cases tell rows apart


# -- erasing ------------------------------------------------------------------------------------
def test_an_erasure_removes_exactly_the_matching_rows_once_across_days_and_compacted_files(
    days_lake: Lake,
) -> None:
    lake = days_lake
    before = lines(lake)
    assert users(lake) == Counter({"u-0": 40, "u-1": 40, "u-2": 40})
    _, dry = run(lake, erasing(lake, dry_run=True))
    assert sum(r.rows for r in dry) == 40 and lines(lake) == before
    doc, done = run(lake, erasing(lake))
    assert sum(r.rows for r in done) == 40 == doc["rows"] and doc["state"] == "done"
    assert users(lake) == Counter({"u-0": 40, "u-2": 40})
    after = lines(lake)
    assert max(after.values()) == 1 and set(after) < set(before) and len(after) == 80
    assert_status_exact(lake)
    # Only the files holding a matching row were rewritten: every visible file did here, and a
    # day with no match keeps its files.
    doc2, again = run(lake, erasing(lake))
    assert doc2["id"] == doc["id"] and {r.outcome for r in again} == {"done"}
    assert doc2["rows"] == 40 and lines(lake) == after
    other = erasing(lake, "attributes['user_id'] = 'nobody'")
    _, none = run(lake, other)
    assert {r.outcome for r in none} == {"unchanged"} and lines(lake) == after


def test_erased_rows_stay_gone_through_reprocess_reupload_redelivery_and_compaction(
    days_lake: Lake,
) -> None:
    lake = days_lake
    run(lake, erasing(lake))
    strict = lake.pipeline(rules=parse_rules('{"user_id": {"max_length": 5}}'))
    for day in range(1, 11):
        for n in range(2):
            result = strict.process_s3(RAW, f"e/{day:02d}-{n}.log")  # reprocess: a new fingerprint
            assert result.status == "processed" and result.erased == {"processed": 2}
    lake.put("e/03-0.log", ndjson(*[good(i, "2025-07-03", user_id=f"u-{i % 3}") for i in range(9)]))
    assert strict.process_s3(RAW, "e/03-0.log").erased == {"processed": 3}  # a re-upload
    assert strict.process_s3(RAW, "e/03-0.log").status == "duplicate"  # a redelivery
    compact_lake(lake.config, lake.session, NOW)
    assert users(lake) == Counter({"u-0": 41, "u-2": 41})
    assert max(lines(lake).values()) == 1
    assert_status_exact(lake)


def test_a_write_that_missed_the_erasure_record_is_filtered_when_it_is_published(
    days_lake: Lake,
) -> None:
    """The attempt listed the erasure records just before this one was written: its files hold
    matching rows, and the erasure installs before the attempt commits."""
    lake = days_lake
    lake.put(
        "e/late.log",
        ndjson(
            *[good(i, "2025-07-04", user_id="u-1") for i in range(3)],
            good(9, "2025-07-04", user_id="u-7"),
        ),
    )
    pipe = lake.pipeline()
    ran: list[Any] = []

    def hook(n: int, name: str, kwargs: dict[str, Any]) -> None:
        head = kwargs.get("Key", "").endswith("late.log.json")
        if name == "put_object" and head and not ran:
            ran.append(run(lake, erasing(lake)))

    pipe.s3 = HookedKw(pipe.s3, hook)
    result = pipe.process_s3(RAW, "e/late.log")
    assert ran and result.status == "processed" and result.erased == {}
    assert users(lake) == Counter({"u-0": 40, "u-2": 40, "u-7": 1})
    assert_status_exact(lake)


class HookedKw(Hooked):
    """``Hooked`` whose hook also sees the call's arguments, one call at a time: the erasure
    reads files side by side, and each hook (a reader, an upload) must see a state between two
    calls, not one call half done."""

    def __init__(self, client: Any, hook: Callable[..., None], kwargs: bool = True) -> None:
        super().__init__(client, hook)
        self._lock, self._kwargs = threading.Lock(), kwargs

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls += 1
                hook: Any = self._hook
                hook(self.calls, name, kwargs) if self._kwargs else hook(self.calls, name)
                return attr(*args, **kwargs)

        return call


def serial(client: Any, hook: Callable[[int, str], None]) -> HookedKw:
    return HookedKw(client, hook, kwargs=False)


def calls_of_one_erasure() -> int:
    with mock_aws():
        lake = make_lake(workers=1, lease=timedelta(0))
        ten_days(lake, objects=1)
        counting = serial(lake.s3, lambda n, name: None)
        run(lake, erasing(lake, since=SINCE), counting)
        return int(counting.calls)


def test_a_crash_before_any_call_of_an_erasure_then_a_rerun_gives_the_same_rows(
    aws_env: None,
) -> None:
    total = calls_of_one_erasure()
    assert total > 15
    for stop in range(1, total + 1, 2):  # every other call: the suite's time
        with mock_aws():
            lake = make_lake(workers=1, lease=timedelta(0))
            ten_days(lake, objects=1)
            before = lines(lake)

            def crash(n: int, name: str, stop: int = stop) -> None:
                if n == stop:
                    raise Crash(name)

            with pytest.raises(Crash):
                run(lake, erasing(lake, since=SINCE), serial(lake.s3, crash))
            seen = lines(lake)
            assert max(seen.values()) == 1 and set(seen) <= set(before), stop  # never doubled
            doc, _ = run(lake, erasing(lake, since=SINCE))
            assert users(lake) == Counter({"u-0": 20, "u-1": 14, "u-2": 20}), stop
            assert doc["state"] == "done", stop
            shown = {u for r in _records(lake) for u in r.visible}
            files = {f"s3://loglake-processed/{k}" for k in lake.files("processed/")}
            assert files == shown, stop  # nothing orphaned (lease 0: abandoned outputs go)


def _records(lake: Lake) -> list[Any]:
    from handler.partition import partitions_for

    return [r for r in partitions_for(lake.config, lake.s3).records() if r.table == "processed"]


def at_every_call_of_an_erasure(action: Callable[[Lake], Any]) -> Iterator[tuple[int, Lake]]:
    """For each S3 call of an erasure of three days: a fresh lake where ``action`` runs right
    before it; a reader never sees a row twice."""
    for at in range(1, calls_of_one_erasure() + 1, 4):  # every 4th call: the suite's time
        with mock_aws():
            lake = make_lake(workers=1, lease=timedelta(0))
            ten_days(lake, objects=1)

            def hook(n: int, name: str, at: int = at, lake: Lake = lake) -> None:
                if n == at:
                    action(lake)
                assert max(lines(lake).values()) == 1, (at, n, name)

            run(lake, erasing(lake, since=SINCE), serial(lake.s3, hook))
            yield at, lake


def test_uploads_and_a_compaction_during_any_step_of_an_erasure(aws_env: None) -> None:
    def upload_and_compact(lake: Lake) -> None:
        rows = [good(100 + i, "2025-07-09", user_id=f"u-{i % 3}") for i in range(6)]
        lake.put("e/during.log", ndjson(*rows))
        lake.pipeline().process_s3(RAW, "e/during.log")
        Compactor(lake.config, lake.s3).compact("processed", "2025-07-08", NOW)

    for at, lake in at_every_call_of_an_erasure(upload_and_compact):
        compact_lake(lake.config, lake.session, NOW)
        assert users(lake) == Counter({"u-0": 22, "u-1": 14, "u-2": 22}), at
        assert max(lines(lake).values()) == 1, at
        assert_status_exact(lake)


def test_the_command_erases_lists_and_refuses_in_one_line(
    days_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    base = ["erase", "--table", "processed_logs", "--until", "2025-07-31"]
    dry = runner.invoke(main, [*base, "--where", USER, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would erase 40 rows" in dry.output
    done = runner.invoke(main, [*base, "--where", USER])
    assert done.exit_code == 0, done.output
    assert "40 rows erased now" in done.output
    listed = runner.invoke(main, ["erase", "--list"])
    assert listed.exit_code == 0 and USER in listed.output and "done" in listed.output
    bad = runner.invoke(main, [*base, "--where", "lower(level) = 'x'"])
    assert bad.exit_code == 2
    assert bad.output.startswith("Error: --where must be a plain condition")
    assert len(bad.output.strip().splitlines()) == 1
    assert users(days_lake) == Counter({"u-0": 40, "u-2": 40})
    json.dumps(collect(days_lake.session, days_lake.config, None).removed)

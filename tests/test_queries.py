"""Saved queries: golden results on the local engine over a lake written by the real handler path,
what the Athena engine submits, and parameters that stay data."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from loglake.cli import main
from loglake.engines import AthenaEngine, LocalEngine, athena_literal
from loglake.exceptions import QueryError
from loglake.queries import check, load_all, placeholders, resolve, to_qmark

from .conftest import RAW, SAMPLE, Lake, ndjson

APP = ndjson(
    {
        "timestamp": "2025-07-20T09:15:00Z",
        "level": "INFO",
        "message": "Request completed",
        "latency_ms": 100,
    },
    {
        "timestamp": "2025-07-20T09:30:00Z",
        "level": "info",
        "message": "Request completed",
        "latency_ms": 200,
    },
    {
        "timestamp": "2025-07-20T09:45:00Z",
        "level": "ERROR",
        "message": "Payment failed",
        "latency_ms": 300,
    },
    {
        "timestamp": "2025-07-20T10:05:00+00:00",
        "level": "WARNING",
        "message": "Slow request",
        "latency_ms": 900,
    },
    "{bad json",
    {
        "timestamp": "2025-07-21T11:00:00Z",
        "level": "ERROR",
        "message": "Payment failed",
        "latency_ms": 400,
    },
    {"timestamp": 1753096200, "level": "ERROR", "message": "Payment failed"},
    {
        "timestamp": "2025-07-21T11:20:00Z",
        "level": "ERROR",
        "message": "Database timeout",
        "latency_ms": 500,
    },
    {"timestamp": "2025-07-21T11:30:00Z", "level": "LOUD", "message": "x"},
    "",
)
TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture
def fixture_lake(served_lake: Lake) -> LocalEngine:
    """Two objects through the real handler path into moto's server; the local engine over them."""
    served_lake.put("sample_log.log", SAMPLE.read_bytes())
    served_lake.put("app.log", APP)
    pipeline = served_lake.pipeline()
    assert pipeline.process_s3(RAW, "sample_log.log").valid == 3
    result = pipeline.process_s3(RAW, "app.log")
    assert (result.valid, result.invalid, result.blank) == (7, 2, 1)
    return LocalEngine(served_lake.session, "log_analytics_db")


def run(engine: LocalEngine, ref: str, **params: str) -> list[dict[str, Any]]:
    query = resolve(ref)
    frame = engine.run(query, query.bind(params))
    return json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))


def test_level_counts(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "level_counts") == [
        {"level": "ERROR", "log_count": 5},
        {"level": "INFO", "log_count": 3},
        {"level": "DEBUG", "log_count": 1},
        {"level": "WARN", "log_count": 1},
    ]
    assert run(fixture_lake, "level_counts@v1", day="2025-07-21") == [
        {"level": "ERROR", "log_count": 4},
        {"level": "DEBUG", "log_count": 1},
        {"level": "INFO", "log_count": 1},
    ]


def test_latest_processed(fixture_lake: LocalEngine) -> None:
    rows = run(fixture_lake, "latest_processed", limit="3")
    assert [(r["event_time"], r["message"], r["source_line"]) for r in rows] == [
        ("2025-07-21T11:20:00", "Database timeout", 8),
        ("2025-07-21T11:10:00", "Payment failed", 7),
        ("2025-07-21T11:00:00", "Payment failed", 6),
    ]
    assert rows[2]["attributes"] == [{"key": "latency_ms", "value": "400"}] or rows[2][
        "attributes"
    ] == {"latency_ms": "400"}


def test_latest_errors(fixture_lake: LocalEngine) -> None:
    rows = run(fixture_lake, "latest_errors")
    assert [(r["error_code"], r["source_uri"], r["source_line"], r["raw_line"]) for r in rows] == [
        ("invalid_json", "s3://loglake-raw/app.log", 5, "{bad json"),
        (
            "bad_level",
            "s3://loglake-raw/app.log",
            9,
            '{"timestamp": "2025-07-21T11:30:00Z", "level": "LOUD", "message": "x"}',
        ),
        (
            "missing_field:level",
            "s3://loglake-raw/sample_log.log",
            3,
            '{"timestamp": "2025-07-21T10:00:10Z", "raw_message": "Invalid format log"}',
        ),
    ]
    assert {r["dt"] for r in rows} == {TODAY}


def test_error_rate_hourly(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "error_rate_hourly", start="2025-07-20", end="2025-07-21") == [
        {"hour": "2025-07-20T09:00:00", "total": 3, "errors": 1, "error_rate": 0.3333},
        {"hour": "2025-07-20T10:00:00", "total": 1, "errors": 0, "error_rate": 0.0},
        {"hour": "2025-07-21T10:00:00", "total": 3, "errors": 1, "error_rate": 0.3333},
        {"hour": "2025-07-21T11:00:00", "total": 3, "errors": 3, "error_rate": 1.0},
    ]
    assert (
        run(fixture_lake, "error_rate_hourly", start="2025-07-21", end="2025-07-21")[0]["hour"]
        == "2025-07-21T10:00:00"
    )


def test_top_messages(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "top_messages", level="error", day="2025-07-21") == [
        {"message": "Payment failed", "occurrences": 2},
        {"message": "Database timeout", "occurrences": 1},
        {"message": "Failed to connect to database", "occurrences": 1},
    ]
    assert run(fixture_lake, "top_messages", level="error", day="2025-07-21", n="1") == [
        {"message": "Payment failed", "occurrences": 2}
    ]


def test_errors_by_source(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "errors_by_source", start=TODAY, end=TODAY) == [
        {
            "error_code": "bad_level",
            "source_uri": "s3://loglake-raw/app.log",
            "lines": 1,
            "first_line": 9,
        },
        {
            "error_code": "invalid_json",
            "source_uri": "s3://loglake-raw/app.log",
            "lines": 1,
            "first_line": 5,
        },
        {
            "error_code": "missing_field:level",
            "source_uri": "s3://loglake-raw/sample_log.log",
            "lines": 1,
            "first_line": 3,
        },
    ]
    assert run(fixture_lake, "errors_by_source", start="2025-07-20", end="2025-07-21") == []


def test_valid_vs_invalid(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "valid_vs_invalid", start="2025-07-20", end=TODAY) == [
        {"source_uri": "s3://loglake-raw/app.log", "valid": 7, "invalid": 2},
        {"source_uri": "s3://loglake-raw/sample_log.log", "valid": 3, "invalid": 1},
    ]


def test_attribute_percentiles(fixture_lake: LocalEngine) -> None:
    # DuckDB interpolates between the two middle values; Athena's approx_percentile returns one
    # of them. Both are estimates; with many samples per hour they agree closely.
    assert run(fixture_lake, "attribute_percentiles", start="2025-07-20", end="2025-07-21") == [
        {"hour": "2025-07-20T09:00:00", "samples": 3, "p50": 200.0, "p95": 300.0, "p99": 300.0},
        {"hour": "2025-07-20T10:00:00", "samples": 1, "p50": 900.0, "p95": 900.0, "p99": 900.0},
        {"hour": "2025-07-21T11:00:00", "samples": 2, "p50": 450.0, "p95": 500.0, "p99": 500.0},
    ]


def test_search_messages_and_injection_is_data(fixture_lake: LocalEngine) -> None:
    rows = run(
        fixture_lake, "search_messages", start="2025-07-20", end="2025-07-21", pattern="Payment"
    )
    assert [(r["event_time"], r["source_line"]) for r in rows] == [
        ("2025-07-20T09:45:00", 3),
        ("2025-07-21T11:00:00", 6),
        ("2025-07-21T11:10:00", 7),
    ]
    assert (
        run(
            fixture_lake,
            "search_messages",
            start="2025-07-20",
            end="2025-07-21",
            pattern="x' OR '1'='1",
        )
        == []
    )
    assert run(fixture_lake, "top_messages", level="error' OR '1'='1", day="2025-07-21") == []


def test_report_headline(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "report_headline", start="2025-07-20", end=TODAY) == [
        {"valid_rows": 10, "invalid_lines": 3, "invalid_pct": 23.08, "sources": 2, "days": 2}
    ]
    assert run(fixture_lake, "report_headline", start="2025-07-21", end="2025-07-21") == [
        {"valid_rows": 6, "invalid_lines": 0, "invalid_pct": 0.0, "sources": 2, "days": 1}
    ]
    assert run(fixture_lake, "report_headline", start="2020-01-01", end="2020-01-02") == [
        {"valid_rows": 0, "invalid_lines": 0, "invalid_pct": None, "sources": 0, "days": 0}
    ]


def test_volume_by_level(fixture_lake: LocalEngine) -> None:
    assert run(
        fixture_lake, "volume_by_level", start="2025-07-20", end="2025-07-21", bucket="day"
    ) == [
        {"bucket_start": "2025-07-20T00:00:00", "level": "ERROR", "row_count": 1},
        {"bucket_start": "2025-07-20T00:00:00", "level": "INFO", "row_count": 2},
        {"bucket_start": "2025-07-20T00:00:00", "level": "WARN", "row_count": 1},
        {"bucket_start": "2025-07-21T00:00:00", "level": "DEBUG", "row_count": 1},
        {"bucket_start": "2025-07-21T00:00:00", "level": "ERROR", "row_count": 4},
        {"bucket_start": "2025-07-21T00:00:00", "level": "INFO", "row_count": 1},
    ]
    hourly = run(fixture_lake, "volume_by_level", start="2025-07-21", end="2025-07-21")
    assert [(r["bucket_start"], r["level"], r["row_count"]) for r in hourly] == [
        ("2025-07-21T10:00:00", "DEBUG", 1),
        ("2025-07-21T10:00:00", "ERROR", 1),
        ("2025-07-21T10:00:00", "INFO", 1),
        ("2025-07-21T11:00:00", "ERROR", 3),
    ]


def test_error_rate(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "error_rate", start="2025-07-20", end="2025-07-21", bucket="day") == [
        {"bucket_start": "2025-07-20T00:00:00", "total": 4, "errors": 1, "error_pct": 25.0},
        {"bucket_start": "2025-07-21T00:00:00", "total": 6, "errors": 4, "error_pct": 66.67},
    ]


def test_invalid_by_code(fixture_lake: LocalEngine) -> None:
    rows = run(fixture_lake, "invalid_by_code", start=TODAY, end=TODAY, bucket="day")
    assert [(r["bucket_start"][:10], r["error_code"], r["lines"]) for r in rows] == [
        (TODAY, "bad_level", 1),
        (TODAY, "invalid_json", 1),
        (TODAY, "missing_field:level", 1),
    ]


def test_invalid_share_by_source(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "invalid_share_by_source", start="2025-07-20", end=TODAY) == [
        {
            "source_uri": "s3://loglake-raw/sample_log.log",
            "valid": 3,
            "invalid": 1,
            "invalid_pct": 25.0,
        },
        {"source_uri": "s3://loglake-raw/app.log", "valid": 7, "invalid": 2, "invalid_pct": 22.22},
    ]


def test_top_error_messages(fixture_lake: LocalEngine) -> None:
    assert run(fixture_lake, "top_error_messages", start="2025-07-20", end="2025-07-21") == [
        {"level": "ERROR", "message": "Payment failed", "occurrences": 3},
        {"level": "ERROR", "message": "Database timeout", "occurrences": 1},
        {"level": "ERROR", "message": "Failed to connect to database", "occurrences": 1},
    ]


def test_ingestion_lag(fixture_lake: LocalEngine) -> None:
    rows = run(fixture_lake, "ingestion_lag", start="2025-07-20", end="2025-07-21", bucket="day")
    assert [(r["bucket_start"], r["row_count"]) for r in rows] == [
        ("2025-07-20T00:00:00", 4),
        ("2025-07-21T00:00:00", 6),
    ]
    ingested = datetime.now(UTC).replace(tzinfo=None)
    newest = datetime(2025, 7, 21, 11, 20)
    oldest = datetime(2025, 7, 20, 9, 15)
    for row in rows:
        assert row["p50_s"] <= row["p90_s"] <= row["p99_s"] <= row["max_s"]
    assert abs(rows[0]["max_s"] - (ingested - oldest).total_seconds()) < 600
    assert abs(rows[1]["p50_s"] - (ingested - newest).total_seconds()) < 3 * 3600


def test_partition_files(fixture_lake: LocalEngine) -> None:
    rows = run(fixture_lake, "partition_files", start="2025-07-20", end=TODAY)
    assert [(r["table_name"], r["dt"], r["files"], r["small_files"]) for r in rows] == [
        ("errors_logs", TODAY, 2, 2),
        ("processed_logs", "2025-07-20", 1, 1),
        ("processed_logs", "2025-07-21", 2, 2),
    ]
    s3 = fixture_lake.session.client("s3")
    listed = s3.list_objects_v2(Bucket="loglake-processed", Prefix="processed/dt=2025-07-21/")
    assert rows[2]["bytes"] == sum(o["Size"] for o in listed["Contents"])
    assert (
        run(fixture_lake, "partition_files", start="2025-07-20", end=TODAY, small_mb="1")[0][
            "small_files"
        ]
        == 2
    )


def test_every_shipped_query_has_a_golden_test() -> None:
    """A golden test is a test function of this module named after its query (test_<name>...)."""
    tests = [
        name for name, value in globals().items() if callable(value) and name.startswith("test_")
    ]
    for query in load_all():
        assert any(t.startswith(f"test_{query}") for t in tests), f"no golden test for {query}"


def test_cli_query_prints_counts(fixture_lake: LocalEngine) -> None:
    result = CliRunner().invoke(main, ["query", "level_counts", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "level,log_count",
        "ERROR,5",
        "INFO,3",
        "DEBUG,1",
        "WARN,1",
    ]


def test_sql_answers_ad_hoc_questions_in_every_output_format(
    fixture_lake: LocalEngine, tmp_path: Path
) -> None:
    ask = "SELECT level, count(*) AS n FROM processed_logs GROUP BY level ORDER BY n DESC, level"
    csv = CliRunner().invoke(main, ["sql", ask, "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines() == ["level,n", "ERROR,5", "INFO,3", "DEBUG,1", "WARN,1"]
    (tmp_path / "q.sql").write_text(ask + ";\n")
    as_json = CliRunner().invoke(main, ["sql", "-f", str(tmp_path / "q.sql"), "--format", "json"])
    assert json.loads(as_json.output)[0] == {"level": "ERROR", "n": 5}
    table = CliRunner().invoke(main, ["sql", "SELECT count(*) AS invalid FROM errors_logs"])
    assert table.output.split() == ["invalid", "3"]  # one in the sample, two in app.log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sql", "DROP TABLE processed_logs"], "runs one SELECT"),
        (["sql", "INSERT INTO processed_logs VALUES (1)"], "runs one SELECT"),
        (["sql", "SELECT 1; SELECT 2"], "exactly one SELECT statement, got 2"),
        (["sql", "SELECT * FROM processed_logs WHERE level = :level"], "placeholders need a saved"),
        (["sql", "SELECT * FROM nope"], "nope does not exist"),
        (["sql", "SELECT FROM WHERE ("], "not valid Athena SQL"),
    ],
)
def test_sql_refuses_what_is_not_one_select(
    fixture_lake: LocalEngine, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("Error: "), result.output
    assert message in result.output


def test_queries_check_reports_an_attribute_that_became_a_column() -> None:
    columns = {"processed_logs": {"event_time", "level", "message", "latency_ms"}}
    problems = check(columns=columns)
    assert len(problems) == 1 and "attribute_percentiles/v1.sql" in problems[0], problems
    assert "has a column latency_ms now" in problems[0]
    assert check(columns={"processed_logs": {"event_time", "user_id"}}) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "nope"], "unknown query 'nope'"),
        (["query", "level_counts", "-p", "day=yesterday"], "day must be a date"),
        (["query", "top_messages", "-p", "day=2025-07-21"], "needs --param level"),
        (
            ["query", "top_messages", "-p", "level=x", "-p", "day=2025-07-21", "-p", "n=ten"],
            "n must be an int like 10",
        ),
        (["query", "level_counts@v9"], "has no v9"),
        (["query", "level_counts", "-p", "colour=red"], "has no parameter colour"),
    ],
)
def test_bad_parameters_are_one_line_errors_with_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert message in result.output


def test_queries_check_passes_and_catches_problems(tmp_path: Path) -> None:
    assert check() == []
    bad = tmp_path / "q"
    (bad / "broken").mkdir(parents=True)
    (bad / "broken" / "v1.sql").write_text(
        "-- description: x\n-- param: a int\nSELECT :b FROM t WHERE"
    )
    (bad / "broken" / "v3.sql").write_text("-- description: x\nSELECT 1")
    problems = check(bad)
    assert any("v1..v2 without gaps" in p for p in problems)
    assert any(":b is used but not declared" in p for p in problems)
    assert any("a is declared but never used" in p for p in problems)
    assert any("not valid Athena SQL" in p for p in problems)


def test_placeholders_ignore_strings_and_comments() -> None:
    sql = "SELECT ':fake', x FROM t -- :comment\nWHERE a = :a AND b = :b AND c = :a"
    assert [n for n, _, _ in placeholders(sql)] == ["a", "b", "a"]
    assert to_qmark(sql) == (
        "SELECT ':fake', x FROM t -- :comment\nWHERE a = ? AND b = ? AND c = ?",
        ["a", "b", "a"],
    )


def test_athena_literals_keep_values_as_data() -> None:
    assert athena_literal("x' OR '1'='1") == "'x'' OR ''1''=''1'"
    assert athena_literal(None) == "NULL"
    assert athena_literal(10) == "10"
    assert athena_literal(True) == "true"
    assert athena_literal(datetime(2025, 7, 21, 10)) == "TIMESTAMP '2025-07-21 10:00:00'"


def test_athena_engine_submits_bound_parameters(lake: Lake) -> None:
    from moto.athena.models import QueryResults, athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    athena = lake.session.client("athena")
    athena.create_work_group(Name="loglake", Configuration={})
    columns = [{"Name": n, "Type": "varchar"} for n in ("message", "occurrences")]
    rows = [{"Data": [{"VarCharValue": "message"}, {"VarCharValue": "occurrences"}]}]
    athena_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].query_results_queue.append(
        QueryResults(rows=rows, column_info=columns)
    )
    query = resolve("top_messages")
    values = query.bind({"level": "x' OR '1'='1", "day": "2025-07-21"})
    engine = AthenaEngine(
        lake.session, "log_analytics_db", "loglake", "s3://loglake-processed/athena-results/"
    )
    frame = engine.run(query, values)
    assert isinstance(frame, pd.DataFrame)
    ids = athena.list_query_executions(WorkGroup="loglake")["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=ids[-1])["QueryExecution"]
    assert execution["Query"] == to_qmark(query.sql)[0]
    assert "OR '1'='1" not in execution["Query"]
    assert execution["ExecutionParameters"] == ["'2025-07-21'", "'x'' OR ''1''=''1'", "10"]
    assert execution["WorkGroup"] == "loglake"
    assert execution["QueryExecutionContext"]["Database"] == "log_analytics_db"
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(
        "s3://loglake-processed/athena-results/"
    )


def test_publish_is_idempotent(lake: Lake) -> None:
    from loglake.publish import publish

    athena = lake.session.client("athena")
    athena.create_work_group(Name="loglake", Configuration={})
    versions = [q for qs in load_all().values() for q in qs]
    first = publish(versions, "loglake", "log_analytics_db", lake.session)
    assert {action for _, action in first} == {"created"} and len(first) == len(versions)
    again = publish(versions, "loglake", "log_analytics_db", lake.session)
    assert {action for _, action in again} == {"unchanged"}
    ids = athena.list_named_queries(WorkGroup="loglake")["NamedQueryIds"]
    assert len(ids) == len(versions)
    stored = {athena.get_named_query(NamedQueryId=i)["NamedQuery"]["Name"]: i for i in ids}
    named = athena.get_named_query(NamedQueryId=stored["top_messages@v1"])["NamedQuery"]
    assert named["QueryString"] == to_qmark(resolve("top_messages@v1").sql)[0]
    assert named["Description"].endswith("Parameters in order: day, level, n.")


def test_unknown_query_raises() -> None:
    with pytest.raises(QueryError):
        resolve("does_not_exist")


def test_local_engine_names_what_it_cannot_run(fixture_lake: LocalEngine, tmp_path: Path) -> None:
    from loglake.queries import parse_file

    path = tmp_path / "v1.sql"
    path.write_text(
        "-- description: HyperLogLog sketch\nSELECT approx_set(level) AS sketch FROM processed_logs\n"
    )
    query = parse_file("sketch", 1, path)
    with pytest.raises(QueryError, match=r"the local engine cannot run sketch@v1: .*approx_set"):
        fixture_lake.run(query, {})


def test_output_spells_every_value_one_way(fixture_lake: LocalEngine) -> None:
    """CSV/JSON/table: maps as JSON, whole numbers whole, ISO-8601 UTC timestamps, short cells."""
    args = ["query", "latest_processed", "-p", "limit=1"]
    as_csv = CliRunner().invoke(main, [*args, "--format", "csv"]).output.splitlines()
    as_json = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).output)[0]
    header, row = as_csv[0].split(","), next(csv.reader(as_csv[1:]))
    values = dict(zip(header, row, strict=True))
    assert json.loads(values["attributes"]) == as_json["attributes"]
    assert isinstance(as_json["attributes"], dict)
    assert values["event_time"] == as_json["event_time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", as_json["event_time"])
    assert isinstance(as_json["source_line"], int)
    days = ["-p", "start=2025-07-20", "-p", "end=2025-07-21"]
    rate = CliRunner().invoke(main, ["query", "error_rate_hourly", *days, "--format", "json"])
    assert [type(r["errors"]) for r in json.loads(rate.output)] == [int] * 4  # SUMs, not 1.0
    table = CliRunner().invoke(main, ["query", "latest_errors"]).output
    assert max(len(line) for line in table.splitlines()) < 200
    assert "..." in table  # the raw line was cut for the terminal, not in csv/json


@pytest.fixture
def aws_lake(served_lake: Lake) -> LocalEngine:
    """AWS's published log samples, under AWS's key layouts, through the real handler path."""
    load_aws_samples(served_lake)
    return LocalEngine(served_lake.session, "log_analytics_db")


def load_aws_samples(served_lake: Lake) -> None:
    """Upload and process every AWS fixture under its key (no other rows)."""
    from .test_aws_formats import CASES, FIXTURES, JSON_CASES

    pipeline = served_lake.pipeline()
    for kind, (key, *_) in CASES.items():
        served_lake.put(key, (FIXTURES / f"{kind}.log").read_bytes(), gz=key.endswith(".gz"))
        assert pipeline.process_s3(RAW, key).invalid == 0
    for name, (key, *_) in JSON_CASES.items():
        suffix = ".json" if name.startswith("cloudtrail") else ".log"
        served_lake.put(key, (FIXTURES / f"{name}{suffix}").read_bytes(), gz=True)
        assert pipeline.process_s3(RAW, key).invalid == 0


ALL_DAYS = {"start": "2000-01-01", "end": "2030-01-01"}


def test_alb_requests_by_client(aws_lake: LocalEngine) -> None:
    rows = run(aws_lake, "alb_requests_by_client", **ALL_DAYS, n="3")
    assert rows == [  # the ALB fixture's 13 lines: 5 GETs from 192.168.131.39...
        {"count": 5, "request_verb": "GET", "client_ip": "192.168.131.39"},
        {"count": 2, "request_verb": "GET", "client_ip": "10.0.0.140"},
        {
            "count": 2,
            "request_verb": "POST",
            "client_ip": "2601:6bbc:c529:9dad:6bbc:c529:9dad:6bbc",
        },
    ]


def test_alb_status_over_time(aws_lake: LocalEngine) -> None:
    rows = run(aws_lake, "alb_status_over_time", **ALL_DAYS)
    assert [(r["bucket_start"][:13], r["status_class"], r["requests"]) for r in rows] == [
        ("2018-07-02T22", "1xx", 2),  # the WebSocket upgrades
        ("2018-07-02T22", "2xx", 4),
        ("2018-11-30T22", "2xx", 1),
        ("2018-11-30T22", "5xx", 1),  # the Lambda's invalid response
        ("2021-03-16T20", "2xx", 3),
        ("2021-03-17T18", "4xx", 1),
        ("2021-03-18T04", "4xx", 1),
    ]
    assert (rows[1]["p50"], rows[1]["p99"]) == (0.002, 0.048)
    assert rows[5]["p99"] == -1.0  # ALB writes -1 when the request never reached a target


def test_vpc_rejected_tcp_by_port(aws_lake: LocalEngine) -> None:
    assert run(aws_lake, "vpc_rejected_tcp_by_port", **ALL_DAYS) == [
        {"dstport": 80, "flows": 1},
        {"dstport": 3389, "flows": 1},
    ]


def test_cloudtrail_api_errors_by_user(aws_lake: LocalEngine) -> None:
    assert run(aws_lake, "cloudtrail_api_errors_by_user", **ALL_DAYS) == [
        {
            "user_arn": "arn:aws:iam::123456789012:user/Alice",
            "eventname": "UpdateTrail",
            "errorcode": "TrailNotFoundException",
            "calls": 1,
        }
    ]


def test_cloudfront_bytes_by_day_and_edge(aws_lake: LocalEngine) -> None:
    assert run(aws_lake, "cloudfront_bytes_by_day_and_edge", **ALL_DAYS) == [
        {"day": "2019-12-04", "location": "LAX1", "requests": 3, "bytes": 1176},
        {"day": "2019-12-13", "location": "SEA19-C1", "requests": 2, "bytes": 1800},
        {"day": "2019-12-13", "location": "SEA19-C2", "requests": 1, "bytes": 900},
    ]


def test_s3_access_by_requester(aws_lake: LocalEngine) -> None:
    rows = run(aws_lake, "s3_access_by_requester", **ALL_DAYS)
    assert {r["requester"] for r in rows} == {
        "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    }
    assert [(r["operation"], r["requests"]) for r in rows] == [
        ("REST.GET.VERSIONING", 2),
        ("REST.GET.BUCKETPOLICY", 1),
        ("REST.GET.LOGGING_STATUS", 1),
        ("REST.PUT.OBJECT", 1),
    ]


def test_waf_blocked_by_rule(aws_lake: LocalEngine) -> None:
    assert run(aws_lake, "waf_blocked_by_rule", **ALL_DAYS) == [
        {"terminatingruleid": "RG-Reference", "country": "US", "blocked": 1},
        {"terminatingruleid": "STMTest_SQLi_XSS", "country": "AU", "blocked": 1},
    ]


def test_route53_queries_by_name(aws_lake: LocalEngine) -> None:
    assert run(aws_lake, "route53_queries_by_name", **ALL_DAYS) == [
        {"query_name": "ec2messages.us-east-1.amazonaws.com.", "rcode": "NOERROR", "queries": 1},
        {"query_name": "preprod-dmz.example.com.", "rcode": "SERVFAIL", "queries": 1},
    ]


def test_vpc_accepted_vs_rejected(aws_lake: LocalEngine) -> None:
    rows = run(aws_lake, "vpc_accepted_vs_rejected", **ALL_DAYS, bucket="day")
    assert [(r["bucket_start"][:10], r["action"], r["flows"], r["bytes"]) for r in rows] == [
        ("2014-12-14", "ACCEPT", 1, 4249),
        ("2014-12-14", "REJECT", 1, 4249),
        ("2015-05-29", "ACCEPT", 1, 336),
        ("2015-05-29", "REJECT", 1, 336),
        ("2016-10-31", "ACCEPT", 1, 8855),
        ("2019-08-26", "ACCEPT", 1, 568),
        ("2021-03-26", "ACCEPT", 1, 15044),
        ("2021-03-26", "REJECT", 1, None),
    ]


def test_cloudtrail_events_by_name(aws_lake: LocalEngine) -> None:
    assert run(aws_lake, "cloudtrail_events_by_name", **ALL_DAYS) == [
        {"eventname": "CreateKeyPair", "errorcode": "none", "events": 1},
        {"eventname": "StartInstances", "errorcode": "none", "events": 1},
        {"eventname": "UpdateTrail", "errorcode": "TrailNotFoundException", "events": 1},
    ]

"""Objects into tables against moto: exact counts, exactly-once effect, nothing lost."""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from handler.exceptions import WorkerError
from handler.source import s3_object
from loglake.corpus import generate

from .conftest import PROCESSED, RAW, SAMPLE, Lake, good, ndjson


def test_tutorial_sample_gives_three_rows_and_one_error(lake: Lake) -> None:
    lake.put("sample_log.log", SAMPLE.read_bytes())
    result = lake.pipeline().process_s3(RAW, "sample_log.log")
    assert (result.lines_read, result.valid, result.invalid, result.blank) == (4, 3, 1, 0)
    rows = lake.rows("processed")
    assert rows["message"].tolist() == [
        "User login successful",
        "Failed to connect to database",
        "Application health check",
    ]
    assert rows["level"].tolist() == ["INFO", "ERROR", "DEBUG"]
    assert rows["source_line"].tolist() == [1, 2, 4]
    assert rows["event_time"].tolist() == [datetime(2025, 7, 21, 10, 0, s) for s in (0, 5, 15)]
    assert dict(rows["attributes"][0]) == {"user_id": "abc123"}
    assert dict(rows["attributes"][1]) == {"error_code": "500"}
    assert rows["dt"].astype(str).tolist() == ["2025-07-21"] * 3
    errors = lake.rows("errors")
    assert errors["error_code"].tolist() == ["missing_field:level"]
    assert errors["source_line"].tolist() == [3]
    assert (
        errors["raw_line"][0]
        == '{"timestamp": "2025-07-21T10:00:10Z", "raw_message": "Invalid format log"}'
    )
    assert errors["source_uri"][0] == "s3://loglake-raw/sample_log.log"
    assert lake.partitions("processed_logs") == ["2025-07-21"]
    manifest = lake.manifest("sample_log.log")
    assert manifest["status"] == "complete"
    assert (manifest["lines_read"], manifest["valid"], manifest["invalid"], manifest["blank"]) == (
        4,
        3,
        1,
        0,
    )
    assert manifest["error_counts"] == {"missing_field:level": 1}


def test_counts_balance_with_blank_crlf_bom_gzip(lake: Lake) -> None:
    body = "\ufeff" + ndjson(
        good(1), "", good(2), "   ", "{oops", good(3, level="warning")
    ).replace("\n", "\r\n")
    lake.put("mixed.log.gz", body, gz=True)
    lake.put("mixed-gzipped.log", body, gz=True)  # gzip found by magic bytes, not by name
    for key in ("mixed.log.gz", "mixed-gzipped.log"):
        r = lake.pipeline().process_s3(RAW, key)
        assert (r.lines_read, r.valid, r.invalid, r.blank) == (6, 3, 1, 2), key
    rows = lake.rows()
    assert len(rows) == 6
    assert sorted(rows["level"]) == ["INFO"] * 4 + ["WARN"] * 2


def test_rows_partitioned_by_event_day_and_errors_by_upload_day(lake: Lake) -> None:
    lake.put(
        "days.log",
        ndjson(good(1, "2025-07-20"), good(2, "2025-07-21"), good(3, "2025-07-21"), "bad"),
    )
    lake.pipeline().process_s3(RAW, "days.log")
    rows = lake.rows()
    assert rows.groupby(rows["dt"].astype(str)).size().to_dict() == {
        "2025-07-20": 1,
        "2025-07-21": 2,
    }
    uploaded = lake.s3.head_object(Bucket=RAW, Key="days.log")["LastModified"].date().isoformat()
    assert lake.rows("errors")["dt"].astype(str).tolist() == [uploaded]
    assert lake.partitions("processed_logs") == ["2025-07-20", "2025-07-21"]
    assert lake.partitions("errors_logs") == [uploaded]


def test_timestamps_are_int64_microseconds_and_exact(lake: Lake) -> None:
    lake.put("ts.log", ndjson(good(1, timestamp="2025-07-21T10:00:00.123456Z")))
    lake.pipeline().process_s3(RAW, "ts.log")
    key = lake.files("processed/")[0]
    data = lake.s3.get_object(Bucket=PROCESSED, Key=key)["Body"].read()
    schema = pq.ParquetFile(io.BytesIO(data)).schema
    for name in ("event_time", "ingested_at"):
        column = schema.column(schema.names.index(name))
        assert column.physical_type == "INT64"
        assert (
            column.logical_type.to_json()
            == '{"Type": "Timestamp", "isAdjustedToUTC": false, "timeUnit": "microseconds", "is_from_converted_type": false, "force_set_converted_type": false}'
        )
    assert lake.rows()["event_time"][0] == datetime(2025, 7, 21, 10, 0, 0, 123456)


def test_files_are_zstd_sorted_and_carry_min_max_statistics(lake: Lake) -> None:
    # Lines out of time order, two of them bad: both tables' files come out sorted.
    minutes = [37, 5, 59, 12, 44, 0, 23]
    lines = [good(m * 60 + 1) for m in minutes] + ["{bad", '{"level": "INFO"}']
    lake.put("unordered.log", ndjson(*lines[:4], lines[-1], *lines[4:-1]))
    lake.pipeline().process_s3(RAW, "unordered.log")
    for prefix, key in (("processed/", "event_time"), ("errors/", "source_line")):
        (name,) = lake.files(prefix)
        data = lake.s3.get_object(Bucket=PROCESSED, Key=name)["Body"].read()
        parquet = pq.ParquetFile(io.BytesIO(data))
        values = parquet.read().column(key).to_pylist()
        assert values == sorted(values) and len(values) == (7 if key == "event_time" else 2)
        group = parquet.metadata.row_group(0)
        for i in range(group.num_columns):
            assert group.column(i).compression == "ZSTD"
        column = group.column(parquet.schema_arrow.names.index(key))
        assert column.statistics.has_min_max
        assert (column.statistics.min, column.statistics.max) == (values[0], values[-1])


def test_second_delivery_is_a_duplicate_and_adds_nothing(lake: Lake) -> None:
    lake.put("twice.log", ndjson(*(good(i) for i in range(50)), "bad"))
    first = lake.pipeline().process_s3(RAW, "twice.log")
    files = lake.files("processed/") + lake.files("errors/")
    second = lake.pipeline().process_s3(RAW, "twice.log")
    assert (first.status, second.status) == ("processed", "duplicate")
    assert (second.valid, second.invalid) == (50, 1)
    assert lake.files("processed/") + lake.files("errors/") == files
    assert len(lake.rows()) == 50 and len(lake.rows("errors")) == 1


def test_concurrent_deliveries_write_each_row_once(served_lake: Lake) -> None:
    """Three workers receive the same object at once (moto's server: real concurrent HTTP)."""
    lake = served_lake
    lake.put(
        "both.log", ndjson(*(good(i, f"2025-07-{20 + i % 3}") for i in range(300)), "bad", "worse")
    )
    pipes = [lake.pipeline(boto3.Session(), chunk_bytes=2048) for _ in range(3)]
    errors: list[BaseException] = []

    def run(pipe: object) -> None:
        try:
            pipe.process_s3(RAW, "both.log")  # type: ignore[attr-defined]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in pipes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = lake.rows()
    assert len(rows) == 300
    assert rows["source_line"].tolist() == list(range(1, 301))
    assert len(lake.rows("errors")) == 2


class Crash(Exception):
    """Stands in for a Lambda timeout or out-of-memory in the middle of an object."""


class CrashingStream:
    """The object's bytes, cut off with an exception after ``limit`` bytes."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit, self.pos = data, limit, 0

    def read(self, size: int = -1) -> bytes:
        if self.pos >= self.limit:
            raise Crash("connection lost mid-object")
        chunk = self.data[self.pos : self.pos + min(size, self.limit - self.pos)]
        self.pos += len(chunk)
        return chunk

    def close(self) -> None:
        pass

    def __enter__(self) -> CrashingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def crash_after(lake: Lake, key: str, limit: int, **config: object) -> None:
    pipe = lake.pipeline(**config)
    real = s3_object(lake.s3, RAW, key)
    assert real is not None
    data = real.open().read()
    crashing = dataclasses.replace(real, opener=lambda: CrashingStream(data, limit))
    with pytest.raises(Crash):
        pipe.process(crashing)


def test_failed_attempt_removes_its_files_and_the_retry_is_exact(lake: Lake) -> None:
    body = ndjson(*(good(i, f"2025-07-{20 + i % 2}") for i in range(400)), "bad")
    lake.put("crash.log", body)
    crash_after(lake, "crash.log", len(body) // 2, chunk_bytes=1024, read_bytes=512)
    assert lake.files("") == []  # no head, no record, no Parquet: the attempt cleaned up
    retry = lake.pipeline(chunk_bytes=1024, read_bytes=512).process_s3(RAW, "crash.log")
    assert retry.status == "processed"
    rows = lake.rows()
    assert len(rows) == 400
    assert rows["source_line"].tolist() == list(range(1, 401))
    assert len(lake.rows("errors")) == 1


def test_retry_with_other_chunking_removes_the_crashed_attempts_files(lake: Lake) -> None:
    body = ndjson(*(good(i) for i in range(400)))
    lake.put("rechunk.log", body)
    crash_after(lake, "rechunk.log", len(body) // 2, chunk_bytes=1024, read_bytes=512)
    lake.pipeline(chunk_bytes=1 << 20).process_s3(RAW, "rechunk.log")
    assert len(lake.rows()) == 400
    assert len(lake.files("processed/")) == 1


def test_reupload_replaces_the_keys_rows(lake: Lake) -> None:
    lake.put("same-key.log", ndjson(*(good(i, "2025-07-20") for i in range(10)), "bad"))
    lake.pipeline().process_s3(RAW, "same-key.log")
    lake.put("same-key.log", ndjson(*(good(i, "2025-07-22") for i in range(4))))
    result = lake.pipeline().process_s3(RAW, "same-key.log")
    assert result.status == "processed"
    rows = lake.rows()
    assert len(rows) == 4
    assert set(rows["dt"].astype(str)) == {"2025-07-22"}
    assert len(lake.rows("errors")) == 0
    assert lake.manifest("same-key.log")["valid"] == 4


def test_reupload_in_a_versioned_bucket(lake: Lake) -> None:
    lake.s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
    lake.put("v.log", ndjson(good(1), good(2)))
    lake.pipeline().process_s3(RAW, "v.log")
    lake.put("v.log", ndjson(good(3)))
    lake.pipeline().process_s3(RAW, "v.log")
    assert lake.rows()["message"].tolist() == ["event 3"]
    assert (
        lake.manifest("v.log")["version"]
        == lake.s3.head_object(Bucket=RAW, Key="v.log")["VersionId"]
    )


def test_missing_object_is_skipped(lake: Lake) -> None:
    result = lake.pipeline().process_s3(RAW, "deleted-before-processing.log")
    assert result.status == "missing"
    assert lake.files("") == []


def test_long_lines_and_invalid_utf8_land_in_errors(lake: Lake) -> None:
    long_line = '{"message": "' + "x" * 5000 + '"}'
    lake.put("odd.log", ndjson(good(1), long_line).encode() + b'{"level": "\xff"}\n')
    result = lake.pipeline(max_line_bytes=1000).process_s3(RAW, "odd.log")
    assert (result.valid, result.invalid) == (1, 2)
    errors = lake.rows("errors")
    assert errors["error_code"].tolist() == ["line_too_long", "invalid_utf8"]
    assert len(errors["raw_line"][0]) == len(long_line)
    assert errors["raw_line"][1] == '{"level": "\ufffd"}'


def test_raw_line_capped_at_64_kib(lake: Lake) -> None:
    lake.put("huge.log", "z" * 300_000 + "\n")
    result = lake.pipeline().process_s3(RAW, "huge.log")
    assert result.error_counts == {"line_too_long": 1}
    assert len(lake.rows("errors")["raw_line"][0]) == 64 * 1024


def test_dry_run_writes_nothing(lake: Lake) -> None:
    lake.put("dry.log", SAMPLE.read_bytes())
    found = s3_object(lake.s3, RAW, "dry.log")
    assert found is not None
    result = lake.pipeline().process(found, dry_run=True)
    assert (result.status, result.valid, result.invalid) == ("dry_run", 3, 1)
    assert [(e["line"], e["code"]) for e in result.sample_errors] == [(3, "missing_field:level")]
    assert 'default_level = "INFO"' in result.sample_errors[0]["detail"]  # the remedy
    assert lake.files("") == []


def test_extra_ddl_column_is_filled_from_json(lake: Lake, tmp_path: object) -> None:
    from pathlib import Path

    from handler.config import Config
    from loglake.catalog import apply

    ddl = Path(str(tmp_path)) / "ddl"
    ddl.mkdir()
    src = Path(__file__).parent.parent / "glue_ddl"
    (ddl / "errors_logs.sql").write_text((src / "errors_logs.sql").read_text())
    (ddl / "processed_logs.sql").write_text(
        (src / "processed_logs.sql")
        .read_text()
        .replace("  source_uri  string", "  latency_ms bigint,\n  source_uri  string")
    )
    config = Config.from_env(
        {"GLUE_DDL_DIR": str(ddl), "PROCESSED_TABLE": "with_latency", "ERRORS_TABLE": "errors2"}
    )
    apply(config, lake.session)
    lake.config = config
    lake.put("lat.log", ndjson(good(1, latency_ms=12), good(2), good(3, latency_ms="slow")))
    result = lake.pipeline().process_s3(RAW, "lat.log")
    assert (result.valid, result.invalid, result.error_counts) == (2, 1, {"bad_type:latency_ms": 1})
    rows = lake.rows()
    assert rows["latency_ms"].tolist()[0] == 12 and rows["latency_ms"].isna().tolist() == [
        False,
        True,
    ]


def _mixed_body(n: int) -> str:
    """``n`` valid lines over three days, with a bad line and a blank line every 97 lines."""
    records: list[dict[str, object] | str] = []
    for i in range(n):
        records.append(good(i, f"2025-07-{20 + i * 3 // n}", request_id=f"r{i}", n=i))
        if i % 97 == 0:
            records += ["{bad json", ""]
    return ndjson(*records)


def test_worker_processes_write_exactly_what_one_process_writes(served_lake: Lake) -> None:
    lake = served_lake
    body = _mixed_body(3000)
    lake.put("one.log", body)
    lake.put("many.log", body)
    one = lake.pipeline(chunk_bytes=8192, read_bytes=2048, workers=1).process_s3(RAW, "one.log")
    many = lake.pipeline(chunk_bytes=8192, read_bytes=2048, workers=3).process_s3(RAW, "many.log")
    batches = len(body) // 8192
    assert (one.lines_read, one.valid, one.invalid, one.blank) == (3062, 3000, 31, 31)
    assert (many.lines_read, many.valid, many.invalid, many.blank) == (3062, 3000, 31, 31)
    assert many.error_counts == one.error_counts == {"invalid_json": 31}
    assert [s["line"] for s in many.sample_errors] == [s["line"] for s in one.sample_errors]
    assert len(many.sample_errors) == 10
    assert len(many.files) == len(one.files) > batches  # one file per batch and partition
    rows = lake.rows()
    by_source = {uri: part.drop(columns="source_uri") for uri, part in rows.groupby("source_uri")}
    ours, theirs = (
        by_source[f"s3://{RAW}/{k}"].reset_index(drop=True) for k in ("one.log", "many.log")
    )
    assert len(ours) == len(theirs) == 3000
    assert ours.drop(columns="ingested_at").equals(theirs.drop(columns="ingested_at"))
    errors = lake.rows("errors")
    assert errors.groupby("source_uri").size().tolist() == [31, 31]
    assert lake.manifest("many.log")["files"] == many.files


def test_a_killed_worker_fails_the_attempt_and_the_retry_is_exact(served_lake: Lake) -> None:
    """SIGKILL one worker mid-object (as the OOM killer would): no partial success, no duplicates."""
    lake = served_lake
    lake.put("killed.log", _mixed_body(6000))
    pipe = lake.pipeline(chunk_bytes=4096, read_bytes=2048, workers=2)
    killed: list[int] = []

    def kill_a_worker() -> None:
        while not killed:
            children = multiprocessing.active_children()
            manifest = lake.s3.list_objects_v2(Bucket=PROCESSED, Prefix="_manifests/")
            if children and manifest.get("KeyCount"):
                os.kill(children[0].pid or 0, signal.SIGKILL)
                killed.append(children[0].pid or 0)
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker, daemon=True)
    killer.start()
    with pytest.raises(WorkerError, match="died"):
        pipe.process_s3(RAW, "killed.log")
    killer.join()
    assert lake.files("") == []  # the failed attempt removed its files and its record
    retry = lake.pipeline(chunk_bytes=4096, read_bytes=2048, workers=2).process_s3(
        RAW, "killed.log"
    )
    assert (retry.status, retry.valid, retry.invalid, retry.blank) == ("processed", 6000, 62, 62)
    rows = lake.rows()
    assert rows["source_line"].is_unique and len(rows) == 6000
    assert len(lake.rows("errors")) == 62
    left = lake.files("processed/") + lake.files("errors/")
    assert sorted(f"s3://{PROCESSED}/{key}" for key in left) == retry.files


def test_strange_lines_each_get_a_row_and_the_good_lines_land(lake: Lake) -> None:
    """Lines that used to fail the whole object (issue #10) next to good lines."""
    deep = "[" * 300 + "1" + "]" * 300
    strange = [
        '{"timestamp": "2025-07-21T10:00:00Z", "level": ["INFO"], "message": "m"}',
        '{"timestamp": "2025-07-21T10:00:00Z", "level": {"a": 1}, "message": "m"}',
        '{"timestamp": ' + "[" * 900 + "]" * 900 + ', "level": "INFO", "message": "m"}',
        '{"timestamp": "2025-07-21T10:00:00Z", "level": "INFO", "message": "m", "x": 1e400}',
        '{"timestamp": "2025-07-21T10:00:00Z", "level": "INFO", "message": "m", "d": '
        + "[" * 1020
        + "]" * 1020
        + "}",
    ]
    kept = [
        '{"timestamp": "2025-07-21T10:00:00Z", "level": "INFO", "message": "deep", "deep": '
        + deep
        + "}",
        '{"timestamp": "2025-07-21T10:00:00Z", "level": "INFO", "message": "big", "n": '
        + "1" * 70
        + "}",
        '{"timestamp": "2016-12-31T23:59:60Z", "level": "INFO", "message": "leap"}',
    ]
    records: list[dict[str, object] | str] = []
    for i, line in enumerate(strange + kept):
        records += [good(i), line]
    lake.put("strange.log", ndjson(*records))
    result = lake.pipeline(min_timestamp=datetime(2016, 1, 1)).process_s3(RAW, "strange.log")
    assert (result.status, result.lines_read, result.valid, result.invalid) == (
        "processed",
        16,
        11,
        5,
    )
    assert result.error_counts == {
        "bad_level": 2,
        "bad_timestamp": 1,
        "invalid_json": 1,
        "unprocessable_line": 1,
    }
    rows = lake.rows().set_index("message")
    assert dict(rows.loc["big", "attributes"])["n"] == "1" * 70
    assert dict(rows.loc["deep", "attributes"])["deep"] == deep
    assert str(rows.loc["leap", "event_time"]) == "2016-12-31 23:59:59.999999"
    assert sorted(lake.rows("errors")["source_line"]) == [2, 4, 6, 8, 10]


def test_gzip_bomb_of_tiny_lines_stops_at_the_cap_with_one_row(lake: Lake) -> None:
    lake.put("bomb.log.gz", ndjson(good(1)) + "x\n" * 200_000, gz=True)
    pipe = lake.pipeline(max_decompressed_bytes=150_000, chunk_lines=20_000)
    result = pipe.process_s3(RAW, "bomb.log.gz")
    head = len(ndjson(good(1)))
    kept = (150_000 - head + 1) // 2  # "x" lines before the cap (the last one maybe cut short)
    assert (result.lines_read, result.valid, result.blank) == (1 + kept + 1, 1, 0)
    assert result.error_counts == {"invalid_json": kept, "decompressed_too_large": 1}
    errors = lake.rows("errors")
    assert len(errors) == kept + 1
    last = errors.iloc[-1]
    assert last["error_code"] == "decompressed_too_large" and last["source_line"] == kept + 2
    assert len(lake.files("errors/")) == -(-(kept + 2) // 20_000)  # batches of <= 20,000 lines
    again = pipe.process_s3(RAW, "bomb.log.gz")
    assert again.status == "duplicate"  # no retry loop: the object is done


def test_gzip_bomb_of_newlines_is_counted_in_bulk(lake: Lake) -> None:
    body = ndjson(good(1)) + "\n" * 20_000_000 + " \r\n" * 1000 + ndjson(good(2))
    lake.put("newlines.log.gz", body, gz=True)
    result = lake.pipeline().process_s3(RAW, "newlines.log.gz")
    assert (result.lines_read, result.valid, result.invalid, result.blank) == (
        20_001_002,
        2,
        0,
        20_001_000,
    )
    assert lake.rows()["source_line"].tolist() == [1, 20_001_002]


def test_plain_text_named_gz_is_read_as_plain_text(lake: Lake) -> None:
    lake.put("not-really.log.gz", ndjson(good(1), good(2)))
    result = lake.pipeline().process_s3(RAW, "not-really.log.gz")
    assert (result.lines_read, result.valid, result.invalid) == (2, 2, 0)


def test_columnar_path_writes_exactly_what_the_reference_writes(
    served_lake: Lake, tmp_path: Path
) -> None:
    """The benchmark corpus (2% bad lines of seven kinds) plus strange lines, processed with the
    columnar path and without it (``COLUMNAR=off``), by one process and by two workers: the
    same counts, the same rows and the same error rows, value for value."""
    lake = served_lake
    corpus = tmp_path / "corpus.ndjson"
    generate(corpus, 20_000)
    body = corpus.read_bytes() + b"\n".join(STRANGE) + b"\n"
    runs = {}
    for columnar, workers in [(False, 1), (True, 1), (True, 2)]:
        key = f"columnar-{columnar}-workers-{workers}.log"
        lake.put(key, body)
        pipeline = lake.pipeline(columnar=columnar, workers=workers, chunk_bytes=256 * 1024)
        runs[key] = pipeline.process_s3(RAW, key)
    counts = {(r.lines_read, r.valid, r.invalid, r.blank) for r in runs.values()}
    assert len(counts) == 1
    (lines, valid, invalid, blank), reference = counts.pop(), runs["columnar-False-workers-1.log"]
    assert lines == 20_000 + len(STRANGE) == valid + invalid + blank
    assert (valid, invalid, blank) == (19_604, 409, 2)  # every BAD line of the corpus is invalid
    assert {tuple(sorted(r.error_counts.items())) for r in runs.values()} == {
        tuple(sorted(reference.error_counts.items()))
    }
    for table in ("processed", "errors"):
        rows = lake.rows(table).drop(columns="ingested_at")
        parts = [
            p.drop(columns="source_uri").reset_index(drop=True)
            for _, p in rows.groupby("source_uri")
        ]
        assert len(parts) == 3 and all(p.equals(parts[0]) for p in parts), table
    assert len(lake.rows("processed")) == 3 * valid


def test_a_time_ordered_file_comes_out_in_time_and_line_order_by_both_paths(
    served_lake: Lake,
) -> None:
    """A logger's file in time order, a thousand lines a second, an attribute that is a number on
    some lines and a string on others (the bulk path reads those kinds apart, so its rows come
    back out of line order) and a few invalid lines: with and without the columnar path, the
    same rows, and every file sorted by time and then line."""
    lake = served_lake
    records: list[dict[str, Any] | str] = []
    for i in range(3000):
        records.append(good(i // 1000, message=f"m{i}", code=i if i % 2 else f"E{i}"))
        if i % 500 == 0:
            records.append('{"timestamp": "2025-07-21T10:00:00Z", "level": "LOUD", "message": "m"}')
    for columnar, workers in [(False, 1), (True, 1), (True, 2)]:
        key = f"ordered-{columnar}-{workers}.log"
        lake.put(key, ndjson(*records))
        sizes = {"chunk_bytes": 8192, "read_bytes": 2048}
        pipeline = lake.pipeline(columnar=columnar, workers=workers, **sizes)
        result = pipeline.process_s3(RAW, key)
        assert (result.lines_read, result.valid, result.invalid) == (3006, 3000, 6)
    rows = lake.rows("processed").drop(columns="ingested_at")
    parts = [
        p.drop(columns="source_uri").reset_index(drop=True) for _, p in rows.groupby("source_uri")
    ]
    assert len(parts) == 3 and all(p.equals(parts[0]) for p in parts)
    for name in lake.files("processed/"):
        data = lake.s3.get_object(Bucket=PROCESSED, Key=name)["Body"].read()
        table = pq.read_table(io.BytesIO(data))
        order = [(r["event_time"], r["source_line"]) for r in table.to_pylist()]
        assert order == sorted(order)


STRANGE = [
    b'{"timestamp": "2025-07-21T10:00:10Z", "level": "INFO", "message": 42}',  # a row since sources
    b'{"timestamp": "2025-07-21T10:00:10Z", "level": "NOTICE", "message": "x"}',  # syslog's level
    b'{"timestamp":"2025-07-21T10:00:00.5+02:00","level":"warning","message":"m","n":1.5}',
    b'{"timestamp":1753092000123,"level":"INFO","message":"epoch ms","ok":true}',
    b'{"timestamp":"2025-07-21 10:00:00","level":"INFO","message":"m","when":"2025-07-21"}',
    b'{"timestamp":"2025-07-21T10:00:00Z","level":"INFO","message":"m","big":123456789012345678901}',
    b'{"timestamp":"2025-07-21T10:00:00Z","level":"INFO","message":"m","n":1.0,"z":null}',
    b'{"timestamp":"2025-07-21T10:00:00Z","level":"INFO","message":"m","nested":{"a":[1,{}]}}',
    b'{"timestamp":"2025-07-21T10:00:00Z","level":"INFO","message":"m","a":1,"a":2}',
    b'{"level":"INFO","message":"reordered","timestamp":"2025-07-21T10:00:00Z","x":"\\u00e9"}',
    b'{"timestamp":"2025-07-21T10:00:00Z","level":"INFO","message":"m","n":NaN}',
    b'{"timestamp":"2025-07-21T10:00:00Z","level":"INFO","message":"\xff"}',
    b'{"a":1}{"b":2}',
    b"   ",
    b"",
]

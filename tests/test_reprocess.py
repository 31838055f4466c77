"""Reprocessing: an object produced under another fingerprint is replaced exactly once."""

from __future__ import annotations

import gc
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from handler.compaction import CompactOptions, compact_lake
from handler.ddl import DEFAULT_DDL_DIR
from handler.rules import parse_rules
from loglake.engines import LocalEngine
from loglake.reprocess import Plan, reprocess

from .conftest import RAW, Lake, good, ndjson
from .test_local_stack import LOGLAKE, Proc, Stack, start_stack

STRICT = parse_rules('{"user_id": {"max_length": 3}}')
LOOSE = parse_rules('{"user_id": {"max_length": 10}}')


def by_source(lake: Lake, table: str) -> Counter[tuple[str, int]]:
    rows = lake.rows(table)
    names = rows["source_uri"].str.rsplit("/", n=1).str[1]
    return Counter(zip(names, rows["source_line"], strict=True))


def test_a_rule_fixed_moves_the_rejected_lines_to_processed_exactly_once(lake: Lake) -> None:
    for name in ("a.log", "b.log"):
        lake.put(name, ndjson(good(1, user_id="abc"), good(2, user_id="abcdef"), "{bad"))
        assert lake.pipeline(rules=STRICT).process_s3(RAW, name).status == "processed"
    assert by_source(lake, "processed") == Counter({("a.log", 1): 1, ("b.log", 1): 1})
    assert sum(by_source(lake, "errors").values()) == 4
    strict_digest = lake.manifest("a.log")["fingerprint"]["digest"]
    compact_lake(lake.config, lake.session, CompactOptions(min_age=timedelta(0)))

    loose = lake.pipeline(rules=LOOSE)
    result = loose.process_s3(RAW, "a.log")
    assert (result.status, result.valid, result.invalid) == ("processed", 2, 1)
    assert by_source(lake, "processed") == Counter(
        {("a.log", 1): 1, ("a.log", 2): 1, ("b.log", 1): 1}
    )
    assert by_source(lake, "errors") == Counter({("a.log", 3): 1, ("b.log", 2): 1, ("b.log", 3): 1})
    manifest = lake.manifest("a.log")
    assert manifest["fingerprint"]["digest"] != strict_digest
    assert manifest["fingerprint"]["rules"] == [{"field": "user_id", "max_length": 10}]
    assert loose.process_s3(RAW, "a.log").status == "duplicate"
    assert lake.pipeline(rules=STRICT).process_s3(RAW, "b.log").status == "duplicate"


OBJECTS = 300


def digests(stack: Stack) -> Counter[str | None]:
    found: Counter[str | None] = Counter()
    for n in range(OBJECTS):
        doc = stack.manifest(f"r/{n:03d}.log")
        found[None if doc is None else doc.get("fingerprint", {}).get("digest")] += 1
    return found


def queue_idle(stack: Stack) -> bool:
    url = stack.sqs.get_queue_url(QueueName="loglake-ingest")["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return not any(int(attrs[n]) for n in names)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_column_and_a_rule_changed_then_reprocess_stale_only_through_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, stack = start_stack(tmp_path, "--no-worker", "--visibility-timeout", "10")
    strict = stack.env | {"VALIDATION_RULES": '{"user_id": {"max_length": 3}}'}
    workers = Proc(["worker", "--concurrency", "2", "--wait-seconds", "1"], strict)
    try:
        for n in range(OBJECTS):
            body = ndjson(good(n, user_id="abc"), good(n, user_id=f"user-{n}"), "{torn")
            stack.s3.put_object(Bucket="loglake-raw", Key=f"r/{n:03d}.log", Body=body)
        wait_until(lambda: queue_idle(stack) and None not in digests(stack), "the first run")
        (old,) = digests(stack)
        workers.stop()

        ddl = tmp_path / "ddl"
        shutil.copytree(DEFAULT_DDL_DIR, ddl)
        table = ddl / "processed_logs.sql"
        table.write_text(
            table.read_text().replace("  message ", "  user_id     string,\n  message ", 1)
        )
        loose = stack.env | {
            "VALIDATION_RULES": '{"user_id": {"max_length": 10}}',
            "GLUE_DDL_DIR": str(ddl),
        }
        applied = subprocess.run(
            [*LOGLAKE, "catalog", "apply"], env=loose, capture_output=True, text=True
        )
        assert applied.returncode == 0 and "updated" in applied.stdout, applied.stderr
        workers = Proc(["worker", "--concurrency", "2", "--wait-seconds", "1"], loose)
        run = subprocess.run(
            [*LOGLAKE, "reprocess", "s3://loglake-raw/", "--stale-only"],
            env=loose,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert f"{OBJECTS} of {OBJECTS} object(s) not current; {OBJECTS} sent" in run.stdout
        assert "listed 300  picked 300  sent 300" in run.stderr
        wait_until(lambda: queue_idle(stack) and old not in digests(stack), "the reprocessing")
        (new,) = digests(stack)
        assert new != old

        monkeypatch.setenv("AWS_ENDPOINT_URL", stack.url)
        for name, value in stack.env.items():
            if name.startswith("AWS_"):
                monkeypatch.setenv(name, value)
        engine = LocalEngine(boto3.Session(), "log_analytics_db")
        rows = engine.dataset("processed_logs").to_table().to_pylist()
        errors = engine.dataset("errors_logs").to_table().to_pylist()
        assert len(rows) == 2 * OBJECTS and len(errors) == OBJECTS
        assert all(r["user_id"] in ("abc", f"user-{int(r['source_uri'][-7:-4])}") for r in rows)
        assert Counter((r["source_uri"], r["source_line"]) for r in rows).most_common(1)[0][1] == 1
        assert {(e["source_line"], e["error_code"]) for e in errors} == {(3, "invalid_json")}
        assert len({e["source_uri"] for e in errors}) == OBJECTS

        again = subprocess.run(
            [*LOGLAKE, "reprocess", "s3://loglake-raw/", "--stale-only"],
            env=loose,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert f"0 of {OBJECTS} object(s) not current; 0 sent" in again.stdout
    finally:
        workers.stop()
        server.stop()


@pytest.mark.slow
def test_a_listing_of_100000_keys_is_walked_page_by_page_in_bounded_memory(lake: Lake) -> None:
    """moto's own backend holds the keys (100,000 PUTs over boto3 would take minutes)."""
    from moto.backends import get_backend

    backend = get_backend("s3")["123456789012"]["global"]
    for n in range(100_000):
        backend.put_object(RAW, f"bulk/{n:06d}.log", b"x")
    lake.put("bulk/done.log", ndjson(good(1)))
    lake.pipeline().process_s3(RAW, "bulk/done.log")
    seen: list[int] = []
    plan = Plan(uri=f"s3://{RAW}/bulk/", suffixes=(".log",), stale_only=True, queue_url="unused")
    gc.collect()
    before = _kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
    tally = reprocess(lake.config, lake.session, plan, lambda t: seen.append(t.listed))
    grown = _kib("VmHWM") - before
    assert (tally.listed, tally.picked, tally.done) == (100_001, 0, 0)
    assert seen[:3] == [1000, 2000, 3000]  # progress per page
    # Measured here: holding the whole listing as boto3 returns it grows the peak by ~115 MB;
    # listing page by page, by ~7 MB (moto, in this process, builds a list of every key per page).
    assert grown < 60_000, f"peak grew by {grown:,} KiB"


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)

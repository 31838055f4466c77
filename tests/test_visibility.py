"""What a reader sees while real workers write: only whole committed versions, at every instant.

A reader thread lists both tables the way Athena does (``listed_files``: projected partitions,
their manifests, the files those name) as often as it can, opens every file it listed, and counts
each object's rows per partition and attempt. Meanwhile real ``loglake worker`` processes, against
moto's server, take a key through a new 250,000-line version, a re-upload of it, a SIGKILL of
every worker mid-object and the retry, a compaction, and a reprocess under a new fingerprint
(whose rows must be cut out of the compacted files). At every listing, for every object and
partition: no rows, or exactly the rows of one committed version, written by one attempt; once
seen, never gone again; and no listed file is missing (deletions wait out the grace period).
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest

from loglake.engines import listed_files
from loglake.queries import QueryError

from .conftest import good, ndjson
from .test_local_stack import Proc, Stack, start_stack

pytestmark = pytest.mark.slow

TABLES = {"processed_logs": "processed", "errors_logs": "errors"}
DAYS = ("2025-07-20", "2025-07-21")
#: Long enough for a listing and its reads; short enough that the trash is emptied in the test.
GRACE = 5


def version(lines: int, bad: int) -> bytes:
    """``lines`` valid lines over two days, then ``bad`` invalid ones."""
    rows: list[dict[str, object] | str] = [good(i, DAYS[i % 2], pad="x" * 30) for i in range(lines)]
    return ndjson(*rows, *(f"bad line {n}" for n in range(bad))).encode()


def expected(lines: int, bad: int, today: str) -> dict[tuple[str, str], int]:
    """Rows per (table, dt) of one version."""
    return {
        ("processed_logs", DAYS[0]): (lines + 1) // 2,
        ("processed_logs", DAYS[1]): lines // 2,
        ("errors_logs", today): bad,
    }


class Reader(threading.Thread):
    """Counts what a query of the whole table would read, again and again, and checks it."""

    def __init__(self, url: str, allowed: dict[str, set[tuple[str, str, int]]]) -> None:
        super().__init__(daemon=True)
        self.session = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        self.s3 = self.session.client("s3", endpoint_url=url)
        self.glue = self.session.client("glue", endpoint_url=url)
        #: source_uri -> the (table, dt, rows) its committed versions may show.
        self.allowed = allowed
        self.seen: set[tuple[str, str, str]] = set()
        self.violations: list[str] = []
        self.listings = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            view = self.snapshot()
            if view is not None:
                self.check(view)
                self.listings += 1

    def snapshot(self) -> Counter[tuple[str, str, str, object]] | None:
        """Rows per (table, dt, source_uri, ingested_at) of one listing of both tables."""
        view: Counter[tuple[str, str, str, object]] = Counter()
        for table in TABLES:
            try:
                files = listed_files(self.s3, self.glue, "log_analytics_db", table)
            except QueryError as exc:
                self.violations.append(f"listing failed: {exc}")
                return None
            for file in files:
                bucket, key = file.uri.removeprefix("s3://").split("/", 1)
                try:
                    body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                except self.s3.exceptions.NoSuchKey:
                    self.violations.append(f"{file.uri} was listed, then deleted under the reader")
                    return None
                rows = pq.read_table(io.BytesIO(body), columns=["source_uri", "ingested_at"])
                grouped = rows.group_by(["source_uri", "ingested_at"]).aggregate(
                    [("source_uri", "count")]
                )
                for src, stamp, n in zip(*(c.to_pylist() for c in grouped.columns), strict=True):
                    view[(table, str(file.dt), src, stamp)] += n
        return view

    def check(self, view: Counter[tuple[str, str, str, object]]) -> None:
        shown: dict[tuple[str, str, str], dict[object, int]] = {}
        for (table, dt, src, stamp), n in view.items():
            shown.setdefault((table, dt, src), {})[stamp] = n
        for where, attempts in shown.items():
            table, dt, src = where
            if len(attempts) > 1:
                self.violations.append(f"{where}: rows of {len(attempts)} attempts at once")
            total = sum(attempts.values())
            if (table, dt, total) not in self.allowed.get(src, set()):
                self.violations.append(f"{where}: {total} rows, not one committed version's")
            self.seen.add(where)
        for where in self.seen - set(shown):
            self.violations.append(f"{where}: seen before, now gone")


def committed(stack: Stack, key: str, body: bytes, timeout: float = 240) -> None:
    """Wait until the key's current version is committed."""
    etag = stack.s3.head_object(Bucket="loglake-raw", Key=key)["ETag"].strip('"')
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = stack.manifest(key)
        if doc and doc["status"] == "complete" and doc["version"] == etag:
            return
        time.sleep(0.2)
    raise AssertionError(f"{key} was not committed: {stack.manifest(key)}")


@pytest.mark.parametrize("run", [1, 2])
def test_a_reader_only_ever_sees_whole_committed_versions(tmp_path: Path, run: int) -> None:
    server, stack = start_stack(tmp_path, "--no-worker", "--visibility-timeout", "5")
    stack.env |= {"READER_GRACE_SECONDS": str(GRACE)}
    env = stack.env | {"CHUNK_BYTES": "1048576", "WORKERS": "2"}
    today = time.strftime("%Y-%m-%d", time.gmtime())
    first, second, third = (250_000, 3), (200_000, 2), (60_000, 1)
    allowed: dict[str, set[tuple[str, str, int]]] = {}

    def allow(key: str, lines: int, bad: int) -> None:
        shows = expected(lines, bad, today)
        allowed.setdefault(f"s3://loglake-raw/{key}", set()).update(
            (table, dt, n) for (table, dt), n in shows.items()
        )

    for key, shape in (("app/a.log", first), ("app/a.log", second), ("app/b.log", third)):
        allow(key, *shape)
    reader = Reader(stack.url, allowed)
    reader.start()
    workers = Proc(["worker", "--concurrency", "2", "--wait-seconds", "1"], env)
    try:
        # A new object, then a re-upload of the same key.
        for shape in (first, second):
            body = version(*shape)
            stack.s3.put_object(Bucket="loglake-raw", Key="app/a.log", Body=body)
            committed(stack, "app/a.log", body)
        # Every worker process SIGKILLed mid-object; new ones retry after the visibility timeout.
        body = version(*third)
        stack.s3.put_object(Bucket="loglake-raw", Key="app/b.log", Body=body)
        stack.wait_attempt()
        time.sleep(0.5 * run)
        workers.kill_all()
        workers = Proc(["worker", "--concurrency", "2", "--wait-seconds", "1"], env)
        committed(stack, "app/b.log", body)
        # A compaction of every partition, then a reprocess under a new fingerprint, whose new
        # versions replace rows that now live in compacted files.
        compact = stack.cli("compact", "--min-age", "0", timeout=240)
        assert compact.returncode == 0, compact.stderr
        assert "merged" in compact.stderr
        workers.stop()
        changed = {"MAX_FUTURE_SECONDS": "86401"}  # another limit: another fingerprint
        workers = Proc(["worker", "--concurrency", "2", "--wait-seconds", "1"], env | changed)
        before = {key: stack.manifest(key)["attempt"] for key in ("app/a.log", "app/b.log")}  # type: ignore[index]
        stack.env |= changed
        sent = stack.cli("reprocess", "s3://loglake-raw/app/", "--stale-only", timeout=120)
        assert sent.returncode == 0, sent.stderr
        assert "2 " in sent.stdout + sent.stderr, sent.stdout + sent.stderr
        deadline = time.monotonic() + 240
        while any(stack.manifest(k)["attempt"] == a for k, a in before.items()):  # type: ignore[index]
            assert time.monotonic() < deadline, "\n".join(workers.lines[-30:])
            time.sleep(0.2)
        time.sleep(GRACE + 2)  # the trash is emptied by the next write or run after the grace
        tidy = stack.cli("compact", "--min-age", "1", timeout=240)  # young files: no merging
        assert tidy.returncode == 0, tidy.stderr
        shown = {
            f.uri.removeprefix("s3://loglake-processed/")
            for table in TABLES
            for f in listed_files(reader.s3, reader.glue, "log_analytics_db", table)
        }
        pages = stack.s3.get_paginator("list_objects_v2").paginate(Bucket="loglake-processed")
        stored = [
            o["Key"]
            for page in pages
            for o in page.get("Contents", [])
            if o["Key"].startswith(("processed/", "errors/"))
        ]
    finally:
        reader.stop.set()
        reader.join(60)
        workers.stop()
        server.stop()
    print(f"{reader.listings} listings, {len(reader.violations)} violations")  # shown with -s
    assert reader.listings > 50, reader.listings
    assert reader.violations == [], reader.violations[:10]
    assert len(reader.seen) == 6  # two objects, each in two days and one upload day
    assert sorted(stored) == sorted(shown), "files left over after the grace period"

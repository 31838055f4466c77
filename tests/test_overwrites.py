"""One key overwritten again and again while real workers process it: exactly the last version.

A shipper rewriting ``current.log`` (or an impatient ``aws s3 cp`` loop) uploads five versions
0.15 s apart. Every upload sends its own notification; worker processes pick them up in
parallel, and big objects are split over forked processes too. When the queue is empty, the
tables must hold exactly the last version's rows and errors, and every Parquet file must be
listed by the key's manifest.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import good, ndjson
from .test_local_stack import Proc, Stack, start_stack

pytestmark = pytest.mark.slow
ROUNDS = 10
VERSIONS = 5


def version_body(version: int) -> bytes:
    """Version ``v`` has 30,000 + 10,000 v valid lines over two days and ``v`` bad lines."""
    valid = 30_000 + 10_000 * version
    records: list[dict[str, object] | str] = [
        good(i, f"2025-07-{20 + i % 2}", v=version, pad="x" * 40) for i in range(valid)
    ]
    records += [f"bad line {i} of version {version}" for i in range(version)]
    return ndjson(*records).encode()


def settled(stack: Stack, keys: list[str]) -> bool:
    for name in ("loglake-ingest",):
        url = stack.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attrs = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if int(attrs["ApproximateNumberOfMessages"]) or int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        ):
            return False
    for key in keys:
        doc = stack.manifest(key)
        etag = stack.s3.head_object(Bucket="loglake-raw", Key=key)["ETag"].strip('"')
        if doc is None or doc["version"] != etag:
            return False
    return True


def parquet_files(stack: Stack) -> list[str]:
    found = []
    for prefix in ("processed/", "errors/"):
        pages = stack.s3.get_paginator("list_objects_v2").paginate(
            Bucket="loglake-processed", Prefix=prefix
        )
        found += [o["Key"] for page in pages for o in page.get("Contents", [])]
    return sorted(f"s3://loglake-processed/{key}" for key in found)


@pytest.mark.parametrize("concurrency", [2, 4])
def test_five_rapid_overwrites_leave_exactly_the_last_version(
    tmp_path: Path, concurrency: int
) -> None:
    server, stack = start_stack(tmp_path, "--no-worker", "--visibility-timeout", "10")
    env = stack.env | {"CHUNK_BYTES": "1048576", "WORKERS": "2"}
    workers = Proc(["worker", "--concurrency", str(concurrency), "--wait-seconds", "1"], env)
    try:
        bodies = [version_body(v) for v in range(1, VERSIONS + 1)]
        keys = [f"shipper/{r}/current.log" for r in range(ROUNDS)]
        for key in keys:
            for body in bodies:
                stack.s3.put_object(Bucket="loglake-raw", Key=key, Body=body)
                time.sleep(0.15)
        deadline = time.monotonic() + 300
        while not settled(stack, keys):
            assert time.monotonic() < deadline, "the queue did not drain\n" + "\n".join(
                workers.lines[-30:]
            )
            time.sleep(0.5)
        assert stack.depth("loglake-ingest-dlq") == 0
        rows = stack.query("valid_vs_invalid", "-p", "start=2025-07-01", "-p", "end=2100-01-01")
        expected = 30_000 + 10_000 * VERSIONS
        assert sorted(rows, key=lambda r: r["source_uri"]) == [
            {"source_uri": f"s3://loglake-raw/{key}", "valid": expected, "invalid": VERSIONS}
            for key in sorted(keys)
        ]
        listed = sorted(f for key in keys for f in (stack.manifest(key) or {})["files"])
        assert parquet_files(stack) == listed, "Parquet files no manifest lists"
    finally:
        workers.stop()
        server.stop()

"""``make bench``, the lake part: a shipper's small files before and after ``loglake compact``.

Runs in the bench process against the bench's moto server (reset first): the same 48,000 lines
written as one object, then as 480 objects of 100 lines; the local engine's ``level_counts``
latency on each (median of 5), then after compaction, while a reader counts the table's rows in
a loop during the compaction (how many of its reads were wrong, and for how long). Also the
stored bytes of the lake as a share of the raw bytes.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import boto3

from handler.compaction import CompactOptions, compact_lake
from handler.config import Config
from handler.partition import partitions_for
from handler.pipeline import Pipeline

from .catalog import apply
from .engines import LocalEngine, run_saved

RAW, PROCESSED = "loglake-raw", "loglake-processed"


@dataclass
class LakeBench:
    """What ``report`` prints."""

    one_object_s: float = 0.0
    fragmented_s: float = 0.0
    compacted_s: float = 0.0
    files_before: int = 0
    files_after: int = 0
    compact_s: float = 0.0
    stored_share: float = 0.0
    reads: int = 0
    wrong_reads: list[str] = field(default_factory=list)
    compacted_partitions: int = 0
    enqueued: int = 0
    enqueue_rate: float = 0.0


def run(endpoint: str, data: Path, objects: int = 480, lines: int = 100) -> LakeBench:
    """Measure the lake of ``objects`` x ``lines`` lines cut from ``data`` (the bench corpus)."""
    with data.open("rb") as source:
        chunk = sorted((next(source) for _ in range(objects * lines)), key=_timestamp)
    bench = LakeBench()
    session = _fresh(endpoint)
    _ingest(session, [b"".join(chunk)])
    bench.one_object_s = _latency(session)
    session = _fresh(endpoint)
    parts = [b"".join(chunk[i : i + lines]) for i in range(0, len(chunk), lines)]
    _ingest(session, parts)
    bench.files_before = _files(session)
    bench.fragmented_s = _latency(session)
    expected = LocalEngine(session, "log_analytics_db").dataset("processed_logs").count_rows()
    print(f"  compacting {bench.files_before} files ...", file=sys.stderr, flush=True)
    stop = threading.Event()
    reader = threading.Thread(target=_read_loop, args=(endpoint, expected, bench, stop))
    reader.start()
    started = time.perf_counter()
    results = compact_lake(Config.from_env(), session, CompactOptions(min_age=timedelta(0)))
    bench.compact_s = time.perf_counter() - started
    bench.compacted_partitions = sum(r.outcome == "compacted" for r in results)
    time.sleep(0.5)
    stop.set()
    reader.join()
    bench.files_after = _files(session)
    bench.compacted_s = _latency(session)
    raw = sum(map(len, parts))
    bench.stored_share = _stored(session) / raw
    bench.enqueued, bench.enqueue_rate = enqueue_rate(endpoint)
    return bench


def _timestamp(line: bytes) -> str:
    """A shipper's object holds the lines of its minute: the lake's lines go in time order."""
    try:
        return str(json.loads(line).get("timestamp", ""))
    except (ValueError, AttributeError):
        return ""


def _fresh(endpoint: str) -> boto3.Session:
    """moto's server emptied, the buckets and tables made again; this process pointed at it."""
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    session = boto3.Session()
    for bucket in (RAW, PROCESSED):
        session.client("s3").create_bucket(Bucket=bucket)
    apply(Config.from_env(), session)
    return session


def _ingest(session: boto3.Session, bodies: list[bytes]) -> None:
    s3 = session.client("s3")
    pipeline = Pipeline(Config.from_env({"WORKERS": "1"}), session)
    print(f"  ingesting {len(bodies)} object(s) ...", file=sys.stderr, flush=True)
    for n, body in enumerate(bodies):
        s3.put_object(Bucket=RAW, Key=f"shipper/{n:04d}.ndjson", Body=body)
        pipeline.process_s3(RAW, f"shipper/{n:04d}.ndjson")


def _latency(session: boto3.Session, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run_saved("level_counts", {}, session=session)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _read_loop(endpoint: str, expected: int, bench: LakeBench, stop: threading.Event) -> None:
    """A reader that lists the table's files and counts their rows, again and again."""
    engine = LocalEngine(boto3.Session(), "log_analytics_db")
    while not stop.is_set():
        try:
            got = str(engine.dataset("processed_logs").count_rows())
        except Exception as exc:  # a file listed, then deleted before it was read
            got = type(exc).__name__
        bench.reads += 1
        if got != str(expected):
            bench.wrong_reads.append(got)


def enqueue_rate(endpoint: str, objects: int = 1000) -> tuple[int, float]:
    """``loglake reprocess`` (queue mode) over ``objects`` never-processed objects: how many it
    sent and how many a second, listing and manifest checks included."""
    from .reprocess import Plan, reprocess

    session = _fresh(endpoint)
    s3 = session.client("s3")
    print(f"  uploading {objects} objects for reprocess ...", file=sys.stderr, flush=True)
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda n: s3.put_object(Bucket=RAW, Key=f"old/{n:05d}.log", Body=b"{}\n"),
                range(objects),
            )
        )
    url = session.client("sqs").create_queue(QueueName="loglake-reprocess")["QueueUrl"]
    plan = Plan(uri=f"s3://{RAW}/old/", suffixes=(".log",), queue_url=url)
    stop = threading.Event()
    # Consumers keep the queue short, as workers would (moto's SQS slows as a queue grows).
    drain = threading.Thread(target=_drain, args=(session, url, stop))
    drain.start()
    started = time.perf_counter()
    try:
        tally = reprocess(Config.from_env(), session, plan)
    finally:
        stop.set()
        drain.join()
    return tally.done, tally.done / (time.perf_counter() - started)


def _drain(session: boto3.Session, url: str, stop: threading.Event) -> None:
    sqs = session.client("sqs")
    while not stop.is_set():
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = got.get("Messages", [])
        if messages:
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def stored_bytes(endpoint: str) -> int:
    """Bytes under processed/ and errors/ in the bench's moto server."""
    session = boto3.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    return sum(_sizes(session, endpoint))


def _files(session: boto3.Session) -> int:
    return len(_sizes(session))


def _stored(session: boto3.Session) -> int:
    return sum(_sizes(session))


def _sizes(session: boto3.Session, endpoint: str | None = None) -> list[int]:
    """Sizes of the Parquet files readers see (not those waiting out the grace period)."""
    s3 = session.client("s3", endpoint_url=endpoint)
    shown = {
        uri.removeprefix(f"s3://{PROCESSED}/")
        for record in partitions_for(Config.from_env(), s3).records()
        for uri in record.visible
    }
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=PROCESSED)
    return [int(o["Size"]) for page in pages for o in page.get("Contents", []) if o["Key"] in shown]


def report(bench: LakeBench, objects: int = 480) -> None:
    """The lake lines of ``make bench``."""
    ratio = bench.fragmented_s / bench.one_object_s
    after = bench.compacted_s / bench.one_object_s
    print(
        "\n| lake of 48,000 bench lines (local engine, level_counts) | files | seconds | vs 1 object |"
    )
    print(f"|{'-' * 57}|{'-' * 6}:|{'-' * 8}:|{'-' * 12}:|")
    print(f"| {'written as 1 object':<55} | {'':>5} | {bench.one_object_s:>7.2f} | {1:>10.2f}x |")
    print(
        f"| {f'written as {objects} objects of 100 lines':<55} | {bench.files_before:>5} "
        f"| {bench.fragmented_s:>7.2f} | {ratio:>10.2f}x |"
    )
    print(
        f"| {'... after loglake compact':<55} | {bench.files_after:>5} "
        f"| {bench.compacted_s:>7.2f} | {after:>10.2f}x |"
    )
    print(
        f"\ncompaction: {bench.compact_s:.1f} s; stored bytes (both tables, compacted) = "
        f"{bench.stored_share:.1%} of the raw bytes"
    )
    kinds = sorted(set(bench.wrong_reads))
    print(
        f"reader during compaction: {bench.reads} reads, {len(bench.wrong_reads)} wrong"
        + (f" ({', '.join(kinds)})" if kinds else "")
    )
    print(
        f"loglake reprocess (queue mode, moto's server): {bench.enqueued:,} notifications sent, "
        f"{bench.enqueue_rate:,.0f} a second (listing and manifest checks included; moto's "
        "SendMessageBatch slows as its queue grows)"
    )
    print(
        f"compaction installs: {bench.compacted_partitions} partitions, each one conditional "
        "write of its record and one PUT of its manifest (readers see inputs or outputs, never both)"
    )

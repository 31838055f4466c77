"""``make bench``, the lifecycle part: an erasure and a retention run over a lake of many files.

Against the bench's moto server (reset first): ``files`` objects of 100 lines each over 30 days
(one Parquet file each), 0.1% of the rows belonging to one user. Then ``loglake erase`` of that
user (seconds, files and bytes rewritten against the table's), and a retention that expires all
30 days (seconds, and S3 requests per file removed, counted at the client).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

from handler.config import Config
from handler.ddl import DEFAULT_DDL_DIR
from handler.erasure import erase_lake
from handler.pipeline import Pipeline
from handler.retention import RetentionOptions, apply_retention

from .bench_lake import RAW, _fresh, _sizes
from .erase import request

DAYS = 30
LINES = 100
USER = "attributes['user_id'] = 'u-erase'"


@dataclass
class LifecycleBench:
    files: int = 0
    rows: int = 0
    erase_s: float = 0.0
    erased_rows: int = 0
    rewritten_files: int = 0
    rewritten_bytes: int = 0
    table_bytes: int = 0
    retention_s: float = 0.0
    expired_partitions: int = 0
    expired_files: int = 0
    requests: int = 0


def run(endpoint: str, files: int) -> LifecycleBench:
    """Build the lake, erase one user, expire every day; the numbers."""
    bench = LifecycleBench(files=files)
    session = _fresh(endpoint)
    config = _config()
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=DAYS + 1 - d)).isoformat() for d in range(DAYS)]
    rng = random.Random(7)
    marked = set(rng.sample(range(files * LINES), files * LINES // 1000))
    pipeline = Pipeline(config, session)
    s3 = session.client("s3")
    print(f"  ingesting {files} objects over {DAYS} days ...", file=sys.stderr, flush=True)
    for n in range(files):
        day = days[n % DAYS]
        lines = [
            json.dumps(
                {
                    "timestamp": f"{day}T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                    "level": "INFO",
                    "message": f"request {n}-{i} served",
                    "user_id": "u-erase" if n * LINES + i in marked else f"u-{rng.randrange(5000)}",
                }
            )
            for i in range(LINES)
        ]
        s3.put_object(Bucket=RAW, Key=f"life/{n:05d}.log", Body="\n".join(lines).encode())
        pipeline.process_s3(RAW, f"life/{n:05d}.log")
    bench.rows = files * LINES
    bench.table_bytes = sum(_sizes(session))
    asked = request(config, "processed", USER, None, None, False, "bench")
    print("  erasing 0.1% of the rows ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    _, results = erase_lake(config, config.retrying(session).client("s3"), asked)
    bench.erase_s = time.perf_counter() - started
    bench.erased_rows = sum(r.rows for r in results)
    bench.rewritten_files = sum(r.files for r in results)
    bench.rewritten_bytes = sum(r.bytes for r in results)
    print(f"  expiring {DAYS} days ...", file=sys.stderr, flush=True)
    counted = boto3.Session()
    calls = [0]
    counted.events.register("before-send.s3", lambda **_: calls.__setitem__(0, calls[0] + 1))
    options = RetentionOptions(tables=("processed",))
    started = time.perf_counter()
    expired = apply_retention(config, counted, options)
    bench.retention_s = time.perf_counter() - started
    bench.requests = calls[0]
    bench.expired_partitions = sum(e.outcome == "removed" for e in expired)
    bench.expired_files = sum(e.files for e in expired if e.outcome == "removed")
    return bench


def _config() -> Config:
    """The bench's configuration with ``processed_logs`` keeping one day, and no reader grace
    (so an expiry removes its files in the same run)."""
    folder = Path(tempfile.mkdtemp(prefix="loglake-bench-ddl-"))
    text = (DEFAULT_DDL_DIR / "processed_logs.sql").read_text(encoding="utf-8")
    text = text.replace(
        "  'classification'", "  'loglake.retention_days' = '1',\n  'classification'", 1
    )
    (folder / "processed_logs.sql").write_text(text, encoding="utf-8")
    os.environ["GLUE_DDL_DIR"] = f"{DEFAULT_DDL_DIR}:{folder}"
    config = Config.from_env({"WORKERS": "1", "GLUE_DDL_DIR": os.environ["GLUE_DDL_DIR"]})
    return replace(config, reader_grace=timedelta(0))


def report(bench: LifecycleBench) -> None:
    """The lifecycle lines of ``make bench``."""
    share = bench.rewritten_bytes / bench.table_bytes if bench.table_bytes else 0.0
    print(
        f"\nerasure of 0.1% of the rows ({bench.erased_rows:,} of {bench.rows:,}) of a lake of "
        f"{bench.files:,} files: {bench.erase_s:.1f} s; rewrote {bench.rewritten_files:,} files, "
        f"{bench.rewritten_bytes / 1e6:.2f} MB of the table's {bench.table_bytes / 1e6:.2f} MB "
        f"({share:.1%}: only the files holding a matching row)"
    )
    per_file = bench.requests / bench.expired_files if bench.expired_files else 0.0
    print(
        f"retention of {bench.expired_partitions} expired partitions ({bench.expired_files:,} "
        f"files): {bench.retention_s:.1f} s, {bench.requests:,} S3 requests "
        f"({per_file:.1f} per file removed)"
    )

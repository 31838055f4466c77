"""Compaction against moto: exact rows before and after, whatever interleaves with it."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta

import pyarrow.parquet as pq

from handler.compaction import CompactOptions, Compactor, compact_lake

from .conftest import PROCESSED, RAW, Lake, good, ndjson

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
    assert lake.files("_staging/") == []
    data = lake.s3.get_object(Bucket=PROCESSED, Key=lake.files("processed/")[0])["Body"].read()
    times = pq.read_table(io.BytesIO(data)).column("event_time").to_pylist()
    assert times == sorted(times)

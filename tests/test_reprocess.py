"""Reprocessing: an object produced under another fingerprint is replaced exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from handler.compaction import CompactOptions, compact_lake
from handler.rules import parse_rules

from .conftest import RAW, Lake, good, ndjson

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

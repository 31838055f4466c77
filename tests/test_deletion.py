"""Deleted sources against moto: with ``on_delete = "remove"`` an object's deletion takes its
rows out of every table exactly once, whatever delivery of the object interleaves with it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from handler.compaction import CompactOptions, compact_lake
from handler.rules import parse_rules
from handler.sources import source
from loglake.status import collect

from .conftest import PROCESSED, RAW, Lake, good, make_lake, ndjson
from .test_erasure import HookedKw, _records

APP = source("app", match="app/**", on_delete="remove")
KEEP = source("kept", match="kept/**")
NOW = CompactOptions(min_age=timedelta(0))


def objects(lake: Lake, prefix: str = "app", count: int = 4) -> None:
    """``count`` objects over two days, each 3 rows and a bad line, processed and compacted."""
    pipe = lake.pipeline()
    for n in range(count):
        rows = [good(i, f"2025-07-2{i % 2 + 1}", n=n) for i in range(3)]
        lake.put(f"{prefix}/{n}.log", ndjson(*rows, "{bad"))
        assert pipe.process_s3(RAW, f"{prefix}/{n}.log").status == "processed"
    compact_lake(lake.config, lake.session, NOW)


def by_object(lake: Lake, table: str = "processed") -> Counter[str]:
    return Counter(u.rsplit("/", 1)[1] for u in lake.rows(table)["source_uri"])


def assert_nothing_orphaned(lake: Lake) -> None:
    """Every data file is one a reader sees (no grace in these lakes), and status agrees."""
    shown = {u for r in _records(lake) for u in r.visible}
    assert {f"s3://{PROCESSED}/{k}" for k in lake.files("processed/")} == shown
    valid, invalid = collect(lake.session, lake.config, None).in_tables()
    assert (valid, invalid) == (len(lake.rows()), len(lake.rows("errors")))


@pytest.fixture
def app_lake(aws_env: None) -> Iterator[Lake]:
    with mock_aws():
        lake = make_lake(workers=1, sources=(APP, KEEP))
        objects(lake)
        yield lake


def test_a_deleted_object_takes_its_rows_out_of_every_table_and_a_reupload_comes_back(
    app_lake: Lake,
) -> None:
    lake = app_lake
    assert by_object(lake) == Counter({f"{n}.log": 3 for n in range(4)})
    lake.s3.delete_object(Bucket=RAW, Key="app/2.log")
    result = lake.pipeline().remove_s3(RAW, "app/2.log")
    assert result.status == "deleted"
    assert by_object(lake) == Counter({"0.log": 3, "1.log": 3, "3.log": 3})
    assert "2.log" not in by_object(lake, "errors")
    head = lake.manifest("app/2.log")
    assert head["deleted"] is True and head["files"] == [] and head["version"] == "deleted"
    assert lake.pipeline().remove_s3(RAW, "app/2.log").status == "deleted"  # redelivered: once
    assert collect(lake.session, lake.config, None).deleted == 1
    assert_nothing_orphaned(lake)
    lake.put("app/2.log", ndjson(good(1, "2025-07-21")))
    assert lake.pipeline().process_s3(RAW, "app/2.log").status == "processed"
    assert by_object(lake)["2.log"] == 1
    assert_nothing_orphaned(lake)


def test_by_default_a_deleted_objects_rows_are_kept(app_lake: Lake) -> None:
    lake = app_lake
    objects(lake, "kept", 2)
    lake.s3.delete_object(Bucket=RAW, Key="kept/0.log")
    assert lake.pipeline().remove_s3(RAW, "kept/0.log").status == "kept"
    rows = lake.rows()
    assert sum(u.endswith("kept/0.log") for u in rows["source_uri"]) == 3


def calls(action: Any) -> int:
    with mock_aws():
        lake = make_lake(workers=1, sources=(APP,))
        objects(lake, count=2)
        counting = HookedKw(lake.s3, lambda n, name, kw: None)
        action(lake, counting)
        return int(counting.calls)


def deletion(lake: Lake, s3: Any) -> None:
    lake.s3.delete_object(Bucket=RAW, Key="app/1.log")
    pipe = lake.pipeline()
    pipe.s3 = pipe.partitions.s3 = s3
    pipe.remove_s3(RAW, "app/1.log")


def redelivery(lake: Lake, s3: Any) -> None:
    """The object's creation delivered again, to a process with a new fingerprint (so it writes
    a new attempt). If the object vanishes mid-read the delivery fails, and the queue delivers
    it once more, as SQS would."""
    pipe = lake.pipeline(rules=parse_rules('{"n": {"max_length": 5}}'))
    pipe.s3 = pipe.partitions.s3 = s3
    try:
        pipe.process_s3(RAW, "app/1.log")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in {"NoSuchKey", "PreconditionFailed"}
        pipe.process_s3(RAW, "app/1.log")


def test_a_redelivery_at_every_step_of_a_deletion_and_the_reverse(aws_env: None) -> None:
    """Before each S3 call of the deletion, the object's creation is redelivered (and finds it
    gone); before each S3 call of a redelivery that is writing the object again, the object is
    deleted and its deletion processed. Either way its rows go, once, and no file is left."""
    for first, second in ((deletion, redelivery), (redelivery, deletion)):
        for at in range(1, calls(first) + 1):
            with mock_aws():
                lake = make_lake(workers=1, sources=(APP,))
                objects(lake, count=2)
                done: list[int] = []

                def hook(
                    n: int,
                    name: str,
                    kw: Any,
                    at: int = at,
                    lake: Lake = lake,
                    done: list[int] = done,
                    second: Any = second,
                ) -> None:
                    if n == at and not done:
                        done.append(n)
                        second(lake, lake.s3)

                first(lake, HookedKw(lake.s3, hook))
                lake.pipeline().remove_s3(RAW, "app/1.log")  # the deletion's own redelivery
                assert by_object(lake) == Counter({"0.log": 3}), (first.__name__, at)
                assert "1.log" not in by_object(lake, "errors"), (first.__name__, at)
                assert_nothing_orphaned(lake)


def test_on_delete_takes_keep_or_remove_and_only_then_subscribes_removals() -> None:
    from handler.exceptions import ConfigError
    from handler.sources import notification_events

    with pytest.raises(ConfigError, match="on_delete must be one of keep, remove"):
        source("bad", on_delete="drop")
    assert notification_events([KEEP]) == ["s3:ObjectCreated:*"]
    assert notification_events([KEEP, APP]) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    assert APP.reading() == KEEP.reading()  # not part of the fingerprint: no reprocessing

"""The Lambda entry point with every event shape, partial batch responses, logs and metrics."""

from __future__ import annotations

import io
import json

import pytest

import handler.app
from handler.app import compact_handler, lambda_handler, logger

from .conftest import RAW, SAMPLE, Lake, good, load_event, ndjson

KEY = "app/my file+1.log"


@pytest.mark.parametrize(
    "name",
    ["s3_put", "sqs_s3", "sns_sqs", "sns_lambda", "eventbridge_object_created", "sqs_eventbridge"],
)
def test_every_shape_processes_the_decoded_key(lake: Lake, name: str) -> None:
    lake.put(KEY, SAMPLE.read_bytes())
    response = lambda_handler(load_event(name), None)
    if name.startswith("sqs") or name == "sns_sqs":
        assert response == {"batchItemFailures": []}
    assert len(lake.rows()) == 3
    assert len(lake.rows("errors")) == 1
    assert lake.manifest(KEY)["source_uri"] == "s3://loglake-raw/app/my file+1.log"


def test_one_poison_message_fails_alone(lake: Lake) -> None:
    lake.put(KEY, SAMPLE.read_bytes())
    response = lambda_handler(load_event("sqs_poison"), None)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975520802"}]
    }
    assert len(lake.rows()) == 3


def test_redelivered_batch_adds_no_rows(lake: Lake) -> None:
    lake.put(KEY, SAMPLE.read_bytes())
    lambda_handler(load_event("sqs_s3"), None)
    lambda_handler(load_event("sqs_s3"), None)
    lambda_handler(load_event("s3_put"), None)
    assert len(lake.rows()) == 3 and len(lake.rows("errors")) == 1


def test_access_denied_is_raised_for_retry(lake: Lake) -> None:
    """A bucket policy that denies the reader (moto enforces it as 403): the message must fail."""
    event = load_event("sqs_s3")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["bucket"]["name"] = "someone-elses-bucket"
    lake.s3.create_bucket(Bucket="someone-elses-bucket")
    lake.s3.put_bucket_policy(
        Bucket="someone-elses-bucket",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
                ],
            }
        ),
    )
    event["Records"][0]["body"] = json.dumps(body)
    lake.put(KEY, SAMPLE.read_bytes())
    response = lambda_handler(event, None)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975520801"}]
    }
    assert len(lake.rows()) == 0


def test_test_event_only_is_a_no_op(lake: Lake) -> None:
    assert lambda_handler(load_event("s3_test_event"), None) == {"objects": []}


def test_structured_log_line_and_emf_metrics(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    lake.put(KEY, SAMPLE.read_bytes())
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    try:
        lambda_handler(load_event("s3_put"), None)
    finally:
        logger.registered_handler.setStream(previous)
    log = json.loads(stream.getvalue().splitlines()[-1])
    assert log["message"] == "processed s3://loglake-raw/app/my file+1.log"
    assert (log["lines_read"], log["valid"], log["invalid"], log["blank"]) == (4, 3, 1, 0)
    emf = json.loads(capsys.readouterr().out.splitlines()[-1])
    names = {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {
        "ObjectsProcessed",
        "ValidRecords",
        "InvalidRecords",
        "BytesRead",
        "ProcessingSeconds",
    }
    assert (emf["ValidRecords"], emf["InvalidRecords"], emf["ObjectsProcessed"]) == (
        [3.0],
        [1.0],
        [1.0],
    )


def test_a_key_that_arrives_unencoded_is_still_found(lake: Lake) -> None:
    """EventBridge documents no encoding; a literal '+' must not turn into a missing object."""
    lake.put("c++/app+1.log", SAMPLE.read_bytes())
    event = load_event("eventbridge_object_created")
    event["detail"]["object"]["key"] = "c++/app+1.log"
    lambda_handler(event, None)
    assert len(lake.rows()) == 3
    assert set(lake.rows()["source_uri"]) == {"s3://loglake-raw/c++/app+1.log"}


def test_the_scheduled_compaction_merges_past_partitions(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        lake.put(f"shipper/{n}.log", ndjson(good(n), "{bad"))
        lake.pipeline().process_s3(RAW, f"shipper/{n}.log")
    event = load_event("compact_schedule") | {"min_age_hours": 0}
    answer = compact_handler(event, None)
    merged = {(p["table"], p["files_before"], p["files_after"]) for p in answer["partitions"]}
    assert ("processed", 3, 1) in merged and len(lake.rows()) == 3
    # The inputs wait out the grace period (READER_GRACE_SECONDS, 30 minutes by default) for
    # queries that listed them; the next scheduled run after it deletes them.
    assert len(lake.files("processed/")) == 4
    monkeypatch.setenv("READER_GRACE_SECONDS", "0")
    handler.app._pipeline = None  # the next cold start reads it
    compact_handler(event, None)
    assert len(lake.files("processed/")) == 1 and len(lake.rows()) == 3

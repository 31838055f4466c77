"""End to end over moto's server, over HTTP as on AWS: upload -> S3 notification -> SQS ->
handler -> both tables -> rows read back with exact counts."""

from __future__ import annotations

import gzip
import json
from urllib.parse import unquote_plus

import awswrangler as wr
import boto3
import pytest

from handler.app import lambda_handler
from handler.config import Config
from loglake.catalog import apply
from loglake.local.lambda_event import lambda_sqs_event

from .conftest import PROCESSED, RAW, SAMPLE, good, ndjson

pytestmark = pytest.mark.slow


def test_upload_to_both_tables_through_the_event_path(endpoint: str) -> None:
    session = boto3.Session()
    s3, sqs = session.client("s3"), session.client("sqs")
    s3.create_bucket(Bucket=RAW)
    s3.create_bucket(Bucket=PROCESSED)
    queue_url = sqs.create_queue(QueueName="loglake-ingest")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=RAW,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": suffix}]}},
                }
                for suffix in (".log", ".log.gz")
            ]
        },
    )
    apply(Config.from_env({}), session)

    s3.put_object(Bucket=RAW, Key="2025/07/21/sample log+1.log", Body=SAMPLE.read_bytes())
    many = ndjson(*(good(i, f"2025-07-{20 + i % 3}") for i in range(1000)), *(["{broken"] * 20), "")
    s3.put_object(Bucket=RAW, Key="2025/07/21/many.log.gz", Body=gzip.compress(many.encode()))
    s3.put_object(Bucket=RAW, Key="ignored.txt", Body=b"not a log")

    messages = []
    for _ in range(10):
        got = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        )
        messages += got.get("Messages", [])
        if len([m for m in messages if "ObjectCreated" in m["Body"]]) >= 2:
            break
    bodies = [json.loads(m["Body"]) for m in messages]
    keys = sorted(
        unquote_plus(b["Records"][0]["s3"]["object"]["key"]) for b in bodies if "Records" in b
    )
    assert keys == [
        "2025/07/21/many.log.gz",
        "2025/07/21/sample log+1.log",
    ]  # URL-encoded in transit

    event = lambda_sqs_event(messages, queue_arn)
    assert lambda_handler(event, None) == {"batchItemFailures": []}
    assert lambda_handler(event, None) == {"batchItemFailures": []}  # redelivery changes nothing

    processed = wr.s3.read_parquet(
        f"s3://{PROCESSED}/processed/", dataset=True, boto3_session=session
    )
    errors = wr.s3.read_parquet(f"s3://{PROCESSED}/errors/", dataset=True, boto3_session=session)
    by_source = processed.groupby("source_uri").size().to_dict()
    assert by_source == {
        "s3://loglake-raw/2025/07/21/sample log+1.log": 3,
        "s3://loglake-raw/2025/07/21/many.log.gz": 1000,
    }
    assert errors.groupby("error_code").size().to_dict() == {
        "invalid_json": 20,
        "missing_field:level": 1,
    }
    glue = session.client("glue")
    parts = glue.get_partitions(DatabaseName="log_analytics_db", TableName="processed_logs")[
        "Partitions"
    ]
    assert sorted(p["Values"][0] for p in parts) == ["2025-07-20", "2025-07-21", "2025-07-22"]
    manifest = json.loads(
        s3.get_object(
            Bucket=PROCESSED, Key="_manifests/s3/loglake-raw/2025/07/21/many.log.gz.json"
        )["Body"].read()
    )
    assert (manifest["lines_read"], manifest["valid"], manifest["invalid"], manifest["blank"]) == (
        1021,
        1000,
        20,
        1,
    )

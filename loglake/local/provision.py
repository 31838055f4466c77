"""Create what the pipeline needs, idempotently: buckets, queue + dead-letter queue, the raw
bucket's notification, and the Glue tables. Used by ``loglake local up`` against moto's server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from handler.config import Config
from handler.sources import key_filters, notification_events

from ..catalog import apply
from ..deploy import s3_key_filter
from ..settings import DEFAULT_SUFFIXES


@dataclass(frozen=True)
class Names:
    """What the local stack is called; every name can be changed by flag or environment."""

    raw_bucket: str = "loglake-raw"
    processed_bucket: str = "loglake-processed"
    queue: str = "loglake-ingest"
    dead_letter_queue: str = "loglake-ingest-dlq"
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES
    max_receive_count: int = 3
    visibility_timeout: int = 30


@dataclass(frozen=True)
class Stack:
    """What ``provision`` made (or found)."""

    names: Names
    queue_url: str
    queue_arn: str
    dlq_url: str
    tables: list[str] = field(default_factory=list)
    sources_file: str | None = None


def provision(session: boto3.Session, names: Names, config: Config) -> Stack:
    """Make sure everything exists; safe to call again."""
    s3, sqs = session.client("s3"), session.client("sqs")
    for bucket in (names.raw_bucket, names.processed_bucket):
        _bucket(s3, bucket)
    dlq_url = _queue(sqs, names.dead_letter_queue, {"MessageRetentionPeriod": "1209600"})
    dlq_arn = _arn(sqs, dlq_url)
    queue_url = _queue(
        sqs,
        names.queue,
        {
            "VisibilityTimeout": str(names.visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(names.max_receive_count)}
            ),
        },
    )
    queue_arn = _arn(sqs, queue_url)
    # The filters a deployed stack gets (loglake deploy): routed here exactly as there.
    filters = key_filters(config.sources, names.suffixes, config.sources_file is not None)
    s3.put_bucket_notification_configuration(
        Bucket=names.raw_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": f"loglake-{i}",
                    "QueueArn": queue_arn,
                    "Events": notification_events(config.sources),
                    **s3_key_filter(prefix, suffix, "FilterRules", "Key"),
                }
                for i, (prefix, suffix) in enumerate(filters)
            ]
        },
    )
    changes = apply(config, session)
    tables = [c.name for c in changes if c.kind == "table"]
    where = str(config.sources_file) if config.sources_file else None
    return Stack(names, queue_url, queue_arn, dlq_url, tables, where)


def _bucket(s3: Any, name: str) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    try:
        url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"QueueAlreadyExists", "QueueNameExists"}:
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def _arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn

"""What the pipeline has done: objects, rows, queue depths, errors by code."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

from handler.manifest import read_manifest


@dataclass
class Status:
    """Totals over every manifest, plus the queues."""

    objects: int = 0
    in_progress: int = 0
    valid: int = 0
    invalid: int = 0
    blank: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)
    newest: list[dict[str, Any]] = field(default_factory=list)
    queue: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)


def collect(
    session: boto3.Session,
    processed_bucket: str,
    queue_url: str | None,
    prefix: str = "_manifests/",
) -> Status:
    """Read every head manifest, count the attempts in progress, and read the queue attributes."""
    s3 = session.client("s3")
    status = Status()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=processed_bucket, Prefix=prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    attempts = f"{prefix}_attempts/"
    # An attempt's record is a folder of segments: <hash of the object>/<attempt>/<n>.json.
    status.in_progress = len({k.rsplit("/", 1)[0] for k in keys if k.startswith(attempts)})
    found = (read_manifest(s3, processed_bucket, k) for k in keys if not k.startswith(attempts))
    docs = [doc for doc in found if doc is not None]  # one deleted since the listing is skipped
    for doc in docs:
        if doc.get("status") != "complete":
            continue
        status.objects += 1
        status.valid += doc.get("valid", 0)
        status.invalid += doc.get("invalid", 0)
        status.blank += doc.get("blank", 0)
        status.error_codes.update(doc.get("error_counts", {}))
    status.newest = sorted(docs, key=lambda d: d.get("ingested_at", ""), reverse=True)[:5]
    if queue_url:
        sqs = session.client("sqs")
        status.queue = _depth(sqs, queue_url)
        policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]
        if "RedrivePolicy" in policy:
            dlq_name = json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"].split(":")[-1]
            status.dead_letters = _depth(sqs, sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"])
    return status


def _depth(sqs: Any, url: str) -> dict[str, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return {"waiting": int(attrs.get(names[0], 0)), "in_flight": int(attrs.get(names[1], 0))}

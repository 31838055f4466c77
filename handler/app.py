"""Lambda entry point ``handler.app.lambda_handler``: unwrap the event, call the pipeline.

Kept thin on purpose. Configuration is loaded once per cold start. A real failure (access denied,
throttling, an unreadable message) is raised: for SQS it becomes a ``batchItemFailures`` entry so
only that message is retried and, after the queue's receive limit, dead-lettered.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .compaction import CompactOptions, compact_lake
from .config import Config
from .events import ObjectRef, is_sqs_batch, object_refs
from .pipeline import Pipeline, Result
from .retention import RetentionOptions, apply_retention

# An s3:TestEvent or an all-duplicates batch emits no metrics; that is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")
logger = Logger(service="loglake")
metrics = Metrics(namespace="loglake", service="loglake")
_processor = BatchProcessor(event_type=EventType.SQS)
_pipeline: Pipeline | None = None


def get_pipeline() -> Pipeline:
    """The container's pipeline, built from the environment on first use."""
    global _pipeline
    if _pipeline is None:
        _pipeline = Pipeline(Config.from_env())
    return _pipeline


def use_pipeline(pipeline: Pipeline | None) -> None:
    """Make ``pipeline`` the container's (``None``: build one from the environment at next use);
    a long-running worker calls it when the files its configuration came from change."""
    global _pipeline
    _pipeline = pipeline


def process_ref(ref: ObjectRef) -> Result:
    """Process one referenced object; log one line and emit metrics about it."""
    pipeline = get_pipeline()
    if ref.removed:
        result = pipeline.remove_s3(ref.bucket, ref.key)
        why = {
            "deleted": "its rows were removed",
            "kept": 'its rows are kept (on_delete = "remove" in its source removes them)',
            "exists": "it was uploaded again: its new rows are processed",
        }[result.status]
        logger.info(f"deleted object {result.source_uri}: {why}", extra={"status": result.status})
        if result.status == "deleted":
            metrics.add_metric("ObjectsDeleted", MetricUnit.Count, 1)
        return result
    result = pipeline.process_s3(ref.bucket, ref.key)
    if result.status == "missing" and ref.raw_key and ref.raw_key != ref.key:
        result = pipeline.process_s3(ref.bucket, ref.raw_key)
    summary = result.as_dict()
    summary["files"] = len(result.files)
    del summary["sample_errors"]
    if result.status == "missing":
        logger.warning("object no longer exists; skipped", extra=summary)
        return result
    if result.status == "unmatched":
        logger.info(
            "no source matches this key; skipped (add a [[source]] to SOURCES_FILE to read it)",
            extra=summary,
        )
        metrics.add_metric("ObjectsUnmatched", MetricUnit.Count, 1)
        return result
    logger.info(f"{result.status} {result.source_uri}", extra=summary)
    if result.status == "processed":
        metrics.add_metric("ObjectsProcessed", MetricUnit.Count, 1)
        metrics.add_metric("ValidRecords", MetricUnit.Count, result.valid)
        metrics.add_metric("InvalidRecords", MetricUnit.Count, result.invalid)
        metrics.add_metric("BytesRead", MetricUnit.Bytes, result.bytes_read)
        metrics.add_metric("ProcessingSeconds", MetricUnit.Seconds, result.seconds)
    return result


def _sqs_record(record: SQSRecord) -> None:
    for ref in object_refs(json.loads(record.body)):
        process_ref(ref)


@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process every object the event names; for SQS answer with ``batchItemFailures``."""
    if context is not None and hasattr(context, "aws_request_id"):
        logger.append_keys(request_id=context.aws_request_id)
    if is_sqs_batch(event):
        response = process_partial_response(
            event=event, record_handler=_sqs_record, processor=_processor, context=context
        )
        return dict(response)
    results = [process_ref(ref) for ref in object_refs(event)]
    return {"objects": [r.as_dict() | {"files": len(r.files)} for r in results]}


#: Stop starting partitions when less than this is left of the invocation (one more may run).
COMPACT_MARGIN_MS = 180_000


@metrics.log_metrics(raise_on_empty_metrics=False)
def compact_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled maintenance: retention first (``retention.py``: expired partitions go,
    vanished files are recorded), then every partition up to yesterday that is still fragmented
    is compacted.

    The event may narrow it: ``{"since": "2025-07-01", "until": "2025-07-31", "min_age_hours": 6,
    "target_mb": 256}``. Partitions are independent, so a run cut short by the time limit leaves
    the rest to the next day; a failure raises, for the function's error alarm.
    """
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    options = CompactOptions(
        since=event.get("since"),
        until=event.get("until") or yesterday,
        min_age=timedelta(hours=float(event.get("min_age_hours", 6))),
        target_bytes=int(event.get("target_mb", 256)) * 1_000_000,
    )
    remaining = getattr(context, "get_remaining_time_in_millis", None)

    def out_of_time() -> bool:
        return remaining is not None and remaining() < COMPACT_MARGIN_MS

    config, session = get_pipeline().config, get_pipeline().session
    expiries = apply_retention(config, session, RetentionOptions(), None, out_of_time)
    for expiry in expiries:
        logger.info(f"{expiry.outcome} {expiry.table} dt={expiry.dt}", extra=expiry.as_dict())
    metrics.add_metric(
        "PartitionsExpired", MetricUnit.Count, sum(e.outcome != "vanished" for e in expiries)
    )
    results = compact_lake(config, session, options, None, out_of_time)
    done = [r for r in results if r.outcome == "compacted"]
    for result in done:
        logger.info(f"compacted {result.table} dt={result.dt}", extra=result.as_dict())
    metrics.add_metric("PartitionsCompacted", MetricUnit.Count, len(done))
    metrics.add_metric(
        "FilesRemoved", MetricUnit.Count, sum(r.files_before - r.files_after for r in done)
    )
    return {
        "expired": [e.as_dict() for e in expiries],
        "partitions": [r.as_dict() for r in results if r.outcome != "skipped"],
    }

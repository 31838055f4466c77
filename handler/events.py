"""Find the S3 "object created" notifications inside any event shape that can carry them.

Shapes: S3 -> Lambda, S3 -> SQS -> Lambda (one message per notification), S3 -> SNS -> SQS (with or
without raw message delivery), S3 -> SNS -> Lambda, and S3 -> EventBridge (directly or via SQS).
Keys arrive URL-encoded (``my+file%2B1.log`` is ``my file+1.log``); the references returned here
carry the decoded key. ``s3:TestEvent`` and other events yield nothing; an object's deletion
(``ObjectRemoved:*``, EventBridge's ``Object Deleted`` not caused by a lifecycle rule) yields a
reference marked ``removed``, and lifecycle expirations nothing: they never remove rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

from .exceptions import UnsupportedEventError


@dataclass(frozen=True)
class ObjectRef:
    """An object named by a notification, with its key already decoded."""

    bucket: str
    key: str
    version_id: str | None = None
    #: The key as it arrived (URL-encoded). Tried as well if the decoded key does not exist, so an
    #: event source that does not encode keys cannot make an object silently disappear.
    raw_key: str | None = field(default=None, compare=False)
    #: The object was deleted (a source with ``on_delete = "remove"`` removes its rows).
    removed: bool = False

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"


def is_sqs_batch(event: Mapping[str, Any]) -> bool:
    """True for the event Lambda's SQS event source mapping delivers."""
    records = event.get("Records") or []
    return bool(records) and records[0].get("eventSource") == "aws:sqs"


def object_refs(message: Mapping[str, Any]) -> list[ObjectRef]:
    """Every object-created reference in one event or message body, unwrapping envelopes.

    Raises ``UnsupportedEventError`` for anything that is not a known notification shape, so a
    stray message is retried and dead-lettered instead of being silently dropped.
    """
    if not isinstance(message, Mapping):
        raise UnsupportedEventError(f"expected a JSON object, got {type(message).__name__}")
    if "Records" in message:
        return [ref for record in message["Records"] for ref in _from_record(record)]
    if message.get("Event") == "s3:TestEvent":
        return []
    if message.get("Type") in {
        "Notification",
        "SubscriptionConfirmation",
        "UnsubscribeConfirmation",
    }:
        return _from_json(message["Message"]) if message["Type"] == "Notification" else []
    if message.get("source") == "aws.s3" and "detail" in message:
        return _from_eventbridge(message)
    raise UnsupportedEventError(
        "not an S3 notification (expected S3, SQS, SNS or EventBridge shape); "
        f"top-level keys: {sorted(message)[:10]}"
    )


def _from_json(body: str) -> list[ObjectRef]:
    try:
        parsed = json.loads(body)
    except (TypeError, json.JSONDecodeError) as exc:
        raise UnsupportedEventError(f"message body is not JSON: {exc}") from exc
    return object_refs(parsed)


def _from_record(record: Mapping[str, Any]) -> list[ObjectRef]:
    source = record.get("eventSource") or record.get("EventSource")
    if source == "aws:s3":
        s3_record = next(S3Event({"Records": [record]}).records)
        removed = s3_record.event_name.startswith("ObjectRemoved")
        if not (removed or s3_record.event_name.startswith("ObjectCreated")):
            return []
        obj = s3_record.s3.get_object
        key = unquote_plus(obj.key)
        return [ObjectRef(s3_record.s3.bucket.name, key, obj.version_id, obj.key, removed)]
    if source == "aws:sqs":
        return _from_json(record["body"])
    if source == "aws:sns":
        return _from_json(record["Sns"]["Message"])
    raise UnsupportedEventError(f"record from {source!r} is not an S3 notification")


def _from_eventbridge(message: Mapping[str, Any]) -> list[ObjectRef]:
    kind = EventBridgeEvent(dict(message)).detail_type
    lifecycle = message["detail"].get("reason") == "Lifecycle Expiration"
    if kind not in {"Object Created", "Object Deleted"} or lifecycle:
        return []
    detail = S3EventBridgeNotificationEvent(dict(message)).detail
    obj = detail.object
    removed = kind == "Object Deleted"
    return [ObjectRef(detail.bucket.name, obj.key, obj.get("version-id"), obj["key"], removed)]

"""Every event shape that carries an S3 object-created notification."""

from __future__ import annotations

import json

import pytest

from handler.events import ObjectRef, is_sqs_batch, object_refs
from handler.exceptions import UnsupportedEventError

from .conftest import load_event

DECODED = ObjectRef("loglake-raw", "app/my file+1.log")


def test_s3_direct_key_is_url_decoded() -> None:
    assert object_refs(load_event("s3_put")) == [DECODED]


def test_sqs_wrapping_s3_and_test_event() -> None:
    event = load_event("sqs_s3")
    assert is_sqs_batch(event)
    bodies = [json.loads(r["body"]) for r in event["Records"]]
    assert object_refs(bodies[0]) == [DECODED]
    assert object_refs(bodies[1]) == []  # s3:TestEvent is ignored


def test_sns_to_sqs_envelope() -> None:
    body = json.loads(load_event("sns_sqs")["Records"][0]["body"])
    assert object_refs(body) == [DECODED]


def test_sns_to_lambda() -> None:
    assert object_refs(load_event("sns_lambda")) == [DECODED]


def test_eventbridge_direct_and_via_sqs() -> None:
    assert object_refs(load_event("eventbridge_object_created")) == [DECODED]
    body = json.loads(load_event("sqs_eventbridge")["Records"][0]["body"])
    assert object_refs(body) == [DECODED]


def test_deletions_are_marked_removed_and_lifecycle_expirations_yield_nothing() -> None:
    (deleted,) = object_refs(load_event("eventbridge_object_deleted"))
    assert (deleted.bucket, deleted.key, deleted.removed) == ("loglake-raw", "app/old.log", True)
    expired = load_event("eventbridge_object_deleted")
    expired["detail"]["reason"] = "Lifecycle Expiration"
    assert object_refs(expired) == []
    event = load_event("s3_put")
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    (removed,) = object_refs(event)
    assert removed.removed and removed.key == DECODED.key
    for name in ("LifecycleExpiration:Delete", "LifecycleExpiration:DeleteMarkerCreated"):
        event["Records"][0]["eventName"] = name
        assert object_refs(event) == []


def test_test_event_alone() -> None:
    assert object_refs(load_event("s3_test_event")) == []


@pytest.mark.parametrize(
    "message", [{"hello": "world"}, {"Records": [{"eventSource": "aws:kinesis"}]}]
)
def test_unknown_shapes_raise(message: dict[str, object]) -> None:
    with pytest.raises(UnsupportedEventError):
        object_refs(message)


def test_poison_body_raises() -> None:
    record = load_event("sqs_poison")["Records"][1]
    with pytest.raises(UnsupportedEventError):
        object_refs({"Records": [record]})

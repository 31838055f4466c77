"""The few S3 operations the exactly-once protocols are built from, in one place.

Object manifests (``ledger.py``) and partition records (``partition.py``) are both JSON documents
replaced only by conditional PUTs; both list, read and bulk-delete keys of the processed bucket.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

#: S3's answers to a conditional write whose condition no longer holds.
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_HEADERS = {"IfMatch": "If-Match", "IfNoneMatch": "If-None-Match"}


def now() -> datetime:
    """The current time, naive UTC (how every manifest timestamp is kept)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime) -> str:
    """``2025-07-21T10:00:00.000000Z``: microseconds always, so equal moments compare equal."""
    return moment.isoformat(timespec="microseconds") + "Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z"))


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def conditional_put(
    s3: Any, condition: dict[str, str], native: bool | None = None, **put: Any
) -> Any:
    """``put_object`` with ``IfMatch`` / ``IfNoneMatch``, whatever the botocore version.

    The Lambda runtime's botocore (1.34) predates these parameters; S3 honours the HTTP headers
    all the same, so with an older botocore they are added to the request just before signing.
    """
    if native is None:
        members = s3.meta.service_model.operation_model("PutObject").input_shape.members
        native = all(name in members for name in condition)
    if native:
        return s3.put_object(**put, **condition)
    headers = {_HEADERS[name]: value for name, value in condition.items()}

    def add_headers(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    event = "before-sign.s3.PutObject"
    s3.meta.events.register_first(event, add_headers)
    try:
        return s3.put_object(**put)
    finally:
        s3.meta.events.unregister(event, add_headers)


def put_if(
    s3: Any, bucket: str, key: str, body: bytes, condition: dict[str, str], **extra: Any
) -> bool:
    """A conditional PUT (``extra``: more PutObject parameters); ``False`` (nothing written)
    when the condition does not hold."""
    try:
        conditional_put(s3, condition, Bucket=bucket, Key=key, Body=body, **extra)
    except ClientError as exc:
        if error_code(exc) in CONFLICT_CODES:
            return False
        raise
    return True


def replace_json(s3: Any, bucket: str, key: str, doc: dict[str, Any], etag: str | None) -> bool:
    """Write ``doc`` if the key still has ``etag`` (or, for ``None``, does not exist yet).

    Every write carries a fresh ``written`` nonce, so two equal documents never share an ETag
    (an A-B-A change would otherwise pass an ``If-Match``). ``False`` when someone got there first.
    """
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    body = json.dumps(dict(doc, written=uuid.uuid4().hex), indent=1, sort_keys=True).encode()
    return put_if(s3, bucket, key, body, condition)


def get_bytes(s3: Any, bucket: str, key: str) -> tuple[bytes, str] | None:
    """An object's bytes and ETag, or ``None`` if it does not exist (or no longer)."""
    try:
        got = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in {"NoSuchKey", "404"}:
            return None
        raise
    return got["Body"].read(), str(got["ETag"])


def listing(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under ``prefix`` (key, size, last modified), page after page."""
    items: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, **token)
        items += page.get("Contents", [])
        if not page.get("IsTruncated"):
            return items
        token = {"ContinuationToken": page["NextContinuationToken"]}


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for item in listing(s3, bucket, prefix)]


def delete_keys(s3: Any, bucket: str, keys: list[str]) -> None:
    """Delete keys, 1,000 per request; missing keys are fine."""
    keys = sorted(set(keys))
    for start in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[start : start + 1000]]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise ClientError(
                {"Error": {"Code": first.get("Code", ""), "Message": first.get("Message", "")}},
                "DeleteObjects",
            )

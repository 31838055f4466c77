"""The object being processed: where it is, which version, when it was uploaded, and its bytes."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from .exceptions import NotAnS3UriError

MISSING_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchVersion"}


@dataclass(frozen=True)
class SourceObject:
    """One raw object, pinned to the version that will be read.

    ``version`` is the S3 version id when the bucket is versioned, otherwise the ETag: two
    deliveries of the same bytes agree on it, a re-upload under the same key does not.
    """

    uri: str
    version: str
    last_modified: datetime  # naive UTC
    size: int
    opener: Callable[[], BinaryIO]
    #: The version the object has now (``None`` once it is gone): asked again before committing.
    probe: Callable[[], str | None]
    #: What sources match: the object key, or a local file's path as given.
    key: str = ""

    def open(self) -> BinaryIO:
        """A fresh stream over exactly this version's bytes."""
        return self.opener()

    def current_version(self) -> str | None:
        """The object's version now, which differs from ``version`` once it was overwritten."""
        return self.probe()


def s3_object(s3: Any, bucket: str, key: str) -> SourceObject | None:
    """Look up the current version of ``s3://bucket/key``; ``None`` when it no longer exists.

    Access-denied, throttling and other errors are raised: the platform should retry them.
    """
    head = _head(s3, bucket, key)
    if head is None:
        return None
    version_id = head.get("VersionId")
    pin = (
        {"VersionId": version_id}
        if version_id and version_id != "null"
        else {"IfMatch": head["ETag"]}
    )

    def opener() -> BinaryIO:
        return s3.get_object(Bucket=bucket, Key=key, **pin)["Body"]

    def probe() -> str | None:
        now = _head(s3, bucket, key)
        return None if now is None else _version(now)

    return SourceObject(
        uri=f"s3://{bucket}/{key}",
        version=_version(head),
        last_modified=_utc(head["LastModified"]),
        size=int(head["ContentLength"]),
        opener=opener,
        probe=probe,
        key=key,
    )


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        head: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in MISSING_CODES:
            return None
        raise
    return head


def _version(head: dict[str, Any]) -> str:
    """The version id in a versioned bucket, else the ETag (the same bytes give the same one)."""
    version_id = head.get("VersionId")
    if version_id and version_id != "null":
        return str(version_id)
    return str(head["ETag"]).strip('"')


def local_file(path: str | os.PathLike[str]) -> SourceObject:
    """A local file, treated as if it had just been uploaded (``file://`` URI)."""
    resolved = Path(path).expanduser().resolve()
    stat = resolved.stat()

    def probe() -> str | None:
        try:
            now = resolved.stat()
        except FileNotFoundError:
            return None
        return f"{now.st_size}-{now.st_mtime_ns}"

    return SourceObject(
        uri=resolved.as_uri(),
        version=f"{stat.st_size}-{stat.st_mtime_ns}",
        last_modified=datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None),
        size=stat.st_size,
        opener=lambda: resolved.open("rb"),
        probe=probe,
        key=str(path),
    )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise NotAnS3UriError(
            f"not an S3 URI: {uri!r} (expected s3://bucket/key or s3://bucket/prefix/)"
        )
    return parsed.netloc, parsed.path.lstrip("/")


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value

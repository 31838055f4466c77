"""A small JSON document per source object under ``_manifests/``: what was written for it.

It is what makes re-delivery safe without locks. A complete manifest for the same version means
"already done"; the files listed by any earlier manifest (complete or interrupted, same or older
version) are deleted once a newer attempt has written its own, so a retry or a re-upload replaces
rows instead of adding to them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

IN_PROGRESS = "in_progress"
COMPLETE = "complete"


def manifest_key(prefix: str, source_uri: str) -> str:
    """``s3://raw/app/x.log`` -> ``_manifests/s3/raw/app/x.log.json`` (readable, one per key)."""
    parsed = urlparse(source_uri)
    return f"{prefix}{parsed.scheme}/{parsed.netloc}{parsed.path}".replace("//", "/") + ".json"


def read_manifest(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The stored manifest, or ``None`` when the object was never processed."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
        raise
    doc: dict[str, Any] = json.loads(body)
    return doc


def write_manifest(s3: Any, bucket: str, key: str, doc: dict[str, Any]) -> None:
    """Store the manifest (one small PUT; S3 makes it visible atomically)."""
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(doc, indent=1, sort_keys=True).encode(),
        ContentType="application/json",
    )

"""Where an object's manifest lives and how a manifest document is read.

The head manifest (one per source object, under ``_manifests/``) names the version whose rows the
tables hold and the files that hold them; ``ledger.py`` writes it, only with conditional PUTs, and
keeps the attempt records beside it. Status, ``upload --wait`` and the ledger read it from here.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from .objects import get_bytes

IN_PROGRESS = "in_progress"
COMPLETE = "complete"


def manifest_key(prefix: str, source_uri: str) -> str:
    """``s3://raw/app/x.log`` -> ``_manifests/s3/raw/app/x.log.json`` (readable, one per key)."""
    parsed = urlparse(source_uri)
    return f"{prefix}{parsed.scheme}/{parsed.netloc}{parsed.path}".replace("//", "/") + ".json"


def read_manifest(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The stored manifest, or ``None`` when the object was never processed."""
    found = read_json(s3, bucket, key)
    return None if found is None else found[0]


def read_json(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any], str] | None:
    """A JSON document and its ETag, or ``None`` when the key does not exist (or no longer)."""
    found = get_bytes(s3, bucket, key)
    if found is None:
        return None
    doc: dict[str, Any] = json.loads(found[0])
    return doc, found[1]

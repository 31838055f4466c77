"""Upload log files (or whole folders) to the raw bucket, and wait for their manifests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from handler.config import Config
from handler.manifest import COMPLETE, manifest_key, read_manifest
from handler.partition import partitions_for


@dataclass(frozen=True)
class Uploaded:
    """One uploaded file: where it went and which version S3 gave it."""

    path: Path
    key: str
    version: str
    size: int


def find_files(paths: list[str], suffixes: tuple[str, ...]) -> tuple[list[Path], list[Path]]:
    """Files named directly, plus every file under named folders with a log suffix.

    Returns (to upload, skipped): a folder's files without a configured suffix are skipped, since no
    notification would fire for them.
    """
    chosen: list[Path] = []
    skipped: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                (chosen if file.name.endswith(suffixes) else skipped).append(file)
        elif path.is_file():
            chosen.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", raw)
    return chosen, skipped


def key_for(path: Path, roots: list[str], prefix: str) -> str:
    """The object key: prefix + the path relative to the folder it was found under."""
    for root in roots:
        base = Path(root)
        if base.is_dir() and path.is_relative_to(base):
            return prefix + path.relative_to(base).as_posix()
    return prefix + path.name


def upload(
    session: boto3.Session,
    bucket: str,
    files: list[tuple[Path, str]],
    progress: Callable[[int], Any],
) -> list[Uploaded]:
    """Upload each file; ``progress`` is called with byte counts as they go."""
    s3 = session.client("s3")
    done = []
    for path, key in files:
        s3.upload_file(str(path), bucket, key, Callback=progress)
        head = s3.head_object(Bucket=bucket, Key=key)
        version = head.get("VersionId")
        version = version if version and version != "null" else head["ETag"].strip('"')
        done.append(Uploaded(path, key, version, path.stat().st_size))
    return done


def wait_for_manifests(
    session: boto3.Session,
    raw_bucket: str,
    config: Config,
    uploaded: list[Uploaded],
    timeout: float,
    on_done: Callable[[Uploaded, dict[str, Any]], Any] = lambda u, m: None,
) -> tuple[dict[str, dict[str, Any]], list[Uploaded]]:
    """Poll until each upload's manifest is complete for its version and queries see its rows
    (its partitions are published just after the commit); return (done, still missing)."""
    s3 = session.client("s3")
    partitions = partitions_for(config, s3)
    pending = {u.key: u for u in uploaded}
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, item in list(pending.items()):
            uri = f"s3://{raw_bucket}/{key}"
            doc = read_manifest(
                s3, config.processed_bucket, manifest_key(config.manifest_prefix, uri)
            )
            if not doc or doc.get("status") != COMPLETE or doc.get("version") != item.version:
                continue
            if partitions.showing(doc.get("files", [])):
                found[key] = doc
                del pending[key]
                on_done(item, doc)
        if pending:
            time.sleep(0.25)
    return found, list(pending.values())

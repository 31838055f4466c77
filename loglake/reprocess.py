"""``loglake reprocess``: find the objects whose rows are missing or out of date, and have the
platform's consumers process them.

The raw bucket is walked page by page (a thousand keys at a time, never the whole listing in
memory). Each object's manifest says whether it is current: processed, at its current version,
under this configuration's fingerprint (``handler/fingerprint.py``). The others are picked, and by
default the same "object created" notification S3 would send goes to the ingest queue, ten per
``SendMessageBatch``, so the deployed function or every running ``loglake worker`` shares the
work. ``--local`` processes them here instead, in K processes. Reprocessing is exactly once like
any delivery, so a rerun (or an interrupted run resumed) only sends what is still not current.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from multiprocessing import get_context
from typing import Any
from urllib.parse import quote_plus

import boto3

from handler.config import Config
from handler.exceptions import LoglakeError
from handler.fingerprint import digest_of, fingerprint
from handler.manifest import COMPLETE, manifest_key, read_manifest
from handler.pipeline import Pipeline
from handler.source import split_s3_uri

PAGE = 1000


@dataclass(frozen=True)
class Plan:
    """What to reprocess and how."""

    uri: str
    suffixes: tuple[str, ...]
    stale_only: bool = False
    since: date | None = None
    until: date | None = None
    queue_url: str | None = None
    rate: float | None = None  # messages per second at most
    processes: int = 0  # > 0: process here, in this many processes


@dataclass
class Tally:
    """Counts so far, for the progress line and the summary."""

    listed: int = 0
    picked: int = 0
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    statuses: dict[str, int] = field(default_factory=dict)
    paced: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def line(self, verb: str) -> str:
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        return (
            f"listed {self.listed:,}  picked {self.picked:,}  {verb} {self.done:,}  ({rate:,.0f}/s)"
        )


def reprocess(
    config: Config,
    session: boto3.Session,
    plan: Plan,
    progress: Callable[[Tally], None] = lambda tally: None,
) -> Tally:
    """Walk, pick, and send (or process) every object that is not current."""
    bucket, prefix = split_s3_uri(plan.uri)
    s3 = session.client("s3")
    digests: dict[str, str] = {}

    def digest(key: str) -> str | None:
        spec = config.source_for(key)
        if spec is None:
            return None
        if spec.name not in digests:
            digests[spec.name] = fingerprint(config, spec)["digest"]
        return digests[spec.name]

    tally = Tally()
    sink = _Local(config, plan.processes, tally) if plan.processes else _Queue(session, plan, tally)
    with ThreadPoolExecutor(16) as pool:
        for page in _pages(s3, bucket, prefix, plan):
            tally.listed += len(page)
            heads = _heads(s3, config, bucket, page, pool)
            picked = [
                o for o, head in zip(page, heads, strict=True) if _stale(o, head, digest, plan)
            ]
            tally.picked += len(picked)
            sink.take(bucket, picked)
            progress(tally)
    sink.close()
    if not tally.listed:
        raise LoglakeError(
            f"no objects ending in {', '.join(plan.suffixes)} under {plan.uri}"
            + (" in the chosen days" if plan.since or plan.until else "")
        )
    return tally


def _pages(s3: Any, bucket: str, prefix: str, plan: Plan) -> Iterator[list[dict[str, Any]]]:
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE}
    )
    for page in pages:
        chosen = []
        for item in page.get("Contents", []):
            day = item["LastModified"].date()
            if not item["Key"].endswith(plan.suffixes):
                continue
            if (plan.since and day < plan.since) or (plan.until and day > plan.until):
                continue
            chosen.append(item)
        if chosen:
            yield chosen


def _heads(
    s3: Any, config: Config, bucket: str, page: list[dict[str, Any]], pool: ThreadPoolExecutor
) -> list[dict[str, Any] | None]:
    """The manifests of a page of objects (``None``: never processed).

    One listing of the manifests between the page's first and last manifest key tells which
    exist, so only those are read (concurrently): a bucket of objects never processed costs a
    listing per page, not a request per object.
    """
    keys = [manifest_key(config.manifest_prefix, f"s3://{bucket}/{o['Key']}") for o in page]
    low, high = min(keys), max(keys)
    existing: set[str] = set()
    pages = s3.get_paginator(
        "list_objects_v2"
    ).paginate(
        Bucket=config.processed_bucket,
        Prefix=os.path.commonprefix([low, high]),  # noqa: RUF071 - by character, as S3 sorts
        StartAfter=low[:-1],
    )
    for listed in pages:
        names = [item["Key"] for item in listed.get("Contents", [])]
        existing.update(name for name in names if low <= name <= high)
        if names and names[-1] > high:
            break

    def read(key: str) -> dict[str, Any] | None:
        return read_manifest(s3, config.processed_bucket, key) if key in existing else None

    return list(pool.map(read, keys))


def _stale(
    item: dict[str, Any],
    head: dict[str, Any] | None,
    digest: Callable[[str], str | None],
    plan: Plan,
) -> bool:
    """Not current: never processed (unless ``stale_only``), or under another fingerprint (the
    one of the source that reads its key now). A key no source reads is never picked."""
    current = digest(item["Key"])
    if current is None:
        return False
    if head is None or head.get("status") != COMPLETE:
        return not plan.stale_only
    version = str(head.get("version", ""))
    if _ETAG.match(version) and version != str(item["ETag"]).strip('"'):
        return not plan.stale_only  # a newer upload whose notification was lost
    return digest_of(head) != current


#: A version the handler took from an ETag (an unversioned bucket); a listing has no version ids.
_ETAG = re.compile(r"^[0-9a-f]{32}(-\d+)?$")


class _Queue:
    """Sends S3 notifications to the queue, ten per request, ``SENDERS`` requests in flight, at
    most ``rate`` messages a second."""

    SENDERS = 8

    def __init__(self, session: boto3.Session, plan: Plan, tally: Tally) -> None:
        if not plan.queue_url:
            raise LoglakeError("no queue to send to: pass --queue URL or set LOGLAKE_QUEUE_URL")
        self.sqs, self.url = session.client("sqs"), plan.queue_url
        self.rate, self.tally = plan.rate, tally
        self.pool = ThreadPoolExecutor(self.SENDERS)

    def take(self, bucket: str, items: list[dict[str, Any]]) -> None:
        batches = [items[i : i + 10] for i in range(0, len(items), 10)]
        for sent in self.pool.map(lambda batch: self._send(bucket, batch), batches):
            self.tally.done += sent

    def _send(self, bucket: str, batch: list[dict[str, Any]]) -> int:
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(notification(bucket, item))}
            for i, item in enumerate(batch)
        ]
        answer = self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
        if answer.get("Failed"):
            first = answer["Failed"][0]
            raise LoglakeError(
                f"the queue refused {len(answer['Failed'])} message(s): {first.get('Message')}; "
                "run the command again (what was sent is not sent twice once processed)"
            )
        self._pace(len(batch))
        return len(batch)

    def _pace(self, sent: int) -> None:
        """Sleep so that messages sent so far stay under ``rate`` a second."""
        if self.rate:
            with self.tally.lock:
                self.tally.paced += sent
                ahead = self.tally.paced / self.rate - (time.monotonic() - self.tally.started)
            if ahead > 0:
                time.sleep(ahead)

    def close(self) -> None:
        self.pool.shutdown()


class _Local:
    """Processes the picked objects here, in ``processes`` processes."""

    def __init__(self, config: Config, processes: int, tally: Tally) -> None:
        self.tally = tally
        context = get_context("spawn")
        self.pool = context.Pool(processes, initializer=_init_worker, initargs=(config,))

    def take(self, bucket: str, items: list[dict[str, Any]]) -> None:
        keys = [(bucket, item["Key"]) for item in items]
        for status in self.pool.imap_unordered(_process_one, keys):
            self.tally.done += 1
            self.tally.statuses[status] = self.tally.statuses.get(status, 0) + 1

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


_worker_pipeline: Pipeline | None = None


def _init_worker(config: Config) -> None:
    global _worker_pipeline
    _worker_pipeline = Pipeline(config)


def _process_one(ref: tuple[str, str]) -> str:
    assert _worker_pipeline is not None
    return _worker_pipeline.process_s3(*ref).status


def notification(bucket: str, item: dict[str, Any]) -> dict[str, Any]:
    """The S3 "object created" notification for a listed object, as the bucket would send it."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": item["LastModified"].isoformat(),
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "loglake-reprocess",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": quote_plus(item["Key"], safe="/"),
                        "size": int(item["Size"]),
                        "eTag": str(item["ETag"]).strip('"'),
                    },
                },
            }
        ]
    }

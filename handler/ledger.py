"""Who owns which Parquet files: the exactly-once protocol of one source key.

Two kinds of document, both in the processed bucket (the design and why every interleaving
converges are in ``docs/exactly-once.md``):

* the **head** manifest ``_manifests/<scheme>/<bucket>/<key>.json``: the version whose rows the
  tables hold, the winning attempt and its files, the attempts it has revoked and the files still
  to delete. It is only ever replaced with a conditional PUT (``If-Match`` on the ETag read, or
  ``If-None-Match: *`` when there is none), so no writer can overwrite what it did not see;
* one **attempt record** per attempt, ``_manifests/_attempts/<hash of uri>/<attempt>/``, written
  only by its attempt, one segment per claim: every file name it is about to write, listed
  before the write.

An attempt writes files under its own unique names, then tries to win the head. It wins only if
the source still has its version, nobody committed that version first and it was not revoked.
Whoever commits, and every later delivery, sweeps: files of attempts that can no longer win are
deleted, and their attempts are revoked in the head first, so they cannot win afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from .exceptions import ObjectChangedError
from .fingerprint import digest_of
from .manifest import COMPLETE, IN_PROGRESS, manifest_key, read_json
from .objects import delete_keys, iso, list_keys, now, replace_json

#: How often a conditional write that lost a race is tried again before the delivery is retried.
MAX_TRIES = 30

Probe = Callable[[], str | None]


@dataclass
class Head:
    """The head manifest as read, with the ETag a conditional replace must match."""

    doc: dict[str, Any] | None
    etag: str | None

    @property
    def complete(self) -> bool:
        return self.doc is not None and self.doc.get("status") == COMPLETE

    def get(self, name: str, default: Any = None) -> Any:
        return (self.doc or {}).get(name, default)


#: ``publish(source_uri, read_head, files)``: show the head's version to readers (``partition.py``).
Publish = Callable[[str, Callable[[], Head], list[str]], None]


class Ledger:
    """The head manifest and the attempt records of one source object."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        prefix: str,
        uri: str,
        lease: timedelta,
        publish: Publish | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """``publish(uri, read_head, files)`` makes readers see the head's version and nothing
        else of the object, in every partition ``files`` touch (``partition.py``: the manifests
        readers list). Without it (tests of this protocol alone) replaced files are deleted.
        ``fingerprint`` is the digest of what this process's attempts produce (``fingerprint.py``):
        a version committed under another one is processed again, and replaced."""
        self.s3, self.bucket, self.uri, self.lease = s3, bucket, uri, lease
        self.publish = publish or self._delete_stale
        self.fingerprint = fingerprint
        self.head_key = manifest_key(prefix, uri)
        digest = hashlib.sha256(uri.encode()).hexdigest()[:32]
        self.records_prefix = f"{prefix}_attempts/{digest}/"

    # -- the head ---------------------------------------------------------------------------
    def read_head(self) -> Head:
        """The head manifest and its ETag (``Head(None, None)`` before the first commit)."""
        found = read_json(self.s3, self.bucket, self.head_key)
        return Head(None, None) if found is None else Head(*found)

    def replace_head(self, doc: dict[str, Any], seen: Head) -> bool:
        """Write ``doc`` as the head if it is still ``seen``; ``False`` when someone got there first."""
        return replace_json(self.s3, self.bucket, self.head_key, doc, seen.etag)

    def is_done(self, head: Head, version: str) -> bool:
        """The head holds ``version``'s rows, produced the way this process would produce them."""
        return head.get("version") == version and digest_of(head.doc) == self.fingerprint

    # -- attempt records --------------------------------------------------------------------
    def segment_key(self, attempt: str, number: int) -> str:
        return f"{self.records_prefix}{attempt}/{number:08d}.json"

    def records(self) -> list[dict[str, Any]]:
        """Every attempt record of this object, its segments merged (``keys`` lists them).

        A record is written in segments, one per claim, so an object of many batches costs one
        small PUT per batch instead of rewriting an ever longer list.
        """
        merged: dict[str, dict[str, Any]] = {}
        for key in list_keys(self.s3, self.bucket, self.records_prefix):
            found = read_json(self.s3, self.bucket, key)
            if found is None:  # deleted since the listing
                continue
            part = found[0]
            record = merged.setdefault(part["attempt"], dict(part, files=[], keys=[]))
            record["files"] += part.get("files", [])
            record["keys"].append(key)
            record["updated_at"] = max(record["updated_at"], part["updated_at"])
        return list(merged.values())

    def delete_keys(self, keys: list[str]) -> None:
        """Delete keys of the processed bucket; missing keys are fine."""
        delete_keys(self.s3, self.bucket, keys)

    def delete_files(self, uris: list[str]) -> None:
        """Delete Parquet files given as ``s3://bucket/key`` (all in the processed bucket)."""
        keys = []
        for uri in sorted(set(uris)):
            parsed = urlparse(uri)
            if parsed.netloc != self.bucket:
                raise ValueError(f"{uri} is outside the processed bucket {self.bucket}")
            keys.append(parsed.path.lstrip("/"))
        self.delete_keys(keys)

    def _delete_stale(self, uri: str, read_head: Callable[[], Head], files: list[str]) -> None:
        """Without readers' manifests: delete the files of replaced versions."""
        self.delete_files([f for f in files if f not in set(read_head().get("files", []))])

    # -- sweeping ---------------------------------------------------------------------------
    def sweep(self, current: Probe) -> None:
        """Delete every file no complete manifest will ever list; revoke attempts that made them.

        Run after a commit and by every duplicate delivery, so a crashed attempt's files go as
        soon as its message is delivered again. An attempt is revoked (in the head, with a
        conditional write) *before* its files are deleted, so it can never commit them after.
        Records of revoked attempts stay until their attempt has been idle for the lease: an
        attempt lists a file before writing it, so a record may still grow while it lives.
        """
        for _ in range(MAX_TRIES):
            head = self.read_head()
            if not head.complete:
                return
            records = self.records()
            plan = _Plan.make(head, records, current, now(), self.lease, self.fingerprint)
            if plan.revocations_changed(head) and not self.replace_head(
                dict(head.doc or {}, revoked=plan.revoked), head
            ):
                _pause()
                continue
            # Files of revoked attempts go the same way as replaced ones: a file a reader may
            # have seen (a former winner's) goes to the trash, one never shown is deleted now.
            stale = head.get("stale", [])
            self.publish(
                self.uri, self.read_head, head.get("files", []) + stale + plan.doomed_files
            )
            self._forget_stale(stale)
            self.delete_keys([k for record in plan.forget_records for k in record["keys"]])
            return
        raise ObjectChangedError(f"{self.uri}: its manifest kept changing while it was swept")

    def _forget_stale(self, deleted: list[str]) -> None:
        """Drop deleted files from the head's ``stale`` list (whoever wrote the head since)."""
        if not deleted:
            return
        for _ in range(MAX_TRIES):
            head = self.read_head()
            left = [f for f in head.get("stale", []) if f not in set(deleted)]
            if not head.doc or left == head.get("stale", []):
                return
            if self.replace_head(dict(head.doc, stale=left), head):
                return
            _pause()


@dataclass
class _Plan:
    """What one sweep does, decided from one reading of the head and of the records."""

    revoked: dict[str, str]
    doomed_files: list[str] = field(default_factory=list)
    forget_records: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def make(
        cls,
        head: Head,
        records: list[dict[str, Any]],
        current: Probe,
        now: datetime,
        lease: timedelta,
        mine: str | None = None,
    ) -> _Plan:
        live = {r["attempt"] for r in records}
        # An entry whose record is gone belongs to an attempt that has finished: no longer needed.
        plan = cls({a: t for a, t in head.get("revoked", {}).items() if a in live})
        version, winner = head.get("version"), head.get("attempt")
        current_version: list[str | None] = []

        def now_current() -> str | None:
            if not current_version:
                current_version.append(current())
            return current_version[0]

        for record in records:
            attempt = record["attempt"]
            if attempt == winner:  # the winner died before deleting its own record
                plan.forget_records.append(record)
                continue
            if attempt not in plan.revoked:
                newer = record["version"] != version
                # At the head's version, but producing what this process does, which differs.
                remake = record.get("fingerprint") == mine != digest_of(head.doc)
                if (newer or remake) and record["version"] == now_current():
                    continue  # an attempt that may still win
                plan.revoked[attempt] = iso(now)
            plan.doomed_files.extend(record.get("files", []))
            idle = now - datetime.fromisoformat(record["updated_at"].removesuffix("Z"))
            if idle > lease:
                plan.forget_records.append(record)
        return plan

    def revocations_changed(self, head: Head) -> bool:
        return self.revoked != head.get("revoked", {})


class Attempt:
    """One attempt at one version of one object: claims file names, then commits or gives up."""

    def __init__(self, ledger: Ledger, version: str) -> None:
        self.ledger, self.version = ledger, version
        stem = hashlib.sha256(f"{ledger.uri}\n{version}".encode()).hexdigest()[:16]
        self.id = f"{stem}-{uuid.uuid4().hex[:8]}"
        self.started = now()
        self.files: list[str] = []
        self._known: set[str] = set()
        #: Keys of this attempt's record segments written so far.
        self.segments: list[str] = []

    def claim(self, paths: list[str]) -> None:
        """List files in this attempt's record before they are written, so none is ever lost."""
        new = [p for p in dict.fromkeys(paths) if p not in self._known]
        self.files += new
        self._known.update(new)
        self._save_record(new)

    def _save_record(self, files: list[str]) -> None:
        """Write the next segment of the record: the files claimed now (none: a fresh timestamp)."""
        doc = {
            "status": IN_PROGRESS,
            "source_uri": self.ledger.uri,
            "version": self.version,
            "attempt": self.id,
            "fingerprint": self.ledger.fingerprint,
            "started_at": iso(self.started),
            "updated_at": iso(now()),
            "files": files,
        }
        key = self.ledger.segment_key(self.id, len(self.segments) + 1)
        self.ledger.s3.put_object(
            Bucket=self.ledger.bucket,
            Key=key,
            Body=json.dumps(doc, indent=1, sort_keys=True).encode(),
            ContentType="application/json",
        )
        self.segments.append(key)

    def commit(self, summary: dict[str, Any], current: Probe) -> tuple[str, Head]:
        """Try to make this attempt's files the object's rows.

        Returns ``("processed", head)`` when it won, ``("duplicate", head)`` when another attempt
        committed this version first and ``("superseded", head)`` when the object has a newer
        version (its own notification brings those bytes); the last two remove this attempt's
        files. Raises ``ObjectChangedError`` when it was revoked although its version is current
        again, so the delivery is retried.
        """
        if self.segments:
            self._save_record([])  # fresh updated_at: the lease counts from here
        for _ in range(MAX_TRIES):
            head = self.ledger.read_head()
            if head.get("attempt") == self.id:  # our PUT landed but its answer was lost
                self._forget_record()
                return "processed", head
            if head.complete and self.ledger.is_done(head, self.version):
                self.give_up()
                return "duplicate", head
            if self.id in head.get("revoked", {}):
                self.give_up()
                if current() == self.version:
                    raise ObjectChangedError(
                        f"{self.ledger.uri}: this attempt was revoked while another version was "
                        "current; retrying processes the current bytes"
                    )
                return "superseded", head
            if current() != self.version:
                self.give_up()
                return "superseded", head
            old = [f for f in head.get("files", []) if f not in set(self.files)]
            doc = {
                **summary,
                "status": COMPLETE,
                "source_uri": self.ledger.uri,
                "version": self.version,
                "attempt": self.id,
                "files": sorted(self.files),
                "revoked": head.get("revoked", {}),
                "stale": sorted(set(head.get("stale", [])) | set(old)),
            }
            if self.ledger.replace_head(doc, head):
                self._forget_record()
                self.ledger.sweep(current)
                return "processed", self.ledger.read_head()
            _pause()
        raise ObjectChangedError(f"{self.ledger.uri}: its manifest kept changing; will retry")

    def give_up(self) -> None:
        """Remove this attempt's files, then its record (files first: a crash loses nothing).

        Through ``publish``: if the head ever named these files (a commit whose answer was
        lost, then replaced), a reader may see them, so they go to the trash, not away at once.
        """
        self.ledger.publish(self.ledger.uri, self.ledger.read_head, self.files)
        self._forget_record()

    def _forget_record(self) -> None:
        if self.segments:
            self.ledger.delete_keys(self.segments)
            self.segments = []


def deliver(
    ledger: Ledger, version: str, current: Probe, work: Callable[[Attempt], dict[str, Any]]
) -> tuple[str, Head]:
    """One delivery of one object version: the whole protocol around the ``work`` of writing it.

    ``work`` claims and writes the attempt's files and returns the manifest's summary fields. A
    version already committed is a duplicate (and sweeps: a crashed attempt's files go now). If
    ``work`` raises, the attempt removes its files; if even that fails, its record still lists
    them for the next delivery's sweep. Returns the outcome of ``Attempt.commit``.
    """
    head = ledger.read_head()
    if head.complete and ledger.is_done(head, version):
        ledger.sweep(current)
        return "duplicate", head
    attempt = Attempt(ledger, version)
    try:
        summary = work(attempt)
    except BaseException:
        with contextlib.suppress(Exception):
            attempt.give_up()
        raise
    return attempt.commit(summary, current)


def _pause() -> None:
    """A short random wait after losing a race, so contenders do not collide in lockstep."""
    time.sleep(random.uniform(0.005, 0.05))

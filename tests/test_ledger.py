"""The exactly-once protocol under interleavings chosen call by call (docs/exactly-once.md).

Every delivery runs the real protocol (``handler.ledger.deliver``) in its own thread against S3 in
moto; its S3 client is a turnstile that lets it make one call each time the test says so. A crash
is a delivery stopped before one of its calls: it makes no further request, exactly what a killed
process leaves in S3. After any script of uploads, deliveries, steps and crashes, deliveries
settle (each crashed or failed message is delivered again, plus the last upload's notification),
and then the head manifest must name the key's current version and its files must be exactly the
Parquet files in the bucket, every one of them listed by it and by the readers' manifest. Between
any two S3 calls of any delivery, a reader sees exactly one committed attempt's files (``View``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from handler.exceptions import ObjectChangedError
from handler.ledger import Attempt, Ledger, deliver
from handler.objects import conditional_put
from handler.partition import Partitions
from handler.sink import SORT_KEYS
from handler.source import s3_object

RAW, PROCESSED, KEY = "loglake-raw", "loglake-processed", "current.log"
URI = f"s3://{RAW}/{KEY}"


class Crash(BaseException):
    """The process running a delivery is gone: no further request leaves it."""


class View:
    """What a reader of the partition sees, checked after every single S3 call of any actor.

    The manifest must name exactly the files of one attempt that is, or was, the head (every
    head is seen: a check runs after each call), all of them, and each must exist.
    """

    def __init__(self) -> None:
        self.s3 = boto3.client("s3")
        self.heads: dict[str, list[str]] = {}  # attempt -> its files, for every head seen
        self.checks = 0

    def check(self) -> None:
        head = Ledger(self.s3, PROCESSED, "_manifests/", URI, timedelta(hours=1)).read_head()
        if head.complete:
            self.heads[head.doc["attempt"]] = sorted(head.doc["files"])  # type: ignore[index]
        shown = partitions(self.s3).shown("processed", "2025-07-21")
        self.checks += 1
        if not shown:
            return
        owners = {f.rsplit("/", 1)[1].rsplit("-", 1)[0] for f in shown}
        assert len(owners) == 1, f"files of {len(owners)} attempts shown at once: {shown}"
        owner = owners.pop()
        assert self.heads.get(owner) == shown, f"not a committed attempt's files: {shown}"
        for uri in shown:
            self.s3.head_object(Bucket=PROCESSED, Key=uri.split("/", 3)[3])  # exists


def partitions(s3: Any) -> Partitions:
    """The partition records and manifests of the one table these tests write (no grace)."""
    return Partitions(
        s3, PROCESSED, "_manifests/", {"processed": "processed/"}, SORT_KEYS, grace=timedelta(0)
    )


class Actor:
    """A thread whose every S3 call waits for the test's go-ahead."""

    #: Run after each step: the reader's view must hold between any two S3 calls.
    view: View | None = None

    def __init__(self, name: str, body: Callable[[Any], Any]) -> None:
        self.name = name
        self.crashed = False
        self.done = False
        self.outcome: Any = None
        self.calls: list[str] = []
        self._go = threading.Semaphore(0)
        self._paused = threading.Semaphore(0)
        self._thread = threading.Thread(target=self._main, args=(body,), daemon=True)
        self._thread.start()
        self._paused.acquire()  # runs up to its first S3 call (or to its end)

    def _main(self, body: Callable[[Any], Any]) -> None:
        try:
            self.outcome = body(Turnstile(boto3.client("s3"), self))
        except BaseException as exc:  # a crash, or an error its message would be retried for
            self.outcome = exc
        finally:
            self.done = True
            self._paused.release()

    def before_call(self, name: str) -> None:
        self._paused.release()
        self._go.acquire()
        if self.crashed:
            raise Crash(self.name)
        self.calls.append(name)

    def step(self) -> None:
        """Let it make one S3 call and run on to its next one (or to its end)."""
        assert not self.done
        self._go.release()
        self._paused.acquire()
        if Actor.view is not None:
            Actor.view.check()

    def crash(self) -> None:
        self.crashed = True
        self.step()

    def finish(self) -> Any:
        while not self.done:
            self.step()
        return self.outcome

    @property
    def needs_redelivery(self) -> bool:
        return isinstance(self.outcome, BaseException)


class Turnstile:
    """A boto3 client whose calls each wait for the actor's turn."""

    def __init__(self, client: Any, actor: Actor) -> None:
        self._client, self._actor = client, actor

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._actor.before_call(name)
            return attr(*args, **kwargs)

        return call


def delivery(files: int) -> Callable[[Any], Any]:
    """What one SQS delivery of the key's notification does, writing ``files`` placeholder files."""

    def body(s3: Any) -> Any:
        source = s3_object(s3, RAW, KEY)
        if source is None:
            return "missing"
        ledger = Ledger(
            s3, PROCESSED, "_manifests/", URI, timedelta(hours=1), partitions(s3).publish
        )

        def work(attempt: Attempt) -> dict[str, Any]:
            for i in range(files):
                path = f"s3://{PROCESSED}/processed/dt=2025-07-21/{attempt.id}-{i:05d}.parquet"
                attempt.claim([path])
                s3.put_object(Bucket=PROCESSED, Key=path.split("/", 3)[3], Body=b"rows")
            return {"valid": files}

        outcome, _ = deliver(ledger, source.version, source.current_version, work)
        return outcome

    return body


def upload(content: bytes) -> Callable[[Any], Any]:
    def body(s3: Any) -> Any:
        s3.put_object(Bucket=RAW, Key=KEY, Body=content)
        return "uploaded"

    return body


@pytest.fixture
def s3(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=RAW)
        client.create_bucket(Bucket=PROCESSED)
        client.put_object(Bucket=RAW, Key=KEY, Body=b"v1")
        Actor.view = View()
        yield client
        Actor.view = None


def settle(actors: list[Actor]) -> None:
    """Let every live delivery finish, then redeliver what failed, then the last notification."""
    for actor in actors:
        actor.finish()
    for _ in range(sum(a.needs_redelivery for a in actors) + 1):
        again = Actor("redelivery", delivery(2))
        result = again.finish()
        assert not again.needs_redelivery, f"a delivery alone must succeed: {result!r}"


def assert_converged(s3: Any) -> dict[str, Any]:
    """Exactly the current version's files, each listed once by the complete head."""
    ledger = Ledger(s3, PROCESSED, "_manifests/", URI, timedelta(hours=1))
    head = ledger.read_head()
    assert head.complete and head.doc is not None
    current = s3_object(s3, RAW, KEY)
    assert current is not None and head.doc["version"] == current.version
    stem = hashlib.sha256(f"{URI}\n{current.version}".encode()).hexdigest()[:16]
    assert head.doc["attempt"].startswith(stem)
    listed = s3.list_objects_v2(Bucket=PROCESSED, Prefix="processed/").get("Contents", [])
    on_disk = sorted(f"s3://{PROCESSED}/{o['Key']}" for o in listed)
    assert on_disk == sorted(head.doc["files"]), "orphan or missing files"
    assert all(f.split("/")[-1].startswith(head.doc["attempt"]) for f in on_disk)
    assert head.doc["stale"] == []
    for record in ledger.records():  # only revoked attempts may still have a record
        assert record["attempt"] in head.doc["revoked"]
    assert partitions(s3).shown("processed", "2025-07-21") == sorted(head.doc["files"])
    return head.doc


def test_an_older_version_finishing_last_is_superseded(s3: Any) -> None:
    old = Actor("v1", delivery(3))
    for _ in range(6):  # v1 has listed and written files
        old.step()
    Actor("upload v2", upload(b"v2")).finish()
    new = Actor("v2", delivery(2))
    assert new.finish() == "processed"
    assert old.finish() == "superseded"
    settle([])
    assert len(assert_converged(s3)["files"]) == 2


def test_the_older_version_commits_between_the_newer_ones_check_and_write(s3: Any) -> None:
    """v1 passes its version check, v2 is uploaded and processed up to its commit, v1 commits."""
    old = Actor("v1", delivery(1))
    while old.calls[-1:] != ["head_object"] or len(old.calls) < 4:  # its commit-time check
        old.step()
    Actor("upload v2", upload(b"v2")).finish()
    new = Actor("v2", delivery(1))
    while "put_object" not in new.calls[1:] or new.calls[-1] != "get_object":
        new.step()
    assert old.finish() == "processed"  # v1 wins the head: v1 was current when it looked
    assert new.finish() == "processed"  # v2's conditional write fails, it reads again and wins
    settle([])
    doc = assert_converged(s3)
    assert len(doc["files"]) == 1


def test_concurrent_deliveries_of_one_version_commit_once(s3: Any) -> None:
    actors = [Actor(f"d{i}", delivery(2)) for i in range(3)]
    for _ in range(30):
        for actor in actors:
            if not actor.done:
                actor.step()
    outcomes = sorted(actor.finish() for actor in actors)
    assert outcomes == ["duplicate", "duplicate", "processed"]
    settle([])
    assert len(assert_converged(s3)["files"]) == 2


def test_a_bba_upload_revokes_the_attempt_whose_files_were_swept(s3: Any) -> None:
    """Unversioned bucket: v1, v2, then v1's bytes again. An attempt at v1 that was revoked while
    v2 was current must not commit its deleted files when v1 is current again."""
    slow = Actor("first v1", delivery(2))
    for _ in range(6):
        slow.step()
    Actor("upload v2", upload(b"v2")).finish()
    assert Actor("v2", delivery(1)).finish() == "processed"  # its sweep revokes the v1 attempt
    Actor("upload v1 again", upload(b"v1")).finish()
    outcome = slow.finish()
    assert isinstance(outcome, ObjectChangedError)  # revoked, yet current: retried
    settle([slow])
    assert len(assert_converged(s3)["files"]) == 2


@pytest.mark.parametrize("when", ["before", "during", "after"])
def test_a_crash_at_every_call_while_another_version_is_in_flight(s3: Any, when: str) -> None:
    """Crash a v1 delivery before each of its S3 calls in turn, with v2 racing it."""
    prior = Actor("v1 first", delivery(1))
    prior.finish()  # a committed v1, so the crashing attempt also meets a head and stale files
    Actor("upload v1b", upload(b"v1b")).finish()
    for crash_at in range(1, 80):
        victim = Actor("victim", delivery(2))
        other: Actor | None = None
        if when == "before":
            Actor("upload", upload(f"v2-{crash_at}".encode())).finish()
            other = Actor("v2", delivery(1))
        for _ in range(crash_at):
            if victim.done:
                break
            victim.step()
            if when == "during" and other is None and len(victim.calls) >= crash_at // 2:
                Actor("upload", upload(f"v2-{crash_at}".encode())).finish()
                other = Actor("v2", delivery(1))
            if other is not None and not other.done:
                other.step()
        if not victim.done:
            victim.crash()
        if when == "after":
            Actor("upload", upload(f"v2-{crash_at}".encode())).finish()
        settle([victim] + ([other] if other else []))
        assert_converged(s3)
        if not victim.crashed:
            break  # it finished before this crash point: every point has been tried
    else:
        raise AssertionError("the delivery never finished: raise the range")


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("upload"), st.sampled_from([b"a", b"b", b"c"])),
        st.tuples(st.just("deliver"), st.integers(0, 3)),
        st.tuples(st.just("step"), st.integers(0, 7)),
        st.tuples(st.just("steps"), st.integers(0, 7)),
        st.tuples(st.just("crash"), st.integers(0, 7)),
    ),
    max_size=40,
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=EVENTS)
def test_any_interleaving_of_uploads_deliveries_and_crashes_converges(
    aws_env: None, events: list[tuple[str, Any]]
) -> None:
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=RAW)
        client.create_bucket(Bucket=PROCESSED)
        client.put_object(Bucket=RAW, Key=KEY, Body=b"a")
        Actor.view = View()
        actors: list[Actor] = []
        for kind, arg in events:
            live = [a for a in actors if not a.done]
            if kind == "upload":
                Actor("upload", upload(arg)).finish()
            elif kind == "deliver":
                actors.append(Actor("delivery", delivery(arg)))
            elif live and kind == "step":
                live[arg % len(live)].step()
            elif live and kind == "steps":
                for _ in range(5):
                    if not live[arg % len(live)].done:
                        live[arg % len(live)].step()
            elif live and kind == "crash":
                live[arg % len(live)].crash()
        settle(actors)
        assert_converged(client)
        Actor.view = None


@pytest.mark.parametrize("native", [True, False])
def test_conditional_puts_work_with_and_without_botocore_support(s3: Any, native: bool) -> None:
    """The Lambda runtime's botocore has no IfMatch parameter: the headers are added by hand."""
    put = {"Bucket": PROCESSED, "Key": "cond.json"}
    first = conditional_put(s3, {"IfNoneMatch": "*"}, native=native, Body=b"1", **put)
    with pytest.raises(ClientError, match="PreconditionFailed"):
        conditional_put(s3, {"IfNoneMatch": "*"}, native=native, Body=b"2", **put)
    with pytest.raises(ClientError, match="PreconditionFailed"):
        conditional_put(s3, {"IfMatch": '"nope"'}, native=native, Body=b"3", **put)
    conditional_put(s3, {"IfMatch": first["ETag"]}, native=native, Body=b"4", **put)
    assert s3.get_object(**put)["Body"].read() == b"4"
    s3.put_object(Body=b"5", **put)  # an unconditional write is untouched by the hook
    assert s3.get_object(**put)["Body"].read() == b"5"

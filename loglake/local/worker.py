"""Consume an SQS queue like Lambda's SQS event source mapping, and call the same handler.

Batches of up to 10 messages become the exact event Lambda delivers; the handler's
``batchItemFailures`` decide what is deleted. Failed messages reappear after the visibility
timeout and, after the queue's receive limit, go to its dead-letter queue. While a batch is being
processed a heartbeat keeps extending its visibility, so a big file is never handed to a second
worker mid-way. On shutdown, received but unstarted messages are released at once; a killed worker
loses nothing either: its messages return when their visibility runs out.

Short outages are ridden out: every AWS call retries with backoff (``Config.botocore_config``), a
heartbeat that fails tries again at the next beat, and a poll that still fails is tried again after
a growing pause. The worker stops only when told to or on a permanent error (a queue that does not
exist, credentials that are refused).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from handler.config import Config
from handler.exceptions import LoglakeError

from .lambda_event import lambda_sqs_event

#: Longest pause between two failed polls.
MAX_PAUSE = 30.0
#: Error codes that mean "try again later", besides any 5xx answer.
TRANSIENT_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "KMS.ThrottlingException",
}


def is_transient(exc: BaseException) -> bool:
    """A fault that waiting can cure: no connection, a timeout, throttling or a 5xx answer."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or exc.response.get("Error", {}).get("Code") in TRANSIENT_CODES
    if isinstance(exc, BotoConnectionError):  # refused, reset, timed out, DNS
        return True
    return isinstance(exc, BotoCoreError) and "Timeout" in type(exc).__name__


@dataclass
class LocalContext:
    """The parts of a Lambda context object that handlers read."""

    function_name: str = "loglake-worker"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:loglake-worker"
    aws_request_id: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class Heartbeat:
    """Keeps a batch invisible to other consumers for as long as it is being processed."""

    def __init__(
        self, sqs: Any, queue_url: str, messages: list[dict[str, Any]], timeout: int
    ) -> None:
        self.sqs, self.queue_url, self.messages, self.timeout = sqs, queue_url, messages, timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="loglake-heartbeat", daemon=True)
        self.beats = 0
        self.failures = 0

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(max(self.timeout / 3, 0.5)):
            entries = [
                {
                    "Id": str(i),
                    "ReceiptHandle": m["ReceiptHandle"],
                    "VisibilityTimeout": self.timeout,
                }
                for i, m in enumerate(self.messages)
            ]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception:  # an outage: the next beat tries again; a missed one costs nothing
                self.failures += 1  # unless it lasts the whole timeout (then SQS redelivers)
                continue
            self.beats += 1


#: Stands for "the configuration cannot be read" among the files ``Definitions`` compares.
BROKEN = Path("(unreadable)")


class Definitions:
    """The bytes of the files the handler's configuration is read from (tables, sources, rules),
    so a worker that runs for days notices an edit (``catalog apply`` after a new column) and
    reads them again before its next batch instead of writing rows the old way."""

    def __init__(self) -> None:
        self.seen = self._read()

    @staticmethod
    def _read() -> dict[Path, bytes]:
        try:
            files = Config.from_env().files()
        except LoglakeError as exc:  # half-edited: reported once, compared again next batch
            return {BROKEN: str(exc).encode()}
        found = {}
        for path in files:
            try:
                found[path] = path.read_bytes()
            except OSError:
                found[path] = b""
        return found

    def changed(self) -> list[Path]:
        """The files added, removed or edited since the last call."""
        now = self._read()
        edited = [
            p for p in sorted(now.keys() | self.seen.keys()) if now.get(p) != self.seen.get(p)
        ]
        self.seen = now
        return edited


class Worker:
    """Long-polls one queue and hands each batch to ``handler.app.lambda_handler``."""

    def __init__(
        self,
        queue_url: str,
        session: boto3.Session | None = None,
        batch_size: int = 10,
        wait_seconds: int = 10,
        log: Any = print,
    ) -> None:
        self.session = Config.from_env().retrying(session or boto3.Session())
        self.sqs = self.session.client("sqs")
        self.queue_url = queue_url
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.log = log
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])[
            "Attributes"
        ]
        self.queue_arn = attributes["QueueArn"]
        self.visibility = int(attributes.get("VisibilityTimeout", "30"))
        self.stop = threading.Event()
        self.batches = 0
        self.definitions = Definitions()

    def run(self) -> None:
        """Poll until ``stop`` is set; ride out transient faults, raise permanent ones."""
        pause = 1.0
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.log(
                    f"cannot reach SQS or S3 ({type(exc).__name__}); retrying in {pause:.0f} s"
                )
                self.stop.wait(pause)
                pause = min(pause * 2, MAX_PAUSE)
            else:
                pause = 1.0

    def poll_once(self) -> int:
        """Receive and process at most one batch; return how many messages it had."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        if self.stop.is_set():
            self.release(messages)
            return 0
        self.process(messages)
        return len(messages)

    def process(self, messages: list[dict[str, Any]]) -> None:
        """Run the handler on one batch; delete what succeeded, leave the failures for redelivery."""
        from handler.app import lambda_handler

        self.follow_definitions()
        event = lambda_sqs_event(messages, self.queue_arn)
        started = time.monotonic()
        with Heartbeat(self.sqs, self.queue_url, messages, self.visibility):
            try:
                response = lambda_handler(event, LocalContext(aws_request_id=str(uuid.uuid4())))
                failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            except Exception as exc:  # the whole batch failed: every message will be retried
                self.log(f"batch of {len(messages)} failed, will be retried: {exc}")
                failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        self.batches += 1
        seconds = time.monotonic() - started
        if failed:  # each object's own line said what was done
            self.log(
                f"batch: {len(failed)} of {len(messages)} message(s) failed and come back after "
                f"the visibility timeout ({seconds:.2f} s)"
            )

    def follow_definitions(self) -> None:
        """Read the configuration again if a file it came from changed since the last batch."""
        from handler.app import use_pipeline
        from handler.pipeline import Pipeline

        edited = self.definitions.changed()
        if not edited:
            return
        names = ", ".join(_short(p) for p in edited if p != BROKEN) or "the configuration"
        try:
            use_pipeline(Pipeline(Config.from_env()))
        except LoglakeError as exc:
            self.log(
                f"{names} changed but cannot be used ({exc}); keeping the previous definitions"
            )
            return
        self.log(f"{names} changed: tables, sources and rules read again for the next batch")

    def release(self, messages: list[dict[str, Any]]) -> None:
        """Give received messages back to the queue now (shutdown before processing)."""
        self.sqs.change_message_visibility_batch(
            QueueUrl=self.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages)
            ],
        )


class ReadableLogs(LambdaPowertoolsFormatter):
    """The handler's log lines for a person at a terminal: one line per object with its counts
    and time (``processed s3://loglake-raw/app.log  2 valid, 0 invalid, 0 blank  0.58 s``), not
    the JSON Lambda's log pipeline wants (``loglake worker --log-format json`` keeps that)."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        fields = record.__dict__
        if "lines_read" in fields:
            text += (
                f"  {fields['valid']:,} valid, {fields['invalid']:,} invalid, "
                f"{fields['blank']:,} blank  ({fields['bytes_read']:,} bytes, "
                f"{fields['seconds']:.2f} s)"
            )
            if fields.get("source"):
                text += f"  source {fields['source']} ({fields.get('format')})"
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        return text


def readable_logs() -> None:
    """Make the handler log ``ReadableLogs`` lines in this process (and the ones it forks)."""
    from handler.app import logger

    logger.registered_handler.setFormatter(ReadableLogs())


def _short(path: Path) -> str:
    """``glue_ddl/processed_logs.sql``: a file by its folder and name."""
    return f"{path.parent.name}/{path.name}"


def run_processes(
    url: str, concurrency: int, wait_seconds: int, log: Any = print, log_format: str = "text"
) -> None:
    """``loglake worker --concurrency K``: K worker processes on one queue, stopped together.

    SIGTERM or Ctrl-C is passed on to every child, which finishes its batch and releases the rest.
    """
    argv = [
        sys.executable,
        "-m",
        "loglake.cli",
        "worker",
        "--queue-url",
        url,
        "--log-format",
        log_format,
    ]
    children = [
        subprocess.Popen([*argv, "--wait-seconds", str(wait_seconds)]) for _ in range(concurrency)
    ]
    log(f"started {concurrency} worker processes on {url}")

    def forward(signum: int, frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    codes = [child.wait() for child in children]
    if any(codes):
        raise LoglakeError(f"worker processes exited with {codes}; their output above says why")

"""The local stack as users run it: `loglake local up` in its own process, any S3 client, the
worker, the dead-letter queue, and a worker killed mid-batch."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from handler.exceptions import LoglakeError
from loglake.local.server import free_port
from loglake.local.worker import is_transient

from .conftest import SAMPLE, good, ndjson
from .proxy import Proxy

pytestmark = pytest.mark.slow
LOGLAKE = [sys.executable, "-m", "loglake.cli"]


class Proc:
    """A loglake command in its own process, its output collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            LOGLAKE + args,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: kill_all reaches forked workers
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen; output:\n" + "\n".join(self.lines[-40:]))

    def kill_all(self) -> None:
        """SIGKILL the command and every process it forked, as a crashed host would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(5)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


class Stack:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url, self.env = url, env
        self.session = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        self.s3 = self.session.client("s3", endpoint_url=url)
        self.sqs = self.session.client("sqs", endpoint_url=url)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            LOGLAKE + list(args), env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def manifest(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(
                Bucket="loglake-processed", Key=f"_manifests/s3/loglake-raw/{key}.json"
            )["Body"]
        except self.s3.exceptions.NoSuchKey:
            return None
        doc: dict[str, Any] = json.loads(body.read())
        return doc

    def wait_manifest(
        self, key: str, status: str = "complete", timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            doc = self.manifest(key)
            if doc and doc["status"] == status:
                return doc
            time.sleep(0.2)
        raise AssertionError(f"no {status} manifest for {key}: {self.manifest(key)}")

    def attempts(self) -> list[str]:
        """Keys of the in-progress attempt records (``_manifests/_attempts/``)."""
        listed = self.s3.list_objects_v2(Bucket="loglake-processed", Prefix="_manifests/_attempts/")
        return [o["Key"] for o in listed.get("Contents", [])]

    def wait_attempt(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.attempts():
                return
            time.sleep(0.1)
        raise AssertionError("no attempt record appeared")

    def query(self, *args: str) -> list[dict[str, Any]]:
        result = self.cli("query", *args, "--format", "json")
        assert result.returncode == 0, result.stderr
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    def depth(self, name: str) -> int:
        url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def start_stack(tmp_path: Path, *extra: str) -> tuple[Proc, Stack]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        # Replaced files go as soon as no manifest names them, so tests see nothing left over.
        READER_GRACE_SECONDS="0",
    )
    proc = Proc(["local", "up", "--port", str(port), *extra], env)
    proc.wait_for("Ctrl-C stops")
    return proc, Stack(url, env | {"AWS_ENDPOINT_URL": url})


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    proc, running = start_stack(tmp_path, "--visibility-timeout", "3")
    yield running
    assert proc.stop() == 0
    assert any("stopped" in line for line in proc.lines)


def test_boto3_and_aws_cli_uploads_are_processed_with_exact_counts(
    stack: Stack, tmp_path: Path
) -> None:
    stack.s3.put_object(Bucket="loglake-raw", Key="boto3/sample_log.log", Body=SAMPLE.read_bytes())
    big = tmp_path / "cli.log.gz"
    big.write_bytes(
        gzip.compress(
            ndjson(*(good(i, f"2025-07-{20 + i % 2}") for i in range(500)), "oops", "").encode()
        )
    )
    aws = subprocess.run(
        [
            str(Path(sys.executable).parent / "aws"),
            "--endpoint-url",
            stack.url,
            "s3",
            "cp",
            str(big),
            "s3://loglake-raw/cli/app.log.gz",
        ],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert aws.returncode == 0, aws.stderr
    stack.s3.put_object(Bucket="loglake-raw", Key="ignored/readme.txt", Body=b"not a log")
    for key in ("gz/app.jsonl.gz", "gz/app.ndjson.gz"):  # every default suffix, compressed too
        stack.s3.put_object(
            Bucket="loglake-raw", Key=key, Body=gzip.compress(ndjson(good(1)).encode())
        )
    sample = stack.wait_manifest("boto3/sample_log.log")
    app = stack.wait_manifest("cli/app.log.gz")
    assert (sample["lines_read"], sample["valid"], sample["invalid"], sample["blank"]) == (
        4,
        3,
        1,
        0,
    )
    assert (app["lines_read"], app["valid"], app["invalid"], app["blank"]) == (502, 500, 1, 1)
    assert stack.manifest("ignored/readme.txt") is None
    assert stack.wait_manifest("gz/app.jsonl.gz")["valid"] == 1
    assert stack.wait_manifest("gz/app.ndjson.gz")["valid"] == 1
    assert stack.query("level_counts") == [
        {"level": "INFO", "log_count": 503},
        {"level": "DEBUG", "log_count": 1},
        {"level": "ERROR", "log_count": 1},
    ]
    status = stack.cli("status")
    assert status.returncode == 0, status.stderr
    assert "objects processed  4" in status.stdout and "valid 505" in status.stdout
    again = stack.cli("backfill", "s3://loglake-raw/")
    assert again.returncode == 0, again.stderr
    assert "0 of 4 object(s) not current; 0 processed" in again.stdout
    assert stack.query("level_counts")[0]["log_count"] == 503


def test_upload_wait_prints_counts(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    (folder / "web").mkdir(parents=True)
    (folder / "web" / "a.log").write_text(ndjson(good(1), good(2), "bad"))
    (folder / "web" / "b.jsonl").write_text(ndjson(good(3)))
    (folder / "notes.txt").write_text("skip me")
    result = stack.cli("upload", str(folder), "--prefix", "batch1/", "--wait", "--timeout", "60")
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stderr and "notes.txt" in result.stderr
    lines = [
        line.split() for line in result.stdout.splitlines() if line.strip().startswith("batch1/")
    ]
    assert [row[:4] for row in lines] == [
        ["batch1/web/a.log", "2", "1", "0"],
        ["batch1/web/b.jsonl", "1", "0", "0"],
    ]
    total = next(line for line in result.stdout.splitlines() if "total (2 files)" in line)
    assert total.split()[3:6] == ["3", "1", "0"]
    assert "waiting for 2 file(s) to be processed" in result.stderr  # the progress bar


def test_poison_message_is_dead_lettered_after_three_receives(stack: Stack) -> None:
    url = stack.sqs.get_queue_url(QueueName="loglake-ingest")["QueueUrl"]
    stack.sqs.send_message(QueueUrl=url, MessageBody="this is not an S3 notification")
    stack.s3.put_object(
        Bucket="loglake-raw", Key="fine.log", Body=ndjson(good(1), good(2)).encode()
    )
    assert stack.wait_manifest("fine.log")["valid"] == 2
    deadline = time.monotonic() + 60
    while stack.depth("loglake-ingest-dlq") == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stack.depth("loglake-ingest-dlq") == 1
    dlq = stack.sqs.get_queue_url(QueueName="loglake-ingest-dlq")["QueueUrl"]
    dead = stack.sqs.receive_message(QueueUrl=dlq, AttributeNames=["ApproximateReceiveCount"])[
        "Messages"
    ][0]
    assert dead["Body"] == "this is not an S3 notification"


def test_killed_worker_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    server, stack = start_stack(tmp_path, "--no-worker", "--visibility-timeout", "4")
    try:
        lines = 60_000
        body = ndjson(*(good(i, f"2025-07-{10 + i % 5}") for i in range(lines)), "bad")
        stack.s3.put_object(Bucket="loglake-raw", Key="big.log", Body=body.encode())
        slow = stack.env | {"CHUNK_BYTES": "65536"}
        first = Proc(["worker", "--wait-seconds", "1"], slow)
        stack.wait_attempt()
        first.stop(signal.SIGKILL)
        assert stack.manifest("big.log") is None and stack.attempts()
        second = Proc(["worker", "--wait-seconds", "1"], stack.env)
        done = stack.wait_manifest("big.log", timeout=120)
        assert (done["valid"], done["invalid"]) == (lines, 1)
        rows = stack.query(
            "valid_vs_invalid",
            "-p",
            "start=2025-07-01",
            "-p",
            f"end={time.strftime('%Y-%m-%d', time.gmtime())}",
        )
        assert rows == [{"source_uri": "s3://loglake-raw/big.log", "valid": lines, "invalid": 1}]
        assert second.stop() == 0
    finally:
        server.stop()


def test_stopped_stack_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
    )
    env.update(AWS_MAX_ATTEMPTS="1")
    result = subprocess.run(
        [*LOGLAKE, "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Error: cannot reach") and result.stderr.count("\n") == 1


def test_worker_processes_share_the_queue_and_stop_together(tmp_path: Path) -> None:
    server, stack = start_stack(tmp_path, "--no-worker")
    try:
        for i in range(6):
            stack.s3.put_object(
                Bucket="loglake-raw",
                Key=f"many/{i}.log",
                Body=ndjson(good(i), good(i + 100)).encode(),
            )
        workers = Proc(["worker", "--concurrency", "2", "--wait-seconds", "1"], stack.env)
        for i in range(6):
            assert stack.wait_manifest(f"many/{i}.log")["valid"] == 2
        pattern = ["pgrep", "-f", "--", f"--queue-url {stack.url}"]
        running = subprocess.run(pattern, capture_output=True, text=True)
        assert running.returncode == 0 and len(running.stdout.split()) == 2  # the two children
        assert workers.stop(signal.SIGTERM) == 0
        children = subprocess.run(pattern, capture_output=True, text=True)
        assert (children.returncode, children.stdout) == (1, "")  # 1: no process matched
    finally:
        server.stop()


def test_upload_wait_times_out_clearly_without_a_worker(tmp_path: Path) -> None:
    server, stack = start_stack(tmp_path, "--no-worker")
    try:
        result = stack.cli("upload", str(SAMPLE), "--wait", "--timeout", "2")
        assert result.returncode == 2
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(
            "Error: not processed within 2 s: sample_log.log. Is a worker running"
        )
    finally:
        server.stop()


def test_local_up_says_what_became_of_each_file_in_one_line(tmp_path: Path) -> None:
    server, stack = start_stack(tmp_path)
    try:
        stack.s3.put_object(Bucket="loglake-raw", Key="sample_log.log", Body=SAMPLE.read_bytes())
        big = ndjson(*(good(i) for i in range(30_000)), "oops")
        stack.s3.put_object(Bucket="loglake-raw", Key="big.log", Body=big.encode())
        stack.wait_manifest("sample_log.log")
        stack.wait_manifest("big.log")
        server.wait_for("processed s3://loglake-raw/big.log")
        said = [line for line in server.lines if line.startswith("processed s3://")]
        assert said[0].startswith(
            "processed s3://loglake-raw/sample_log.log  3 valid, 1 invalid, 0 blank  (401 bytes, "
        ), said
        assert said[1].startswith("processed s3://loglake-raw/big.log  30,000 valid, 1 invalid")
        assert not [line for line in server.lines if line.startswith("{")], server.lines
        assert not [line for line in server.lines if line.startswith("batch:")]  # all done
    finally:
        server.stop()


def test_ctrl_c_while_upload_waits_says_the_files_are_safe(tmp_path: Path) -> None:
    server, stack = start_stack(tmp_path, "--no-worker")
    try:
        notes = tmp_path / "notes.txt"
        notes.write_text("not a log\n")
        nothing = stack.cli("upload", str(notes), "--wait")
        assert nothing.returncode == 0 and nothing.stdout.splitlines() == [
            "uploaded s3://loglake-raw/notes.txt"
        ]  # no empty table
        assert "nothing to wait for: no uploaded file is one loglake reads" in nothing.stderr
        waiting = Proc(["upload", str(SAMPLE), "--wait"], stack.env)
        waiting.wait_for("waiting for 1 file(s)")
        assert waiting.stop(signal.SIGINT) == 130
        assert waiting.lines[-1] == (
            "stopped waiting: the 1 file(s) are uploaded and will still be processed; "
            "`loglake status` shows how far it got"
        ), waiting.lines
        assert "Aborted!" not in waiting.lines
    finally:
        server.stop()


def test_worker_rides_out_a_five_second_outage_mid_object(tmp_path: Path) -> None:
    """The worker reaches the stack through a proxy that refuses and cuts connections for 5 s."""
    server, stack = start_stack(tmp_path, "--no-worker", "--visibility-timeout", "10")
    proxy = Proxy(int(stack.url.rsplit(":", 1)[1]))
    worker = Proc(
        ["worker", "--wait-seconds", "1"],
        stack.env | {"AWS_ENDPOINT_URL": proxy.url, "CHUNK_BYTES": "65536", "WORKERS": "1"},
    )
    try:
        worker.wait_for("worker consuming")
        lines = 60_000
        body = ndjson(*(good(i, f"2025-07-{10 + i % 5}") for i in range(lines)), "bad")
        stack.s3.put_object(Bucket="loglake-raw", Key="outage.log", Body=body.encode())
        stack.wait_attempt()
        proxy.outage(5)
        done = stack.wait_manifest("outage.log", timeout=180)
        assert (done["valid"], done["invalid"]) == (lines, 1)
        assert worker.proc.poll() is None, "\n".join(worker.lines[-20:])
        stack.s3.put_object(Bucket="loglake-raw", Key="after.log", Body=ndjson(good(1)).encode())
        assert stack.wait_manifest("after.log")["valid"] == 1  # still consuming
        rows = stack.query("valid_vs_invalid", "-p", "start=2025-07-01", "-p", "end=2100-01-01")
        assert {r["source_uri"]: (r["valid"], r["invalid"]) for r in rows} == {
            "s3://loglake-raw/outage.log": (lines, 1),
            "s3://loglake-raw/after.log": (1, 0),
        }
        assert stack.depth("loglake-ingest-dlq") == 0
    finally:
        worker.stop()
        proxy.close()
        server.stop()


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (ClientError({"Error": {"Code": "SlowDown"}}, "PutObject"), True),
        (
            ClientError(
                {"Error": {"Code": "X"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Op"
            ),
            True,
        ),
        (ClientError({"Error": {"Code": "AccessDenied"}}, "ReceiveMessage"), False),
        (ClientError({"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue"}}, "R"), False),
        (NoCredentialsError(), False),
    ],
)
def test_worker_tells_transient_faults_from_permanent_ones(exc: Exception, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_every_mistake_is_one_error_line_and_exit_2(stack: Stack) -> None:
    """The bad invocations new users made (issue #11): one line that says what to do, exit 2."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        cases = [
            (["backfill", "notans3uri"], "not an S3 URI"),
            (["process", "s3://loglake-raw/nosuch.log"], "does not exist"),
            (["backfill", "s3://loglake-raw/empty/"], "no objects ending in"),
            (["query", "level_counts", "--engine", "athena"], "use --engine local"),
            (["query", "latest_processed", "-p", "limit=-5"], "must be at least 1"),
            (["query", "latest_processed", "-p", "limit=ten"], "must be an int like 10"),
            (["local", "up", "--port", port], "cannot listen on"),
            (["query", "nosuch"], "unknown query"),
        ]
        for args, expected in cases:
            result = stack.cli(*args)
            assert (result.returncode, result.stdout) == (2, ""), (args, result)
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, (
                args,
                result.stderr,
            )
            assert expected in result.stderr, (args, result.stderr)


def test_target_options_work_after_the_command(stack: Stack) -> None:
    env = {k: v for k, v in stack.env.items() if k not in ("AWS_ENDPOINT_URL", "AWS_REGION")}
    env.pop("AWS_DEFAULT_REGION", None)
    for args in (
        ["query", "level_counts", "--endpoint-url", stack.url, "--region", "us-east-1"],
        ["status", "--endpoint-url", stack.url],
        ["--endpoint-url", stack.url, "status"],
    ):
        result = subprocess.run(LOGLAKE + args, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (args, result.stderr)
    helped = subprocess.run([*LOGLAKE, "deploy", "--help"], capture_output=True, text=True)
    assert "--region" in helped.stdout and "--profile" in helped.stdout


def test_a_sources_file_routes_objects_as_a_deployed_stack_would(tmp_path: Path) -> None:
    """``local up --sources``: the notification filters come from the sources' globs (as
    ``loglake deploy`` makes them); each object is read by its source; a key no filter admits
    never reaches the worker, and one a filter admits but no source matches is skipped."""
    fixtures = Path(__file__).parent / "fixtures" / "producers"
    sources = tmp_path / "sources.toml"
    sources.write_text(
        "[[source]]\nname = 'nginx'\nmatch = 'nginx/**.log'\nformat = 'combined'\n"
        "[[source]]\nname = 'system'\nmatch = 'syslog/*/messages'\nformat = 'syslog'\n"
    )
    proc, stack = start_stack(tmp_path, "--sources", str(sources), "--visibility-timeout", "3")
    try:
        stack.s3.put_object(
            Bucket="loglake-raw",
            Key="nginx/2025/access.log",
            Body=(fixtures / "apache.combined").read_bytes(),
        )
        stack.s3.put_object(
            Bucket="loglake-raw",
            Key="syslog/host1/messages",
            Body=(fixtures / "syslog3164.log").read_bytes(),
        )
        stack.s3.put_object(Bucket="loglake-raw", Key="other/app.log", Body=b"{}\n")
        stack.s3.put_object(Bucket="loglake-raw", Key="syslog/host1/sub/messages", Body=b"x\n")
        access = stack.wait_manifest("nginx/2025/access.log")
        assert (access["source"], access["format"], access["valid"]) == ("nginx", "combined", 1)
        system = stack.wait_manifest("syslog/host1/messages")
        assert (system["source"], system["valid"]) == ("system", 2)
        time.sleep(3)
        assert stack.manifest("other/app.log") is None  # no filter admits it
        assert stack.manifest("syslog/host1/sub/messages") is None  # admitted, no source: skipped
        assert stack.depth("loglake-ingest-dlq") == 0
        status = stack.cli("status")
        assert "objects by source" in status.stdout
        assert "1  nginx (combined)" in status.stdout and "1  system (syslog)" in status.stdout
    finally:
        assert proc.stop() == 0


def test_a_stopped_stack_leaves_its_port_free_at_once() -> None:
    """Connections the server closed stay in TIME_WAIT for up to a minute; they must not make
    the next `local up` on the same port fail."""
    from loglake.local.server import MotoServer

    port = free_port()
    first = MotoServer("127.0.0.1", port)
    url = first.start()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET /moto-api/data.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while client.recv(65536):  # until the server closes first: its side goes to TIME_WAIT
            pass
    first.stop()
    again = MotoServer("127.0.0.1", port)
    assert again.start() == url
    with socket.socket() as sock:  # and a port someone listens on is still refused
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = MotoServer("127.0.0.1", sock.getsockname()[1])
        with pytest.raises(LoglakeError, match="cannot listen on"):
            taken.start()
    again.stop()

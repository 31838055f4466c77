"""``loglake local up`` and ``loglake demo``: moto's server, provisioning and a worker, together."""

from __future__ import annotations

import gzip
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from handler.config import Config

from ..resources import SAMPLE_LOG
from ..settings import Settings
from ..target import session
from .provision import Names, Stack, provision
from .server import MotoServer
from .worker import Worker

SAMPLE = SAMPLE_LOG
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": "us-east-1",
}


@contextmanager
def running_stack(host: str, port: int, names: Names) -> Iterator[tuple[str, Stack]]:
    """Start moto's server, point this process at it, provision; stop it on exit."""
    for key, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ["AWS_REGION"])
    server = MotoServer(host, port)
    try:
        url = server.start()
    except OSError as exc:
        from handler.exceptions import LoglakeError

        raise LoglakeError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pass --port with a free port"
        ) from None
    os.environ["AWS_ENDPOINT_URL"] = url
    os.environ["PROCESSED_BUCKET"] = names.processed_bucket
    try:
        stack = provision(session(), names, Config.from_env())
        yield url, stack
    finally:
        server.stop()


def banner(url: str, stack: Stack) -> str:
    """What ``local up`` prints: where everything is, and how to point a shell at it."""
    n = stack.names
    read = (
        f"objects the sources in {stack.sources_file} match are processed"
        if stack.sources_file
        else f"objects ending in {', '.join(n.suffixes)} are processed"
    )
    return "\n".join(
        [
            f"loglake local stack on {url}",
            f"  raw bucket        s3://{n.raw_bucket}  ({read})",
            f"  processed bucket  s3://{n.processed_bucket}",
            f"  queue             {stack.queue_url}",
            f"  dead letters      {stack.dlq_url}  (after {n.max_receive_count} receives)",
            f"  tables            {', '.join(stack.tables)}",
            "",
            "In another shell:",
            f"  export AWS_ENDPOINT_URL={url}",
            "  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1",
            f"  aws s3 cp app.log s3://{n.raw_bucket}/      # or: loglake upload app.log --wait",
            "  loglake query level_counts",
            "",
            "Ctrl-C stops (messages in flight go back to the queue).",
        ]
    )


def serve(worker: Worker | None, log: Callable[[str], Any]) -> None:
    """Run the worker (or just wait) until Ctrl-C or SIGTERM; a second Ctrl-C stops at once."""
    stop = worker.stop if worker else threading.Event()
    signals = {"count": 0}

    def on_signal(signum: int, frame: Any) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            raise KeyboardInterrupt
        log("stopping: finishing the current batch, releasing the rest (Ctrl-C again to quit now)")
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if worker:
            worker.run()
        else:
            while not stop.wait(0.5):
                pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def demo_files(folder: Path, lines: int = 3000, first_day: date | None = None) -> list[Path]:
    """The tutorial's four-line sample plus generated logs over the 7 days from ``first_day``
    (default: a week ago, so the report's default range shows them), one of them gzipped."""
    first_day = first_day or datetime.now(UTC).date() - timedelta(days=7)
    from ..corpus import generate

    folder.mkdir(parents=True, exist_ok=True)
    sample = folder / "sample_log.log"  # the tutorial's lines, dated on the week's first day
    sample.write_text(SAMPLE.read_text().replace("2025-07-21", first_day.isoformat()))
    app = folder / "app" / "web-1.log"
    app.parent.mkdir(exist_ok=True)
    generate(app, lines, seed=1, first_day=first_day)
    plain = folder / "app" / "web-2.jsonl"
    generate(plain, lines, seed=2, first_day=first_day)
    zipped = folder / "app" / "web-2.log.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    return [sample, app, zipped]


def temp_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="loglake-demo-"))


def names_from_env(**overrides: Any) -> Names:
    """Names from the settings (RAW_BUCKET, PROCESSED_BUCKET, LOGLAKE_QUEUE, LOG_SUFFIXES)."""
    settings = Settings.from_env()
    names = Names(
        raw_bucket=settings.raw_bucket,
        processed_bucket=settings.processed_bucket,
        queue=settings.queue,
        dead_letter_queue=settings.queue + "-dlq",
        suffixes=settings.suffixes,
    )
    return replace(names, **{k: v for k, v in overrides.items() if v is not None})

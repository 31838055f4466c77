"""``loglake demo``: the whole event path on this machine, end to end, with query results."""

from __future__ import annotations

import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from handler.config import Config

from ..engines import LocalEngine
from ..queries import resolve
from ..render import render, table
from ..report import Progress, write_report
from ..target import session
from ..upload import upload as put
from ..upload import wait_for_manifests
from .server import free_port
from .stack import demo_files, names_from_env, running_stack, temp_folder
from .worker import Worker


def run_demo(lines: int, report: Path, progress: Progress) -> None:
    """Start the local stack on a free port, upload the tutorial's sample plus generated logs,
    wait for the event path to process them, print saved queries' results and write the report
    page to ``report``."""
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    names = names_from_env()
    with running_stack("127.0.0.1", free_port(), names) as (url, stack):
        click.echo(
            f"local stack on {url}: raw s3://{names.raw_bucket}, queue {stack.queue_url.rsplit('/', 1)[-1]}"
        )
        aws = session()
        consumer = Worker(stack.queue_url, aws, wait_seconds=1, log=lambda m: None)
        thread = threading.Thread(target=consumer.run, name="loglake-worker", daemon=True)
        thread.start()
        try:
            folder = temp_folder()
            files = demo_files(folder, lines)
            keyed = [(f, f.relative_to(folder).as_posix()) for f in files]
            total = sum(f.stat().st_size for f in files)
            with click.progressbar(length=total, label="uploading", file=sys.stderr) as bar:
                uploaded = put(aws, names.raw_bucket, keyed, bar.update)
            click.echo("waiting for S3 notification -> SQS -> handler ...", err=True)
            found, missing = wait_for_manifests(
                aws, names.raw_bucket, Config.from_env(), uploaded, 180
            )
            if missing:
                raise click.ClickException(
                    f"not processed in time: {', '.join(u.key for u in missing)}"
                )
            click.echo(
                table(
                    ["file", "lines", "valid", "invalid", "blank", "seconds"],
                    [
                        (
                            u.key,
                            found[u.key]["lines_read"],
                            found[u.key]["valid"],
                            found[u.key]["invalid"],
                            found[u.key]["blank"],
                            found[u.key]["seconds"],
                        )
                        for u in uploaded
                    ],
                ),
                nl=False,
            )
            engine = LocalEngine(aws, Config.from_env().glue_database)
            for ref, params in (
                ("level_counts", {}),
                ("latest_errors", {"limit": "5"}),
                (
                    "valid_vs_invalid",
                    {"start": "2025-07-01", "end": datetime.now(UTC).date().isoformat()},
                ),
            ):
                saved = resolve(ref)
                shown = " ".join(f"-p {k}={v}" for k, v in params.items())
                click.echo(f"\n$ loglake query {ref} {shown}".rstrip())
                frame = engine.run(saved, saved.bind(params))
                if ref == "latest_errors":
                    frame = frame[["error_code", "source_uri", "source_line", "error_detail"]]
                click.echo(render(frame, "table"), nl=False)
            click.echo("\nwriting the report (the last week) ...", err=True)
            write_report(
                report, None, None, "local", aws, Config.from_env().glue_database, progress
            )
            size = report.stat().st_size / 1e6
            click.echo(f"\nreport: {report.resolve()} ({size:.1f} MB; open it in any browser)")
        finally:
            consumer.stop.set()
            thread.join(timeout=10)
    click.echo(
        "\ndemo done: the same handler, queries and tables run on AWS with `loglake deploy`."
    )

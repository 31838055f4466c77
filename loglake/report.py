"""``loglake report``: the lake as one self-contained HTML page, every number from a saved query.

The report runs the saved queries in ``PANELS`` (and ``report_headline``), and those of
``AWS_PANELS`` whose table has rows, over one range of days
on the local engine or on Athena, at the same time, and hands their results to ``page.py``. The
page names, under each chart, the query and the parameters that produced it, so anyone can rerun
it with ``loglake query``. Nothing on it is computed here: this module only picks the range and
the time bucket, and runs queries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd

from .engines import engine_for
from .exceptions import QueryError, ReportError
from .queries import resolve
from .render import plural

#: Days a report covers when ``--since`` is not given (the last week and today).
DEFAULT_DAYS = 7
#: Longest range drawn per hour; longer ones are drawn per day.
HOURLY_MAX_DAYS = 8
#: Queries run at once (Athena runs each on its own; DuckDB's scans overlap their S3 reads).
PARALLEL = 4

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Panel:
    """One saved query's result, and what the page calls it."""

    key: str
    title: str
    ref: str  # name@vN, the version that ran
    params: dict[str, str]
    rows: pd.DataFrame

    @property
    def command(self) -> str:
        """The ``loglake query`` command that gives these rows again."""
        shown = " ".join(f"-p {k}={v}" for k, v in self.params.items())
        return f"loglake query {self.ref} {shown}".rstrip()


@dataclass(frozen=True)
class Report:
    """Everything the page shows, for one range of days."""

    since: date
    until: date
    bucket: str  # hour or day
    engine: str
    generated_at: datetime
    panels: dict[str, Panel]

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


#: key, title, saved query, parameters beyond start/end (``bucket`` is filled in per range).
PANELS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("headline", "Headline", "report_headline", ()),
    ("volume", "Log volume by level", "volume_by_level", ("bucket",)),
    ("error_rate", "Error rate (ERROR, CRITICAL, FATAL)", "error_rate", ("bucket",)),
    ("invalid", "Invalid lines by error code", "invalid_by_code", ("bucket",)),
    ("sources", "Invalid share per source object", "invalid_share_by_source", ()),
    ("top_errors", "Top messages at ERROR and above", "top_error_messages", ()),
    ("lag", "Ingestion lag (ingested_at - event_time)", "ingestion_lag", ("bucket",)),
    ("files", "Lake health: files per partition", "partition_files", ()),
)
#: Panels of AWS's own logs, shown when their table has rows in the range.
AWS_PANELS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("alb", "ALB: requests by status class, target latency", "alb_status_over_time", ("bucket",)),
    ("vpc", "VPC Flow Logs: accepted and rejected flows", "vpc_accepted_vs_rejected", ("bucket",)),
    ("cloudtrail", "CloudTrail: events by name and error code", "cloudtrail_events_by_name", ()),
)


def day_range(
    since: date | None, until: date | None, today: date | None = None
) -> tuple[date, date]:
    """The report's days: ``until`` defaults to today (UTC), ``since`` to a week before it."""
    until = until or today or datetime.now(UTC).date()
    since = since or until - timedelta(days=DEFAULT_DAYS)
    if since > until:
        raise ReportError(
            f"--since {since} is after --until {until}: give a first day on or before the last"
        )
    return since, until


def gather(
    engine: str,
    session: boto3.Session,
    database: str,
    since: date,
    until: date,
    progress: Progress | None = None,
    workgroup: str = "primary",
    s3_output: str | None = None,
) -> Report:
    """Run every panel's saved query over ``since``..``until`` and collect the results."""
    runner = engine_for(engine, session, database, workgroup, s3_output, list_once=True)
    bucket = "hour" if (until - since).days + 1 <= HOURLY_MAX_DAYS else "day"
    base = {"start": since.isoformat(), "end": until.isoformat()}

    def one(key: str, title: str, name: str, extra: tuple[str, ...]) -> tuple[Panel, float]:
        started = time.monotonic()
        saved = resolve(name)
        params = base | ({"bucket": bucket} if "bucket" in extra else {})
        try:
            rows = runner.run(saved, saved.bind(params))
        except QueryError:
            if key not in aws:
                raise
            rows = pd.DataFrame()  # a lake made before the AWS tables: nothing to show
        return Panel(key, title, saved.ref, params, rows), time.monotonic() - started

    aws = {key for key, *_ in AWS_PANELS}
    every = PANELS + AWS_PANELS
    panels: dict[str, Panel] = {}
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = [pool.submit(one, *spec) for spec in every]
        for done, future in enumerate(as_completed(futures), 1):
            panel, seconds = future.result()
            panels[panel.key] = panel
            if progress:
                progress(
                    done,
                    len(every),
                    f"{panel.ref} ({plural(len(panel.rows), 'row')}, {seconds:.1f} s)",
                )
    ordered = {
        key: panels[key] for key, *_ in every if key not in aws or not panels[key].rows.empty
    }
    return Report(since, until, bucket, engine, datetime.now(UTC), ordered)


def write_report(
    output: Path,
    since: date | None,
    until: date | None,
    engine: str,
    session: boto3.Session,
    database: str,
    progress: Progress | None = None,
    workgroup: str = "primary",
    s3_output: str | None = None,
) -> Path:
    """Run the report's queries and write the page to ``output``; return its path."""
    if not output.parent.is_dir():
        raise ReportError(f"cannot write {output}: folder {output.parent} does not exist")
    if output.is_dir():
        raise ReportError(
            f"cannot write {output}: it is a folder; give a file name like report.html"
        )
    try:
        from .page import render
    except ModuleNotFoundError as exc:
        raise ReportError(
            f"loglake report needs {exc.name}: pip install 'loglake[local]'"
        ) from None
    first, last = day_range(since, until)
    report = gather(engine, session, database, first, last, progress, workgroup, s3_output)
    output.write_text(render(report), encoding="utf-8")
    return output

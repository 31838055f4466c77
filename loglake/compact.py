"""``loglake compact``: options checked, partitions compacted, one line per partition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import boto3

from handler.compaction import CompactOptions, PartitionResult, compact_lake
from handler.config import Config

from .exceptions import CompactUsageError
from .render import size_text

MB = 1_000_000


def options_from(
    which: str,
    dt: str | None,
    since: str | None,
    until: str | None,
    min_age_hours: float,
    target_mb: int,
    dry_run: bool,
) -> CompactOptions:
    """The command's options as ``CompactOptions``; a bad combination is a ``CompactUsageError``."""
    for name, value in (("--dt", dt), ("--since", since), ("--until", until)):
        if value is not None:
            _day(name, value)
    if dt and (since or until):
        raise CompactUsageError("give either --dt or --since/--until, not both")
    if since and until and since > until:
        raise CompactUsageError(f"--since {since} is after --until {until}")
    return CompactOptions(
        tables=None if which == "all" else (which,),
        since=dt or since,
        until=dt or until,
        min_age=timedelta(hours=min_age_hours),
        target_bytes=target_mb * MB,
        dry_run=dry_run,
    )


def _day(name: str, value: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise CompactUsageError(f"{name} must be a day like 2025-07-21, got {value!r}") from None


def describe(result: PartitionResult) -> str:
    """One partition's line: files and bytes before and after, rows, seconds, or why not."""
    where = f"{result.table} dt={result.dt}"
    if result.outcome in {"skipped", "aborted"}:
        return f"{where}: {result.outcome}, {result.reason}"
    verb = "would merge" if result.outcome == "dry_run" else "merged"
    rows = f", {result.rows:,} rows" if result.rows else ""
    return (
        f"{where}: {verb} {result.files_before:,} files into {result.files_after:,}, "
        f"{size_text(result.bytes_before)} -> {size_text(result.bytes_after)}{rows}, {result.seconds:.1f} s"
    )


def compact(
    config: Config,
    session: boto3.Session,
    options: CompactOptions,
    progress: Callable[[int, int, str], None],
) -> str:
    """Compact the chosen partitions, reporting each; return a summary line."""
    unknown = sorted(set(options.tables or ()) - set(config.tables))
    if unknown:
        raise CompactUsageError(
            f"--table {unknown[0]!r} is not a table of {', '.join(map(str, config.ddl_dirs))}; give all or one of "
            f"{', '.join(config.tables)}"
        )
    results = compact_lake(
        config, session, options, lambda n, total, result: progress(n, total, describe(result))
    )
    done = [r for r in results if r.outcome in {"compacted", "dry_run"}]
    before = sum(r.files_before for r in done)
    after = sum(r.files_after for r in done)
    verb = "would compact" if options.dry_run else "compacted"
    left = len(results) - len(done)
    return f"{verb} {len(done)} of {len(results)} partition(s): {before:,} files -> {after:,}" + (
        f"; {left} left as they are (see above)" if left else ""
    )

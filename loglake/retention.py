"""``loglake retention``: each table's retention, and expiring what it says, one line a partition."""

from __future__ import annotations

from collections.abc import Callable

import boto3

from handler.config import Config
from handler.retention import Expiry, RetentionOptions, apply_retention, cutoffs

from .exceptions import LifecycleUsageError
from .render import size_text


def describe(result: Expiry) -> str:
    """One partition's line: what was (or would be) removed, or what it waits for."""
    where = f"{result.table} dt={result.dt}"
    what = f"{result.files:,} files, {result.rows:,} rows, {size_text(result.bytes)}"
    gone = f"; {result.vanished:,} files had vanished" if result.vanished else ""
    if result.outcome == "dry_run":
        return f"{where}: would remove {what}{gone}"
    if result.outcome == "waiting":
        return f"{where}: expired; {result.files:,} files kept for running queries until the grace ends"
    if result.outcome == "vanished":
        return f"{where}: {result.vanished:,} files deleted outside loglake, no longer shown"
    return f"{where}: removed {what}{gone}, {result.seconds:.1f} s"


def plan(config: Config) -> list[str]:
    """Each table's retention, for ``loglake retention show``."""
    keep = cutoffs(config)
    lines = []
    for name, table in config.tables.items():
        days = table.retention_days
        lines.append(
            f"{name:<22} {days:>5,} days (partitions before {keep[name]} are removed)"
            if days
            else f"{name:<22}  kept forever (set 'loglake.retention_days' in its glue_ddl file)"
        )
    return lines


def apply(
    config: Config,
    session: boto3.Session,
    tables: tuple[str, ...] | None,
    dry_run: bool,
    progress: Callable[[int, int, str], None],
) -> str:
    """Expire what each table's retention says, reporting each partition; a summary line."""
    unknown = sorted(set(tables or ()) - set(config.tables))
    if unknown:
        raise LifecycleUsageError(
            f"--table {unknown[0]!r} is not a table; give one of {', '.join(config.tables)}"
        )
    options = RetentionOptions(tables=tables, dry_run=dry_run)
    results = apply_retention(
        config, session, options, lambda n, total, r: progress(n, total, describe(r))
    )
    gone = [r for r in results if r.outcome in {"expired", "removed", "dry_run"}]
    verb = "would remove" if dry_run else "removed"
    rows, size = sum(r.rows for r in gone), sum(r.bytes for r in gone)
    vanished = sum(r.vanished for r in results)
    return (
        f"{verb} {len(gone)} expired partition(s): {sum(r.files for r in gone):,} files, "
        f"{rows:,} rows, {size_text(size)}"
        + (f"; {vanished:,} files had been deleted outside loglake" if vanished else "")
    )

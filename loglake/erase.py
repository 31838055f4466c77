"""``loglake erase``: the options checked, the predicate compiled, the erasure run or listed."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import date

import boto3

from handler.config import Config
from handler.erasure import EraseRequest, Erasures, PartitionErasure, erase_lake
from handler.objects import now

from .exceptions import LifecycleUsageError
from .predicate import compile_predicate
from .render import size_text


def request(
    config: Config,
    table: str,
    where: str,
    since: str | None,
    until: str | None,
    dry_run: bool,
    by: str = "",
) -> EraseRequest:
    """The erasure asked for, checked: a known table (``processed`` or ``processed_logs``), a
    plain predicate over its columns, days in order (``--until`` defaults to today, UTC)."""
    roles = {config.catalog_name(name): name for name in config.tables}
    role = table if table in config.tables else roles.get(table)
    if role is None:
        raise LifecycleUsageError(
            f"--table {table!r} is not a table; give one of {', '.join(config.tables)}"
        )
    for name, value in (("--since", since), ("--until", until)):
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise LifecycleUsageError(
                    f"{name} must be a day like 2025-07-21, got {value!r}"
                ) from None
    until = until or now().date().isoformat()
    if since and since > until:
        raise LifecycleUsageError(f"--since {since} is after --until {until}")
    tree = compile_predicate(where, config.tables[role].types)
    return EraseRequest(role, where, tree, since, until, dry_run, by)


def caller(session: boto3.Session) -> str:
    """Who is erasing, where known: the AWS identity, or the local user."""
    try:
        return str(session.client("sts").get_caller_identity()["Arn"])
    except Exception:
        return getpass.getuser()


def describe(result: PartitionErasure) -> str:
    """One partition's line."""
    where = f"{result.table} dt={result.dt}"
    if result.outcome == "unchanged":
        return f"{where}: no matching rows"
    if result.outcome == "done":
        return f"{where}: erased by an earlier run of this erasure"
    if result.outcome == "expired":
        return f"{where}: expired by retention, nothing to erase"
    files = f"{result.rows:,} rows in {result.files:,} files"
    if result.outcome == "dry_run":
        return f"{where}: would erase {files} ({size_text(result.bytes)} to rewrite)"
    return (
        f"{where}: erased {files} ({size_text(result.bytes)} rewritten to "
        f"{size_text(result.written)}), {result.seconds:.1f} s"
    )


def erase(
    config: Config,
    session: boto3.Session,
    asked: EraseRequest,
    progress: Callable[[int, int, str], None],
) -> str:
    """Run (or dry-run) the erasure, a line per partition; the summary line."""
    s3 = config.retrying(session).client("s3")
    doc, results = erase_lake(
        config, s3, asked, lambda n, total, r: progress(n, total, describe(r))
    )
    hit = [r for r in results if r.outcome in {"erased", "dry_run"}]
    rows, files = sum(r.rows for r in hit), sum(r.files for r in hit)
    size = size_text(sum(r.bytes for r in hit))
    if asked.dry_run:
        return f"would erase {rows:,} rows in {files:,} files of {len(hit)} partition(s), {size} to rewrite"
    return (
        f"erasure {doc['id']}: {rows:,} rows erased now ({doc['rows']:,} in all) from {files:,} "
        f"files of {len(hit)} partition(s), {size} rewritten; every later write of a replayed "
        "object applies it (loglake erase --list)"
    )


def listing(config: Config, session: boto3.Session) -> list[str]:
    """One line per erasure record, oldest first."""
    s3 = session.client("s3")
    docs = Erasures(s3, config.processed_bucket, config.manifest_prefix).all_docs()
    if not docs:
        return ["no erasures"]
    lines = []
    for doc in docs:
        span = f"{doc.get('since') or 'first day'}..{doc['until']}"
        lines.append(
            f"{doc['id']}  {doc['created_at']}  {doc['state']:<7}  {doc['table']} {span}  "
            f"{doc['rows']:,} rows  by {doc.get('by') or 'unknown'}  where {doc['where']}"
        )
    return lines

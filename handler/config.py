"""One configuration object; every setting can come from the environment.

Loaded once per cold start (``Config.from_env()``), so a bad value fails the first invocation
with a clear message instead of half-processing objects.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

from .ddl import DEFAULT_DDL_DIR, TableDef, load_tables, table_files
from .exceptions import ConfigError
from .rules import FieldRule, parse_rules
from .sources import DEFAULT_SOURCES, Source, load_sources, match_source

MiB = 1024 * 1024
#: Lambda gives a function one full vCPU per this much memory.
LAMBDA_MB_PER_VCPU = 1769


@dataclass(frozen=True)
class Config:
    """Where the handler writes and how strictly it validates.

    ============================  ======================  ===========================================
    environment variable          default                 meaning
    ============================  ======================  ===========================================
    ``PROCESSED_BUCKET``          ``loglake-processed``   bucket for processed/, errors/, _manifests/
    ``GLUE_DATABASE``             ``log_analytics_db``    Glue database of both tables
    ``PROCESSED_TABLE``           ``processed_logs``      table for valid rows
    ``ERRORS_TABLE``              ``errors_logs``         table for invalid lines
    ``MAX_LINE_BYTES``            ``262144``              longer lines are ``line_too_long``
    ``CHUNK_BYTES``               ``8388608`` (8 MiB)     input bytes per batch and per output file
    ``CHUNK_LINES``               ``100000``              lines per batch at most (bounds memory)
    ``CHUNK_VALUES``              ``400000``              JSON values (commas) per batch, about
    ``MAX_DECOMPRESSED_BYTES``    ``53687091200`` (50GiB) past it: one ``decompressed_too_large`` row
    ``WORKERS``                   ``auto``                processes per big object (``auto``: CPUs)
    ``COLUMNAR``                  ``on``                  ``off``: every line through the reference
    ``MIN_TIMESTAMP``             ``2000-01-01``          older events are ``timestamp_out_of_range``
    ``MAX_FUTURE_SECONDS``        ``86400``               events further ahead are out of range too
    ``ATTEMPT_LEASE_SECONDS``     ``3600``                a crashed attempt's record is forgotten after
    ``READER_GRACE_SECONDS``      ``1800``                a file readers stopped seeing is kept this long
    ``AWS_RETRY_MODE``            ``standard``            botocore retry mode (``adaptive`` also works)
    ``AWS_MAX_ATTEMPTS``          ``10``                  tries per AWS call (backoff up to 20 s)
    ``VALIDATION_RULES``          (none)                  custom rules as JSON, see ``rules.py``
    ``VALIDATION_RULES_FILE``     (none)                  the same, read from a file
    ``GLUE_DDL_DIR``              ``glue_ddl/``           folder(s) of the table definitions, ``:``-
                                                          separated: a later one's file wins
    ``SOURCES_FILE``              (none)                  which objects are read how, ``sources.py``
    ============================  ======================  ===========================================
    """

    processed_bucket: str = "loglake-processed"
    glue_database: str = "log_analytics_db"
    processed_table: str = "processed_logs"
    errors_table: str = "errors_logs"
    max_line_bytes: int = 262_144
    chunk_bytes: int = 8 * MiB
    chunk_lines: int = 100_000
    chunk_values: int = 400_000
    max_decompressed_bytes: int = 50 * 1024 * MiB
    workers: int = 1
    columnar: bool = True
    min_timestamp: datetime = datetime(2000, 1, 1)
    max_future: timedelta = timedelta(days=1)
    lease: timedelta = timedelta(hours=1)
    #: How long a file stays readable after the tables stopped listing it: a query that listed it
    #: just before may still open it (Athena's default DML limit is 30 minutes).
    reader_grace: timedelta = timedelta(minutes=30)
    retry_mode: str = "standard"
    max_attempts: int = 10
    rules: tuple[FieldRule, ...] = ()
    #: Folders of table definitions, layered: a file in a later one replaces an earlier one's.
    ddl_dirs: tuple[Path, ...] = (DEFAULT_DDL_DIR,)
    #: The sources, in order (the first that matches a key reads it); ``SOURCES_FILE``.
    sources: tuple[Source, ...] = DEFAULT_SOURCES
    sources_file: Path | None = None
    rules_file: Path | None = None
    processed_prefix: str = "processed/"
    errors_prefix: str = "errors/"
    manifest_prefix: str = "_manifests/"
    read_bytes: int = field(default=1 * MiB, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Build the configuration from environment variables (``os.environ`` by default)."""
        env = os.environ if env is None else env
        rules_text = env.get("VALIDATION_RULES", "")
        origin = "VALIDATION_RULES"
        if env.get("VALIDATION_RULES_FILE"):
            origin = env["VALIDATION_RULES_FILE"]
            try:
                rules_text = Path(origin).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"VALIDATION_RULES_FILE {origin!r} cannot be read: {exc}"
                ) from exc
        config = cls(
            processed_bucket=env.get("PROCESSED_BUCKET", cls.processed_bucket),
            glue_database=env.get("GLUE_DATABASE", cls.glue_database),
            processed_table=env.get("PROCESSED_TABLE", cls.processed_table),
            errors_table=env.get("ERRORS_TABLE", cls.errors_table),
            max_line_bytes=_positive_int(env, "MAX_LINE_BYTES", cls.max_line_bytes),
            chunk_bytes=_positive_int(env, "CHUNK_BYTES", cls.chunk_bytes),
            chunk_lines=_positive_int(env, "CHUNK_LINES", cls.chunk_lines),
            chunk_values=_positive_int(env, "CHUNK_VALUES", cls.chunk_values),
            max_decompressed_bytes=_positive_int(
                env, "MAX_DECOMPRESSED_BYTES", cls.max_decompressed_bytes
            ),
            workers=_workers(env),
            columnar=_switch(env, "COLUMNAR", cls.columnar),
            min_timestamp=_date(env, "MIN_TIMESTAMP", cls.min_timestamp),
            max_future=timedelta(
                seconds=_positive_int(
                    env, "MAX_FUTURE_SECONDS", int(cls.max_future.total_seconds())
                )
            ),
            lease=timedelta(
                seconds=_positive_int(env, "ATTEMPT_LEASE_SECONDS", int(cls.lease.total_seconds()))
            ),
            reader_grace=timedelta(
                seconds=_whole(env, "READER_GRACE_SECONDS", int(cls.reader_grace.total_seconds()))
            ),
            retry_mode=_retry_mode(env),
            max_attempts=_positive_int(env, "AWS_MAX_ATTEMPTS", cls.max_attempts),
            rules=parse_rules(rules_text, origin),
            ddl_dirs=path_list(env, "GLUE_DDL_DIR") or (DEFAULT_DDL_DIR,),
            sources=load_sources(env["SOURCES_FILE"])
            if env.get("SOURCES_FILE")
            else DEFAULT_SOURCES,
            sources_file=Path(env["SOURCES_FILE"]) if env.get("SOURCES_FILE") else None,
            rules_file=Path(origin) if env.get("VALIDATION_RULES_FILE") else None,
        )
        config.tables  # noqa: B018 - read the table definitions now, so a bad one fails at start
        return config

    def botocore_config(self) -> BotoConfig:
        """Retries with backoff for every AWS call: connection refused or reset, timeouts,
        throttling and 5xx answers are tried again (botocore's standard or adaptive mode)."""
        return BotoConfig(
            retries={"mode": self.retry_mode, "max_attempts": self.max_attempts},  # type: ignore[typeddict-item]
            connect_timeout=10,
            read_timeout=120,
        )

    def retrying(self, session: boto3.Session) -> boto3.Session:
        """``session``, whose clients (awswrangler's too) all retry as ``botocore_config`` says.

        awswrangler is not imported for this: ingestion never imports it; where it is loaded
        (the CLI's Athena engine), its clients get the same config.
        """
        session._session.set_default_client_config(self.botocore_config())
        if "awswrangler" in sys.modules:
            sys.modules["awswrangler"].config.botocore_config = self.botocore_config()
        return session

    @cached_property
    def tables(self) -> dict[str, TableDef]:
        """Every table definition with the bucket filled in, keyed by its role: ``processed`` and
        ``errors`` for the two every lake has, a typed table (``alb_logs``...) by its name."""
        defs = load_tables(self.ddl_dirs)
        missing = {"processed_logs", "errors_logs"} - set(defs)
        if missing:
            where = ", ".join(str(d) for d in self.ddl_dirs)
            raise ConfigError(f"{where} lacks {', '.join(sorted(f'{m}.sql' for m in missing))}")
        roles = {"processed_logs": "processed", "errors_logs": "errors"}
        order = [*roles, *sorted(set(defs) - set(roles))]
        return {roles.get(n, n): defs[n].render(self.processed_bucket) for n in order}

    def files(self) -> tuple[Path, ...]:
        """The files this configuration was read from (tables, sources, rules): a long-running
        worker reads it again when one of them changes."""
        named = (self.sources_file, self.rules_file)
        return (*table_files(self.ddl_dirs).values(), *(p for p in named if p is not None))

    def source_for(self, key: str) -> Source | None:
        """The first source that reads ``key``; ``None``: no source does."""
        return match_source(self.sources, key)

    def catalog_name(self, role: str) -> str:
        """The Glue name of a table's role (``PROCESSED_TABLE``, ``ERRORS_TABLE``, or its own)."""
        return {"processed": self.processed_table, "errors": self.errors_table}.get(role, role)


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
    return value


def path_list(env: Mapping[str, str], name: str) -> tuple[Path, ...]:
    """A ``:``-separated list of folders (``os.pathsep``), empty parts skipped: ``GLUE_DDL_DIR``
    here, ``LOGLAKE_QUERIES_DIR`` in the tooling."""
    return tuple(Path(p) for p in env.get(name, "").split(os.pathsep) if p.strip())


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number of at least 0 (``_positive_int`` refuses 0)."""
    raw = env.get(name, "")
    if raw.strip() == "0":
        return 0
    return _positive_int(env, name, default)


def _retry_mode(env: Mapping[str, str]) -> str:
    mode = env.get("AWS_RETRY_MODE", "").strip() or "standard"
    if mode not in {"standard", "adaptive", "legacy"}:
        raise ConfigError(f"AWS_RETRY_MODE must be standard, adaptive or legacy, got {mode!r}")
    return mode


def _workers(env: Mapping[str, str]) -> int:
    """``WORKERS``: a number of processes, or ``auto`` (the default).

    ``auto`` is the CPUs this process may use, but on Lambda no more than the vCPUs its memory
    buys (one per 1,769 MB): a small function still sees two CPUs, yet gets a fraction of one,
    and a second worker would only cost memory.
    """
    raw = env.get("WORKERS", "auto").strip().lower()
    if raw in ("", "auto"):
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        if memory.isdigit():
            cpus = min(cpus, max(1, int(memory) // LAMBDA_MB_PER_VCPU))
        return cpus
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"WORKERS must be a whole number of processes or 'auto', got {raw!r}")
    return int(raw)


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in {"on", "off", "true", "false", "1", "0"}:
        raise ConfigError(f"{name} must be on or off, got {raw!r}")
    return raw in {"on", "true", "1"}


def _date(env: Mapping[str, str], name: str, default: datetime) -> datetime:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an ISO date like 2000-01-01, got {raw!r}") from None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value

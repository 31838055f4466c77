"""The tooling's settings, read from the environment in this one place.

The handler's own settings (processed bucket, tables, limits) are ``handler.config.Config``; these
are the names the CLI and the local stack need besides.

=======================  ==========================================  ============================
environment variable     default                                     meaning
=======================  ==========================================  ============================
``RAW_BUCKET``           ``loglake-raw``                             where log files are uploaded
``PROCESSED_BUCKET``     ``loglake-processed``                       (also read by ``Config``)
``LOGLAKE_QUEUE``        ``loglake-ingest``                          ingest queue name (DLQ: -dlq)
``LOGLAKE_QUEUE_URL``    (from the name)                             a queue URL, for ``worker``
``LOG_SUFFIXES``         ``.log,.log.gz,.jsonl,.jsonl.gz,...``       names that trigger processing
``ATHENA_WORKGROUP``     ``primary``                                 for ``--engine athena``
``ATHENA_OUTPUT``        (the workgroup's)                           Athena result location
=======================  ==========================================  ============================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SUFFIXES = (".log", ".log.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


@dataclass(frozen=True)
class Settings:
    """Names the tooling uses; ``Settings.from_env()`` reads them."""

    raw_bucket: str = "loglake-raw"
    processed_bucket: str = "loglake-processed"
    queue: str = "loglake-ingest"
    queue_url: str | None = None
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES
    athena_workgroup: str = "primary"
    athena_output: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``os.environ`` (or ``env``), defaults for what is unset."""
        env = os.environ if env is None else env
        suffixes = tuple(s.strip() for s in env.get("LOG_SUFFIXES", "").split(",") if s.strip())
        return cls(
            raw_bucket=env.get("RAW_BUCKET") or cls.raw_bucket,
            processed_bucket=env.get("PROCESSED_BUCKET") or cls.processed_bucket,
            queue=env.get("LOGLAKE_QUEUE") or cls.queue,
            queue_url=env.get("LOGLAKE_QUEUE_URL") or None,
            suffixes=suffixes or DEFAULT_SUFFIXES,
            athena_workgroup=env.get("ATHENA_WORKGROUP") or cls.athena_workgroup,
            athena_output=env.get("ATHENA_OUTPUT") or None,
        )

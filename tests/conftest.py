"""Shared fixtures: moto in-process for unit tests, a real lake (buckets + Glue tables) on top."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

import handler.app
from handler.config import Config
from handler.pipeline import Pipeline
from loglake.catalog import apply
from loglake.engines import listed_files
from loglake.local.server import MotoServer

EVENTS = Path(__file__).parent / "events"
SAMPLE = Path(__file__).parent.parent / "loglake" / "samples" / "sample_log.log"
RAW = "loglake-raw"
PROCESSED = "loglake-processed"


def load_event(name: str) -> dict[str, Any]:
    """A real event payload from tests/events/<name>.json."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, a region, and nothing that could reach real AWS."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SOURCES_FILE", raising=False)  # --sources sets it for the process
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "loglake-tests")


class Lake:
    """A raw bucket, a processed bucket and the Glue tables, with helpers to read them back."""

    def __init__(self, session: boto3.Session, config: Config) -> None:
        self.session = session
        self.config = config
        self.s3 = session.client("s3")

    def put(self, key: str, body: bytes | str, gz: bool = False) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.s3.put_object(Bucket=RAW, Key=key, Body=gzip.compress(data) if gz else data)

    def pipeline(self, session: boto3.Session | None = None, **changes: Any) -> Pipeline:
        return Pipeline(dataclasses.replace(self.config, **changes), session or self.session)

    def rows(self, table: str = "processed") -> pd.DataFrame:
        """Every row of a table a reader sees: its Glue table's partitions, their manifests and
        the files those name (the local engine's listing, which follows Athena's)."""
        name = self.config.catalog_name(table)
        columns = [c.name for c in self.config.tables[table].columns] + ["dt"]
        parts = []
        glue = self.session.client("glue")
        for file in listed_files(self.s3, glue, self.config.glue_database, name):
            bucket, key = file.uri.removeprefix("s3://").split("/", 1)
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            frame = pq.read_table(io.BytesIO(body)).to_pandas()
            parts.append(frame.assign(dt=file.dt))
        if not parts:
            return pd.DataFrame(columns=columns)
        frame = pd.concat(parts, ignore_index=True)[columns]
        return frame.sort_values(["source_uri", "source_line"]).reset_index(drop=True)

    def files(self, prefix: str) -> list[str]:
        """Keys in the processed bucket (not the layout marker `catalog apply` wrote at the start)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=PROCESSED, Prefix=prefix)
        keys = (o["Key"] for page in pages for o in page.get("Contents", []))
        return sorted(k for k in keys if k != "_manifests/_layout.json")

    def manifest(self, key: str) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=PROCESSED, Key=f"_manifests/s3/{RAW}/{key}.json")["Body"]
        doc: dict[str, Any] = json.loads(body.read())
        return doc

    def partitions(self, table: str) -> list[str]:
        glue = self.session.client("glue")
        parts = glue.get_partitions(DatabaseName=self.config.glue_database, TableName=table)
        return sorted(p["Values"][0] for p in parts["Partitions"])


def make_lake(**changes: Any) -> Lake:
    session = boto3.Session()
    s3 = session.client("s3")
    s3.create_bucket(Bucket=RAW)
    s3.create_bucket(Bucket=PROCESSED)
    # No grace period: a replaced file is deleted as soon as no manifest names it, so tests can
    # check that nothing is left over (tests of the grace period set one).
    config = dataclasses.replace(Config.from_env({}), **({"reader_grace": timedelta(0)} | changes))
    apply(config, session)
    return Lake(session, config)


@pytest.fixture
def lake(aws_env: None) -> Iterator[Lake]:
    """Buckets and tables in moto, in-process."""
    with mock_aws():
        handler.app._pipeline = None  # a new "cold start" per test
        # One process: a forked worker would write into its own copy of the in-process mock.
        yield make_lake(workers=1)
        handler.app._pipeline = None


@pytest.fixture
def endpoint(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server on a free loopback port; boto3 reaches it over HTTP via AWS_ENDPOINT_URL."""
    server = MotoServer()
    url = server.start()
    # An in-process server shares moto's state with every earlier test in this process: start clean.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    handler.app._pipeline = None
    yield url
    handler.app._pipeline = None
    server.stop()


@pytest.fixture
def served_lake(endpoint: str) -> Lake:
    """Buckets and tables in moto's server, reached over HTTP; big objects use 2 worker processes."""
    return make_lake(workers=2)


def ndjson(*records: dict[str, Any] | str) -> str:
    """Lines of NDJSON; a string is taken as a raw line."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def good(i: int, day: str = "2025-07-21", **extra: Any) -> dict[str, Any]:
    """A valid record, number ``i``, on ``day``."""
    return {
        "timestamp": f"{day}T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "level": "INFO",
        "message": f"event {i}",
        **extra,
    }

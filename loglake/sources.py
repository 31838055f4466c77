"""``loglake sources``: which sources and formats there are, and what one object becomes.

``explain`` reads the first lines of a local file or an S3 object with the handler's own
source matching, decoders and validator, so what it prints is what the pipeline would write.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from handler.config import Config
from handler.formats import FORMATS
from handler.parse import Blank, Joined, batches, decompressed, read_blocks
from handler.pipeline import Pipeline
from handler.records import records
from handler.source import SourceObject, local_file, s3_object, split_s3_uri
from handler.sources import Source, source
from handler.validate import Invalid

__all__ = ["Explained", "Line", "explain", "formats", "sources"]


def formats() -> list[tuple[str, str, str]]:
    """Every built-in format: its name, what it reads, and an example line."""
    return [(f.name, f.summary, f.example) for f in FORMATS.values()]


def sources(config: Config) -> list[tuple[str, str, str, str]]:
    """The configured sources in matching order: name, format, globs, other settings."""
    out = []
    for spec in config.sources:
        settings = {
            k: v for k, v in spec.definition().items() if k not in ("name", "match", "format")
        }
        extra = ", ".join(f"{k}={v!r}" for k, v in settings.items() if k != "max_record_lines")
        out.append((spec.name, spec.format, " ".join(spec.match), extra))
    return out


@dataclass(frozen=True)
class Line:
    """One line and what it becomes: a row's time, level, message and attributes, or an error."""

    number: int
    text: str
    row: dict[str, Any] | None
    error: Invalid | None


@dataclass(frozen=True)
class Explained:
    """Which source reads an object, why, and its first lines."""

    uri: str
    key: str
    source: Source | None
    reason: str
    lines: list[Line]


def explain(
    config: Config, session: boto3.Session, target: str, lines: int = 10, fmt: str | None = None
) -> Explained:
    """What the pipeline would make of the first ``lines`` lines of ``target``."""
    pipeline = Pipeline(config, session)
    obj = _object(pipeline, target)
    spec, reason = _which(pipeline, obj.key, fmt)
    if spec is None:
        return Explained(obj.uri, obj.key, None, reason, [])
    validator = pipeline.reader(spec).validator
    validator.upload = obj.last_modified
    found = []
    many = validator.decode_many is not None
    with obj.open() as stream:
        for number, raw in itertools.islice(_records(stream, spec, config), lines):
            text = raw.decode("utf-8", "replace")
            for verdict in validator.check_many(raw) if many else [validator.check(raw)]:
                found.append(_line(number, text, verdict))
    return Explained(obj.uri, obj.key, spec, reason, found)


def _records(stream: Any, spec: Source, config: Config) -> Iterator[tuple[int, bytes]]:
    """``(line number, record)`` as the pipeline cuts them (multi-line records joined)."""
    pieces = decompressed(read_blocks(stream, 1 << 20), 1 << 20, config.max_decompressed_bytes)
    cut = batches(pieces, config.max_line_bytes, 1 << 20)
    if spec.multiline:
        cut = records(cut, spec.multiline, spec.max_record_lines)
    for batch in cut:
        number = batch.first
        for item in batch.all_lines():
            if isinstance(item, bytes):
                yield number, item
            number += item.count if isinstance(item, Blank | Joined) else 1


def _line(number: int, text: str, verdict: Any) -> Line:
    if isinstance(verdict, tuple):
        time, level, message, attributes, _ = verdict
        row = {"event_time": time.isoformat() + "Z", "level": level, "message": message}
        return Line(number, text, row | {"attributes": dict(attributes)}, None)
    return Line(number, text, None, verdict if verdict else None)


def _object(pipeline: Pipeline, target: str) -> SourceObject:
    if target.startswith("s3://"):
        found = s3_object(pipeline.s3, *split_s3_uri(target))
        if found is None:
            raise FileNotFoundError(f"{target} does not exist")
        return found
    return local_file(target)


def _which(pipeline: Pipeline, key: str, fmt: str | None) -> tuple[Source | None, str]:
    if fmt:
        return source("cli", format=fmt), f"--format {fmt} was given"
    config = pipeline.config
    if config.sources_file is None:
        return pipeline.source_for(key), "no sources file: the built-in ndjson source reads it"
    for spec in config.sources:
        for glob in spec.match:
            if spec.regexes[spec.match.index(glob)].fullmatch(key):
                return spec, f"{key!r} matches {glob!r}, the first match in {config.sources_file}"
    return None, (
        f"no source in {config.sources_file} matches {key!r}: the pipeline would skip it "
        "(add a [[source]] whose match fits it)"
    )

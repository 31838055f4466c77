"""The whole pipeline over moto's server with a sources file mixing four formats under
different prefixes: every object is read by its source, counts balance, the manifest names the
source and format, an unmatched key is skipped, a redelivery adds nothing, and a changed source
definition changes the fingerprint (so ``reprocess --stale-only`` picks its objects)."""

from __future__ import annotations

from pathlib import Path

from handler.fingerprint import digest_of
from handler.sources import load_sources
from loglake.reprocess import Plan, reprocess

from .conftest import RAW, Lake

FIXTURES = Path(__file__).parent / "fixtures" / "producers"
SOURCES = """
[[source]]
name = "nginx"
match = "nginx/**.log"
format = "combined"

[[source]]
name = "router"
match = "heroku/**"
format = "logfmt"
missing_message = "empty"

[[source]]
name = "system"
match = "syslog/**.log"
format = "syslog"
missing_message = "empty"

[[source]]
name = "apps"
match = ["apps/**.jsonl", "apps/**.json-file"]
default_level = "INFO"
"""
OBJECTS = {
    "nginx/2025/07/21/access.log": ("apache.combined", 1, "nginx", "combined"),
    "heroku/router.log": ("heroku-router.log", 2, "router", "logfmt"),
    "syslog/host/messages.log": ("syslog5424.log", 4, "system", "syslog"),
    "apps/pino.jsonl": ("pino.jsonl", 2, "apps", "ndjson"),
    "apps/docker.json-file": ("docker.json-file", 2, "apps", "ndjson"),
}


def test_four_formats_under_their_prefixes(served_lake: Lake, tmp_path: Path) -> None:
    lake = served_lake
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES)
    pipeline = lake.pipeline(sources=load_sources(path), sources_file=path)
    for key, (name, _, _, _) in OBJECTS.items():
        lake.put(key, (FIXTURES / name).read_bytes())
    lake.put("elsewhere/notes.txt", b"not a log\n")
    for key, (name, valid, source, fmt) in OBJECTS.items():
        result = pipeline.process_s3(RAW, key)
        lines = len((FIXTURES / name).read_bytes().splitlines())
        assert (result.status, result.source, result.format) == ("processed", source, fmt), key
        assert (result.lines_read, result.valid, result.invalid) == (lines, valid, 0), key
        manifest = lake.manifest(key)
        assert manifest["source"] == source and manifest["format"] == fmt
        assert pipeline.process_s3(RAW, key).status == "duplicate"
    assert pipeline.process_s3(RAW, "elsewhere/notes.txt").status == "unmatched"
    rows = lake.rows("processed")
    assert len(rows) == sum(v for _, v, _, _ in OBJECTS.values())
    access = rows[rows.source_uri.str.endswith("access.log")].iloc[0]
    assert (access.level, access.message) == ("INFO", "GET /apache_pb.gif HTTP/1.0")
    assert dict(access.attributes)["status"] == "200"

    # A changed definition of one source: only its objects are stale.
    path.write_text(
        SOURCES.replace('format = "combined"', 'format = "combined"\nlevels = "syslog"')
    )
    changed = lake.pipeline(sources=load_sources(path), sources_file=path)
    before = digest_of(lake.manifest("nginx/2025/07/21/access.log"))
    assert changed.reader(changed.source_for("nginx/a.log")).fingerprint["digest"] != before  # type: ignore[arg-type]
    tally = reprocess(
        changed.config,
        lake.session,
        Plan(uri=f"s3://{RAW}/", suffixes=("",), stale_only=True, processes=1),
    )
    assert tally.picked == 1


def test_otlp_records_count_per_record(served_lake: Lake) -> None:
    from handler.sources import source

    line = (FIXTURES / "otlp-logs.json").read_bytes().strip()
    two = line.replace(b'"logRecords":[{', b'"logRecords":[{"severityNumber":17,"timeUnixNano":"1544712660400000000"},{', 1)  # fmt: skip
    served_lake.put("otel/export.json", line + b"\n" + two + b"\n\n")
    spec = source("otel", format="otlp-json")
    from handler.source import s3_object

    obj = s3_object(served_lake.s3, RAW, "otel/export.json")
    result = served_lake.pipeline().process(obj, spec=spec)  # type: ignore[arg-type]
    # three records (the second line's first has no body: missing_field:message) and a blank line
    assert (result.lines_read, result.valid, result.invalid, result.blank) == (4, 2, 1, 1)
    assert result.physical_lines == 3
    assert result.error_counts == {"missing_field:message": 1}
    rows = served_lake.rows("processed")
    assert sorted(rows.source_line) == [1, 2]

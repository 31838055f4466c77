"""Published output of the loggers people use lands as rows: JSON with no configuration, text
formats with one ``format`` line, records lacking a field with the one opt-in their error names.

Each fixture (``fixtures/producers/``, origins in its ``SOURCES.md``) is read by the reference
and by its format's bulk path; both must give these rows (instant in UTC, level, message).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from handler.columnar import rows_table
from handler.formats import FORMATS, validator_for
from handler.parse import Batch
from handler.records import records
from handler.sources import source
from handler.validate import Invalid, Validator

HERE = Path(__file__).parent / "fixtures" / "producers"
UPLOAD = datetime(2026, 1, 20, 12, 0)

#: file, source settings (beyond its name and match), the rows of its lines.
PRODUCERS: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("pino.jsonl", {}, [
        ("2018-07-09T21:17:54.631", "INFO", "hello world"),
        ("2018-07-09T21:18:02.399", "INFO", "hello child!"),
    ]),
    ("bunyan.jsonl", {}, [
        ("2013-01-04T18:46:23.851", "INFO", "hi"),
        ("2013-01-04T18:46:23.853", "WARN", "au revoir"),
    ]),
    ("logrus.jsonl", {}, [
        ("2014-03-10T23:57:38.562264", "INFO", "A group of walrus emerges from the ocean"),
        ("2014-03-10T23:57:38.562471", "WARN", "The group's number increased tremendously!"),
        ("2014-03-10T23:57:38.562500", "INFO", "A giant walrus appears!"),
        ("2014-03-10T23:57:38.562527", "INFO", "Tremendously sized cow enters the ocean."),
        ("2014-03-10T23:57:38.562543", "FATAL", "The ice breaks!"),
    ]),
    ("logrus.logfmt", {"format": "logfmt"}, [
        ("2015-03-26T05:27:38", "DEBUG", "Started observing beach"),
        ("2015-03-26T05:27:38", "INFO", "A group of walrus emerges from the ocean"),
        ("2015-03-26T05:27:38", "WARN", "The group's number increased tremendously!"),
        ("2015-03-26T05:27:38", "DEBUG", "Temperature changes"),
        ("2015-03-26T05:27:38", "FATAL", "It's over 9000!"),
        ("2015-03-26T05:27:38", "FATAL", "The ice breaks!"),
    ]),
    ("zap.jsonl", {}, [
        ("2021-07-11T01:52:12.269727", "INFO", "failed to fetch URL"),
        ("2022-05-01T14:49:12.427740", "INFO", "failed to fetch URL: http://marmotedu.com"),
    ]),
    ("zerolog.jsonl", {}, [
        ("2008-01-08T17:05:05", "DEBUG", "hello world"),
        ("2024-03-18T08:30:51", "INFO", "This message appears when log level set to Debug or Info"),
        ("2021-12-13T06:45:24.529069", "DEBUG", "failed to check address"),
    ]),
    ("slog.jsonl", {}, [
        ("2022-11-08T20:28:26", "INFO", "hello"),
        ("2022-11-08T20:28:26", "WARN", "disk almost full"),
    ]),
    ("serilog.clef", {}, [
        ("2019-06-13T00:57:09.993269", "INFO", "In Put action with delivery {Id}: {@DeliveryInfo}"),
        ("2022-07-26T10:22:42.488622", "ERROR", "An error occurred on the service. User "
         "'9fa77fd6-2efe-46ec-b780-0a181276deff' lacks permission to complete this action. "
         "You need to have 'AddPackage'."),
        ("2021-09-01T12:00:00", "INFO", "Hello, World!"),
    ]),
    ("gelf.json", {}, [
        ("2013-11-21T17:11:02.307200", "FATAL",
         "A short message that helps you identify what is going on"),
    ]),
    ("docker.json-file", {"default_level": "INFO"}, [
        ("2019-01-01T11:11:11.111111", "INFO", "Log line is here\n"),
        ("2021-07-11T01:52:12.269727", "ERROR", "failed to fetch URL"),
    ]),
    ("cri.log", {"format": "cri", "default_level": "INFO"}, [
        ("2016-10-06T00:17:09.669794", "INFO", "The content of the log entry 1"),
        ("2016-10-06T00:17:09.669794", "INFO", "First line of log entry 2"),
        ("2016-10-06T00:17:09.669794", "INFO", "Second line of the log entry 2"),
        ("2016-10-06T00:17:10.113242", "INFO", "Last line of the log entry 2"),
    ]),
    ("klog.jsonl", {}, [
        ("2020-01-29T14:06:17.047280", "INFO", "Pod status updated"),
        ("2020-01-29T14:06:17.047280", "ERROR", "Failed to update pod status"),
    ]),
    ("syslog5424.log", {"format": "syslog", "missing_message": "empty"}, [
        ("2003-10-11T22:14:15.003000", "CRITICAL", "'su root' failed for lonvick on /dev/pts/8"),
        ("2003-08-24T12:14:15.000003", "INFO", "%% It's time to make the do-nuts."),
        ("2003-10-11T22:14:15.003000", "INFO", "An application event log entry..."),
        ("2003-10-11T22:14:15.003000", "INFO", ""),
    ]),
    ("syslog3164.log", {"format": "syslog"}, [
        ("2025-10-11T22:14:15", "CRITICAL", "'su root' failed for lonvick on /dev/pts/8"),
        ("2025-02-05T17:32:18", "INFO", "Use the BFG!"),
    ]),
    ("apache.combined", {"format": "combined"}, [
        ("2000-10-10T20:55:36", "INFO", "GET /apache_pb.gif HTTP/1.0"),
    ]),
    ("apache.common", {"format": "common"}, [
        ("2000-10-10T20:55:36", "INFO", "GET /apache_pb.gif HTTP/1.0"),
    ]),
    ("heroku-router.log", {"format": "logfmt", "missing_message": "empty"}, [
        ("2012-11-28T20:08:36.771000", "INFO", ""),
        ("2012-11-28T20:08:37.102000", "ERROR", ""),
    ]),
    ("gokit.logfmt", {"format": "logfmt"}, [
        ("2015-03-26T01:27:38.123000", "INFO", "hello world"),
    ]),
    ("python-logging.log", {
        "format": "pattern",
        "pattern": r"(?P<time>\S+ \S+) - (?P<logger>\S+) - (?P<level>[A-Z]+) - (?P<message>.*)",
    }, [
        ("2005-03-19T15:10:26.618000", "DEBUG", "debug message"),
        ("2005-03-19T15:10:26.620000", "INFO", "info message"),
        ("2005-03-19T15:10:26.695000", "WARN", "warn message"),
        ("2005-03-19T15:10:26.697000", "ERROR", "error message"),
        ("2005-03-19T15:10:26.773000", "CRITICAL", "critical message"),
    ]),
    ("python-traceback.log", {
        "format": "pattern", "multiline": r"\d{4}-\d\d-\d\d ",
        "pattern": r"(?P<time>\S+ \S+) - (?P<logger>\S+) - (?P<level>[A-Z]+) - (?P<message>.*)",
    }, [
        ("2005-03-19T15:10:26.618000", "INFO", "info message"),
        ("2005-03-19T15:10:26.697000", "ERROR", "division failed\nTraceback (most recent call "
         'last):\n  File "<stdin>", line 1, in <module>\nZeroDivisionError: division by zero'),
        ("2005-03-19T15:10:26.773000", "CRITICAL", "critical message"),
    ]),
    ("logback-stacktrace.log", {
        "format": "pattern", "multiline": r"\d\d:\d\d:\d\d\.\d{3} ", "missing_time": "upload",
        "pattern": r"(?P<time>\S+) \[(?P<thread>[^\]]+)\] (?P<level>[A-Z]+) +(?P<logger>\S+) - (?P<message>.*)",
    }, [
        ("2026-01-20T14:28:48.835000", "INFO", "Hello world."),
        ("2026-01-20T14:28:49.012000", "ERROR", "99 is invalid\njava.lang.Exception: 99 is "
         "invalid\n  at ch.qos.logback.demo.prime.PrimeAction.execute(PrimeAction.java:28) "
         "[classes/:na]\n  at org.apache.struts.action.RequestProcessor.processActionPerform("
         "RequestProcessor.java:431) [struts-1.2.9.jar:1.2.9]\n  at org.apache.struts.action."
         "RequestProcessor.process(RequestProcessor.java:236) [struts-1.2.9.jar:1.2.9]"),
    ]),
    ("structlog.jsonl", {}, [("2022-10-07T10:41:29.659373", "INFO", "hello")]),
    ("python-json-logger.jsonl", {}, [("2019-11-22T14:39:06.291300", "INFO", "this is a test")]),
    ("loguru.jsonl", {}, [("2023-09-01T10:24:26.409436", "INFO", "Hello")]),
    ("ecs.jsonl", {}, [
        ("2019-08-06T12:09:12.375000", "INFO",
         "Tomcat started on port(s): 8080 (http) with context path ''"),
    ]),
    ("logstash-logback.jsonl", {}, [("2019-11-03T09:15:30.123000", "INFO", "My message")]),
    ("powertools-python.jsonl", {}, [
        ("2021-05-03T11:47:12.494000", "INFO", "Collecting payment"),
        ("2021-05-03T11:47:12.494000", "INFO", '{"data":"payment collected"}'),
    ]),
    ("otel-severity.jsonl", {}, [("2018-12-13T14:51:00.300000", "ERROR", '{"stringValue":"Example log record"}')]),
]  # fmt: skip


def validator(settings: dict[str, Any]) -> Validator:
    found = validator_for(source("test", **settings), {})
    found.upload = UPLOAD
    found.latest = datetime(2030, 1, 1)
    return found


def rows_of(name: str, settings: dict[str, Any]) -> tuple[list[bytes], list[Any]]:
    lines = (HERE / name).read_bytes().splitlines()
    if settings.get("multiline"):  # records as the reading process joins them
        batch = Batch(1, list(lines), 0, plain=True)
        joined = records(iter([batch]), settings["multiline"], 1000)
        lines = [x for part in joined for x in part.lines if type(x) is bytes]
    check = validator(settings).check
    return lines, [check(line) for line in lines]


@pytest.mark.parametrize(("name", "settings", "expected"), PRODUCERS, ids=[p[0] for p in PRODUCERS])
def test_published_output_lands_as_rows(
    name: str, settings: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    _, rows = rows_of(name, settings)
    got = [(r[0].isoformat(), r[1], r[2]) if type(r) is tuple else r for r in rows]
    assert got == [(datetime.fromisoformat(t).isoformat(), lv, m) for t, lv, m in expected]


@pytest.mark.parametrize(("name", "settings", "expected"), PRODUCERS, ids=[p[0] for p in PRODUCERS])
def test_the_bulk_path_gives_the_reference_rows(
    name: str, settings: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    """Every line the bulk path accepts is the reference's row; the rest go to it."""
    lines, rows = rows_of(name, settings)
    check = validator(settings)
    bulk = FORMATS[check.source.format].bulk(check, {})
    decided = bulk.decide(lines * 40)  # enough lines to be read in bulk
    for position, got in zip(decided.positions, decided.table.to_pylist(), strict=True):
        row = rows[position % len(lines)]
        assert type(row) is tuple
        assert got == rows_table([row], bulk.schema).to_pylist()[0]


@pytest.mark.parametrize(
    ("name", "settings", "code", "remedy"),
    [
        ("docker.json-file", {}, "missing_field:level", 'default_level = "INFO"'),
        ("cri.log", {"format": "cri"}, "missing_field:level", 'default_level = "INFO"'),
        (
            "heroku-router.log",
            {"format": "logfmt"},
            "missing_field:message",
            'missing_message = "empty"',
        ),
        (
            "syslog5424.log",
            {"format": "syslog"},
            "missing_field:message",
            'missing_message = "empty"',
        ),
        ("apache.combined", {}, "invalid_json", "not valid JSON"),
        ("python-logging.log", {"format": "logfmt"}, "no_match", 'format = "pattern"'),
    ],
)
def test_a_record_lacking_a_field_names_the_one_setting_that_accepts_it(
    name: str, settings: dict[str, Any], code: str, remedy: str
) -> None:
    _, rows = rows_of(name, settings)
    failed = [r for r in rows if isinstance(r, Invalid)]
    assert failed and failed[0].code == code
    assert remedy in failed[0].detail or code == "no_match"


def test_precedence_is_fixed_and_the_field_not_used_stays_an_attribute() -> None:
    check = validator({}).check
    row = check(
        b'{"time":"2025-01-01T00:00:00Z","timestamp":"2025-02-02T00:00:00Z","level":"info","msg":"m","message":"n"}'
    )
    assert type(row) is tuple
    assert row[0] == datetime(2025, 2, 2) and row[2] == "n"
    assert row[3] == [("time", "2025-01-01T00:00:00Z"), ("msg", "m")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, datetime(2023, 11, 14, 22, 13, 20)),
        (1700000000123, datetime(2023, 11, 14, 22, 13, 20, 123000)),
        (1700000000123456, datetime(2023, 11, 14, 22, 13, 20, 123456)),
        ("1700000000123456789", datetime(2023, 11, 14, 22, 13, 20, 123456)),
        (
            "2014-03-10 19:57:38.562264131 -0400 EDT m=+0.000000001",
            datetime(2014, 3, 10, 23, 57, 38, 562264),
        ),
    ],
)
def test_epochs_by_magnitude_and_go_times(value: Any, expected: datetime) -> None:
    from handler.fields import parse_timestamp

    assert parse_timestamp(value) == expected


def test_missing_time_upload_uses_the_upload_time_and_says_so() -> None:
    row = validator({"missing_time": "upload"}).check(b'{"level":"info","msg":"no time"}')
    assert type(row) is tuple and row[0] == UPLOAD
    assert ("loglake.time", "upload") in row[3]


def test_a_time_of_day_takes_the_upload_day() -> None:
    check = validator({
        "format": "pattern", "missing_time": "upload",
        "pattern": r"(?P<time>\d\d:\d\d:\d\d\.\d+) \[(?P<thread>[^\]]+)\] (?P<level>\w+) +(?P<logger>\S+) - (?P<message>.*)",
    }).check  # fmt: skip
    row = check(b"15:10:26.618 [main] INFO  com.example.App - started")
    assert type(row) is tuple and row[0] == datetime(2026, 1, 20, 15, 10, 26, 618000)
    assert row[1:3] == ("INFO", "started")


def test_numbers_on_a_declared_scale() -> None:
    line = b'{"time":"2025-01-01T00:00:00Z","level":3,"msg":"m"}'
    assert isinstance(validator({}).check(line), Invalid)
    row = validator({"levels": "syslog"}).check(line)
    assert type(row) is tuple and row[1] == "ERROR"


def test_unused_fraction_lines_are_counted() -> None:
    """Sanity: every fixture line is a row (the golden table covers every line)."""
    for name, settings, expected in PRODUCERS:
        lines, rows = rows_of(name, settings)
        assert len(rows) == len(expected) == len(lines), name  # records
        assert all(type(r) is tuple for r in rows), (name, rows)
    assert np.sum([len(p[2]) for p in PRODUCERS]) > 50


def test_otlp_json_lines_are_unnested_into_one_row_per_record() -> None:
    line = (HERE / "otlp-logs.json").read_bytes().strip()
    two = line.replace(b'"logRecords":[{', b'"logRecords":[{"severityNumber":17,"timeUnixNano":"1544712660400000000","body":{"stringValue":"second"}},{', 1)  # fmt: skip
    check = validator({"format": "otlp-json"})
    rows = check.check_many(two)
    assert validator({}).check_many(two) == rows  # ndjson, with no configuration, does the same
    assert [(r[0].isoformat(), r[1], r[2]) for r in rows if type(r) is tuple] == [
        ("2018-12-13T14:51:00.400000", "ERROR", "second"),
        ("2018-12-13T14:51:00.300000", "INFO", "Example log record"),
    ]
    attributes = dict(rows[1][3])  # type: ignore[index]
    assert attributes["resource.service.name"] == "my.service"
    assert attributes["scope.name"] == "my.library" and attributes["scope.version"] == "1.0.0"
    assert attributes["scope.my.scope.attribute"] == "some scope attribute"
    assert attributes["int.attribute"] == "10" and attributes["boolean.attribute"] == "true"
    assert attributes["array.attribute"] == '["many","values"]'
    assert attributes["map.attribute"] == '{"some.map.key":"some value"}'
    assert attributes["traceId"] == "5B8EFFF798038103D269B633813FC60C"

"""The formats a source can read, registered in one place (``FORMATS``).

A format is one module with one contract: ``decoder(source)`` gives the reference, which turns
one line into its fields (``verdicts.Decoded``), and ``bulk(validator)`` gives the path that
decides a whole batch at once in Arrow (``decide_text``), accepting only the lines it can prove
give the reference's row; differential tests (``tests/test_formats.py``) hold both to the same
rows. Adding a format touches its module, this table and its tests, not the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..ddl import TableDef
from ..rules import FieldRule
from ..sources import Source
from ..verdicts import Decoded
from . import (
    access,
    cloudfront,
    cloudtrail,
    cloudwatch,
    cri,
    elb,
    logfmt,
    ndjson,
    otlp,
    pattern,
    s3access,
    syslog,
    vpc,
    waf,
)  # fmt: skip
from .spaced import HeaderDriven, Spaced, SpacedLayout
from .typed import TypedBulk, TypedValidator, format_columns

if TYPE_CHECKING:
    from ..columnar import Decided
    from ..validate import Validator

Decode = Callable[[bytes, datetime], Decoded]


class Bulk(Protocol):
    """Decides a batch of lines at once; lines it leaves out go to the reference."""

    schema: Any

    def decide_text(self, text: bytes, offsets: np.ndarray) -> Decided: ...

    def decide(self, lines: list[bytes]) -> Decided: ...


@dataclass(frozen=True)
class Format:
    """One registered format: what it reads, its reference decoder and its bulk path."""

    name: str
    summary: str
    example: str
    decoder: Callable[[Source], Decode]
    bulk: Callable[[Validator, dict[str, str]], Bulk]
    #: How its fields are found (``fields.Fields``): json, logfmt or fixed.
    fields: str = "fixed"
    #: One line may hold many records (``decode_many`` gives them all).
    many: Callable[[bytes, datetime], list[Decoded]] | None = None
    #: The table its rows go to: ``processed`` or a typed table's name (``alb_logs``).
    table: str = "processed"
    #: A typed format's engine over the table's columns: ``decode`` (the reference) and
    #: ``decide_text`` (the bulk path).
    engine: Callable[[list[tuple[str, str]]], Any] | None = None
    #: Turns the object's decompressed pieces into lines of one record each, streamed (a
    #: CloudTrail file's one document), before lines are cut.
    split: Callable[[Any], Any] | None = None


def _columnar(validator: Validator, extras: dict[str, str]) -> Any:
    from ..columnar import Columnar

    return Columnar(validator, extras)


def _unused(*args: Any) -> Any:
    raise AssertionError("a typed format is read by its engine")


def _spaced(layout: SpacedLayout, table: str, summary: str) -> Format:
    """A typed format of AWS's space-separated logs (``spaced.py``)."""
    return Format(
        layout.name,
        summary,
        layout.example,
        _unused,
        _unused,
        table=table,
        engine=lambda columns: Spaced(layout, columns),
    )


def _headed(name: str, layout_for: Any, example: str, table: str, summary: str) -> Format:
    """A typed format whose first lines name its fields (``spaced.HeaderDriven``)."""
    return Format(
        name,
        summary,
        example,
        _unused,
        _unused,
        table=table,
        engine=lambda columns: HeaderDriven(layout_for, columns),
    )


FORMATS: dict[str, Format] = {
    "ndjson": Format(
        "ndjson",
        "one JSON object per line; pino, zap, slog, Serilog, ECS, GELF... need no field names",
        '{"level":30,"time":1531171074631,"msg":"hello world","pid":657}',
        lambda source: ndjson.decode,
        _columnar,
        "json",
        otlp.decode_many,  # an OTLP/JSON export line is unnested, with no configuration
    ),
    "logfmt": Format(
        "logfmt",
        "key=value pairs (Go kit, logrus' text, Heroku's router with its prefix)",
        'time=2015-03-26T01:27:38Z level=info msg="hello world" user=bob',
        logfmt.decoder,
        logfmt.Bulk,
        "logfmt",
    ),
    "combined": Format(
        "combined",
        "nginx/Apache combined access log; level from the status (5xx ERROR, 4xx WARN)",
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 '
        '"http://www.example.com/start.html" "Mozilla/4.08"',
        access.combined,
        access.Bulk.combined,
    ),
    "common": Format(
        "common",
        "nginx/Apache common access log (no referer, no user agent)",
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
        access.common,
        access.Bulk.common,
    ),
    "syslog": Format(
        "syslog",
        "syslog RFC 5424 and RFC 3164 (year from the upload time); level from <PRI>",
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        syslog.decoder,
        syslog.Bulk,
    ),
    "cri": Format(
        "cri",
        "Kubernetes container logs (containerd/CRI-O); an app's JSON line is read as JSON",
        "2016-10-06T00:17:09.669794202Z stdout F The content of the log entry 1",
        cri.decoder,
        cri.Bulk,
        "json",
    ),
    "otlp-json": Format(
        "otlp-json",
        "OpenTelemetry logs from the collector's file exporter: one row per log record",
        '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1544712660300000000",'
        '"severityNumber":9,"body":{"stringValue":"hello"}}]}]}]}',
        otlp.decoder,
        otlp.Bulk,
        "json",
        otlp.decode_many,
    ),
    "pattern": Format(
        "pattern",
        "your regular expression with named groups time, level, message (Python logging, "
        "log4j, logback layouts)",
        "2005-03-19 15:10:26,618 INFO [main] com.example.App - started",
        pattern.decoder,
        pattern.Bulk,
    ),
    "cloudwatch-firehose": Format(
        "cloudwatch-firehose",
        "CloudWatch Logs through a subscription and Firehose: a row per log event, each "
        "message read as its logger's (JSON) or as text",
        '{"messageType":"DATA_MESSAGE","logGroup":"/aws/lambda/f","logStream":"s",'
        '"logEvents":[{"id":"1","timestamp":1600110569039,"message":"started"}]}',
        lambda source: ndjson.decode,
        _columnar,
        "json",
        split=cloudwatch.SPLIT,
    ),
    "cloudwatch-export": Format(
        "cloudwatch-export",
        "CloudWatch Logs export task output: <ISO time> <message>, continuation lines joined",
        cloudwatch.EXPORT.example,
        cloudwatch.export,
        cloudwatch.export_bulk,
    ),
    "alb": _spaced(elb.ALB, "alb_logs", "Application Load Balancer access logs, into alb_logs"),
    "nlb": _spaced(elb.NLB, "nlb_logs", "Network Load Balancer TLS access logs, into nlb_logs"),
    "elb": _spaced(elb.ELB, "elb_logs", "Classic Load Balancer access logs, into elb_logs"),
    "s3-access": _spaced(
        s3access.S3_ACCESS, "s3_access_logs", "S3 server access logs, into s3_access_logs"
    ),
    "vpc-flow": _headed(
        "vpc-flow",
        vpc.layout_for,
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 "
        "1418530010 1418530070 ACCEPT OK",
        "vpc_flow_logs",
        "VPC Flow Logs, any version or field order (the header line), into vpc_flow_logs",
    ),
    "cloudtrail": Format(
        "cloudtrail",
        "CloudTrail log files, one row per record of Records (streamed), into cloudtrail_logs",
        cloudtrail.EXAMPLE,
        _unused,
        _unused,
        table="cloudtrail_logs",
        engine=cloudtrail.ENGINE,
        split=cloudtrail.SPLIT,
    ),
    "waf": Format(
        "waf",
        "AWS WAF web ACL logs (JSON lines), into waf_logs",
        waf.WAF_EXAMPLE,
        _unused,
        _unused,
        table="waf_logs",
        engine=waf.WAF,
    ),
    "route53-resolver": Format(
        "route53-resolver",
        "Route 53 Resolver query logs (JSON lines), into route53_resolver_logs",
        waf.ROUTE53_EXAMPLE,
        _unused,
        _unused,
        table="route53_resolver_logs",
        engine=waf.ROUTE53,
    ),
    "cloudfront": _headed(
        "cloudfront",
        cloudfront.layout_for,
        "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net ...",
        "cloudfront_logs",
        "CloudFront standard access logs (the #Fields line), into cloudfront_logs",
    ),
}


def typed_reader(
    fmt: Format, table: TableDef, min_timestamp: datetime, max_future: timedelta
) -> tuple[TypedValidator, TypedBulk]:
    """The reference and bulk path of a typed format, over its table's declared columns."""
    assert fmt.engine is not None
    columns = format_columns(table)
    engine = fmt.engine(columns)
    many = getattr(engine, "decode_many", None)
    begin = getattr(engine, "start", None)
    validator = TypedValidator(columns, engine.decode, min_timestamp, max_future, many, begin)
    return validator, TypedBulk(engine, validator)


def validator_for(
    source: Source,
    extras: dict[str, str],
    rules: tuple[FieldRule, ...] = (),
    min_timestamp: datetime = datetime(2000, 1, 1),
    max_future: timedelta = timedelta(days=1),
) -> Validator:
    """The reference of one source: its format's decoder and field rules, the checks."""
    from ..validate import Validator

    fmt = FORMATS[source.format]
    return Validator(
        extras, rules, min_timestamp, max_future, source, fmt.decoder(source), fmt.fields, fmt.many
    )

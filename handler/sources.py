"""Which objects are read how: the sources file, the one definition the handler, the local
stack, ``deploy`` and the CLI all read.

A TOML file of ``[[source]]`` tables (``SOURCES_FILE``, or ``--sources FILE``)::

    [[source]]
    name = "nginx"
    match = "nginx/**.log"          # a glob over the object key: * ? and ** (across /)
    format = "combined"

    [[source]]
    name = "api"
    match = ["api/**.jsonl", "api/**.jsonl.gz"]
    # format = "ndjson" is the default; JSON needs no field names for the usual loggers
    default_level = "INFO"          # for records that carry none

The first source whose ``match`` fits an object's key reads it; an object no source fits is
skipped (and counted). After the file's sources come the built-in ``aws-*`` sources, which read
AWS's own logs by the key layouts AWS documents (``AWS_SOURCES``; a source of the file that
matches first overrides them; ``aws_logs = false`` at the top leaves them out). With no file,
the AWS sources, then one built-in ``ndjson`` source for the suffixes the tutorial's pipeline
always read. Every key, value and glob is checked at load, so a bad file
fails a cold start with one line naming the source and the key, before any object is touched.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import ConfigError

#: The names the tutorial's pipeline always read (and the built-in source matches).
DEFAULT_SUFFIXES = (".log", ".log.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
FORMATS = (
    "ndjson", "logfmt", "combined", "common", "syslog", "cri", "otlp-json", "pattern",
    "alb", "nlb", "elb", "s3-access", "vpc-flow", "cloudfront", "cloudtrail", "waf",
    "route53-resolver", "cloudwatch-firehose", "cloudwatch-export",
)  # fmt: skip
LEVEL_SCALES = ("pino", "syslog", "otel")
STORED_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "FATAL")
#: Bounds of one multi-line record, so a start pattern that never matches cannot hold an object.
MAX_RECORD_LINES = 1000
MAX_RECORD_BYTES = 256 * 1024
_KEYS = {
    "name", "match", "format", "time", "level", "message", "levels", "default_level",
    "missing_time", "missing_message", "pattern", "time_format", "multiline",
    "max_record_lines", "on_delete",
}  # fmt: skip
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Source:
    """One ``[[source]]``: which keys it matches, their format and how fields are found."""

    name: str
    match: tuple[str, ...]
    format: str = "ndjson"
    time: str | None = None
    level: str | None = None
    message: str | None = None
    levels: str | None = None
    default_level: str | None = None
    missing_time: str = "error"
    missing_message: str = "error"
    pattern: str | None = None
    time_format: str | None = None
    multiline: str | None = None
    max_record_lines: int = MAX_RECORD_LINES
    #: What an object's deletion does: ``keep`` its rows, or ``remove`` them (docs/lifecycle.md).
    on_delete: str = "keep"
    regexes: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)

    def matches(self, key: str) -> bool:
        """Whether ``key`` (an object key, or a local path as given) fits one of the globs."""
        return any(r.fullmatch(key) for r in self.regexes)

    def definition(self) -> dict[str, Any]:
        """The source as its table in the sources file (defaults included)."""
        out: dict[str, Any] = {}
        for name in sorted(_KEYS):
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def reading(self) -> dict[str, Any]:
        """What decides the rows the source makes of an object (its fingerprint's part): not
        its name, nor which keys it matches."""
        skip = ("name", "match", "on_delete")
        return {k: v for k, v in self.definition().items() if k not in skip}


def source(name: str, match: str | tuple[str, ...] = ("**",), **settings: Any) -> Source:
    """A checked ``Source`` (what the sources file's tables become)."""
    return _build(f"source {name!r}", {"name": name, "match": match, **settings})


def load_sources(path: str | Path) -> tuple[Source, ...]:
    """The sources of a TOML file, in order; any problem is one ``ConfigError`` line."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"sources file {where}: cannot be read ({exc.strerror})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sources file {where}: not TOML ({exc})") from None
    extra = sorted(set(doc) - {"source", "aws_logs"})
    if extra:
        raise ConfigError(
            f"sources file {where}: unknown top-level key {extra[0]!r} (write [[source]] tables "
            "and, to read no AWS logs by their key layout, aws_logs = false)"
        )
    aws_logs = doc.get("aws_logs", True)
    if type(aws_logs) is not bool:
        raise ConfigError(f"sources file {where}: aws_logs must be true or false, got {aws_logs!r}")
    tables = doc.get("source")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"sources file {where}: no [[source]] tables")
    found: list[Source] = []
    for i, table in enumerate(tables, 1):
        label = f"sources file {where}: source {table.get('name', f'#{i}')!r}"
        made = _build(label, table)
        if any(s.name == made.name for s in (*found, *AWS_SOURCES)):
            raise ConfigError(
                f"{label}: the name is used twice (names must be unique; aws-* are built in)"
            )
        found.append(made)
    return (*found, *AWS_SOURCES) if aws_logs else tuple(found)


def match_source(sources: tuple[Source, ...], key: str) -> Source | None:
    """The first source whose glob fits ``key``, or ``None``."""
    return next((s for s in sources if s.matches(key)), None)


def glob_regex(glob: str) -> re.Pattern[str]:
    """A glob as a regular expression: ``**`` any text (``/`` too; ``**/`` also none),
    ``*`` any text within one path segment, ``?`` one character but ``/``."""
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _build(label: str, table: Mapping[str, Any]) -> Source:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{label}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})"
        )
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{label}: name must be letters, digits, _ . - (up to 64), got {name!r}")
    match = table.get("match")
    globs = (match,) if isinstance(match, str) else match
    if (
        not isinstance(globs, list | tuple)
        or not globs
        or not all(isinstance(g, str) and g for g in globs)
    ):
        raise ConfigError(f"{label}: match must be a glob or a list of globs, got {match!r}")
    for glob in globs:
        if "***" in glob:
            raise ConfigError(f"{label}: match {glob!r} has *** (use ** for any depth)")
    fmt = _choice(label, table, "format", FORMATS, "ndjson")
    values = {k: table.get(k) for k in ("time", "level", "message", "time_format", "multiline")}
    for key, value in values.items():
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"{label}: {key} must be a non-empty text, got {value!r}")
    if values["time_format"] is not None and "%" not in values["time_format"]:
        raise ConfigError(
            f"{label}: time_format {values['time_format']!r} has no % directive "
            "(a strptime format like '%d/%b/%Y:%H:%M:%S %z')"
        )
    default_level = table.get("default_level")
    if default_level is not None and (
        not isinstance(default_level, str) or default_level.upper() not in STORED_LEVELS
    ):
        raise ConfigError(
            f"{label}: default_level must be one of {', '.join(STORED_LEVELS)}, "
            f"got {default_level!r}"
        )
    pattern = table.get("pattern")
    if fmt == "pattern" and pattern is None:
        raise ConfigError(f"{label}: format 'pattern' needs a pattern (RE2 named groups)")
    if pattern is not None:
        _check_regex(label, "pattern", pattern, need_groups=True)
    if values["multiline"] is not None:
        if fmt not in ("pattern", "cloudwatch-export"):
            raise ConfigError(
                f'{label}: multiline works with format = "pattern" (the pattern reads a '
                "record's first line; the other lines continue its message)"
            )
        _check_regex(label, "multiline", values["multiline"], need_groups=False)
    lines = table.get("max_record_lines", MAX_RECORD_LINES)
    if type(lines) is not int or not 1 <= lines <= 100_000:
        raise ConfigError(f"{label}: max_record_lines must be 1 to 100000, got {lines!r}")
    return Source(
        name=name,
        match=tuple(globs),
        format=fmt,
        time=values["time"],
        level=values["level"],
        message=values["message"],
        levels=_choice(label, table, "levels", LEVEL_SCALES, None),
        default_level=default_level.upper() if default_level else None,
        missing_time=_choice(label, table, "missing_time", ("error", "upload"), "error"),
        missing_message=_choice(label, table, "missing_message", ("error", "empty"), "error"),
        pattern=pattern,
        time_format=values["time_format"],
        multiline=values["multiline"],
        max_record_lines=lines,
        on_delete=_choice(label, table, "on_delete", ("keep", "remove"), "keep"),
        regexes=tuple(glob_regex(g) for g in globs),
    )


def _choice(
    label: str, table: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str | None
) -> Any:
    value = table.get(key, default)
    if value is not default and value not in allowed:
        raise ConfigError(f"{label}: {key} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _check_regex(label: str, key: str, pattern: Any, need_groups: bool) -> None:
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"{label}: {key} must be a regular expression, got {pattern!r}")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"{label}: {key} {pattern!r} is not a regular expression ({exc})"
        ) from None
    if need_groups and not compiled.groupindex:
        raise ConfigError(
            f"{label}: {key} {pattern!r} has no named group; name them (?P<time>...), "
            "(?P<level>...), (?P<message>...), others become attributes"
        )
    if need_groups and compiled.groups != len(compiled.groupindex):
        raise ConfigError(
            f"{label}: {key} {pattern!r} has unnamed groups; write (?:...) for groups that "
            "are not fields"
        )


#: The built-in source used when there is no sources file.
DEFAULT = source("default", tuple(f"**{s}" for s in DEFAULT_SUFFIXES))

_ELB = "**/AWSLogs/*/elasticloadbalancing/*/????/??/??/"
#: AWS's own logs, recognised by the key layouts AWS documents, with or without a sources file
#: (a source of the file that matches first overrides them).
AWS_SOURCES = (
    source("aws-alb", (f"{_ELB}*_app.*.log.gz", f"{_ELB}*_app.*.log"), format="alb"),
    source("aws-nlb", (f"{_ELB}*_net.*.log.gz", f"{_ELB}*_net.*.log"), format="nlb"),
    source("aws-elb", (f"{_ELB}*.log", f"{_ELB}*.log.gz"), format="elb"),
    source("aws-s3-access", ("**/????-??-??-??-??-??-????????????????",), format="s3-access"),
    source(
        "aws-vpc-flow",
        ("**/AWSLogs/**_vpcflowlogs_*.log.gz", "**/AWSLogs/**_vpcflowlogs_*.log"),
        format="vpc-flow",
    ),
    source("aws-cloudfront", ("**/*.????-??-??-??.*.gz",), format="cloudfront"),
    source("aws-cloudtrail", ("**/AWSLogs/**/CloudTrail/**.json.gz",), format="cloudtrail"),
    source("aws-waf", ("**/AWSLogs/*/WAFLogs/**.log.gz",), format="waf"),
    source(
        "aws-route53-resolver",
        ("**/AWSLogs/*/vpcdnsquerylogs/**.log.gz",),
        format="route53-resolver",
    ),
    source(  # <stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>, as Firehose names what it writes
        "aws-cloudwatch-firehose",
        ("**/*-?-????-??-??-??-??-??-????????-????-????-????-????????????",),
        format="cloudwatch-firehose",
        default_level="INFO",
    ),
    source(  # <prefix>/<export task id>/<log stream>/000000.gz
        "aws-cloudwatch-export",
        ("**/????????-????-????-????-????????????/**/??????.gz",),
        format="cloudwatch-export",
        default_level="INFO",
        multiline=r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ",
    ),
)


#: What reads objects when there is no sources file: AWS's logs by key, else the tutorial's.
DEFAULT_SOURCES = (*AWS_SOURCES, DEFAULT)


def key_filters(
    sources: tuple[Source, ...],
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES,
    configured: bool = True,
) -> list[tuple[str, str]]:
    """The (prefix, suffix) filters of S3 notifications that admit every key the sources
    match (without a sources file: one per suffix, and the built-in AWS sources').
    Each glob gives the text before its first wildcard and after its last; filters S3 would
    call overlapping are merged into the wider one, so a filter may admit keys no source
    matches: those are skipped, and counted. S3 server access logs have neither a fixed prefix
    nor a suffix, so with them every new object is notified."""
    found = [] if configured else [("", suffix) for suffix in suffixes]
    for spec in sources if configured else [s for s in sources if s is not DEFAULT]:
        for glob in spec.match:
            cut = [i for i, c in enumerate(glob) if c in "*?"]
            pair = (glob, "") if not cut else (glob[: cut[0]], glob[cut[-1] + 1 :])
            found = _merged(found, pair)
    return sorted(found)


def _merged(filters: list[tuple[str, str]], new: tuple[str, str]) -> list[tuple[str, str]]:
    """``filters`` with ``new`` added, overlapping pairs replaced by the wider of each part."""
    for i, (prefix, suffix) in enumerate(filters):
        prefixes = prefix.startswith(new[0]) or new[0].startswith(prefix)
        suffixes = suffix.endswith(new[1]) or new[1].endswith(suffix)
        if prefixes and suffixes:
            wider = (min(prefix, new[0], key=len), min(suffix, new[1], key=len))
            return _merged(filters[:i] + filters[i + 1 :], wider)
    return [*filters, new]


def notification_events(specs: Sequence[Source]) -> list[str]:
    """The S3 events the ingest queue needs: new objects, and deletions when a source removes
    a deleted object's rows (never lifecycle expirations: raw retention keeps the rows)."""
    removes = any(spec.on_delete == "remove" for spec in specs)
    return ["s3:ObjectCreated:*", *(["s3:ObjectRemoved:*"] if removes else [])]

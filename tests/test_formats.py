"""Each text format's bulk path against its reference, line for line (differential tests), and
the sources file's checks: every bad key, value and glob is one clear error.

Lines are generated from each format's grammar with hypothesis, including the near misses
(wrong month, a status of 5xx, a PRI past 191, a backslash in logfmt, non-ASCII spaces): what
the bulk path accepts must be exactly the reference's row; what it does not, goes to it.
"""

from __future__ import annotations

import string
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.columnar import rows_table
from handler.exceptions import ConfigError
from handler.formats import FORMATS, validator_for
from handler.sources import glob_regex, load_sources, match_source, source

UPLOAD = datetime(2026, 1, 20, 12, 0)


def differ(settings_: dict[str, Any], lines: list[bytes]) -> int:
    """Assert every line the bulk path accepts is the reference's row; return how many."""
    check = validator_for(source("t", **settings_), {})
    check.upload = UPLOAD
    check.latest = datetime(2030, 1, 1)
    bulk = FORMATS[check.source.format].bulk(check, {})
    decided = bulk.decide(lines)
    assert len(set(decided.positions.tolist())) == len(decided.positions)
    for position, got in zip(decided.positions, decided.table.to_pylist(), strict=True):
        row = check.check(lines[position])
        assert type(row) is tuple, (lines[position], row)
        assert got == rows_table([row], bulk.schema).to_pylist()[0], lines[position]
    return len(decided.positions)


WORD = st.text(string.ascii_letters + string.digits + "._-/:@", min_size=1, max_size=8)
ODD = st.sampled_from(["", " ", "\\", '"', "=", "\t", "\u00a0", "é", "-", "[", "]", "\r"])
TEXT = st.lists(st.one_of(WORD, ODD), max_size=6).map("".join)
LEVEL = st.sampled_from(["info", "INFO", "warn", "warning", "error", "debug", "loud", "30", ""])
ISO = st.sampled_from([
    "2025-07-21T10:00:00Z", "2025-07-21T10:00:00.123456789Z", "2025-07-21 10:00:00,618",
    "2025-07-21T10:00:00+02:00", "2025-02-30T10:00:00Z", "1999-01-01T00:00:00Z", "yesterday",
    "2025-07-21T10:00:00.1234567+0000",
])  # fmt: skip


def value() -> st.SearchStrategy[str]:
    bare = st.one_of(WORD, TEXT.filter(lambda t: " " not in t and '"' not in t))
    quoted = TEXT.map(lambda t: '"' + t.replace('"', '\\"') + '"')
    return st.one_of(bare, quoted)


@st.composite
def logfmt_line(draw: Any) -> bytes:
    pairs = [("time", draw(ISO)), ("level", draw(LEVEL)), ("msg", draw(TEXT))]
    pairs += draw(st.lists(st.tuples(WORD, TEXT), max_size=4))
    pairs = draw(st.permutations(pairs))
    parts = []
    for key, val in pairs:
        quote = draw(st.booleans()) or " " in val or '"' in val or not val
        parts.append(f'{key}="{val}"' if quote else f"{key}={val}")
        if draw(st.integers(0, 9)) == 0:
            parts.append(draw(WORD))  # a key alone
    prefix = draw(st.sampled_from(["", "2012-11-28T20:08:36.771000+00:00 heroku[router]: "]))
    return (prefix + draw(st.sampled_from([" ", "  "])).join(parts)).encode()


@st.composite
def access_line(draw: Any) -> bytes:
    day = draw(st.integers(1, 31))
    month = draw(st.sampled_from(["Jan", "Feb", "Oct", "Foo", "oct"]))
    zone = draw(st.sampled_from(["+0000", "-0700", "+0530", "Z"]))
    stamp = f"{day:02d}/{month}/2025:{draw(st.integers(0, 24)):02d}:13:55 {zone}"
    status = draw(st.sampled_from(["200", "304", "404", "503", "-", "42"]))
    size = draw(st.sampled_from(["2326", "-", "0"]))
    request = draw(TEXT).replace('"', '\\"')
    who = draw(st.sampled_from(["-", "frank", "a b"]))
    line = f'127.0.0.1 - {who} [{stamp}] "{request}" {status} {size}'
    if draw(st.booleans()):
        line += f' "{draw(TEXT).replace(chr(34), "")}" "{draw(TEXT).replace(chr(34), "")}"'
        if draw(st.booleans()):
            line += " " + draw(TEXT)
    return line.encode()


@st.composite
def syslog_line(draw: Any) -> bytes:
    pri = draw(st.sampled_from(["<34>", "<165>", "<13>", "<191>", "<999>", ""]))
    if draw(st.booleans()):
        sd = draw(st.sampled_from(["-", '[ex@32473 iut="3"]', '[a b="]"][c]', "[x"]))
        body = f"1 {draw(ISO)} {draw(WORD)} {draw(WORD)} {draw(WORD)} - {sd}"
        if draw(st.booleans()):
            body += " " + draw(TEXT)
    else:
        day = draw(st.sampled_from(["Oct 11", "Feb  5", "Jan 31", "Feb 29", "Dec 31", "Xyz  1"]))
        tag = draw(st.sampled_from(["su:", "myapp[1234]:", "cron[]:", "x"]))
        body = f"{day} 22:14:15 {draw(WORD)} {tag} {draw(TEXT)}"
    return (pri + body).encode()


@st.composite
def cri_line(draw: Any) -> bytes:
    content = draw(st.one_of(TEXT, st.just('{"level":"warn","msg":"inner"}')))
    stream = draw(st.sampled_from(["stdout", "stderr", "other"]))
    return f"{draw(ISO)} {stream} {draw(st.sampled_from(['F', 'P']))} {content}".encode()


PYTHON = r"(?P<time>\S+ \S+) - (?P<logger>\S+) - (?P<level>[A-Z]+) - (?P<message>.*)"


@st.composite
def pattern_line(draw: Any) -> bytes:
    level = draw(st.sampled_from(["INFO", "WARNING", "CRITICAL", "LOUD"]))
    return f"{draw(ISO)} - {draw(WORD)} - {level} - {draw(TEXT)}".encode()


CASES = [
    ("logfmt", {"format": "logfmt"}, logfmt_line()),
    ("combined", {"format": "combined"}, access_line()),
    ("common", {"format": "common"}, access_line()),
    ("syslog", {"format": "syslog", "missing_message": "empty"}, syslog_line()),
    ("cri", {"format": "cri", "default_level": "INFO"}, cri_line()),
    ("pattern", {"format": "pattern", "pattern": PYTHON}, pattern_line()),
]


@pytest.mark.parametrize(("name", "config", "lines"), CASES, ids=[c[0] for c in CASES])
def test_bulk_rows_are_the_references(name: str, config: dict[str, Any], lines: Any) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(lines, min_size=1, max_size=40))
    def check(batch: list[bytes]) -> None:
        differ(config, batch)

    check()


@pytest.mark.parametrize(("name", "config", "lines"), CASES, ids=[c[0] for c in CASES])
def test_bulk_paths_accept_their_formats(name: str, config: dict[str, Any], lines: Any) -> None:
    """A test that cannot fail is a defect: the bulk path must take most well-formed lines."""
    examples = {
        "logfmt": b'time=2025-07-21T10:00:00Z level=info msg="hello world" user=bob',
        "combined": b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 503 2326 "-" "curl"',
        "common": b'127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 404 -',
        "syslog": b"<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed",
        "cri": b"2016-10-06T00:17:09.669794202Z stdout F The content of the log entry 1",
        "pattern": b"2005-03-19 15:10:26,618 - simple_example - INFO - info message",
    }  # fmt: skip
    assert differ(config, [examples[name]] * 50) == 50


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[source]]\nname = 'a'\n", "match must be a glob"),
        ("[[source]]\nname = 'a'\nmatch = '*.log'\nformat = 'xml'\n", "format must be one of"),
        ("[[source]]\nname = 'a'\nmatch = '*.log'\nfromat = 'ndjson'\n", "unknown key 'fromat'"),
        ("[[source]]\nname = 'a b'\nmatch = '*.log'\n", "name must be"),
        ("[[source]]\nname = 'a'\nmatch = []\n", "match must be a glob"),
        ("[[source]]\nname = 'a'\nmatch = 'x/***'\n", "has ***"),
        ("[[source]]\nname = 'a'\nmatch = '*'\nlevels = 'hex'\n", "levels must be one of"),
        ("[[source]]\nname = 'a'\nmatch = '*'\ndefault_level = 'LOUD'\n", "default_level must be"),
        ("[[source]]\nname = 'a'\nmatch = '*'\nmissing_time = 'now'\n", "missing_time must be"),
        ("[[source]]\nname = 'a'\nmatch = '*'\nmissing_message = 'skip'\n", "missing_message must"),
        ("[[source]]\nname = 'a'\nmatch = '*'\nformat = 'pattern'\n", "needs a pattern"),
        (
            "[[source]]\nname = 'a'\nmatch = '*'\npattern = '(unclosed'\n",
            "not a regular expression",
        ),
        ("[[source]]\nname = 'a'\nmatch = '*'\npattern = '(\\\\d+)'\n", "no named group"),
        ("[[source]]\nname = 'a'\nmatch = '*'\npattern = '(?P<time>x)(y)'\n", "unnamed groups"),
        ("[[source]]\nname = 'a'\nmatch = '*'\ntime_format = 'dd/MM'\n", "no % directive"),
        ("[[source]]\nname = 'a'\nmatch = '*'\ntime = ''\n", "time must be a non-empty"),
        ("[[source]]\nname = 'a'\nmatch = '*'\nmax_record_lines = 0\n", "max_record_lines"),
        (
            "[[source]]\nname = 'a'\nmatch = '*'\n[[source]]\nname = 'a'\nmatch = '*'\n",
            "used twice",
        ),
        ("[sources]\n", "unknown top-level key"),
        ("", "no [[source]] tables"),
        ("[[source]\n", "not TOML"),
    ],
)
def test_a_bad_sources_file_is_one_error_naming_the_source_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_sources_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_sources(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("glob", "key", "matches"),
    [
        ("nginx/**.log", "nginx/2025/07/21/access.log", True),
        ("nginx/*.log", "nginx/2025/access.log", False),
        ("nginx/*.log", "nginx/access.log", True),
        ("**/app.log", "app.log", True),
        ("**/app.log", "a/b/app.log", True),
        ("app-?.log", "app-1.log", True),
        ("app-?.log", "app-/.log", False),
        ("logs/[x].log", "logs/[x].log", True),
    ],
)
def test_globs(glob: str, key: str, matches: bool) -> None:
    assert bool(glob_regex(glob).fullmatch(key)) is matches


def test_first_matching_source_wins(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        "[[source]]\nname = 'nginx'\nmatch = 'nginx/**'\nformat = 'combined'\n"
        "[[source]]\nname = 'rest'\nmatch = '**'\n"
    )
    sources = load_sources(path)
    assert match_source(sources, "nginx/a.log").name == "nginx"  # type: ignore[union-attr]
    assert match_source(sources, "api/a.log").name == "rest"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("globs", "filters"),
    [
        (["nginx/**.log"], [("nginx/", ".log")]),
        (["nginx/**.log", "nginx/**.log.gz"], [("nginx/", ".log"), ("nginx/", ".log.gz")]),
        (["**"], [("", "")]),
        (["a/**", "a/b/**.log"], [("a/", "")]),
        (["AWSLogs/*/elasticloadbalancing/**", "heroku/router.log"],
         [("AWSLogs/", ""), ("heroku/router.log", "")]),
    ],
)  # fmt: skip
def test_notification_filters_admit_every_matched_key_and_never_overlap(
    globs: list[str], filters: list[tuple[str, str]]
) -> None:
    from handler.sources import key_filters

    assert key_filters((source("s", tuple(globs)),)) == filters


def test_with_aws_logs_recognised_every_new_object_is_notified(tmp_path: Path) -> None:
    """S3 server access logs have no fixed prefix or suffix: one filter admits every key,
    unless the sources file sets aws_logs = false."""
    from handler.sources import DEFAULT_SOURCES, key_filters

    path = tmp_path / "sources.toml"
    path.write_text("[[source]]\nname = 'nginx'\nmatch = 'nginx/**.log'\n")
    assert key_filters(load_sources(path)) == [("", "")]
    assert key_filters(DEFAULT_SOURCES, configured=False) == [("", "")]
    path.write_text("aws_logs = false\n[[source]]\nname = 'nginx'\nmatch = 'nginx/**.log'\n")
    assert key_filters(load_sources(path)) == [("nginx/", ".log")]

"""``combined`` and ``common``: the access logs of nginx and Apache httpd.

The level comes from the status: 5xx ERROR, 4xx WARN, anything else INFO. ``-`` is an absent
field. Attributes take nginx's variable names; text after the user agent (a custom
``log_format``'s extra fields) is kept whole as ``extra``.

Example (Apache's documentation)::

    127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
    -> event_time 2000-10-10T20:55:36, level INFO, message "GET /apache_pb.gif HTTP/1.0",
       attributes {remote_addr: 127.0.0.1, remote_user: frank, status: 200,
                   body_bytes_sent: 2326}
"""

from __future__ import annotations

from typing import Any

from ..sources import Source
from .regex import Layout, RegexBulk

_QUOTED = r'(?:[^"\\]|\\.)*'
_COMMON = (
    r"(?P<remote_addr>\S+) (?P<ident>\S+) (?P<remote_user>\S+) \[(?P<time>[^\]]+)\] "
    rf'"(?P<message>{_QUOTED})" (?P<status>\d{{3}}|-) (?P<body_bytes_sent>\d+|-)'
)
_COMBINED = _COMMON + rf' "(?P<http_referer>{_QUOTED})" "(?P<http_user_agent>{_QUOTED})"'
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"


def level_of(status: str) -> str:
    """5xx ERROR, 4xx WARN, else INFO."""
    return "ERROR" if status[:1] == "5" else "WARN" if status[:1] == "4" else "INFO"


COMBINED = Layout(
    "combined",
    (_COMBINED + r"(?: (?P<extra>.*))?",),
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 '
    '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
    nil=frozenset({"-"}),
    time_format=TIME_FORMAT,
    level_from="status",
    level=level_of,
)
COMMON = Layout(
    "common",
    (_COMMON,),
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
    nil=frozenset({"-"}),
    time_format=TIME_FORMAT,
    level_from="status",
    level=level_of,
)


def combined(source: Source) -> Any:
    return COMBINED.decode


def common(source: Source) -> Any:
    return COMMON.decode


class Bulk:
    """The bulk paths of both layouts."""

    @staticmethod
    def combined(validator: Any, extras: dict[str, str]) -> RegexBulk:
        return RegexBulk(validator, extras, COMBINED)

    @staticmethod
    def common(validator: Any, extras: dict[str, str]) -> RegexBulk:
        return RegexBulk(validator, extras, COMMON)

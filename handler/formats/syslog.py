"""``syslog``: RFC 5424 and RFC 3164 lines, as syslog daemons write them to files.

The level is the severity of ``<PRI>`` (emerg, alert FATAL; crit CRITICAL; err ERROR; warning
WARN; notice, info INFO; debug DEBUG) and ``pri`` stays an attribute. RFC 5424's structured data
is kept whole as ``structured_data``; ``-`` is an absent field. RFC 3164's time has no year and
no zone: it is read as UTC in the upload's year, or the year before when that would put it more
than a day after the upload (December's lines uploaded in January). A line without ``<PRI>``
(as rsyslog writes files) has no level: set ``default_level``.

Examples (RFC 5424 section 6.5, RFC 3164 section 5.4)::

    <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed
    -> level CRITICAL, message "'su root' failed", attributes {pri: 34, hostname: ...,
       appname: su, msgid: ID47}
    <34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ..fields import SYSLOG
from ..sources import Source
from .regex import Layout, RegexBulk, as_text

_SD = r"(?P<structured_data>-|(?:\[(?:[^\]\\]|\\.)*\])+)"
RFC5424 = (
    r"<(?P<pri>\d{1,3})>1 (?P<time>\S+) (?P<hostname>\S+) (?P<appname>\S+) (?P<procid>\S+) "
    rf"(?P<msgid>\S+) {_SD}(?: (?P<message>.*))?"
)
RFC3164 = (
    r"(?:<(?P<pri>\d{1,3})>)?(?P<time>[A-Z][a-z]{2} [ 0-9][0-9] \d\d:\d\d:\d\d) "
    r"(?P<hostname>\S+) (?P<appname>[^\s\[:]+)(?:\[(?P<procid>[^\]\s]*)\])?: ?(?P<message>.*)"
)


def severity(pri: str) -> str | None:
    """The stored level of a ``<PRI>`` (``None`` past 191, the highest RFC 5424 allows)."""
    number = int(pri)
    return SYSLOG[number % 8] if number <= 191 else None


SYSLOG_LAYOUT = Layout(
    "syslog",
    (RFC5424, RFC3164),
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    nil=frozenset({"-"}),
    level_from="pri",
    level=severity,
)
#: RFC 3164's time, read in the upload's year ("Oct  1" is padded with a space).
TIME_3164 = "{year} %b %d %H:%M:%S"


def _layouts() -> tuple[Layout, Layout]:
    return (
        Layout(
            "syslog", (RFC5424,), SYSLOG_LAYOUT.example, SYSLOG_LAYOUT.nil, None, "pri", severity
        ),
        Layout(
            "syslog",
            (RFC3164,),
            SYSLOG_LAYOUT.example,
            SYSLOG_LAYOUT.nil,
            TIME_3164,
            "pri",
            severity,
            rewrite=(("time", r"^([A-Z][a-z]{2})  ([0-9])", r"\1 0\2"),),
        ),
    )


LAYOUT_5424, LAYOUT_3164 = _layouts()


def decode(line: bytes, upload: Any) -> Any:
    """RFC 5424 first, then RFC 3164 (the reference)."""
    found = LAYOUT_5424.decode(line, upload)
    if isinstance(found, dict) or found is None or found.code != "no_match":
        return found
    found = LAYOUT_3164.decode(line, upload)
    if not isinstance(found, dict) and found is not None and found.code == "no_match":
        return SYSLOG_LAYOUT.decode(b"\0", upload)  # the one no_match detail of the format
    return found


def decoder(source: Source) -> Any:
    return decode


class Bulk:
    """Both expressions in bulk, 5424 first (a 5424 line never matches 3164's expression)."""

    def __init__(self, validator: Any, extras: dict[str, str]) -> None:
        self.first = RegexBulk(validator, extras, LAYOUT_5424)
        self.second = RegexBulk(validator, extras, LAYOUT_3164)
        self.schema = self.first.schema

    def decide_text(self, text: bytes, offsets: Any) -> Any:
        from ..columnar import Decided

        first = self.first.decide_text(text, offsets)
        second = self.second.decide_text(text, offsets)
        if not len(second.positions):
            return first
        taken = np.zeros(len(offsets) - 1, bool)
        taken[first.positions] = True
        keep = ~taken[second.positions]
        return Decided(
            np.concatenate([first.positions, second.positions[keep]]),
            pa.concat_tables([first.table, second.table.filter(pa.array(keep))]),
        )

    def decide(self, lines: list[bytes]) -> Any:
        return self.decide_text(*as_text(lines))

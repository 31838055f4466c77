"""``cri``: Kubernetes container logs as containerd and CRI-O write them.

``<RFC 3339 nano time> <stdout|stderr> <P|F> <content>``; the content is the message, and when
it is an app's JSON object it is read again as JSON (its time, level and message win; the
line's time fills in when it has none). CRI carries no level: set ``default_level`` for apps
that write plain text. A partial line (``P``) is its own record, tagged ``logtag: P``.

Example (the CRI logging proposal)::

    2016-10-06T00:17:09.669794202Z stdout F The content of the log entry 1
    -> event_time 2016-10-06T00:17:09.669794, message "The content of the log entry 1",
       attributes {stream: stdout, logtag: F}   (level: default_level)
"""

from __future__ import annotations

from typing import Any

from ..sources import Source
from .regex import Layout, RegexBulk

CRI = Layout(
    "cri",
    (r"(?P<time>\S+) (?P<stream>stdout|stderr) (?P<logtag>[A-Z](?::[A-Z])*) (?P<log>.*)",),
    "2016-10-06T00:17:09.669794202Z stdout F The content of the log entry 1",
    roles=("time", "level", "log"),
    json_inside=True,
)


def decoder(source: Source) -> Any:
    return CRI.decode


def Bulk(validator: Any, extras: dict[str, str]) -> RegexBulk:
    return RegexBulk(validator, extras, CRI)

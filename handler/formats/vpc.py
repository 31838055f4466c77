"""``vpc-flow``: VPC Flow Logs delivered to S3, into ``vpc_flow_logs`` with the columns of AWS's
own Athena table (Athena User Guide: "Query Amazon VPC flow logs"; the fields: the VPC user
guide's "Flow log records").

Every file S3 delivery writes starts with a header line naming its fields
(``version account-id interface-id ...``, hyphens for underscores): that line decides how the
file is read, so the default format and every custom format and version work; a column whose
field the file lacks is NULL, a field no column names is kept in ``new_fields``. A file without a
header is read as the default format (version 2). ``event_time`` is ``start`` (else ``end``).

Example (the VPC guide's, default format)::

    version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes ...
    2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249
    1418530010 1418530070 ACCEPT OK
    -> version 2, srcaddr 172.31.16.139, dstport 22, protocol 6, bytes 4249,
       start 1418530010, action ACCEPT, event_time 2014-12-14T04:06:50
"""

from __future__ import annotations

import re

from .spaced import SpacedLayout, one

DEFAULT_FIELDS = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status"
)
_HEADER = re.compile(r"[a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)*")


def layout_for(head: str | None) -> tuple[SpacedLayout, str | None]:
    """The layout the object's header line names (the default format without one), and that
    line (``None`` without one)."""
    first = (head or "").split("\n", 1)[0].rstrip("\r")
    header = first if _HEADER.fullmatch(first) and " " in first else None
    names = [n.replace("-", "_") for n in (header or DEFAULT_FIELDS).split(" ")]
    time = "start" if "start" in names else "end" if "end" in names else names[0]
    layout = SpacedLayout(
        "vpc-flow",
        tuple(one(name) for name in names),
        time=time,
        time_format="epoch",
        example="2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 "
        "4249 1418530010 1418530070 ACCEPT OK",
        quotes=False,
    )
    return layout, header

"""What an object is when its key says nothing: AWS's logs told by their first bytes.

Keys are the first guide (``sources.py``); an object no source's glob matches is read here,
from its first 64 KiB (gunzipped when gzip), before it is skipped as unmatched: CloudFront's
``#Version:``/``#Fields:`` lines, a VPC Flow Logs header line, CloudTrail's ``{"Records":[``, a
CloudWatch subscription message's ``{"messageType":``, and the first fields of an ALB, NLB or
S3 server access line. What it finds reads the object as the built-in ``aws-*`` source would.
"""

from __future__ import annotations

import re
import zlib

from .sources import AWS_SOURCES, Source

#: How much of an object's start is read to tell what it is (and shown to a typed format for
#: its header lines).
HEAD_BYTES = 64 * 1024
_SIGNS = (
    ("cloudfront", re.compile(rb"#Version: [\d.]+\r?\n#Fields: date time ")),
    ("vpc-flow", re.compile(rb"version (?:[a-z-]+ )*(?:srcaddr|interface-id|account-id)[ \r\n]")),
    ("cloudtrail", re.compile(rb'\s*\{\s*"Records"\s*:\s*\[')),
    ("cloudwatch-firehose", re.compile(rb'\s*\{\s*"messageType"\s*:')),
    ("alb", re.compile(rb"(?:https?|h2|wss?|grpcs) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z app/")),
    ("nlb", re.compile(rb"tls \d\.\d \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d net/")),
    ("s3-access", re.compile(rb"[0-9a-f]{64} \S+ \[\d\d/\w{3}/\d{4}:")),
)


def recognise(head: bytes) -> Source | None:
    """The built-in source of the AWS log ``head`` (an object's first bytes) starts, if any."""
    text = _gunzipped(head[:HEAD_BYTES])
    for fmt, sign in _SIGNS:
        if sign.match(text):
            return next(s for s in AWS_SOURCES if s.format == fmt)
    return None


def _gunzipped(head: bytes) -> bytes:
    if not head.startswith(b"\x1f\x8b"):
        return head
    try:
        return zlib.decompressobj(wbits=31).decompress(head, HEAD_BYTES)
    except zlib.error:
        return b""

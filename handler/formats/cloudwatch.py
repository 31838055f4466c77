"""``cloudwatch-firehose`` and ``cloudwatch-export``: CloudWatch Logs delivered to S3 by a subscription filter through
Firehose, into ``processed_logs``. Firehose writes each subscription message as it came, gzip
members holding JSON objects back to back with no separator (``{...}{...}``); each
``DATA_MESSAGE``'s ``logEvents`` item is one record, ``CONTROL_MESSAGE``s (CloudWatch checking
the destination) are dropped. A message that is a JSON object (a Lambda's JSON log line,
Powertools, any JSON logger) is read as that logger's record, its own time and level found by
the ``ndjson`` rules; a text message becomes ``message``. The event's ``timestamp`` is the time
where the record has none, and ``logGroup``, ``logStream`` and ``owner`` are kept as attributes.
Objects stream out of ``documents.objects``, so a file of any size is read in bounded memory; an
object that is not JSON becomes its line's ``invalid_json`` row.

Example (the shape CloudWatch documents for subscription messages)::

    {"messageType":"DATA_MESSAGE","owner":"111111111111","logGroup":"test","logStream":"test",
     "subscriptionFilters":["Destination"],"logEvents":[{"id":"3568...","timestamp":
     1600110569039,"message":"{\\"level\\":\\"INFO\\",\\"msg\\":\\"started\\"}"}]}
    -> one row: level INFO, message started, attributes {logGroup: test, logStream: test, ...}
"""

from __future__ import annotations

from typing import Any

import orjson

from ..fields import TIME_KEYS
from .documents import objects
from .regex import Layout, RegexBulk

_KEPT = ("logGroup", "logStream", "owner")


def events(message: bytes) -> bytes:
    """One subscription message as NDJSON lines, one per log event (none for a control one)."""
    try:
        doc = orjson.loads(message)
    except orjson.JSONDecodeError:
        return message.replace(b"\n", b" ") + b"\n"  # not JSON: its own invalid_json row
    if type(doc) is not dict or not isinstance(doc.get("logEvents"), list):
        return orjson.dumps(doc) + b"\n"  # not a subscription message: validated as it is
    if doc.get("messageType") == "CONTROL_MESSAGE":
        return b""
    kept = {k: doc[k] for k in _KEPT if k in doc}
    return b"".join(orjson.dumps(_record(event, kept)) + b"\n" for event in doc["logEvents"])


def _record(event: Any, kept: dict[str, Any]) -> Any:
    if type(event) is not dict:
        return event
    text = event.get("message")
    record: Any = None
    if type(text) is str and text.lstrip().startswith("{"):
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError:
            record = None
    if type(record) is not dict:
        record = {"message": text}
    if not any(key in record for key in TIME_KEYS) and "timestamp" in event:
        record["timestamp"] = event["timestamp"]
    for key, value in kept.items():
        record.setdefault(key, value)
    return record


SPLIT = objects("messageType", events)


#: An export task's lines (``<prefix>/<task-id>/<stream>/000000.gz``): ``<ISO time> <message>``,
#: a message's further lines continuing it (the built-in source's ``multiline``).
EXPORT = Layout(
    "cloudwatch-export",
    (r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) (?P<message>.*)",),
    "2024-01-31T12:00:00.000Z START RequestId: 8f5a Version: $LATEST",
)
EXPORT_START = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z "


def export(source: Any) -> Any:
    return EXPORT.decode


def export_bulk(validator: Any, extras: dict[str, str]) -> RegexBulk:
    return RegexBulk(validator, extras, EXPORT)

"""``otlp-json``: OpenTelemetry logs as the collector's file exporter writes them, one export
request (``{"resourceLogs": [...]}``) per line, each holding many log records.

Every ``logRecords[]`` item is one row: ``timeUnixNano`` (``observedTimeUnixNano`` when it is
0 or absent), ``severityText`` or ``severityNumber``, ``body`` (a string value as it is, any
other value as its JSON); its ``attributes`` are flattened to ``key: value``, the resource's as
``resource.<key>`` and the scope's as ``scope.name``, ``scope.version`` and ``scope.<key>``;
``traceId``, ``spanId``, ``flags`` and ``eventName`` stay attributes. All records of a line
share its ``source_line``; counts are per record (a line with none is one blank record). A line
without ``resourceLogs`` is read as one plain JSON record, so the ``ndjson`` format unnests
OTLP lines too, with no configuration (``otlp-json`` says so explicitly). These records are
read by the reference only: there is no bulk path for them.

Example (opentelemetry-proto ``examples/logs.json``, on one line)::

    {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":
    "my.service"}}]},"scopeLogs":[{"scope":{"name":"my.library","version":"1.0.0"},"logRecords":
    [{"timeUnixNano":1544712660300000000,"severityText":"Information","body":{"stringValue":
    "Example log record"}}]}]}]}
    -> event_time 2018-12-13T14:51:00.300, level INFO, message "Example log record",
       attributes {resource.service.name: my.service, scope.name: my.library, ...}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from ..fields import json_text
from ..sources import Source
from ..verdicts import Decoded, Invalid
from . import ndjson

_SCALARS = ("stringValue", "boolValue", "intValue", "doubleValue", "bytesValue")


def decode_many(line: bytes, upload: datetime | None = None) -> list[Decoded]:
    """The records of one line: flattened log records, or the line's one verdict."""
    obj = ndjson.decode(line, upload)
    if not isinstance(obj, dict) or "resourceLogs" not in obj:
        return [obj]
    resources = obj["resourceLogs"]
    if not isinstance(resources, list):
        return [Invalid("not_an_object", "resourceLogs must be an array of ResourceLogs")]
    out: list[Decoded] = []
    for resource_logs in resources:
        if not isinstance(resource_logs, dict):
            out.append(Invalid("not_an_object", "a resourceLogs item is not an object"))
            continue
        resource = _attributes((resource_logs.get("resource") or {}).get("attributes"), "resource.")
        for scope_logs in resource_logs.get("scopeLogs") or []:
            scope = (scope_logs or {}).get("scope") or {}
            named = {f"scope.{k}": scope[k] for k in ("name", "version") if scope.get(k)}
            scoped = resource | named | _attributes(scope.get("attributes"), "scope.")
            for record in (scope_logs or {}).get("logRecords") or []:
                out.append(_record(record, scoped))
    return out


def _record(record: Any, context: dict[str, Any]) -> Decoded:
    if not isinstance(record, dict):
        return Invalid("not_an_object", "a logRecords item is not an object")
    fields: dict[str, Any] = {}
    time = record.get("timeUnixNano")
    if time in (None, 0, "0"):
        time = record.get("observedTimeUnixNano")
    if time not in (None, 0, "0"):
        fields["timeUnixNano"] = str(time)
    for key in ("severityText", "severityNumber"):
        if record.get(key) not in (None, "", 0):
            fields[key] = record[key]
    if "body" in record:
        fields["body"] = _value(record["body"])
    for key in ("traceId", "spanId", "flags", "eventName"):
        if record.get(key) not in (None, ""):
            fields[key] = record[key]
    return fields | _attributes(record.get("attributes"), "") | context


def _attributes(items: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {
        f"{prefix}{item['key']}": _value(item.get("value"))
        for item in items
        if isinstance(item, dict) and isinstance(item.get("key"), str)
    }


def _value(value: Any) -> Any:
    """An AnyValue as a plain value: a scalar as it is, arrays and maps as JSON-ready values."""
    if not isinstance(value, dict):
        return value
    for kind in _SCALARS:
        if kind in value:
            return value[kind]
    if "arrayValue" in value:
        return [_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        pairs = (value["kvlistValue"] or {}).get("values") or []
        return {p.get("key"): _value(p.get("value")) for p in pairs if isinstance(p, dict)}
    return json_text(value) if value else None


def decode_first(line: bytes, upload: datetime | None = None) -> Decoded:
    """The line's first record (for callers that take one verdict a line)."""
    found = decode_many(line, upload)
    return found[0] if found else None


def decoder(source: Source) -> Any:
    return decode_first


class Bulk:
    """No bulk path: every line goes to the reference, which unnests it."""

    def __init__(self, validator: Any, extras: dict[str, str]) -> None:
        from ..columnar import Columnar

        self.schema = Columnar(validator, extras).schema

    def decide_text(self, text: bytes, offsets: np.ndarray) -> Any:
        from ..columnar import Decided

        return Decided(np.empty(0, np.int64), self.schema.empty_table())

    def decide(self, lines: list[bytes]) -> Any:
        return self.decide_text(b"", np.zeros(1, np.int64))

"""``cloudfront``: CloudFront standard (legacy) access logs, into ``cloudfront_logs`` with the
columns of AWS's own Athena table (Athena User Guide: "Query Amazon CloudFront logs",
``cloudfront_standard_logs``; the fields: the CloudFront guide's "Standard logging reference").

Tab-separated lines after ``#Version:`` and ``#Fields:`` lines; the ``#Fields:`` line decides
which field is where (a file without one is read as the documented 33 fields). Values are kept
as CloudFront writes them (URL-encoded user agents, as AWS's table returns them); ``-`` is NULL.
``event_time`` is ``date`` and ``time`` (UTC).

Example (the CloudFront guide's)::

    2019-12-04	21:02:31	LAX1	392	192.0.2.100	GET	d111111abcdef8.cloudfront.net
    /index.html	200	-	Mozilla/5.0%20(Windows%20NT%2010.0;...	-	-	Hit	...
    -> date 2019-12-04, location LAX1, bytes 392, status 200, result_type Hit, ...
"""

from __future__ import annotations

from .spaced import SpacedLayout, one

#: The log's field names -> the columns of AWS's table, in the documented order.
COLUMNS = {
    "date": "date", "time": "time", "x-edge-location": "location", "sc-bytes": "bytes",
    "c-ip": "request_ip", "cs-method": "method", "cs(Host)": "host", "cs-uri-stem": "uri",
    "sc-status": "status", "cs(Referer)": "referrer", "cs(User-Agent)": "user_agent",
    "cs-uri-query": "query_string", "cs(Cookie)": "cookie", "x-edge-result-type": "result_type",
    "x-edge-request-id": "request_id", "x-host-header": "host_header",
    "cs-protocol": "request_protocol", "cs-bytes": "request_bytes", "time-taken": "time_taken",
    "x-forwarded-for": "xforwarded_for", "ssl-protocol": "ssl_protocol",
    "ssl-cipher": "ssl_cipher", "x-edge-response-result-type": "response_result_type",
    "cs-protocol-version": "http_version", "fle-status": "fle_status",
    "fle-encrypted-fields": "fle_encrypted_fields", "c-port": "c_port",
    "time-to-first-byte": "time_to_first_byte",
    "x-edge-detailed-result-type": "x_edge_detailed_result_type",
    "sc-content-type": "sc_content_type", "sc-content-len": "sc_content_len",
    "sc-range-start": "sc_range_start", "sc-range-end": "sc_range_end",
}  # fmt: skip


def _column(field: str) -> str:
    """A field's column: AWS's name, or for a field AWS added later its name made a column's
    (``distribution-tenant-id`` -> ``distribution_tenant_id``)."""
    known = COLUMNS.get(field)
    if known:
        return known
    return "".join(c if c.isalnum() else "_" for c in field.lower()).strip("_")


def layout_for(head: str | None) -> tuple[SpacedLayout, str | None]:
    """The layout the ``#Fields:`` line names (the documented fields without one)."""
    fields = next(
        (line[len("#Fields:") :].split() for line in (head or "").split("\n")
         if line.startswith("#Fields:")),
        list(COLUMNS),
    )  # fmt: skip
    layout = SpacedLayout(
        "cloudfront",
        tuple(one(_column(f)) for f in fields),
        time=("date", "time"),
        time_format=None,
        example="2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net",
        separator="\t",
        quotes=False,
        comment="#",
    )
    return layout, None

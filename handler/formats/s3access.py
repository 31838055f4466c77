"""``s3-access``: Amazon S3 server access logs, into ``s3_access_logs`` with the columns of AWS's
own Athena table (Athena User Guide: "Query Amazon S3 server access logs"; the fields: the S3
user guide's "Amazon S3 server access log format"). As in AWS's table, ``requestdatetime`` is
the text between the brackets and ``request_uri``, ``referrer`` and ``useragent`` keep their
quotes; ``event_time`` is the request time in UTC.

Example (the S3 guide's)::

    79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be awsexamplebucket1
    [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df9...ef2be 3E57427F3EXAMPLE
    REST.GET.VERSIONING - "GET /awsexamplebucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-"
    "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=
    SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com
    TLSV1.2 arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes
    -> bucket_name awsexamplebucket1, requestdatetime 06/Feb/2019:00:00:38 +0000,
       operation REST.GET.VERSIONING, httpstatus 200, bytessent 113, ...
"""

from __future__ import annotations

from .spaced import SpacedLayout, one

S3_ACCESS = SpacedLayout(
    "s3-access",
    (
        one("bucketowner"),
        one("bucket_name"),
        one("requestdatetime", tokens=2, bracketed=True),
        one("remoteip"),
        one("requester"),
        one("requestid"),
        one("operation"),
        one("key"),
        one("request_uri", keep_quotes=True),
        one("httpstatus"),
        one("errorcode"),
        one("bytessent"),
        one("objectsize"),
        one("totaltime"),
        one("turnaroundtime"),
        one("referrer", keep_quotes=True),
        one("useragent", keep_quotes=True),
        one("versionid"),
        one("hostid"),
        one("sigv"),
        one("ciphersuite"),
        one("authtype"),
        one("endpoint"),
        one("tlsversion"),
        one("accesspointarn"),
        one("aclrequired"),
    ),
    time="requestdatetime",
    time_format="%d/%b/%Y:%H:%M:%S %z",
    example=(
        "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be awsexamplebucket1 "
        "[06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8"
        'd5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /awsexamplebucket1?'
        'versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" -'
    ),
    required=17,
)

"""``cloudtrail``: CloudTrail log files, into ``cloudtrail_logs`` with the columns of AWS's own
Athena table (Athena User Guide: "Query AWS CloudTrail logs"). A file is one JSON document,
``{"Records":[...]}``; each record is one row (``documents.py`` streams them out, so a file of
any size is read in bounded memory, and ``source_line`` is the record's number in the file).
``event_time`` is ``eventTime``. Digest files (``CloudTrail-Digest/``) are not records and
match no built-in source.
"""

from __future__ import annotations

from .documents import splitter
from .jsontyped import engine

EXAMPLE = (
    '{"Records": [{"eventVersion": "1.0", "userIdentity": {"type": "IAMUser", "userName": '
    '"Alice"}, "eventTime": "2014-03-06T21:22:54Z", "eventName": "StartInstances"}]}'
)
ENGINE = engine("cloudtrail", "eventTime", "iso")
SPLIT = splitter("Records")

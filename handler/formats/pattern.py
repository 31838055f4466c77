"""``pattern``: your own regular expression, for text layouts no built-in format reads (Python
``logging``, log4j and logback pattern layouts, anything with a fixed shape).

Named groups ``time``, ``level`` and ``message`` are the row's (``time`` by the usual rules, or
the source's ``time_format``); every other named group is an attribute. Write it in the syntax
RE2 and Python share: the same expression runs in bulk (Arrow's RE2) and per line.

Example: Python's ``logging`` with ``%(asctime)s %(levelname)s [%(name)s] %(message)s``::

    pattern = '(?P<time>\\S+ \\S+) (?P<level>[A-Z]+) \\[(?P<logger>[^\\]]+)\\] (?P<message>.*)'
    2005-03-19 15:10:26,618 INFO [simple_example] started
    -> event_time 2005-03-19T15:10:26.618, level INFO, message "started",
       attributes {logger: simple_example}
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..sources import Source
from .regex import Layout, RegexBulk


@cache
def layout(source: Source) -> Layout:
    return Layout(source.name, (source.pattern or "",), "your pattern")


def decoder(source: Source) -> Any:
    return layout(source).decode


def Bulk(validator: Any, extras: dict[str, str]) -> RegexBulk:
    return RegexBulk(validator, extras, layout(validator.source))

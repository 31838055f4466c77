"""``logfmt``: ``key=value`` pairs, as Go kit, logrus' text formatter and Heroku write them.

A value is a bare word or a double-quoted text (JSON escapes; one that is not valid JSON is
kept as written); a key alone has the empty value. Every value is a text. Heroku's
``<time> <source>[<dyno>]:`` prefix becomes the fields ``time``, ``source`` and ``dyno``.
Fields are found as in JSON, with Heroku's ``at`` as a level too. A line that is not pairs
(one without any ``=``) is ``no_match``.

Example (Go kit's documentation)::

    ts=2015-03-26T01:27:38.123Z level=info msg="hello world" user=bob
    -> event_time 2015-03-26T01:27:38.123, level INFO, message "hello world",
       attributes {user: bob}

The bulk path rewrites each line into a JSON object with Arrow's RE2 (lines with a backslash
or a tab go to the reference) and hands those to the JSON bulk path.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..sources import Source
from ..verdicts import Decoded, Invalid
from .regex import as_text, text_of, utf8_lines

_PAIR = re.compile(r'\s*([^\s="]+)(?:=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*)))?', re.ASCII)
_HEROKU = re.compile(r"(\S+) ([\w.-]+)\[([\w.-]+)\]: ", re.ASCII)
_SPACE = " \t\n\r\x0b\x0c"
EXAMPLE = 'ts=2015-03-26T01:27:38.123Z level=info msg="hello world" user=bob'
#: The same grammar for RE2, turning each pair into ``,"key":"value"``.
_RE2_PAIR = r'(?:^|[ ]+)([^\s="]+)(?:=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*)))?'
_RE2_HEROKU = r"^(\S+) ([\w.-]+)\[([\w.-]+)\]: "
#: A whole line of pairs (lines that are not are left to the reference, never rewritten).
_RE2_LINE = (
    r'^(?:\S+ [\w.-]+\[[\w.-]+\]: )?[ ]*(?:[^\s="]+(?:=(?:"(?:[^"\\]|\\.)*"|[^\s"]*))?'
    r"(?:[ ]+|$))+$"
)


def decode(line: bytes, upload: datetime | None = None) -> Decoded:
    """The pairs of one line, in order (the last of a repeated key wins)."""
    text = text_of(line)
    if not isinstance(text, str):
        return text
    out: dict[str, Any] = {}
    prefix = _HEROKU.match(text)
    at = 0
    if prefix:
        out.update(time=prefix[1], source=prefix[2], dyno=prefix[3])
        at = prefix.end()
    pairs = 0
    while at < len(text):
        found = _PAIR.match(text, at)
        if found is None or found.end() == at:
            if not text[at:].strip(_SPACE):
                break
            return _no_match(at)
        key, quoted, bare = found.groups()
        if quoted is not None:
            out[key] = _unquoted(quoted)
        else:
            out[key] = bare or ""
        pairs += "=" in found[0]
        at = found.end()
        if at < len(text) and text[at] not in _SPACE:
            return _no_match(at)
    if not pairs:
        return _no_match(0)
    return out


def _unquoted(text: str) -> str:
    if "\\" not in text:
        return text
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _no_match(at: int) -> Invalid:
    return Invalid(
        "no_match",
        f"not logfmt at character {at + 1} (like: {EXAMPLE}); set the source's format to the "
        "producer's",
    )


def decoder(source: Source) -> Any:
    return decode


class Bulk:
    """logfmt -> JSON in Arrow, then the JSON bulk path over the rewritten lines."""

    def __init__(self, validator: Any, extras: dict[str, str]) -> None:
        from ..columnar import Columnar

        self.columnar = Columnar(validator, extras)
        self.schema = self.columnar.schema

    def decide(self, lines: list[bytes]) -> Any:
        return self.columnar.decide(self.as_json(lines))

    def decide_text(self, text: bytes, offsets: np.ndarray) -> Any:
        strings, usable = utf8_lines(text, offsets)
        converted = _json_lines(strings, usable)
        data = converted.buffers()[2]
        json_offsets = np.frombuffer(converted.buffers()[1], np.int64)[: len(converted) + 1]
        body = data.to_pybytes()[int(json_offsets[0]) : int(json_offsets[-1])] if data else b""
        return self.columnar.decide_text(body, json_offsets - json_offsets[0])

    def as_json(self, lines: list[bytes]) -> list[bytes]:
        """The lines as the bulk path rewrites them (for tests)."""
        strings, usable = utf8_lines(*as_text(lines))
        return [x[:-1].encode() for x in _json_lines(strings, usable).to_pylist()]


def _json_lines(strings: pa.Array, usable: np.ndarray) -> pa.Array:
    """Each line as ``{"key":"value",...}\\n``; a line that cannot be rewritten safely (not
    UTF-8, a backslash, a control character) as an empty line."""
    safe = pc.invert(pc.match_substring_regex(strings, r"[\\\x00-\x08\x0b-\x1f\x7f]"))
    safe = pc.and_(safe, pa.array(usable))
    safe = pc.and_(safe, pc.match_substring_regex(strings, _RE2_LINE))
    safe = pc.and_(safe, pc.match_substring(strings, "="))
    prefixed = pc.replace_substring_regex(strings, _RE2_HEROKU, r"time=\1 source=\2 dyno=\3 ")
    pairs = pc.replace_substring_regex(prefixed, _RE2_PAIR, r',"\1":"\2\3"')
    body = pc.utf8_slice_codeunits(pairs, 1)
    text = pa.large_string()
    wrapped = pc.binary_join_element_wise(
        pa.scalar("{", text), body, pa.scalar("}\n", text), pa.scalar("", text)
    )
    blank = pa.scalar("\n", pa.large_string())
    starts = pc.starts_with(pairs, ",")
    return pc.if_else(pc.and_(safe, starts), wrapped, blank).cast(pa.large_string())

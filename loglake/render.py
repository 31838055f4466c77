"""Query results as a table, CSV or JSON, with one spelling for every kind of value.

Timestamps are ISO-8601 UTC (``2025-07-21T10:00:05Z``) everywhere; maps and lists are JSON in
CSV and in tables, and real JSON in ``--format json``; whole numbers stay whole. Tables cut long
text so a row fits a terminal; CSV and JSON keep every character.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

#: Longest text shown in one table cell.
CELL = 40


@dataclass(frozen=True)
class Rows:
    """A result as column names and row tuples: what every engine answers and ``render`` reads,
    so printing a result needs neither pandas nor a particular engine."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    @classmethod
    def of(cls, result: Any) -> Rows:
        """From a pandas DataFrame (Athena's answers, the report's panels) or a pyarrow Table."""
        if isinstance(result, Rows):
            return result
        if hasattr(result, "itertuples"):  # pandas, without importing it here
            rows = list(result.itertuples(index=False, name=None))
            return cls(tuple(str(c) for c in result.columns), rows)
        columns = [column.to_pylist() for column in result.columns]
        return cls(tuple(result.column_names), list(zip(*columns, strict=True)))


def render(result: Any, fmt: str) -> str:
    """Text for a result (``Rows``, a DataFrame or an Arrow table): ``table`` (aligned columns),
    ``csv`` or ``json`` (one object per row)."""
    found = Rows.of(result)
    rows = [[plain(v) for v in row] for row in found.rows]
    columns = list(found.columns)
    if fmt == "json":
        return json.dumps([dict(zip(columns, r, strict=True)) for r in rows], indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v) for v in r] for r in rows])
        return out.getvalue()
    if not rows:
        return "(no rows)\n" if not columns else " | ".join(columns) + "\n(no rows)\n"
    return _aligned(columns, [[_cut(_shown(v)) for v in r] for r in rows])


def _aligned(columns: list[str], cells: list[list[str]]) -> str:
    """Every column right-aligned to its widest cell, one space between columns."""
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [columns, *cells]
    return "".join(
        " ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) + "\n" for line in lines
    )


def plain(value: Any) -> Any:
    """A JSON-ready value: None, bool, int, float, str, list or dict (from Python, numpy or
    pandas values alike)."""
    if value is None or type(value).__name__ == "NaTType":
        return None
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or hasattr(value, "tolist"):
        items = list(value)
        if items and all(isinstance(i, tuple) and len(i) == 2 for i in items):  # a map's pairs
            return {str(k): plain(v) for k, v in items}
        return [plain(i) for i in items]
    return str(value)


def _iso(moment: datetime) -> str:
    """ISO-8601 UTC with ``Z``; naive timestamps are UTC already (loglake stores UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text + "Z"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _cut(text: str) -> str:
    text = printable(text.replace("\n", " "))
    return text if len(text) <= CELL else text[: CELL - 3] + "..."


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (a binary line's bytes, an escape
    sequence that would recolour or clear the screen) shown as ``\\x1b``, tabs kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _shown(value: Any) -> str:
    """A table cell: floats rounded for reading (CSV and JSON keep every digit)."""
    if isinstance(value, float) and math.isfinite(value) and value != int(value):
        digits = 2 if abs(value) >= 1 else 6
        return f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return _text(value)


def size_text(size: float) -> str:
    """Bytes for people: ``812 B``, ``4.2 kB``, ``31.5 MB``, ``2.10 GB`` (never ``0.0 MB``)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.2f} {unit}" if unit == "GB" else f"{size / scale:,.1f} {unit}"
    return f"{size:,.0f} B"


def plural(count: int, word: str) -> str:
    """``1 row``, ``2 rows``: a count and its noun."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def table(headers: list[str], rows: list[tuple[Any, ...]]) -> str:
    """Rows as an aligned text table (the CLI's summaries)."""
    return render(Rows(tuple(headers), rows), "table")

"""Query results as a table, CSV or JSON."""

from __future__ import annotations

import json

import pandas as pd


def render(frame: pd.DataFrame, fmt: str) -> str:
    """Text for a result: ``table`` (aligned columns), ``csv`` or ``json`` (one object per row)."""
    if fmt == "csv":
        return str(frame.to_csv(index=False))
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="us"))
        return json.dumps(records, indent=2, default=str) + "\n"
    if frame.empty:
        return (
            "(no rows)\n" if not len(frame.columns) else " | ".join(frame.columns) + "\n(no rows)\n"
        )
    shown = frame.copy()
    for column in shown.columns:
        shown[column] = shown[column].map(_cell)
    return str(shown.to_string(index=False)) + "\n"


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, list | tuple):  # a map arrives as a list of (key, value) pairs
        return (
            json.dumps(dict(value))
            if all(isinstance(v, tuple) for v in value)
            else json.dumps(value)
        )
    if isinstance(value, dict):
        return json.dumps(value)
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."

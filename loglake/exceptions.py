"""Every failure the tooling raises on purpose, one documented class each.

They extend the handler's ``LoglakeError`` (``handler/exceptions.py``), so the CLI prints any of
them as one ``Error: ...`` line with exit code 2.
"""

from __future__ import annotations

from handler.exceptions import LoglakeError


class QueryError(LoglakeError):
    """A saved query is unknown, malformed, or was given wrong parameters."""


class LayerError(LoglakeError):
    """The layer cannot be built or does not pass its checks."""


class DeployError(LoglakeError):
    """The stack could not be created, updated or deleted."""


class ReportError(LoglakeError):
    """``loglake report`` cannot run: a bad range, an unwritable output, a missing extra."""


class CompactUsageError(LoglakeError):
    """``loglake compact`` was given days it cannot use (a bad date, an empty range)."""


class LifecycleUsageError(LoglakeError):
    """``loglake retention`` or ``loglake erase`` was given something it cannot use (an unknown
    table, a predicate that is not a plain condition over the table's columns)."""


__all__ = [
    "CompactUsageError",
    "DeployError",
    "LayerError",
    "LifecycleUsageError",
    "LoglakeError",
    "QueryError",
    "ReportError",
]

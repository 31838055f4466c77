"""loglake's Lambda code: S3 object-created notification -> validated Parquet in Glue tables.

Entry point: ``handler.app.lambda_handler``. This package ships in the function zip, so it imports
nothing from the CLI, moto or the tests. ``Config``, ``Pipeline`` and ``Result`` load on first use,
so importing ``handler.exceptions`` (as the CLI does for every command) does not import pandas.
"""

from typing import TYPE_CHECKING, Any

from .exceptions import (
    ConfigError,
    DdlError,
    LoglakeError,
    ObjectChangedError,
    SchemaMismatchError,
    UnsupportedEventError,
    WorkerError,
)

if TYPE_CHECKING:
    from .config import Config
    from .pipeline import Pipeline, Result

__all__ = [
    "Config",
    "ConfigError",
    "DdlError",
    "LoglakeError",
    "ObjectChangedError",
    "Pipeline",
    "Result",
    "SchemaMismatchError",
    "UnsupportedEventError",
    "WorkerError",
]


def __getattr__(name: str) -> Any:
    if name == "Config":
        from .config import Config

        return Config
    if name in {"Pipeline", "Result"}:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'handler' has no attribute {name!r}")

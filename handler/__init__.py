"""loglake's Lambda code: S3 object-created notification -> validated Parquet in Glue tables.

Entry point: ``handler.app.lambda_handler``. This package ships in the function zip, so it imports
nothing from the CLI, moto or the tests.
"""

from .config import Config
from .exceptions import (
    ConfigError,
    DdlError,
    LoglakeError,
    ObjectChangedError,
    SchemaMismatchError,
    UnsupportedEventError,
)
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
]

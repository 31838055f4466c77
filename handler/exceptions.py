"""Every failure loglake raises on purpose, one documented class each.

Invalid *lines* are never exceptions: they become rows in ``errors_logs``. These classes are for
problems with configuration, table definitions or the object as a whole.
"""


class LoglakeError(Exception):
    """Base class of every loglake error; the CLI prints it as one ``Error: ...`` line."""


class ConfigError(LoglakeError):
    """An environment variable or rules file holds a value loglake cannot use."""


class DdlError(LoglakeError):
    """A file in ``glue_ddl/`` is not a ``CREATE EXTERNAL TABLE`` loglake can read."""


class SchemaMismatchError(LoglakeError):
    """A Glue table exists with columns that differ from its definition in ``glue_ddl/``."""


class ObjectChangedError(LoglakeError):
    """The source object was overwritten while it was being processed.

    Raised so the platform retries: the retry reads the new bytes and replaces this attempt's rows.
    """


class UnsupportedEventError(LoglakeError):
    """An event or queue message carries no S3 object-created notification loglake understands.

    Raised so that, on SQS, the message is retried and finally dead-lettered rather than dropped.
    """


class WorkerError(LoglakeError):
    """A worker process failed or died while processing part of a big object.

    Raised so the platform retries; the in-progress manifest lists every file the attempt started,
    so the retry replaces them.
    """


class NotAnS3UriError(LoglakeError, ValueError):
    """A text given as an S3 location is not ``s3://bucket/key``."""


class CompactionError(LoglakeError):
    """A compaction could not finish; nothing it did is visible, and running it again is safe.

    Raised when a merged file does not hold exactly its inputs' rows, or when a partition's record
    kept changing under it.
    """

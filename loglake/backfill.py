"""Process raw objects that are already in the bucket (uploaded before the notification existed).

Already-processed versions are duplicates, so a second run changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from handler.exceptions import LoglakeError
from handler.pipeline import Pipeline
from handler.source import split_s3_uri


@dataclass
class Summary:
    """What one backfill did."""

    statuses: Counter[str] = field(default_factory=Counter)
    valid: int = 0
    invalid: int = 0

    def line(self) -> str:
        """One line for the terminal."""
        s = self.statuses
        return (
            f"processed {s['processed']}, already up to date {s['duplicate']}, gone {s['missing']}; "
            f"new rows: valid {self.valid:,}, invalid {self.invalid:,}"
        )


def keys_under(pipeline: Pipeline, uri: str, suffixes: tuple[str, ...]) -> tuple[str, list[str]]:
    """The bucket and the keys under ``uri`` whose names end in one of ``suffixes``."""
    bucket, prefix = split_s3_uri(uri)
    pages = pipeline.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [
        o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(suffixes)
    ]
    if not keys:
        raise LoglakeError(f"no objects ending in {', '.join(suffixes)} under {uri}")
    return bucket, keys


def backfill(
    pipeline: Pipeline,
    bucket: str,
    keys: Iterable[str],
    progress: Callable[[Iterable[str]], Iterator[str]] = iter,
) -> Summary:
    """Process every key (``progress`` wraps the iteration, e.g. in a progress bar)."""
    summary = Summary()
    for key in progress(keys):
        result = pipeline.process_s3(bucket, key)
        summary.statuses[result.status] += 1
        if result.status == "processed":
            summary.valid += result.valid
            summary.invalid += result.invalid
    return summary

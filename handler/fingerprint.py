"""What produced an object's rows, so reprocessing can pick exactly the objects a change affects.

Recorded in every object's manifest as ``fingerprint``: the columns and types of the table the
source's format writes,
the validation rules and limits, the definition of the source that read it, and ``VALIDATOR_VERSION``, which is bumped whenever validation
semantics change in code (a new error code, a value read differently). ``digest`` sums it up: two
objects were produced the same way exactly when their digests are equal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from .config import Config
from .sources import DEFAULT, Source

#: Bump when the same line could now validate differently (or land in other columns).
VALIDATOR_VERSION = 2


def fingerprint(config: Config, source: Source | None = None) -> dict[str, Any]:
    """The fingerprint of rows ``source`` produces under ``config``, with its ``digest``."""
    from .formats import FORMATS

    spec = source or DEFAULT
    table = FORMATS[spec.format].table
    doc: dict[str, Any] = {
        "validator": VALIDATOR_VERSION,
        "source": spec.reading(),
        "columns": [[c.name, c.type] for c in config.tables[table].columns],
        "rules": [_rule(rule) for rule in sorted(config.rules, key=lambda r: r.field)],
        "limits": {
            "min_timestamp": config.min_timestamp.isoformat(),
            "max_future_seconds": int(config.max_future.total_seconds()),
            "max_line_bytes": config.max_line_bytes,
        },
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return doc | {"digest": hashlib.sha256(text.encode()).hexdigest()[:16]}


def digest_of(manifest: dict[str, Any] | None) -> str | None:
    """The digest a manifest records (``None`` for one written before fingerprints existed)."""
    found = (manifest or {}).get("fingerprint") or {}
    return found.get("digest") if isinstance(found, dict) else None


def _rule(rule: Any) -> dict[str, Any]:
    out = {}
    for name, value in asdict(rule).items():
        if value is None or value is False:
            continue
        if hasattr(value, "pattern"):
            value = value.pattern
        elif isinstance(value, frozenset):
            value = sorted(value, key=repr)
        out[name] = value
    return out

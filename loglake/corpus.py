"""Generated logs in the tutorial's shape (and pino's and logfmt's): the corpus of ``make bench``
and the demo's week of an app's logs. Levels, messages and the kinds of bad lines are fixed, so a
seed gives the same bytes every time.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

LEVELS = ["INFO"] * 6 + ["DEBUG"] * 2 + ["WARN", "ERROR"]
#: What each level says (an ERROR is never "User login successful").
MESSAGES = {
    "INFO": ["User login successful", "Request completed", "Payment authorised"],
    "DEBUG": ["Application health check", "Cache miss for key"],
    "WARN": ["Slow response from payment provider", "Retrying request"],
    "ERROR": ["Failed to connect to database", "Payment declined by provider"],
}
BAD = [
    '{"timestamp": "2025-07-21T10:00:10Z", "raw_message": "Invalid format log"}',
    '{"timestamp": "not a time", "level": "INFO", "message": "x"}',
    '{"timestamp": "2025-07-21T10:00:10Z", "level": "LOUD", "message": "x"}',
    '{"timestamp": "2025-07-21T10:00:10Z", "level": "INFO", "message": "truncated',
    '["an", "array"]',
    '{"timestamp": "1999-07-21T10:00:10Z", "level": "INFO", "message": "too old"}',
    '{"timestamp": "2025-07-21T10:00:10Z", "level": "INFO"}',
]


def generate(
    path: Path,
    lines: int,
    seed: int = 7,
    first_day: date = date(2025, 7, 15),
    shape: str = "tutorial",
) -> None:
    """Write ``lines`` lines (~150 bytes each, 2% bad lines of mixed kinds) over the 7 days
    from ``first_day``. ``shape``: ``tutorial`` (timestamp, level, message), ``pino`` (the same
    content with pino's names, numeric levels and epoch milliseconds) or ``logfmt``."""
    if path.exists() and path.stat().st_size > 0:
        return
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as out:
        for i in range(lines):
            if rng.random() < 0.02:
                out.write(rng.choice(BAD) + "\n")
                continue
            day = first_day + timedelta(days=i * 7 // lines)
            moment = (
                f"{day}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:"
                f"{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z"
            )
            level = rng.choice(LEVELS)
            record = {
                "timestamp": moment,
                "level": level,
                "message": rng.choice(MESSAGES[level]),
                "request_id": f"{rng.getrandbits(64):016x}",
                "latency_ms": rng.randrange(2000),
                "user_id": f"user{rng.randrange(10000)}",
            }
            out.write(SHAPES[shape](record) + "\n")
    tmp.rename(path)


PINO_LEVELS = {"DEBUG": 20, "INFO": 30, "WARN": 40, "ERROR": 50}


def _pino(record: dict[str, object]) -> str:
    moment = datetime.fromisoformat(str(record.pop("timestamp")).replace("Z", "+00:00"))
    level = PINO_LEVELS[str(record.pop("level"))]
    first = {"level": level, "time": int(moment.timestamp() * 1000), "msg": record.pop("message")}
    return json.dumps(first | record)


def _logfmt(record: dict[str, object]) -> str:
    record = {"time": record.pop("timestamp"), **record}
    record["msg"] = record.pop("message")
    return " ".join(
        f'{k}="{v}"' if " " in str(v) else f"{k}={str(v).lower() if k == 'level' else v}"
        for k, v in record.items()
    )


SHAPES: dict[str, Callable[[dict[str, object]], str]] = {
    "tutorial": json.dumps,
    "pino": _pino,
    "logfmt": _logfmt,
}

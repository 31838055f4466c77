"""The data lifecycle on the local stack: moto's server over HTTP, a real worker, the CLI in
its own processes. Uploads keep arriving while an erasure runs; a deleted object takes its rows
with it; retention removes old days; the local engine and a saved query see the result."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handler.ddl import DEFAULT_DDL_DIR

from .conftest import good, ndjson
from .test_local_stack import Stack, start_stack
from .test_retention import with_retention

TODAY = datetime.now(UTC).date()
#: Ten days ending yesterday; the table keeps 7 days, so the first three expire.
DAYS = [(TODAY - timedelta(days=d)).isoformat() for d in range(10, 0, -1)]


def body(day: str, n: int) -> str:
    """6 rows (users u-0, u-1, u-2 twice each) and a bad line."""
    return ndjson(*[good(i, day, user_id=f"u-{i % 3}", n=n) for i in range(6)], "{bad")


def sql(stack: Stack, text: str) -> list[dict[str, object]]:
    done = stack.cli("sql", text, "--format", "json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


def users(stack: Stack) -> dict[str, int]:
    found = sql(
        stack,
        "SELECT attributes['user_id'] AS u, count(*) AS n FROM processed_logs GROUP BY 1",
    )
    return {str(r["u"]): int(str(r["n"])) for r in found}


def test_erasure_during_uploads_deletion_and_retention_with_a_real_worker(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("[[source]]\nname = 'apps'\nmatch = 'apps/**.log'\non_delete = 'remove'\n")
    ddl = with_retention(tmp_path / "ddl", days=7)
    proc, stack = start_stack(tmp_path, "--sources", str(sources), "--visibility-timeout", "5")
    stack.env |= {"GLUE_DDL_DIR": f"{DEFAULT_DDL_DIR}:{ddl}", "SOURCES_FILE": str(sources)}
    try:
        keys = [f"apps/{day}/{n}.log" for day in DAYS for n in range(2)]
        for key in keys:
            day, n = key.split("/")[1], int(key[-5])
            stack.s3.put_object(Bucket="loglake-raw", Key=key, Body=body(day, n).encode())
        for key in keys:
            stack.wait_manifest(key)
        assert users(stack) == {"u-0": 40, "u-1": 40, "u-2": 40}

        # More objects arrive while the erasure runs: its rows are erased wherever they land.
        late = [f"apps/{DAYS[-1]}/late-{n}.log" for n in range(5)]

        def upload() -> None:
            for key in late:
                stack.s3.put_object(Bucket="loglake-raw", Key=key, Body=body(DAYS[-1], 9).encode())
                time.sleep(0.3)

        uploader = threading.Thread(target=upload)
        uploader.start()
        where = "attributes['user_id'] = 'u-1'"
        erased = stack.cli("erase", "--table", "processed", "--where", where, timeout=300)
        uploader.join()
        assert erased.returncode == 0, erased.stderr
        assert "rows erased now" in erased.stdout
        for key in late:
            stack.wait_manifest(key)
        assert users(stack) == {"u-0": 50, "u-2": 50}
        listed = stack.cli("erase", "--list")
        assert where in listed.stdout and "done" in listed.stdout

        # A deleted object takes its rows with it (the worker gets s3:ObjectRemoved:*).
        stack.s3.delete_object(Bucket="loglake-raw", Key=keys[-1])
        deadline = time.monotonic() + 60
        while not (stack.manifest(keys[-1]) or {}).get("deleted"):
            assert time.monotonic() < deadline, stack.manifest(keys[-1])
            time.sleep(0.3)
        assert users(stack) == {"u-0": 48, "u-2": 48}

        # Retention: the three oldest days go; the saved query agrees with the rows left.
        applied = stack.cli("retention", "apply")
        assert applied.returncode == 0, applied.stderr
        assert "removed 3 expired partition(s)" in applied.stdout
        assert users(stack) == {"u-0": 36, "u-2": 36}  # 3 days x 2 objects x 2 rows each went
        levels = stack.query("level_counts")
        assert sum(int(str(r["log_count"])) for r in levels) == 72
        status = stack.cli("status")
        assert "in the tables      valid 72" in status.stdout, status.stdout
    finally:
        assert proc.stop() == 0

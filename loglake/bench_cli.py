"""The part of ``make bench`` that times answers a person waits for: ``loglake query``, ``loglake
sql`` and ``loglake report`` end to end (a new process each, as typed), on the demo's lake in a
running ``loglake local up``, next to the floor no answer can beat (importing boto3, DuckDB,
sqlglot and pyarrow) and the numbers measured before these commands were made fast.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .local.server import free_port

#: Measured on the same kind of lake before the local engine read small tables whole and the
#: report shared one listing and cached the Vega bundle (issue #25: 1.7-2.4 s and 7-8 s).
BEFORE = {"query": "1.7-2.4 s", "report": "7-8 s"}
FLOOR = "import boto3, duckdb, sqlglot, sqlglot.dialects.athena, pyarrow.compute, pyarrow.parquet"
LOGLAKE = [sys.executable, "-m", "loglake.cli"]


def run(runs: int, env_for: Callable[[str], dict[str, str]]) -> dict[str, float]:
    """Median seconds of each command over ``runs`` runs (the report: over ``runs // 2 + 1``),
    in the environment ``env_for(endpoint)`` gives (``bench.loglake_env``)."""
    from .local.stack import demo_files

    port = free_port()
    env = env_for(f"http://127.0.0.1:{port}")
    with tempfile.TemporaryDirectory(prefix="loglake-bench-cli-") as tmp:
        stack = subprocess.Popen(
            [*LOGLAKE, "local", "up", "--port", str(port)],
            env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            _ready(stack)
            files = demo_files(Path(tmp) / "data")
            subprocess.run([*LOGLAKE, "upload", *map(str, files), "--wait"], env=env, check=True,
                           cwd=tmp, capture_output=True)  # fmt: skip
            out = str(Path(tmp) / "r.html")
            commands = {
                "query": ["query", "level_counts"],
                "sql": ["sql", "SELECT level, count(*) AS n FROM processed_logs GROUP BY level"],
                "report": ["report", "-o", out],
            }
            found = {
                name: _median([*LOGLAKE, *args], env, runs if name != "report" else runs // 2 + 1)
                for name, args in commands.items()
            }
            found["floor"] = _median([sys.executable, "-c", FLOOR], env, runs)
            return found
        finally:
            stack.terminate()
            stack.wait(30)


def _ready(stack: subprocess.Popen[str]) -> None:
    assert stack.stdout is not None
    for line in stack.stdout:
        if "Ctrl-C stops" in line:
            return
    raise RuntimeError("loglake local up did not start")


def _median(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def report(found: dict[str, float]) -> None:
    """The lines ``make bench`` prints for this part."""
    print("\nanswers on the demo's lake (5,887 rows in 3 objects; a new process each, median):")
    print(f"  loglake query level_counts   {found['query']:.2f} s   (before: {BEFORE['query']})")
    print(f"  loglake sql 'SELECT ...'     {found['sql']:.2f} s")
    print(f"  loglake report               {found['report']:.2f} s   (before: {BEFORE['report']})")
    print(f"  floor: importing boto3, DuckDB, sqlglot and pyarrow {found['floor']:.2f} s")

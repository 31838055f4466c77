"""The ALB part of ``make bench``: loglake against DuckDB on the same typed-table job.

A generated corpus of ALB access log lines (the field mix of the ALB guide's entries: HTTP,
HTTPS, HTTP/2 and WebSocket requests, 2xx-5xx, ``-1`` latencies of requests that never reached
a target, user agents with spaces and quotes, IPv6 clients; 1% malformed: cut-off lines, a
text status, stray bytes). Contenders, each in its own process, timed:

* ``loglake process --format alb``: every line into ``alb_logs`` (zstd Parquet partitioned by
  event day, through the manifests) or, with its reason, into ``errors_logs``;
* DuckDB: ``read_csv`` (space delimiter, double quotes) to the same typed columns as zstd
  Parquet partitioned by day (``COPY ... PARTITION_BY``), malformed lines skipped and counted
  with ``store_rejects``.

Both must count every line: the report prints the counts beside the times.
"""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

AGENTS = [
    "curl/7.46.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
    "python-requests/2.31.0",
    "ELB-HealthChecker/2.0",
    "-",
]
PATHS = ["/", "/api/orders", "/api/orders/1234?expand=items", "/login", "/static/app.js",
         "/api/search?q=red%20shoes&page=2", "/health"]  # fmt: skip
STATUSES = [200] * 80 + [201] * 3 + [301] * 3 + [304] * 4 + [404] * 5 + [500, 502, 503, 504] + [101]


def generate(path: Path, lines: int, seed: int = 7) -> int:
    """Write ``lines`` ALB lines (1% malformed); return how many are malformed."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 30, 22, 0, 0)
    bad = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            line = _line(rng, start + timedelta(seconds=i * 172_800 / lines))
            if rng.random() < 0.01:
                bad += 1
                line = _malformed(rng, line)
            out.write(line + "\n")
    return bad


def _line(rng: random.Random, when: datetime) -> str:
    kind = rng.choice(["http", "https", "https", "h2"])
    status = rng.choice(STATUSES)
    if status == 101:
        kind = "wss"
    client = (
        f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(65536):x}"
        if rng.random() < 0.05
        else f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
    )
    reached = status not in (502, 503, 504) or rng.random() < 0.5
    target = f"10.0.{rng.randrange(4)}.{rng.randrange(256)}:80" if reached else "-"
    times = (
        f"0.000 {rng.random() * 0.8:.3f} 0.000" if reached else "-1 -1 -1"
    )  # fmt: skip
    target_status = str(status) if reached else "-"
    scheme = "http" if kind == "http" else "https"
    url = f"{scheme}://shop.example.com:{80 if scheme == 'http' else 443}{rng.choice(PATHS)}"
    verb = rng.choice(["GET"] * 8 + ["POST", "PUT"])
    tls = "- -" if kind == "http" else "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2"
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(1_000_000):06d}Z"
    created = (when - timedelta(milliseconds=rng.randrange(900))).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return (
        f"{kind} {stamp} app/shop-alb/50dc6c495c0c9188 {client}:{rng.randrange(1024, 65536)} "
        f"{target} {times} {status} {target_status} {rng.randrange(100, 2000)} "
        f'{rng.randrange(200, 90000)} "{verb} {url} HTTP/1.1" "{rng.choice(AGENTS)}" {tls} '
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/73e2d6bc24d8a067 "
        f'"Root=1-{rng.randrange(16**8):08x}-{rng.randrange(16**24):024x}" "shop.example.com" '
        '"arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" '
        f'{rng.randrange(1, 5)} {created[:-3]}Z "forward" "-" "-" "{target}" "{target_status}" '
        f'"-" "-" TID_{rng.randrange(16**16):016x}'
    )


def _malformed(rng: random.Random, line: str) -> str:
    how = rng.randrange(3)
    if how == 0:
        return line[: rng.randrange(20, len(line) // 2)]  # cut off
    if how == 1:
        parts = line.split(" ")
        parts[8] = "OK"  # a text status
        return " ".join(parts)
    return "\x00\x01 garbage " + line[:40]


DUCKDB = r"""
import duckdb, sys
src, out = sys.argv[1], sys.argv[2]
duckdb.sql("SET TimeZone = 'UTC'")
names = ["type", "time", "elb", "client", "target", "rpt", "tpt", "spt", "esc", "tsc", "rb", "sb",
         "request", "user_agent", "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id",
         "domain_name", "chosen_cert_arn", "matched_rule_priority", "request_creation_time",
         "actions_executed", "redirect_url", "lambda_error_reason", "target_port_list",
         "target_status_code_list", "classification", "classification_reason", "conn_trace_id"]
cols = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
duckdb.sql(f'''
CREATE VIEW raw AS SELECT * FROM read_csv('{src}', delim=' ', quote='"', escape='"',
  header=false, columns={cols}, ignore_errors=true, store_rejects=true, nullstr='-')''')
duckdb.sql(f'''
COPY (
  SELECT type, time, elb,
    regexp_extract(client, '^(.*):[0-9]*$', 1) AS client_ip,
    TRY_CAST(regexp_extract(client, ':([0-9]*)$', 1) AS INTEGER) AS client_port,
    regexp_extract(target, '^(.*):[0-9]*$', 1) AS target_ip,
    TRY_CAST(regexp_extract(target, ':([0-9]*)$', 1) AS INTEGER) AS target_port,
    TRY_CAST(rpt AS DOUBLE) AS request_processing_time,
    TRY_CAST(tpt AS DOUBLE) AS target_processing_time,
    TRY_CAST(spt AS DOUBLE) AS response_processing_time,
    TRY_CAST(esc AS INTEGER) AS elb_status_code, tsc AS target_status_code,
    TRY_CAST(rb AS BIGINT) AS received_bytes, TRY_CAST(sb AS BIGINT) AS sent_bytes,
    split_part(request, ' ', 1) AS request_verb,
    regexp_extract(request, '^[^ ]* (.*) [^ ]*$', 1) AS request_url,
    regexp_extract(request, ' ([^ ]*)$', 1) AS request_proto,
    user_agent, ssl_cipher, ssl_protocol, target_group_arn, trace_id, domain_name,
    chosen_cert_arn, matched_rule_priority, request_creation_time, actions_executed,
    redirect_url, lambda_error_reason, target_port_list, target_status_code_list,
    classification, classification_reason, conn_trace_id,
    CAST(time AS TIMESTAMP) AS event_time,
    strftime(CAST(time AS TIMESTAMP), '%Y-%m-%d') AS dt
  FROM raw
) TO '{out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt), OVERWRITE_OR_IGNORE)''')
rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/**/*.parquet')").fetchall()[0][0]
rejects = duckdb.sql("SELECT count(*) FROM reject_errors").fetchall()[0][0]
print(f"{rows} {rejects}")
"""


def duckdb_counts(path: Path, out: Path) -> tuple[int, int]:
    """Rows DuckDB wrote and lines it rejected (run again, untimed, to read its output)."""
    done = subprocess.run(
        [sys.executable, "-c", DUCKDB, str(path), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows, rejects = done.stdout.split()[-2:]
    return int(rows), int(rejects)


def loglake_counts(path: Path, env: dict[str, str]) -> tuple[int, int]:
    """Valid and invalid lines of a ``loglake process --format alb --json`` run."""
    import json

    done = subprocess.run(
        [sys.executable, "-m", "loglake.cli", "process", "--format", "alb", "--json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result = json.loads(done.stdout[done.stdout.index("{") :])
    return int(result["valid"]), int(result["invalid"])


def report(
    results: list[dict[str, Any]],
    size_mb: float,
    lines: int,
    bad: int,
    cpus: int,
    counts: tuple[tuple[int, int], tuple[int, int]],
) -> None:
    """The side-by-side table, the counts, the ratio and what a terabyte costs on Lambda."""
    from .bench import LAMBDA_ARM_GB_SECOND, LAMBDA_MB

    print(f"\nALB corpus: {lines:,} lines, {size_mb:,.1f} MB, {bad:,} malformed; {cpus} CPUs\n")
    print("| contender | seconds | MB/s | MB/s per core | CPU seconds | peak memory MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        speed = size_mb / float(r["seconds"])
        cores = float(r.get("cores", cpus))
        print(
            f"| {r['name']} | {float(r['seconds']):.2f} | {speed:.1f} | {speed / cores:.1f} "
            f"| {float(r['cpu_s']):.1f} | {float(r['pss_mb']):.0f} |"
        )
    (valid, invalid), (rows, rejected) = counts
    ours, duck = (size_mb / float(r["seconds"]) for r in results)
    per_core = ours / cpus
    gb_seconds = 1e6 / per_core * LAMBDA_MB / 1024
    print(
        f"\nloglake: {valid:,} rows in alb_logs + {invalid:,} in errors_logs = "
        f"{valid + invalid:,} of {lines:,} lines\n"
        f"duckdb: {rows:,} rows written, {lines - rows:,} lines skipped "
        f"({rejected:,} reject records)\n"
        f"loglake / duckdb: {ours / duck:.2f}x\n"
        f"a terabyte of ALB logs on Lambda at {LAMBDA_MB:,} MB (one vCPU) at {per_core:.1f} MB/s: "
        f"{gb_seconds:,.0f} GB-seconds = ${gb_seconds * LAMBDA_ARM_GB_SECOND:.2f}"
    )

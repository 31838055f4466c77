"""``make bench``: loglake's throughput and memory next to two baselines, in one run.

Contenders, each in its own process, each run twice: timed alone, then again with its peak
memory sampled (PSS summed over it and its children; sampling costs the cores enough to skew a
timed run):

* ``loglake process FILE``: bytes -> validated Parquet in the Glue tables (moto's server plays S3
  and Glue, in a separate process, so its memory is not counted);
* the tutorial-style baseline: whole file in memory, ``json.loads`` per line, required-keys check,
  JSON lines written to processed/ and errors/ files;
* DuckDB: ``COPY (SELECT ... FROM read_json(...)) TO ... (FORMAT parquet, PARTITION_BY dt)``.

Then two decompression bombs through ``loglake process`` with one worker: gzip of tiny invalid
lines (every line an error row) and gzip of newlines (counted in bulk), for the memory bound.

Usage: ``python -m loglake.bench [--lines N] [--big-gb G] [--bomb-mb M]``. Numbers, not
assertions: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import bench_alb, bench_cli, bench_lake, bench_lifecycle
from .corpus import generate

WORK = Path(".bench")
BASELINE = r"""
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
content = open(src, encoding="utf-8").read()
processed, errors = [], []
for line in content.splitlines():
    if not line.strip():
        continue
    try:
        record = json.loads(line)
        if isinstance(record, dict) and all(k in record for k in ("timestamp", "level", "message")):
            processed.append(record)
        else:
            errors.append({"line": line, "error": "missing required fields"})
    except json.JSONDecodeError as exc:
        errors.append({"line": line, "error": str(exc)})
with open(os.path.join(out, "processed.json"), "w") as f:
    f.write("\n".join(json.dumps(r) for r in processed))
with open(os.path.join(out, "errors.json"), "w") as f:
    f.write("\n".join(json.dumps(r) for r in errors))
"""

#: The same job as loglake: every column of processed_logs (the attributes map, UTC times, the
#: source line), zstd Parquet partitioned by day.
DUCKDB_FULL = r'''
import duckdb, sys
src, out = sys.argv[1], sys.argv[2]
duckdb.sql("SET TimeZone = 'UTC'")
duckdb.sql(f"""
COPY (
  SELECT CAST(CAST(timestamp AS TIMESTAMPTZ) AS TIMESTAMP) AS event_time, upper(level) AS level,
         message,
         MAP {{'request_id': request_id, 'latency_ms': CAST(latency_ms AS VARCHAR),
               'user_id': user_id}} AS attributes,
         '{src}' AS source_uri, line AS source_line, now()::TIMESTAMP AS ingested_at,
         strftime(CAST(CAST(timestamp AS TIMESTAMPTZ) AS TIMESTAMP), '%Y-%m-%d') AS dt
  FROM (SELECT *, row_number() OVER () AS line FROM read_json('{src}',
        format='newline_delimited', ignore_errors=true,
        columns={{'timestamp': 'VARCHAR', 'level': 'VARCHAR', 'message': 'VARCHAR',
                 'request_id': 'VARCHAR', 'latency_ms': 'BIGINT', 'user_id': 'VARCHAR'}}))
  WHERE try_cast(timestamp AS TIMESTAMPTZ) IS NOT NULL AND level IS NOT NULL
        AND message IS NOT NULL
) TO '{out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY dt, OVERWRITE_OR_IGNORE)
""")
'''

DUCKDB = r'''
import duckdb, sys
src, out = sys.argv[1], sys.argv[2]
duckdb.sql(f"""
COPY (
  SELECT CAST(timestamp AS TIMESTAMP) AS event_time, upper(level) AS level, message,
         request_id, latency_ms, user_id, strftime(CAST(timestamp AS TIMESTAMP), '%Y-%m-%d') AS dt
  FROM read_json('{src}', format='newline_delimited', ignore_errors=true,
                 columns={{'timestamp': 'VARCHAR', 'level': 'VARCHAR', 'message': 'VARCHAR',
                          'request_id': 'VARCHAR', 'latency_ms': 'BIGINT', 'user_id': 'VARCHAR'}})
  WHERE try_cast(timestamp AS TIMESTAMP) IS NOT NULL AND level IS NOT NULL AND message IS NOT NULL
) TO '{out}' (FORMAT parquet, PARTITION_BY dt, OVERWRITE_OR_IGNORE)
""")
'''


def run(
    name: str, argv: list[str], env: dict[str, str] | None = None, again: list[str] | None = None
) -> dict[str, float | str]:
    """Run one contender; return wall seconds, CPU seconds and its peak memory in MB.

    Memory is sampled every 20 ms over the process and all its children and summed as PSS
    (proportional set size): forked workers share the parent's pages, and summing their RSS
    would count those pages once per process. Reading PSS walks every page table of the tree,
    which costs the machine's cores a noticeable share of a run (half a second of a 4 s run
    with three processes), so with ``again`` (the same work: the same command, or the same
    file under another name) the contender runs twice: timed alone, then ``again`` sampled.
    """
    print(f"  running {name} ...", file=sys.stderr, flush=True)
    seconds, cpu, peak = _execute(name, argv, env, sample=again is None)
    if again is not None:
        peak = _execute(name, again, env, sample=True)[2]
    return {"name": name, "seconds": seconds, "pss_mb": peak / 1024, "cpu_s": cpu}


def _execute(
    name: str, argv: list[str], env: dict[str, str] | None, sample: bool
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and (if sampled) peak PSS in KiB of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_memory, args=(proc.pid, peak, stop), daemon=True)
    if sample:
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    stop.set()
    if sample:
        sampler.join()
    if status != 0:
        err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        raise SystemExit(f"{name} failed:\n{err}")
    return seconds, usage.ru_utime + usage.ru_stime, peak[0]


def _sample_memory(pid: int, peak: list[int], stop: threading.Event) -> None:
    while not stop.wait(0.02):
        total = sum(_pss_kb(p) for p in _tree(pid))
        peak[0] = max(peak[0], total)


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (children listed by /proc/PID/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in task.read_text().split())
    return found


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def loglake_env(endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    return env


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto's server in its own process, with the buckets and tables provisioned."""
    from .local.server import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    import boto3

    session = boto3.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    for _ in range(100):
        try:
            s3.list_buckets()
            break
        except Exception:
            time.sleep(0.1)
    subprocess.run(
        [sys.executable, "-c", SETUP],
        env=loglake_env(endpoint),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return proc, endpoint


SETUP = """
import boto3
from handler.config import Config
from loglake.catalog import apply
s3 = boto3.client("s3")
s3.create_bucket(Bucket="loglake-processed")
apply(Config.from_env())
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2_000_000, help="lines in the main file")
    parser.add_argument(
        "--big-gb", type=float, default=1.0, help="size of the RSS-check file (0: skip)"
    )
    parser.add_argument(
        "--bomb-mb", type=int, default=32, help="decompressed MB of the tiny-lines bomb (0: skip)"
    )
    parser.add_argument(
        "--newlines-gb", type=float, default=2.0, help="decompressed GiB of the newline bomb"
    )
    parser.add_argument(
        "--lake-objects", type=int, default=480, help="small objects of the lake part (0: skip)"
    )
    parser.add_argument(
        "--lifecycle-files",
        type=int,
        default=1000,
        help="files of the erasure and retention lake (0: skip)",
    )
    parser.add_argument(
        "--alb-lines", type=int, default=1_000_000, help="lines of the ALB corpus (0: skip)"
    )
    parser.add_argument(
        "--cli-runs", type=int, default=5, help="runs of each timed command (0: skip)"
    )
    args = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    data = WORK / f"bench-{args.lines}.ndjson"
    print(f"generating {data} ...", file=sys.stderr)
    generate(data, args.lines)
    size_mb = data.stat().st_size / 1e6
    cpus = len(os.sched_getaffinity(0))
    moto, endpoint = start_moto()
    process = [sys.executable, "-m", "loglake.cli", "process"]
    baseline = [sys.executable, "-c", BASELINE, str(data), str(WORK / "baseline")]
    duckdb = [sys.executable, "-c", DUCKDB, str(data), str(WORK / "duckdb")]
    duckdb_full = [sys.executable, "-c", DUCKDB_FULL, str(data), str(WORK / "duckdb-full")]

    def loglake(
        label: str, path: Path, workers: str, timed: bool = True, extra: tuple[str, ...] = ()
    ) -> dict[str, float | str]:
        # Each run reads its own name: a second run of the same file would be a duplicate.
        again = [*process, *extra, str(alias(path, f"w{workers}m"))] if timed else None
        env = loglake_env(endpoint) | {"WORKERS": workers}
        plural = "worker" if workers == "1" else "workers"
        name = f"loglake process{label} ({workers} {plural})"
        result = run(name, [*process, *extra, str(alias(path, f"w{workers}"))], env, again)
        result["mb"] = path.stat().st_size / 1e6
        result["cores"] = int(workers)
        return result

    try:
        results = [
            loglake("", data, str(cpus)),
            loglake("", data, "1"),
            run("tutorial baseline", baseline, again=baseline) | {"cores": 1},
            run("duckdb COPY (lighter: no attributes, snappy)", duckdb, again=duckdb),
            run("duckdb COPY (the same job)", duckdb_full, again=duckdb_full),
        ]
        # Four loglake runs of the file so far: two contenders, each timed and then sampled.
        stored = bench_lake.stored_bytes(endpoint) / (4 * data.stat().st_size)
        for shape, extra in (("pino", ()), ("logfmt", ("--format", "logfmt"))):
            path = WORK / f"bench-{args.lines}.{shape}.log"
            print(f"generating {path} ...", file=sys.stderr)
            generate(path, args.lines, shape=shape)
            results.append(loglake(f", {shape} corpus", path, str(cpus), extra=extra))
        if args.big_gb > 0:
            big_path = WORK / f"bench-big-{args.big_gb:g}gb.ndjson"
            print(f"generating {big_path} ...", file=sys.stderr)
            generate(big_path, int(args.big_gb * 1e9 / (size_mb * 1e6 / args.lines)))
            label = f", {args.big_gb:g} GB"
            results += [loglake(label, big_path, str(cpus)), loglake(label, big_path, "1")]
        bombs = []
        if args.bomb_mb > 0:
            path = bomb(WORK / f"bomb-x-{args.bomb_mb}mb.log.gz", b"x\n", args.bomb_mb * MB)
            bombs.append(loglake(f", bomb of {args.bomb_mb} MB of x lines", path, "1", False))
        if args.bomb_mb > 0:
            path = wide_lines(WORK / "wide-attributes.log", 120)
            bombs.append(loglake(", 120 lines of 27,000 attributes each (29 MB)", path, "1", False))
        if args.newlines_gb > 0:
            size = int(args.newlines_gb * 1024 * MB)
            path = bomb(WORK / f"bomb-newlines-{args.newlines_gb:g}gib.log.gz", b"\n", size)
            bombs.append(
                loglake(f", bomb of {args.newlines_gb:g} GiB of newlines", path, "1", False)
            )
        lake = bench_lake.run(endpoint, data, args.lake_objects) if args.lake_objects else None
        life = bench_lifecycle.run(endpoint, args.lifecycle_files) if args.lifecycle_files else None
        alb = _alb(args.alb_lines, cpus, loglake_env(endpoint)) if args.alb_lines else None
    finally:
        moto.terminate()
        moto.wait()
    report(results, size_mb, args.lines, cpus)
    seconds, heavy = cold_import()
    print(
        f"cold import of handler.app: {seconds:.2f} s "
        f"({'imports ' + ', '.join(heavy) if heavy else 'no pandas, awswrangler or duckdb'})"
    )
    print(f"stored (both tables, as written): {stored:.1%} of the raw bytes")
    report_bombs(bombs)
    if lake:
        bench_lake.report(lake, args.lake_objects)
    if life:
        bench_lifecycle.report(life)
    if alb:
        bench_alb.report(*alb)
    if args.cli_runs:
        bench_cli.report(bench_cli.run(args.cli_runs, loglake_env))


def _alb(lines: int, cpus: int, env: dict[str, str]) -> tuple[Any, ...]:
    """The ALB part: loglake and DuckDB on the same generated corpus, and their counts."""
    path = WORK / f"alb-{lines}.log"
    print(f"generating {path} ...", file=sys.stderr)
    bad = bench_alb.generate(path, lines)
    process = [sys.executable, "-m", "loglake.cli", "process", "--format", "alb"]
    env = env | {"WORKERS": str(cpus)}
    ours = run(
        f"loglake process --format alb ({cpus} workers)",
        [*process, str(alias(path, "alb-t"))],
        env,
        again=[*process, str(alias(path, "alb-m"))],
    ) | {"cores": cpus}
    duck_argv = [sys.executable, "-c", bench_alb.DUCKDB, str(path), str(WORK / "alb-duckdb")]
    duck = run("duckdb read_csv -> typed Parquet by day", duck_argv, again=duck_argv)
    counts = (
        bench_alb.loglake_counts(alias(path, "alb-c"), env),
        bench_alb.duckdb_counts(path, WORK / "alb-duckdb"),
    )
    return [ours, duck], path.stat().st_size / 1e6, lines, bad, cpus, counts


MB = 1024 * 1024


def alias(path: Path, tag: str) -> Path:
    """Another name for the same file (a hard link), for a run that must not be a duplicate."""
    other = path.with_name(f"{tag}-{path.name}")
    if not other.exists():
        os.link(path, other)
    return other


def cold_import() -> tuple[float, list[str]]:
    """Seconds a fresh interpreter takes to import the Lambda entry point (best of three, an
    empty interpreter's start subtracted), and which heavy libraries that import pulls in."""
    probe = (
        "import sys, handler.app; "
        "print(' '.join(m for m in ('pandas', 'awswrangler', 'duckdb') if m in sys.modules))"
    )

    def best(code: str) -> tuple[float, str]:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
            runs.append((time.perf_counter() - started, out.stdout.decode().strip()))
        return min(runs)

    seconds, heavy = best(probe)
    return seconds - best("pass")[0], heavy.split()


def bomb(path: Path, unit: bytes, size: int) -> Path:
    """A gzip file that expands to ``size`` bytes of ``unit`` repeated (written in 1 MiB steps)."""
    if not path.exists():
        block = unit * (MB // len(unit))
        with gzip.open(path, "wb", compresslevel=9) as out:
            for _ in range(size // len(block)):
                out.write(block)
    return path


def wide_lines(path: Path, lines: int) -> Path:
    """Valid lines of ~240 KB, each with 27,000 tiny attributes: the most map entries per byte."""
    if not path.exists():
        keys = [f"{i:x}" for i in range(27_000)]
        with path.open("w") as out:
            for i in range(lines):
                record: dict[str, object] = {
                    "timestamp": "2025-07-21T10:00:00Z",
                    "level": "INFO",
                    "message": f"m{i}",
                }
                record.update(dict.fromkeys(keys, 0))
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return path


def report_bombs(results: list[dict[str, float | str]]) -> None:
    """Seconds and peak memory of the bombs (their throughput in compressed MB says nothing)."""
    if not results:
        return
    print("\n| pathological input (1 worker)                      | seconds | peak memory MB |")
    print(f"|{'-' * 52}|{'-' * 8}:|{'-' * 15}:|")
    for r in results:
        name = str(r["name"]).split(", ", 1)[1].removesuffix(" (1 worker)")
        print(f"| {name:<50} | {float(r['seconds']):>7.1f} | {float(r['pss_mb']):>14.0f} |")


#: AWS Lambda, arm64, US East (N. Virginia), first pricing tier: dollars per GB-second.
LAMBDA_ARM_GB_SECOND = 0.0000133334
#: Lambda gives a function one full vCPU at this much memory.
LAMBDA_MB = 1769


def report(results: list[dict[str, float | str]], size_mb: float, lines: int, cpus: int) -> None:
    """Print the side-by-side table, the ratios the targets are stated in and the Lambda cost.

    MB/s per core divides by the cores a contender keeps busy (its workers, DuckDB's threads,
    one for the tutorial loop); the Lambda cost of a terabyte follows from loglake's one-worker
    speed, as one function at 1,769 MB has one vCPU.
    """
    print(f"\ninput: {lines:,} lines, {size_mb:,.1f} MB, 2% bad lines; {cpus} CPUs\n")
    head = ("contender", "seconds", "MB/s", "MB/s per core", "CPU seconds", "peak memory MB")
    print(
        f"| {head[0]:<36} | {head[1]:>8} | {head[2]:>7} | {head[3]:>13} | {head[4]:>11} "
        f"| {head[5]:>14} |"
    )
    print(f"|{'-' * 38}|{'-' * 9}:|{'-' * 8}:|{'-' * 14}:|{'-' * 12}:|{'-' * 15}:|")
    for r in results:
        mb = float(r.get("mb", size_mb))
        speed = mb / float(r["seconds"])
        cores = float(r.get("cores", cpus))
        print(
            f"| {r['name']:<36} | {float(r['seconds']):>8.2f} | {speed:>7.1f} "
            f"| {speed / cores:>13.1f} | {float(r['cpu_s']):>11.1f} | {float(r['pss_mb']):>14.0f} |"
        )
    ours, one, baseline, duck = (size_mb / float(r["seconds"]) for r in results[:4])
    gb_seconds = 1e6 / one * LAMBDA_MB / 1024
    print(
        f"\nloglake / tutorial baseline: {ours / baseline:.2f}x ({cpus} workers), "
        f"{one / baseline:.2f}x (1 worker)\n"
        f"loglake / duckdb:            {ours / duck:.2f}x ({cpus} workers), "
        f"{one / duck:.2f}x (1 worker)\n"
        f"a terabyte on Lambda at {LAMBDA_MB:,} MB (arm64, one vCPU) at {one:.1f} MB/s: "
        f"{gb_seconds:,.0f} GB-seconds = ${gb_seconds * LAMBDA_ARM_GB_SECOND:.2f}"
    )


if __name__ == "__main__":
    main()

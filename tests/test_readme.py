"""The README's local-stack example, run line by line as a reader would paste it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loglake.local.server import free_port

from .conftest import SAMPLE, good, ndjson
from .test_local_stack import Proc

pytestmark = pytest.mark.slow
README = (Path(__file__).parent.parent / "README.md").read_text()
BIN = Path(sys.executable).parent


def block(heading: str) -> list[str]:
    """The commands of the first ``sh`` block under ``heading``, comments dropped."""
    section = README.split(f"\n{heading}\n", 1)[1]
    body = re.search(r"```sh\n(.*?)```", section, re.S)
    assert body, f"no sh block under {heading}"
    return [line.split("  #")[0].strip() for line in body[1].splitlines() if line.strip()]


def test_the_local_stack_example_runs_as_written(tmp_path: Path) -> None:
    lines = block("## Local stack")
    assert lines[0] == "loglake local up"
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    (tmp_path / "app.log").write_bytes(SAMPLE.read_bytes())
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "web.log").write_text(ndjson(good(1), good(2)))
    server = Proc(["local", "up", "--port", port], env)
    try:
        server.wait_for("Ctrl-C stops")
        for line in lines[1:]:
            if line.startswith("export "):  # as the shell would: into the environment
                env.update(item.split("=", 1) for item in line.removeprefix("export ").split())
                env["AWS_ENDPOINT_URL"] = env["AWS_ENDPOINT_URL"].replace("4566", port)
                continue
            result = subprocess.run(
                ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                timeout=180,
            )  # fmt: skip
            assert result.returncode == 0, (line, result.stdout, result.stderr)
        assert "objects processed" in result.stdout  # the last line is `loglake status`
        deadline = time.monotonic() + 60  # app.log went in through the AWS CLI: wait for it
        while "objects processed  2" not in result.stdout and time.monotonic() < deadline:
            time.sleep(0.5)
            result = subprocess.run(["loglake", "status"], env=env, capture_output=True, text=True)
        assert "objects processed  2" in result.stdout, result.stdout
    finally:
        server.stop()


def test_the_project_example_runs_as_written_on_a_running_stack(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOGLAKE_"))}
    project_flow(tmp_path, env | {"PATH": f"{BIN}{os.pathsep}{env['PATH']}"})


def project_flow(tmp_path: Path, env: dict[str, str]) -> None:
    """The README's project block, line by line, with the ``loglake`` that ``env``'s PATH finds
    (this checkout's, or an installed wheel's): init, a local stack started in the project, an
    upload, a column added to the project's table, catalog apply and reprocess while the stack
    runs: the column is filled."""
    lines = block("## Your own project")
    assert lines[0].startswith("loglake init my-logs && cd my-logs")
    assert lines[1] == "loglake local up"
    port = str(free_port())
    records = [good(i, latency_ms=100 * i) for i in range(1, 4)]
    (tmp_path / "app.log").write_text(ndjson(*records))
    subprocess.run(["bash", "-c", lines[0]], cwd=tmp_path, env=env, check=True)
    project = tmp_path / "my-logs"
    server = Proc(["local", "up", "--port", port], env, cwd=project)
    try:
        server.wait_for("Ctrl-C stops")
        assert f"project {project} (loglake.toml)" in server.lines
        for line in lines[2:]:
            if line.startswith("export "):
                env.update(item.split("=", 1) for item in line.removeprefix("export ").split())
                env["AWS_ENDPOINT_URL"] = env["AWS_ENDPOINT_URL"].replace("4566", port)
                continue
            result = shell(line, project, env)
            if line.startswith("loglake reprocess"):
                assert "1 of 1 object(s) not current; 1 sent" in result.stdout, result.stdout
        deadline = time.monotonic() + 60  # the worker processes what reprocess sent
        while "300" not in result.stdout and time.monotonic() < deadline:
            time.sleep(0.5)
            result = shell(lines[-1], project, env)
        rows = [line.split() for line in result.stdout.splitlines()]
        assert rows == [
            ["message", "latency_ms"],
            *(["event", f"{i}", f"{100 * i}"] for i in (3, 2, 1)),
        ]
        changed = "glue_ddl/processed_logs.sql changed: tables, sources and rules read again"
        assert any(changed in line for line in server.lines), server.lines[-20:]
    finally:
        server.stop()


def shell(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One README line in bash, as a reader would paste it; it must succeed."""
    result = subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, (line, result.stdout, result.stderr)
    return result

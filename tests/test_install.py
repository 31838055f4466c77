"""loglake installed the ordinary way (a wheel, not editable) works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .test_readme import project_flow

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parent.parent


def test_a_wheel_installed_elsewhere_has_everything_a_checkout_has(tmp_path: Path) -> None:
    wheels, target, empty = tmp_path / "wheels", tmp_path / "site", tmp_path / "empty"
    empty.mkdir()
    pip = [sys.executable, "-m", "pip", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True)
    wheel = next(wheels.glob("loglake-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    # The installed copy comes first on the path, ahead of this checkout's editable install.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "PYTHONPATH": str(target)
    }

    def loglake(*args: str, cwd: Path = empty) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "loglake.cli", *args],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    where = subprocess.run(
        [sys.executable, "-c", "import loglake, handler; print(loglake.__file__, handler.__file__)"],
        cwd=empty, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.count(str(target)) == 2, where.stdout
    listed = loglake("queries", "list")
    assert listed.returncode == 0 and "level_counts" in listed.stdout, listed.stderr
    assert loglake("queries", "check").returncode == 0
    packaged = loglake("package", "--out", "dist")
    assert packaged.returncode == 0, packaged.stderr
    names = zipfile.ZipFile(empty / "dist" / "loglake-function.zip").namelist()
    assert {"glue_ddl/processed_logs.sql", "glue_ddl/errors_logs.sql", "handler/app.py"} <= set(
        names
    )
    from_checkout = subprocess.run(
        [sys.executable, "-m", "loglake.cli", "package", "--out", str(tmp_path / "checkout")],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert packaged.stdout.split("sha256 ")[1] == from_checkout.stdout.split("sha256 ")[1]
    assert loglake("template", "-o", "t.json").returncode == 0
    demo = loglake("demo")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "demo done" in demo.stdout
    report = empty / "loglake-report.html"
    assert f"report: {report.resolve()}" in demo.stdout
    page = report.read_text()
    assert 'id="chart-volume"' in page
    # The demo's numbers agree: its sample is dated inside the report's week, so the headline's
    # valid rows are the level counts printed before it; an ERROR never says "login successful".
    counts = demo.stdout.split("$ loglake query level_counts")[1].split("$ loglake")[0]
    total = sum(int(line.split()[-1]) for line in counts.strip().splitlines()[1:])
    assert f'data-field="valid_rows" data-value="{total}"' in page
    top_errors = page.split('id="chart-top_errors"')[1].split("<section>")[0]
    assert "Failed to connect to database" in top_errors
    assert "User login successful" not in top_errors
    # A project of the user's own, from the installed copy: its column reaches the deployment.
    assert loglake("init", "proj").returncode == 0
    project = empty / "proj"
    ddl = project / "glue_ddl" / "processed_logs.sql"
    ddl.write_text(ddl.read_text().replace("  message ", "  latency_ms  bigint,\n  message ", 1))
    template = loglake("template", cwd=project)
    assert template.returncode == 0 and "latency_ms" in template.stdout, template.stderr
    assert "replaces the built-in definition" in template.stderr
    assert loglake("package", "--out", "dist", cwd=project).returncode == 0
    with zipfile.ZipFile(project / "dist" / "loglake-function.zip") as zipped:
        assert "latency_ms" in zipped.read("glue_ddl/processed_logs.sql").decode()
        assert "sources.toml" in zipped.namelist()
    # The README's project flow on a running stack, with the installed copy as `loglake`.
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "loglake").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m loglake.cli "$@"\n')
    (shims / "loglake").chmod(0o755)
    flow = tmp_path / "flow"
    flow.mkdir()
    project_flow(flow, env | {"PATH": f"{shims}{os.pathsep}{env['PATH']}"})


def test_the_sdist_builds_a_wheel_with_the_same_files(tmp_path: Path) -> None:
    """pip installs from an sdist too (a git URL, an index without wheels): nothing may drop."""
    # The sdist, then a wheel built from it; setuptools must have nothing to warn about.
    built = subprocess.run(
        [sys.executable, "-m", "build", "-o", str(tmp_path / "sdist"), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert "WARNING" not in built.stdout + built.stderr, built.stdout[-3000:]
    sdist = next((tmp_path / "sdist").glob("loglake-*.tar.gz"))
    pip = [sys.executable, "-m", "pip", "--quiet", "wheel", "--no-deps"]
    subprocess.run([*pip, "-w", str(tmp_path / "a"), str(sdist)], check=True)
    subprocess.run([*pip, "-w", str(tmp_path / "b"), str(ROOT)], check=True)

    def names(folder: str) -> set[str]:
        wheel = next((tmp_path / folder).glob("*.whl"))
        return {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}

    from_sdist = names("a")
    assert from_sdist == names("b")
    assert {"handler/glue_ddl/processed_logs.sql", "loglake/infra/template.yaml"} <= from_sdist
    assert "loglake/saved_queries/level_counts/v1.sql" in from_sdist

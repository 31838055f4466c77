"""A project of the user's own (``loglake init``): its tables, queries and sources layered over the
built-ins by every command, and carried by the template and the function zip."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from handler.ddl import DEFAULT_DDL_DIR
from loglake.cli import main

#: Unset while a command runs and restored after: the project layers itself into these.
LAYERED = ("GLUE_DDL_DIR", "LOGLAKE_QUERIES_DIR", "SOURCES_FILE", "LOGLAKE_PROJECT", "AWS_REGION")
COLUMN = "  latency_ms  bigint             COMMENT 'request latency',\n"
OWN_QUERY = """\
-- description: Requests slower than a bound.
-- param: ms int = 100
SELECT message, latency_ms FROM processed_logs WHERE latency_ms >= :ms ORDER BY latency_ms DESC
"""


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """``loglake ARGS`` in ``cwd`` with no project settings inherited from this process."""
    cleared: dict[str, str | None] = dict.fromkeys(LAYERED)
    here = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(
            main, list(args), env=cleared | (env or {}), catch_exceptions=False
        )
    finally:
        os.chdir(here)


def add_column(project: Path) -> None:
    ddl = project / "glue_ddl" / "processed_logs.sql"
    text = ddl.read_text()
    at = text.index("  message ")
    ddl.write_text(text[:at] + COLUMN + text[at:])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    result = run("init", "proj", "--stack", "shop-logs", "--region", "eu-west-1", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    return tmp_path / "proj"


def test_init_writes_a_project_and_never_overwrites_one(project: Path) -> None:
    names = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert names == [
        "glue_ddl/processed_logs.sql", "loglake.toml", "queries/README.md", "sources.toml"
    ]  # fmt: skip
    assert (project / "glue_ddl" / "processed_logs.sql").read_bytes() == (
        DEFAULT_DDL_DIR / "processed_logs.sql"
    ).read_bytes()
    assert 'stack = "shop-logs"' in (project / "loglake.toml").read_text()
    again = run("init", ".", cwd=project)
    assert again.exit_code == 2 and again.output.startswith("Error: ")
    assert "loglake.toml exists already" in again.output


def test_an_unedited_project_changes_nothing(project: Path, tmp_path: Path) -> None:
    plain = run("template", cwd=tmp_path)
    inside = run("template", cwd=project)
    assert inside.stdout == plain.stdout
    assert inside.stderr.splitlines()[0] == f"project {project.resolve()} (loglake.toml)"
    assert "replaces" not in inside.stderr


def test_a_project_column_reaches_the_template_and_the_function_zip(project: Path) -> None:
    add_column(project)
    template = run("template", cwd=project / "glue_ddl")  # found from a subfolder too
    assert template.exit_code == 0, template.output
    columns = json.loads(template.stdout)["Resources"]["ProcessedLogsTable"]["Properties"]
    names = [c["Name"] for c in columns["TableInput"]["StorageDescriptor"]["Columns"]]
    assert names[:4] == ["event_time", "level", "latency_ms", "message"]
    assert (
        "  table processed_logs: glue_ddl/processed_logs.sql replaces the built-in definition"
        in template.stderr.splitlines()
    )
    packaged = run("package", "--out", "dist", cwd=project)
    assert packaged.exit_code == 0, packaged.output
    with zipfile.ZipFile(project / "dist" / "loglake-function.zip") as zipped:
        assert "latency_ms" in zipped.read("glue_ddl/processed_logs.sql").decode()
        assert "glue_ddl/alb_logs.sql" in zipped.namelist()  # the built-ins it did not change
        assert zipped.read("sources.toml") == (project / "sources.toml").read_bytes()


def test_project_queries_replace_and_add_to_the_built_ins(project: Path, tmp_path: Path) -> None:
    (project / "queries" / "slow_requests").mkdir()
    (project / "queries" / "slow_requests" / "v1.sql").write_text(OWN_QUERY)
    (project / "queries" / "level_counts").mkdir()
    (project / "queries" / "level_counts" / "v1.sql").write_text(
        "-- description: The team's own level counts.\nSELECT level FROM processed_logs\n"
    )
    listed = run("queries", "list", cwd=project)
    assert "slow_requests" in listed.stdout and "The team's own level counts" in listed.stdout
    assert "top_messages" in listed.stdout  # inherited
    assert "slow_requests" not in run("queries", "list", cwd=tmp_path).stdout
    shown = run("queries", "show", "level_counts", cwd=project)
    assert "The team's own" in shown.stdout
    checked = run("queries", "check", cwd=project)
    assert checked.exit_code == 0, checked.output


def test_queries_check_in_a_project_names_a_query_its_new_column_empties(project: Path) -> None:
    add_column(project)
    checked = run("queries", "check", cwd=project)
    assert checked.exit_code == 2
    assert "attribute_percentiles/v1.sql: reads attributes[:attribute] (default latency_ms)" in (
        checked.stderr
    )


def test_the_project_is_found_by_flag_and_by_environment(project: Path, tmp_path: Path) -> None:
    add_column(project)
    for args, env in (
        (["--project", str(project), "template"], {}),
        (["template"], {"LOGLAKE_PROJECT": str(project)}),
    ):
        result = run(*args, cwd=tmp_path, env=env)
        assert result.exit_code == 0, result.output
        assert "latency_ms" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stack = ", "is not valid TOML"),
        ('stak = "x"', "unknown setting 'stak'; the settings are stack, region"),
        ("region = 1", "region must be a string"),
    ],
)
def test_a_bad_project_file_is_one_error_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "loglake.toml").write_text(text + "\n")
    result = run("queries", "list", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert message in result.output
    missing = run("--project", str(tmp_path / "nowhere"), "queries", "list", cwd=tmp_path)
    assert "has no loglake.toml: run `loglake init" in missing.output

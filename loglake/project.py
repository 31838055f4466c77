"""A loglake project: a team's own tables, saved queries and sources, in a folder of its own.

A project is a folder holding a ``loglake.toml``::

    stack = "loglake"              # the CloudFormation stack `loglake deploy` creates or updates
    region = "eu-west-1"           # unless --region or AWS_REGION says otherwise
    # raw_bucket = "my-app-logs"   # deploy onto this existing bucket instead of creating one
    # raw_prefix = "app/"          # ... and read only the keys under this prefix

beside up to three folders and a file, each layered over the built-ins:

* ``glue_ddl/*.sql``: a file here replaces the built-in table of the same name (add a column to
  ``processed_logs.sql``); the tables it does not have are the built-in ones.
* ``queries/<name>/v<N>.sql``: a name here replaces the built-in query of that name; new names
  add queries.
* ``sources.toml``: which objects are read how (``handler/sources.py``).

Every command finds the project from the working folder upward, or from ``--project DIR`` /
``LOGLAKE_PROJECT``. ``activate`` puts it into the environment the handler, the worker and every
process they start already read (``GLUE_DDL_DIR``, ``LOGLAKE_QUERIES_DIR``, ``SOURCES_FILE``),
so the handler needs no notion of a project and, without one, nothing changes.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, fields
from pathlib import Path

from handler.ddl import DEFAULT_DDL_DIR, table_files
from handler.exceptions import LoglakeError

from .resources import QUERIES_DIR

PROJECT_FILE = "loglake.toml"
SOURCES_NAME = "sources.toml"


class ProjectError(LoglakeError):
    """A project folder or its ``loglake.toml`` cannot be used."""


@dataclass(frozen=True)
class Project:
    """One project folder and what its ``loglake.toml`` says."""

    root: Path
    stack: str = "loglake"
    region: str = ""
    raw_bucket: str = ""
    raw_prefix: str = ""

    @property
    def ddl_dir(self) -> Path:
        return self.root / "glue_ddl"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def sources_file(self) -> Path:
        return self.root / SOURCES_NAME


def load(root: Path) -> Project:
    """The project in ``root`` (which must hold a ``loglake.toml``)."""
    path = root / PROJECT_FILE
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(
            f"{root} has no {PROJECT_FILE}: run `loglake init {root}` to make it a project"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path} is not valid TOML: {exc}") from None
    known = [f.name for f in fields(Project) if f.name != "root"]
    for key, value in document.items():
        if key not in known:
            raise ProjectError(
                f"{path}: unknown setting {key!r}; the settings are {', '.join(known)}"
            )
        if not isinstance(value, str):
            raise ProjectError(f"{path}: {key} must be a string, got {value!r}")
    return Project(root=root.resolve(), **document)


def find(start: Path | None = None, named: str | None = None) -> Project | None:
    """``named`` (``--project`` / ``LOGLAKE_PROJECT``), else the nearest folder from ``start``
    (the working folder) upward that holds a ``loglake.toml``; ``None``: no project."""
    if named:
        return load(Path(named))
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return load(folder)
    return None


def activate(project: Project, env: MutableMapping[str, str] | None = None) -> None:
    """Layer ``project`` into ``env`` (``os.environ``): what is set explicitly stays as it is."""
    env = os.environ if env is None else env
    env["LOGLAKE_PROJECT"] = str(project.root)
    if project.ddl_dir.is_dir() and not env.get("GLUE_DDL_DIR"):
        env["GLUE_DDL_DIR"] = os.pathsep.join([str(DEFAULT_DDL_DIR), str(project.ddl_dir)])
    if project.queries_dir.is_dir() and not env.get("LOGLAKE_QUERIES_DIR"):
        env["LOGLAKE_QUERIES_DIR"] = os.pathsep.join([str(QUERIES_DIR), str(project.queries_dir)])
    if project.sources_file.is_file() and not env.get("SOURCES_FILE"):
        env["SOURCES_FILE"] = str(project.sources_file)
    if project.region and not env.get("AWS_REGION"):
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = project.region


def describe(project: Project) -> Iterator[str]:
    """What the project changes, one line each: the project, then every table and query it
    defines that differs from the built-in (or that is its own)."""
    yield f"project {project.root} ({PROJECT_FILE})"
    if project.ddl_dir.is_dir():
        builtin = table_files(DEFAULT_DDL_DIR)
        own = table_files(project.ddl_dir) if any(project.ddl_dir.glob("*.sql")) else {}
        for name, path in own.items():
            if name not in builtin:
                yield f"  table {name}: the project's own ({_rel(project, path)})"
            elif path.read_bytes() != builtin[name].read_bytes():
                yield f"  table {name}: {_rel(project, path)} replaces the built-in definition"
    if project.queries_dir.is_dir():
        for folder in sorted(p for p in project.queries_dir.iterdir() if p.is_dir()):
            if (QUERIES_DIR / folder.name).is_dir():
                yield f"  query {folder.name}: {_rel(project, folder)} replaces the built-in query"
            else:
                yield f"  query {folder.name}: the project's own ({_rel(project, folder)})"


def init(root: Path, stack: str = "loglake", region: str = "") -> list[Path]:
    """Write a new project into ``root``; return the files written. An existing project is
    refused (nothing is overwritten)."""
    if (root / PROJECT_FILE).exists():
        raise ProjectError(f"{root / PROJECT_FILE} exists already; edit it, or pick another folder")
    written = [root / PROJECT_FILE, root / "glue_ddl" / "processed_logs.sql"]
    written += [root / "queries" / "README.md", root / SOURCES_NAME]
    for folder in {p.parent for p in written}:
        folder.mkdir(parents=True, exist_ok=True)
    written[0].write_text(_TOML.format(stack=stack, region=region or "us-east-1"), "utf-8")
    shutil.copyfile(DEFAULT_DDL_DIR / "processed_logs.sql", written[1])
    written[2].write_text(_QUERIES_README.format(builtin=QUERIES_DIR), "utf-8")
    written[3].write_text(_SOURCES, "utf-8")
    return written


def _rel(project: Project, path: Path) -> str:
    return str(path.relative_to(project.root))


_TOML = """\
# A loglake project: `loglake` run in this folder (or below it) uses these settings and layers
# glue_ddl/, queries/ and sources.toml over the built-in tables, queries and sources.
stack = "{stack}"       # the CloudFormation stack `loglake deploy` creates or updates
region = "{region}"     # unless --region or AWS_REGION says otherwise
# raw_bucket = "my-app-logs"   # deploy onto this existing bucket instead of creating one
# raw_prefix = "app/"          # ... reading only the keys under this prefix
"""

_QUERIES_README = """\
# Saved queries of this project

One folder per query, one file per version: `queries/<name>/v1.sql`, `v2.sql`, ...
A name here replaces the built-in query of that name; new names add queries. Each file starts
with a header, then Athena SQL with `:name` placeholders (bound, never pasted):

    -- description: Rows per level for one day.
    -- param: day date
    SELECT level, COUNT(*) AS n FROM processed_logs WHERE dt = :day GROUP BY level

`loglake queries check` checks them all; `loglake queries list` lists them.
The built-in queries, to copy from: {builtin}
"""

_SOURCES = """\
# Which objects are read how: the first [[source]] whose match fits a key reads it. The AWS
# service logs (ALB, CloudFront, VPC, CloudTrail, ...) are recognised after these unless
# `aws_logs = false`. `loglake sources list` shows the result; see the README for every option.

[[source]]
name = "app"
match = ["**.log", "**.log.gz", "**.jsonl", "**.jsonl.gz", "**.ndjson", "**.ndjson.gz"]
format = "ndjson"       # or logfmt, combined, syslog, cri, otlp-json, pattern: `loglake sources list`
"""

"""The ``loglake`` command: a thin layer over the handler and the tooling modules."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, BinaryIO, cast

import click

from .errors import explain


class LoglakeGroup(click.Group):
    """Turns known failures into one ``Error: ...`` line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            message = explain(exc)
            if message is None:
                raise
            click.echo(f"Error: {message}", err=True)
            ctx.exit(2)


@click.group(cls=LoglakeGroup)
@click.version_option(package_name="loglake")
def main() -> None:
    """loglake: log files in S3 -> validated Parquet in Glue -> Athena, also on a laptop.

    The target comes from the environment: AWS_ENDPOINT_URL (set it to use the local stack),
    AWS_REGION, AWS_PROFILE, PROCESSED_BUCKET, GLUE_DATABASE. See `loglake COMMAND --help`.
    """


@main.group(cls=LoglakeGroup)
def catalog() -> None:
    """Manage the Glue database and tables defined in glue_ddl/."""


@catalog.command("apply")
def catalog_apply() -> None:
    """Create the database and tables from glue_ddl/ (safe to re-run).

    A table that exists with other columns is reported and left unchanged.

    Example:

        loglake catalog apply
    """
    from handler.config import Config

    from .catalog import apply
    from .target import session

    for change in apply(Config.from_env(), session()):
        click.echo(f"{change.action:9}  {change.kind} {change.name}")


@main.command()
@click.argument("source")
@click.option("--dry-run", is_flag=True, help="Validate and count only; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def process(source: str, dry_run: bool, as_json: bool) -> None:
    """Process one object (a local file or s3://bucket/key) with the handler's code path.

    A local file is treated as if just uploaded, with a file:// source URI. Its rows go into
    the tables (run `loglake catalog apply` first); with --dry-run nothing is written and the
    first errors are listed.

    Examples:

        loglake process app.log --dry-run

        loglake process s3://loglake-raw/2025/07/21/app.log.gz
    """
    from handler.config import Config
    from handler.pipeline import Pipeline
    from handler.source import local_file, s3_object, split_s3_uri

    from .target import session

    pipeline = Pipeline(Config.from_env(), session())
    if source.startswith("s3://"):
        found = s3_object(pipeline.s3, *split_s3_uri(source))
        if found is None:
            raise click.ClickException(f"{source} does not exist")
        obj = found
    else:
        path = Path(source)
        if not path.is_file():
            raise click.BadParameter(f"{source} is not a file or an s3:// URI", param_hint="SOURCE")
        obj = local_file(path)
    with _progress(obj.size, f"{'checking' if dry_run else 'processing'} {obj.uri}") as bar:
        opener = obj.opener
        obj = dataclasses.replace(
            obj, opener=lambda: cast(BinaryIO, _Counting(opener(), bar.update))
        )
        result = pipeline.process(obj, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    _print_result(result)


@main.group(cls=LoglakeGroup)
def queries() -> None:
    """List, show, check and publish the saved queries in queries/."""


@queries.command("list")
def queries_list() -> None:
    """List every saved query: name, newest version, description, parameters.

    Example:

        loglake queries list
    """
    from .queries import load_all

    for name, versions in load_all().items():
        newest = versions[-1]
        params = ", ".join(p.describe() for p in newest.params) or "-"
        click.echo(
            f"{name:<24} v{newest.version:<3} {newest.description}\n{'':<29}params: {params}"
        )


@queries.command("show")
@click.argument("ref")
def queries_show(ref: str) -> None:
    """Print one saved query (NAME for the newest version, NAME@vN for a specific one).

    Example:

        loglake queries show level_counts@v1
    """
    from .queries import resolve

    click.echo(resolve(ref).path.read_text(encoding="utf-8"), nl=False)


@queries.command("check")
def queries_check() -> None:
    """Check every saved query: valid Athena SQL, declared = used parameters, v1..vN.

    Example:

        loglake queries check
    """
    from .queries import check, load_all

    problems = check()
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in queries/")
    count = sum(len(v) for v in load_all().values())
    click.echo(f"ok: {count} query version(s) checked")


@queries.command("publish")
@click.option("--workgroup", envvar="ATHENA_WORKGROUP", default="primary", show_default=True)
def queries_publish(workgroup: str) -> None:
    """Create or update one Athena named query per query version, NAME@vN (idempotent).

    Example:

        loglake queries publish --workgroup loglake
    """
    from handler.config import Config

    from .publish import publish
    from .queries import load_all
    from .target import session

    versions = [q for qs in load_all().values() for q in qs]
    for name, action in publish(versions, workgroup, Config.from_env().glue_database, session()):
        click.echo(f"{action:9}  {name}")


@main.command()
@click.argument("ref")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter value; repeat for each.",
)
@click.option(
    "--engine", type=click.Choice(["local", "athena"]), default="local", show_default=True
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to a file instead.",
)
@click.option(
    "--workgroup",
    envvar="ATHENA_WORKGROUP",
    default="primary",
    show_default=True,
    help="Athena only.",
)
@click.option(
    "--s3-output",
    envvar="ATHENA_OUTPUT",
    help="Athena result location, unless the workgroup enforces one.",
)
def query(
    ref: str,
    params: tuple[str, ...],
    engine: str,
    fmt: str,
    output: str | None,
    workgroup: str,
    s3_output: str | None,
) -> None:
    """Run a saved query (NAME or NAME@vN) on the local engine or on Athena.

    Values are bound as parameters, never pasted into the SQL.

    Examples:

        loglake query level_counts --param day=2025-07-21

        loglake query top_messages -p level=error -p day=2025-07-21 --engine athena --format csv
    """
    from handler.config import Config

    from .engines import AthenaEngine, LocalEngine
    from .queries import QueryError, resolve
    from .render import render
    from .target import session

    saved = resolve(ref)
    given = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise QueryError(f"--param takes NAME=VALUE, got {item!r}")
        given[name.strip()] = value
    values = saved.bind(given)
    config = Config.from_env()
    aws = session()
    runner = (
        LocalEngine(aws, config.glue_database)
        if engine == "local"
        else AthenaEngine(aws, config.glue_database, workgroup, s3_output)
    )
    text = render(runner.run(saved, values), fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def _print_result(result: Any) -> None:
    click.echo(
        f"{result.status}: {result.source_uri}\n"
        f"  lines read {result.lines_read:,} = valid {result.valid:,} + invalid "
        f"{result.invalid:,} + blank {result.blank:,}   ({result.bytes_read:,} bytes, "
        f"{result.seconds:.2f} s)"
    )
    for code, count in result.error_counts.items():
        click.echo(f"  {count:>8,}  {code}")
    if result.status == "dry_run":
        for sample in result.sample_errors:
            click.echo(f"  line {sample['line']}: {sample['code']}: {sample['detail']}")
    elif result.files:
        click.echo(f"  wrote {len(result.files)} file(s)")


def _progress(total: int, label: str) -> Any:
    return click.progressbar(
        length=max(total, 1), label=label, file=sys.stderr, show_pos=False, show_percent=True
    )


class _Counting:
    """A read-only stream that reports how many bytes were read."""

    def __init__(self, inner: BinaryIO, report: Any) -> None:
        self.inner, self.report = inner, report

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.report(len(data))
        return data

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    main()

"""The ``loglake`` command: a thin layer over the handler and the tooling modules."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import click

from .errors import explain

_engine_option = click.option(
    "--engine",
    type=click.Choice(["local", "athena"]),
    default="local",
    show_default=True,
    help="local: DuckDB over the lake's Parquet files (works on the local stack); athena: Athena.",
)

_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table for reading, csv or json (full values) for other tools.",
)
_output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to a file instead.",
)


class _Day(click.ParamType):
    """A day, YYYY-MM-DD, as a ``datetime`` at midnight; a wrong one says what is wrong with it
    (``2026-02-30``: the day is out of range for the month, not "does not match the format")."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value)
        try:
            return datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            pass
        why = "write it YYYY-MM-DD"
        parts = text.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                datetime(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError as exc:
                why = str(exc)  # "day is out of range for month"
        self.fail(f"{text!r} is not a day: {why}", param, ctx)


_DAY = _Day()


def _raw_bucket_options(command: Any) -> Any:
    """``--raw-bucket`` and ``--raw-prefix`` (a project's ``raw_bucket``/``raw_prefix``)."""
    command = click.option(
        "--raw-prefix",
        default=lambda: _PROJECT.raw_prefix if _PROJECT is not None else "",
        help="With --raw-bucket: read only the keys under this prefix.",
    )(command)
    return click.option(
        "--raw-bucket",
        default=lambda: _PROJECT.raw_bucket if _PROJECT is not None else "",
        help="Read this existing bucket (through EventBridge, keeping its notifications) "
        "instead of creating a raw bucket.",
    )(command)


def _athena_options(command: Any) -> Any:
    """``--workgroup`` and ``--s3-output``, for the commands that can run on Athena."""
    command = click.option(
        "--s3-output",
        default=lambda: _settings().athena_output,
        help="Athena result location, unless the workgroup enforces one (ATHENA_OUTPUT).",
    )(command)
    return click.option(
        "--workgroup",
        default=lambda: _settings().athena_workgroup,
        show_default="ATHENA_WORKGROUP or primary",
        help="Athena workgroup (Athena only).",
    )(command)


def _use_sources(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--sources FILE``: the sources file for this command and the processes it starts."""
    if value:
        os.environ["SOURCES_FILE"] = str(Path(value).resolve())
    return value


_sources_option = click.option(
    "--sources",
    "sources_file",
    type=click.Path(exists=True, dir_okay=False),
    callback=_use_sources,
    expose_value=False,
    is_eager=True,
    help="TOML sources file: which objects are read how (SOURCES_FILE).",
)


def _format_choice() -> click.Choice:
    from handler.sources import FORMATS

    return click.Choice(FORMATS)


class LoglakeGroup(click.Group):
    """Turns known failures into one ``Error: ...`` line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:  # the README promises 2 for every failure
            exc.show()
            ctx.exit(2)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            message = explain(exc)
            if message is None:
                raise
            click.echo(f"Error: {message}", err=True)
            ctx.exit(2)


@click.group(cls=LoglakeGroup)
@click.version_option(package_name="loglake")
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    help="Talk to this endpoint (the local stack) instead of AWS.",
)
@click.option("--region", envvar="AWS_REGION", help="AWS region.")
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile from ~/.aws/config.")
@click.option(
    "--project",
    "project_dir",
    envvar="LOGLAKE_PROJECT",
    type=click.Path(file_okay=False),
    help="Project folder (LOGLAKE_PROJECT; default: the nearest loglake.toml from here upward).",
)
def main(
    endpoint_url: str | None, region: str | None, profile: str | None, project_dir: str | None
) -> None:
    """loglake: log files in S3 -> validated Parquet in Glue -> Athena, also on a laptop.

    The target comes from flags (before or after the command) or the environment:
    AWS_ENDPOINT_URL (the local stack; unset it for AWS), AWS_REGION, AWS_PROFILE, RAW_BUCKET,
    PROCESSED_BUCKET, GLUE_DATABASE. A project (`loglake init`) adds its own tables, queries
    and sources. See `loglake COMMAND --help`.

    Examples:

        \b
        loglake init my-logs && cd my-logs
        loglake local up                     # then, in another shell:
        loglake upload app.log --wait
        loglake query level_counts
        loglake sql "SELECT level, count(*) FROM processed_logs GROUP BY level"
    """
    _target(endpoint_url=endpoint_url, region=region, profile=profile)
    _use_project(project_dir)


#: The project this command runs in (``None``: the built-ins only).
_PROJECT: Any = None


def _use_project(named: str | None) -> None:
    """Find the project (``--project``, ``LOGLAKE_PROJECT`` or upward from here) and layer it
    into the environment every later step and child process reads."""
    global _PROJECT
    from .project import activate, find

    _PROJECT = find(named=named)
    if _PROJECT is not None:
        activate(_PROJECT)


def _announce_project() -> None:
    """Say which project a command that builds or changes something uses, and what it overrides."""
    from .project import describe

    if _PROJECT is not None:
        for line in describe(_PROJECT):
            click.echo(line, err=True)


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--stack", default="loglake", show_default=True, help="CloudFormation stack name.")
@click.option("--region", "project_region", help="AWS region of the project.  [default: us-east-1]")
def init(directory: Path, stack: str, project_region: str | None) -> None:
    """Make DIRECTORY (default: here) a loglake project: loglake.toml, glue_ddl/ with the table
    to edit, queries/ for your own saved queries, and sources.toml.

    Every loglake command run in the folder (or below it) layers the project over the built-in
    tables, queries and sources.

    Example:

        \b
        loglake init my-logs --stack my-logs --region eu-west-1
    """
    from .project import init as make

    for path in make(directory, stack, project_region or os.environ.get("AWS_REGION", "")):
        click.echo(f"wrote {path}")
    click.echo(
        f"next: cd {directory} && loglake local up   (edit glue_ddl/processed_logs.sql to add "
        "a column; add queries under queries/)"
    )


def _target(**values: str | None) -> None:
    """Make ``--endpoint-url``, ``--region`` and ``--profile`` the environment every boto3
    session of this command reads (``target.session``), wherever on the line they were given."""
    names = {"endpoint_url": "AWS_ENDPOINT_URL", "region": "AWS_REGION", "profile": "AWS_PROFILE"}
    for key, value in values.items():
        if value:
            os.environ[names[key]] = value
            if key == "region":
                os.environ["AWS_DEFAULT_REGION"] = value


def _target_options(command: click.Command) -> None:
    """Accept the three target options after the subcommand too (``loglake deploy --region R``)."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for flag, helptext in (
        ("--endpoint-url", "Talk to this endpoint (the local stack) instead of AWS."),
        ("--region", "AWS region."),
        ("--profile", "AWS profile from ~/.aws/config."),
    ):
        if flag in taken:
            continue
        name = flag.lstrip("-").replace("-", "_")
        command.params.append(
            click.Option(
                [flag],
                help=helptext,
                expose_value=False,
                is_eager=True,
                callback=lambda ctx, param, value, name=name: _target(**{name: value}),
            )
        )


@main.group(cls=LoglakeGroup)
def sources() -> None:
    """The formats loglake reads and the sources that say which objects are read how."""


@sources.command("list")
@_sources_option
def sources_list() -> None:
    """List the built-in formats, then the configured sources in matching order.

    Example:

        \b
        loglake sources list --sources sources.toml
    """
    from handler.config import Config

    from .sources import formats
    from .sources import sources as configured

    click.echo("formats:")
    for name, summary, _ in formats():
        click.echo(f"  {name:<9} {summary}")
    config = Config.from_env()
    where = config.sources_file or "built in (no sources file)"
    click.echo(f"sources ({where}; the first match reads an object):")
    for name, fmt, match, extra in configured(config):
        click.echo(f"  {name:<16} {fmt:<9} {match}" + (f"   {extra}" if extra else ""))


@sources.command("explain")
@click.argument("target")
@click.option(
    "--lines", default=10, show_default=True, type=click.IntRange(1, 10_000), help="Lines to show."
)
@click.option("--format", "fmt", type=_format_choice(), help="Read it in this format instead.")
@_sources_option
def sources_explain(target: str, lines: int, fmt: str | None) -> None:
    """Say which source reads TARGET (a local file or s3://bucket/key) and why, and what each
    of its first lines becomes: the row, or the error with its remedy.

    Examples:

        \b
        loglake sources explain app.log

        \b
        loglake sources explain s3://loglake-raw/nginx/access.log --lines 3
    """
    from handler.config import Config

    from .sources import explain
    from .target import session

    if not target.startswith("s3://") and not Path(target).is_file():
        raise click.BadParameter(f"{target} is not a file or an s3:// URI", param_hint="TARGET")
    found = explain(Config.from_env(), session(), target, lines, fmt)
    click.echo(found.uri)
    if found.source is None:
        raise click.ClickException(found.reason)
    click.echo(f"  source {found.source.name} (format {found.source.format}): {found.reason}")
    from .render import printable

    for line in found.lines:
        click.echo(f"{line.number:>5}  {printable(line.text[:160])}")
        if line.row is not None:
            click.echo(f"       -> {printable(json.dumps(line.row, ensure_ascii=False)[:400])}")
        elif line.error is not None:
            click.echo(f"       -> {line.error.code}: {printable(line.error.detail)}")
        else:
            click.echo("       -> blank")


@main.group(cls=LoglakeGroup)
def catalog() -> None:
    """Manage the Glue database and tables defined in glue_ddl/."""


@catalog.command("apply")
def catalog_apply() -> None:
    """Create the database and tables from glue_ddl/ (and a project's), safe to re-run.

    An existing table gains the columns added to its file and the types widened there
    (int -> bigint, float -> double), in place; any other change (a dropped, renamed or
    re-typed column, other partition keys) is refused in one line and nothing is changed. A
    lake written before readers' manifests existed is moved to them first: every object's
    committed version is published, then the tables read the manifests (once).

    Example:

        \b
        loglake catalog apply
    """
    from handler.config import Config

    from .catalog import apply
    from .target import session

    def moved(count: int) -> None:
        click.echo(f"moving to manifests: {count:,} objects published", err=True)

    _announce_project()
    for change in apply(Config.from_env(), session(), moved):
        click.echo(f"{change.action:9}  {change.kind} {change.name}")


@main.command()
@click.argument("source")
@click.option("--dry-run", is_flag=True, help="Validate and count only; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--format",
    "fmt",
    type=_format_choice(),
    help="Read it in this format (no sources file needed).",
)
@_sources_option
def process(source: str, dry_run: bool, as_json: bool, fmt: str | None) -> None:
    """Process one object (a local file or s3://bucket/key) with the handler's code path.

    A local file is treated as if just uploaded, with a file:// source URI. Its rows go into
    the tables (run `loglake catalog apply` first); with --dry-run nothing is written and the
    first errors are listed. The first source in the sources file whose match fits the key
    (for a local file, its path as given) reads it; --format reads it in that format instead.

    Examples:

        \b
        loglake process app.log --dry-run

        \b
        loglake process access.log --format combined --dry-run

        \b
        loglake process s3://loglake-raw/2025/07/21/app.log.gz --sources sources.toml
    """
    from handler.config import Config
    from handler.pipeline import Pipeline
    from handler.source import local_file, s3_object, split_s3_uri
    from handler.sources import source as make_source

    from .target import session

    _announce_project()
    pipeline = Pipeline(Config.from_env(), session())
    spec = make_source("cli", format=fmt) if fmt else None
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
        result = pipeline.process(obj, dry_run=dry_run, spec=spec)
    if result.status == "unmatched":
        raise click.ClickException(
            f"no source in {os.environ.get('SOURCES_FILE')} matches {source!r}; add a "
            "[[source]] whose match fits it, or give --format"
        )
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

        \b
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

        \b
        loglake queries show level_counts@v1
    """
    from .queries import resolve

    click.echo(resolve(ref).path.read_text(encoding="utf-8"), nl=False)


@queries.command("check")
def queries_check() -> None:
    """Check every saved query: valid Athena SQL, declared = used parameters, v1..vN.

    Example:

        \b
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
@click.option(
    "--workgroup",
    default=lambda: _settings().athena_workgroup,
    show_default="ATHENA_WORKGROUP or primary",
    help="Athena workgroup the named queries go to.",
)
def queries_publish(workgroup: str) -> None:
    """Create or update one Athena named query per query version, NAME@vN (idempotent).

    Example:

        \b
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
@_engine_option
@_format_option
@_output_option
@_athena_options
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

        \b
        loglake query level_counts --param day=2025-07-21

        \b
        loglake query top_messages -p level=error -p day=2025-07-21 --engine athena --format csv
    """
    from .engines import run_saved
    from .queries import parse_params

    _emit(run_saved(ref, parse_params(params), engine, workgroup, s3_output), fmt, output)


@main.command()
@click.argument("statement", required=False)
@click.option(
    "--file",
    "-f",
    "sql_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the SELECT from this file.",
)
@_engine_option
@_format_option
@_output_option
@_athena_options
def sql(
    statement: str | None,
    sql_file: Path | None,
    engine: str,
    fmt: str,
    output: str | None,
    workgroup: str,
    s3_output: str | None,
) -> None:
    """Run one ad-hoc SELECT on the tables, on the local engine or on Athena (read-only: any
    other statement is refused). For a question you will ask again, save it under queries/.

    Examples:

        \b
        loglake sql "SELECT level, count(*) AS n FROM processed_logs GROUP BY level"

        \b
        loglake sql -f slow_requests.sql --engine athena --format csv -o slow.csv
    """
    from .engines import run_sql

    if (statement is None) == (sql_file is None):
        raise click.UsageError("give the SELECT as an argument or with --file, not both")
    text = sql_file.read_text(encoding="utf-8") if sql_file else statement
    assert text is not None
    origin = str(sql_file) if sql_file else "the SELECT"
    _emit(run_sql(text, origin, engine, workgroup, s3_output), fmt, output)


def _emit(frame: Any, fmt: str, output: str | None) -> None:
    """A result as ``fmt`` on stdout, or into ``output``."""
    from .render import render

    text = render(frame, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


@main.command()
@click.option(
    "--since",
    type=_DAY,
    help="First day (UTC), YYYY-MM-DD.  [default: 7 days before --until]",
)
@click.option("--until", type=_DAY, help="Last day (UTC).  [default: today]")
@_engine_option
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=Path("loglake-report.html"),
    show_default=True,
    help="The HTML file to write.",
)
@click.option("--open", "open_it", is_flag=True, help="Open the page in the default browser.")
@_athena_options
def report(
    since: datetime | None,
    until: datetime | None,
    engine: str,
    output: Path,
    open_it: bool,
    workgroup: str,
    s3_output: str | None,
) -> None:
    """Write one self-contained HTML page of charts over the lake: log volume by level, error
    rate, invalid lines by code and by source, top errors, ingestion lag and files per partition.

    Every number on it comes from a saved query, named under its chart. The page works offline
    (the charting library is inside it) and can be mailed.

    Examples:

        \b
        loglake report --open

        \b
        loglake report --since 2025-07-15 --until 2025-07-21 -o week.html

        \b
        loglake report --engine athena --since 2025-07-01 --until 2025-07-31
    """
    import webbrowser

    from handler.config import Config

    from .report import write_report
    from .target import session

    written = write_report(
        output,
        since.date() if since else None,
        until.date() if until else None,
        engine,
        session(),
        Config.from_env().glue_database,
        _step,
        workgroup,
        s3_output,
    )
    click.echo(f"wrote {written.resolve()} ({written.stat().st_size / 1e6:.1f} MB)")
    if open_it and not webbrowser.open(written.resolve().as_uri()):
        click.echo(
            f"no browser could be started here: open {written.resolve().as_uri()} in one "
            "(or set BROWSER to the command that starts yours)",
            err=True,
        )


@main.group(cls=LoglakeGroup)
def local() -> None:
    """Run the whole pipeline on this machine: moto's server plays S3, SQS and Glue."""


@local.command("up")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (keep it loopback).",
)
@click.option("--port", default=4566, show_default=True, help="Port to listen on.")
@click.option(
    "--suffix", "suffixes", multiple=True, help="Object suffixes that trigger processing (repeat)."
)
@click.option(
    "--visibility-timeout", default=30, show_default=True, help="Queue visibility timeout, seconds."
)
@click.option(
    "--worker/--no-worker", default=True, show_default=True, help="Also run a queue worker here."
)
@_sources_option
def local_up(
    host: str, port: int, suffixes: tuple[str, ...], visibility_timeout: int, worker: bool
) -> None:
    """Start the local stack in the foreground: buckets, queue + dead-letter queue, notification,
    Glue tables, and a worker that runs the Lambda handler on every upload.

    Example:

        \b
        loglake local up --port 4566
    """
    from .local.stack import banner, names_from_env, running_stack, serve
    from .local.worker import Worker, readable_logs
    from .target import session

    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    readable_logs()
    _announce_project()
    names = names_from_env(suffixes=suffixes or None, visibility_timeout=visibility_timeout)
    with running_stack(host, port, names) as (url, stack):
        click.echo(banner(url, stack))
        consumer = Worker(stack.queue_url, session(), wait_seconds=2, log=_log) if worker else None
        serve(consumer, _log)
    click.echo("stopped", err=True)


@main.command()
@click.option(
    "--queue-url",
    default=lambda: _settings().queue_url,
    help="Queue to consume (LOGLAKE_QUEUE_URL; default: the queue named LOGLAKE_QUEUE).",
)
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes.",
)
@click.option(
    "--wait-seconds",
    default=10,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Long-poll time.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per object for people; json: Lambda's JSON lines, for log shippers.",
)
@_sources_option
def worker(queue_url: str | None, concurrency: int, wait_seconds: int, log_format: str) -> None:
    """Consume an SQS queue (local or on AWS) and run the Lambda handler on each batch, exactly as
    Lambda's SQS event source mapping would: for files that outgrow Lambda's 15 minutes.

    Example:

        \b
        loglake worker --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/loglake-ingest --concurrency 4
    """
    from .local.stack import serve
    from .local.worker import Worker, readable_logs, run_processes
    from .target import session

    url = queue_url or _queue_url()
    assert url is not None
    _announce_project()
    if concurrency > 1:
        run_processes(url, concurrency, wait_seconds, _log, log_format)
        return
    if log_format == "text":
        readable_logs()
    _log(f"worker consuming {url}")
    serve(Worker(url, session(), wait_seconds=wait_seconds, log=_log), _log)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--bucket",
    default=lambda: _settings().raw_bucket,
    show_default="RAW_BUCKET or loglake-raw",
    help="Raw bucket.",
)
@click.option("--prefix", default="", help="Key prefix, e.g. app/2025/07/21/.")
@click.option(
    "--wait", is_flag=True, help="Wait until each file is processed and print its counts."
)
@click.option("--timeout", default=300, show_default=True, help="Seconds to wait with --wait.")
@_sources_option
def upload(paths: tuple[str, ...], bucket: str, prefix: str, wait: bool, timeout: int) -> None:
    """Upload files, or whole folders recursively, to the raw bucket (with a progress bar).

    Examples:

        \b
        loglake upload app.log logs/ --prefix 2025/07/21/

        \b
        loglake upload logs/ --wait
    """
    from handler.config import Config

    from .target import session
    from .upload import find_files, key_for
    from .upload import upload as put

    config = Config.from_env()
    suffixes = _settings().suffixes if config.sources_file is None else ("",)
    files, skipped = find_files(list(paths), suffixes)
    for path in skipped:
        click.echo(
            f"skipped {path}: no notification fires for names not ending in {', '.join(suffixes)}",
            err=True,
        )
    odd = [f for f in files if not f.name.endswith(suffixes)]
    for path in odd:
        click.echo(
            f"warning: {path.name} does not end in {', '.join(suffixes)}; it will not be processed",
            err=True,
        )
    if not files:
        raise click.ClickException("nothing to upload")
    aws = session()
    keyed = [(f, key_for(f, list(paths), prefix)) for f in files]
    total = sum(f.stat().st_size for f in files)
    try:
        with click.progressbar(
            length=max(total, 1), label=f"uploading {len(files)} file(s)", file=sys.stderr
        ) as bar:
            uploaded = put(aws, bucket, keyed, bar.update)
    except KeyboardInterrupt:
        click.echo(
            "\nstopped: the files uploaded so far will be processed; run the same command again "
            "for the rest (an unchanged file uploaded twice is processed once)",
            err=True,
        )
        raise click.exceptions.Exit(130) from None
    for item in uploaded:
        click.echo(f"uploaded s3://{bucket}/{item.key}")
    if not wait:
        return
    watched = [u for u in uploaded if u.path.name.endswith(suffixes)]
    if config.sources_file is not None:
        unread = [u for u in watched if config.source_for(u.key) is None]
        for item in unread:
            click.echo(
                f"warning: no source in {config.sources_file} matches {item.key}; it will not "
                "be processed (add a [[source]] whose match fits it)",
                err=True,
            )
        watched = [u for u in watched if u not in unread]
    if not watched:
        click.echo("nothing to wait for: no uploaded file is one loglake reads", err=True)
        return
    try:
        found, missing = _wait_for(aws, bucket, config, watched, timeout)
    except KeyboardInterrupt:
        click.echo(
            f"\nstopped waiting: the {len(watched)} file(s) are uploaded and will still be "
            "processed; `loglake status` shows how far it got",
            err=True,
        )
        raise click.exceptions.Exit(130) from None
    _upload_table(watched, found)
    if missing:
        names = ", ".join(u.key for u in missing)
        raise click.ClickException(
            f"not processed within {timeout} s: {names}. Is a worker running (`loglake local up` or "
            "`loglake worker`)? `loglake status` shows the queue."
        )


def _wait_for(
    aws: Any, bucket: str, config: Any, watched: list[Any], timeout: int
) -> tuple[dict[str, Any], list[Any]]:
    """Wait for each uploaded file's manifest, with a progress bar."""
    from .upload import wait_for_manifests

    with click.progressbar(
        length=max(len(watched), 1),
        label=f"waiting for {len(watched)} file(s) to be processed",
        file=sys.stderr,
        show_pos=True,
    ) as waiting:
        return wait_for_manifests(
            aws, bucket, config, watched, timeout, on_done=lambda item, doc: waiting.update(1)
        )


def _upload_table(watched: list[Any], found: dict[str, Any]) -> None:
    rows: list[tuple[Any, ...]] = [
        (
            u.key,
            found[u.key]["valid"],
            found[u.key]["invalid"],
            found[u.key]["blank"],
            found[u.key]["seconds"],
        )
        for u in watched
        if u.key in found
    ]
    if len(rows) > 1:
        rows.append(
            (
                f"total ({len(rows)} files)",
                *(sum(int(r[i]) for r in rows) for i in (1, 2, 3)),
                round(sum(float(r[4]) for r in rows), 3),
            )
        )
    if rows:
        _table(["file", "valid", "invalid", "blank", "seconds"], rows)


@main.command()
@click.option(
    "--queue-url",
    default=lambda: _settings().queue_url,
    help="Ingest queue (LOGLAKE_QUEUE_URL; default: the queue named LOGLAKE_QUEUE).",
)
def status(queue_url: str | None) -> None:
    """Objects processed, rows valid/invalid, queue and dead-letter depths, errors by code, and
    per table: partitions, files, average and smallest file, files under the compaction target,
    last compaction.

    Example:

        \b
        loglake status
    """
    from handler.config import Config

    from .render import size_text
    from .status import collect
    from .target import session

    url = queue_url or _queue_url(required=False)
    info = collect(session(), Config.from_env(), url)
    click.echo(
        f"objects processed  {info.objects:,}"
        + (f"  ({info.in_progress} in progress)" if info.in_progress else "")
        + (f"  ({info.deleted:,} deleted, their rows removed)" if info.deleted else "")
    )
    click.echo(
        f"rows               valid {info.valid:,}   invalid {info.invalid:,}   blank lines {info.blank:,}"
    )
    if info.removed:
        valid, invalid = info.in_tables()
        causes = ", ".join(
            f"{sum(by.values()):,} {cause}" for cause, by in sorted(info.removed.items())
        )
        click.echo(f"in the tables      valid {valid:,}   invalid {invalid:,}   ({causes})")
    if info.vanished:
        click.echo(
            f"vanished files     {info.vanished:,} deleted outside loglake (their rows are gone)"
        )
    if info.queue:
        click.echo(
            f"queue              {info.queue['waiting']:,} waiting, {info.queue['in_flight']:,} in flight"
        )
    elif url is None:
        click.echo(f"queue              none named {_settings().queue} (set LOGLAKE_QUEUE)")
    if info.dead_letters:
        click.echo(
            f"dead letters       {info.dead_letters['waiting']:,} (inspect them before redriving)"
        )
    if set(info.sources) - {"default (ndjson)"}:
        click.echo("objects by source")
        for name, count in info.sources.most_common():
            click.echo(f"  {count:>10,}  {name}")
    if info.error_codes:
        click.echo("errors by code")
        for code, count in info.error_codes.most_common(10):
            click.echo(f"  {count:>10,}  {code}")
    if info.lake:
        click.echo("lake (files under the 256 MB compaction target make Athena slower)")
        for t in info.lake:
            click.echo(
                f"  {t.table:<10} {t.partitions:,} partitions  {t.files:,} files  "
                f"avg {size_text(t.average)}  smallest {size_text(t.smallest)}  "
                f"{t.under_target:,} under target  last compaction {t.last_compaction or 'never'}"
                + (f"  {t.trash:,} replaced files kept for running queries" if t.trash else "")
            )
    if info.newest:
        click.echo("newest objects")
        for doc in info.newest:
            click.echo(
                f"  {doc.get('ingested_at', '')}  {doc.get('source_uri')}  "
                f"source {doc.get('source', 'default')} ({doc.get('format', 'ndjson')})  "
                f"valid {doc.get('valid', '-')}  invalid {doc.get('invalid', '-')}"
            )
    if url is None and os.environ.get("LOGLAKE_QUEUE"):
        raise click.ClickException(
            f"queue {_settings().queue!r} does not exist, so its depth is not shown: set "
            "LOGLAKE_QUEUE to the ingest queue's name or pass --queue-url"
        )


@main.command()
@click.argument("uri")
@click.option(
    "--stale-only",
    is_flag=True,
    help="Only objects processed under another fingerprint (schema, rules, validator).",
)
@click.option("--since", type=_DAY, help="Uploaded on or after this day.")
@click.option("--until", type=_DAY, help="Uploaded on or before this day.")
@click.option(
    "--queue",
    "queue_url",
    default=lambda: _settings().queue_url,
    help="Queue to send notifications to (default: LOGLAKE_QUEUE_URL or the queue LOGLAKE_QUEUE).",
)
@click.option("--rate", type=click.FloatRange(min=0.1), help="At most this many messages a second.")
@click.option(
    "--local", is_flag=True, help="Process the objects here instead of through the queue."
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Processes for --local.",
)
def reprocess(
    uri: str,
    stale_only: bool,
    since: datetime | None,
    until: datetime | None,
    queue_url: str | None,
    rate: float | None,
    local: bool,
    processes: int,
) -> None:
    """Process every object under s3://bucket/prefix/ whose rows are missing or were produced
    under another schema or rules: by default through the ingest queue (the deployed function or
    every running worker shares the work), with --local here. A rerun sends only what is still
    not current, so it can be interrupted and resumed.

    Examples:

        \b
        loglake reprocess s3://loglake-raw/ --stale-only
        loglake reprocess s3://loglake-raw/2025/07/ --since 2025-07-01 --rate 200
        loglake reprocess s3://loglake-raw/ --local --processes 2
    """
    from handler.config import Config

    from .reprocess import Plan
    from .reprocess import reprocess as run
    from .target import session

    _announce_project()
    plan = Plan(
        uri=uri,
        suffixes=_settings().suffixes,
        stale_only=stale_only,
        since=since.date() if since else None,
        until=until.date() if until else None,
        queue_url=None if local else (queue_url or _queue_url(required=True)),
        rate=rate,
        processes=processes if local else 0,
    )
    verb = "processed" if local else "sent"
    tally = run(Config.from_env(), session(), plan, lambda t: click.echo(t.line(verb), err=True))
    statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(tally.statuses.items()))
    if tally.statuses == {verb: tally.done}:
        statuses = ""  # not "16 processed (16 processed)"
    click.echo(
        f"{tally.picked:,} of {tally.listed:,} object(s) not current; {tally.done:,} {verb}"
        + (f" ({statuses})" if statuses else "")
        + ("" if local else "; the queue's consumers process them")
    )


@main.command()
@click.argument("uri")
def backfill(uri: str) -> None:
    """Process, here and now, every object under s3://bucket/prefix/ that is not current (e.g.
    files uploaded before the notification existed): an alias of `loglake reprocess URI --local`.
    A second run changes nothing.

    Example:

        \b
        loglake backfill s3://loglake-raw/2025/07/
    """
    ctx = click.get_current_context()
    ctx.invoke(reprocess, uri=uri, local=True)


@main.command()
@click.option(
    "--table",
    "which",
    default="all",
    show_default=True,
    help="Which table's partitions to compact: processed, errors, a typed table (alb_logs...) "
    "or all.",
)
@click.option("--dt", help="One day, YYYY-MM-DD.")
@click.option("--since", help="First day, YYYY-MM-DD (inclusive).")
@click.option("--until", help="Last day, YYYY-MM-DD (inclusive).")
@click.option(
    "--min-age",
    default=6.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Hours a partition must have received no new file.",
)
@click.option(
    "--target-mb",
    default=256,
    show_default=True,
    type=click.IntRange(min=1),
    help="Size of the files written, MB (full compacted files are left alone).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be merged; change nothing.")
def compact(
    which: str,
    dt: str | None,
    since: str | None,
    until: str | None,
    min_age: float,
    target_mb: int,
    dry_run: bool,
) -> None:
    """Merge each partition's small files into as few files as the target size allows, exactly
    once: rows are counted and checksummed before any file is removed, objects in progress are
    left alone, and a crashed or concurrent run changes nothing it should not.

    Examples:

        \b
        loglake compact --dry-run
        loglake compact --table processed --dt 2025-07-21 --min-age 0
        loglake compact --since 2025-07-01 --until 2025-07-31 --target-mb 128
    """
    from handler.config import Config

    from .compact import compact as run
    from .compact import options_from
    from .target import session

    options = options_from(which, dt, since, until, min_age, target_mb, dry_run)

    click.echo(run(Config.from_env(), session(), options, _step))


@main.command()
@click.option("--table", help="The table: processed, errors, a typed table (or its Glue name).")
@click.option("--where", help="The rows to remove: a condition over the table's columns.")
@click.option("--since", help="First day (dt) it covers, YYYY-MM-DD (default: the first).")
@click.option("--until", help="Last day (dt) it covers, YYYY-MM-DD (default: today, UTC).")
@click.option("--dry-run", is_flag=True, help="Print the files, rows and bytes; change nothing.")
@click.option("--list", "show", is_flag=True, help="List the erasure records, oldest first.")
def erase(
    table: str | None,
    where: str | None,
    since: str | None,
    until: str | None,
    dry_run: bool,
    show: bool,
) -> None:
    """Remove every row matching a condition, exactly once, for good: each file holding one is
    rewritten without it and swapped in one manifest write (readers never see both), and a
    durable record makes every later write of a replayed object (reprocess, a redelivery, a
    re-upload) apply it too. The condition is Athena SQL over the table's columns: comparisons,
    IN, LIKE, IS NULL, AND/OR/NOT; running the same erasure again resumes it.

    Examples:

        \b
        loglake erase --table processed --where "attributes['user_id'] = 'u-123'" --dry-run
        loglake erase --table processed --where "attributes['user_id'] = 'u-123'"
        loglake erase --table errors --where "raw_line LIKE '%u-123%'" --since 2025-07-01
        loglake erase --list
    """
    from handler.config import Config

    from . import erase as lib
    from .target import session

    config, aws = Config.from_env(), session()
    if show:
        for line in lib.listing(config, aws):
            click.echo(line)
        return
    if not table or not where:
        raise click.UsageError("give --table and --where (or --list)")
    asked = lib.request(config, table, where, since, until, dry_run, lib.caller(aws))
    click.echo(lib.erase(config, aws, asked, _step))


@main.group(cls=LoglakeGroup)
def retention() -> None:
    """How long each table keeps its partitions ('loglake.retention_days' in its glue_ddl
    file), and removing what is older."""


@retention.command("show")
def retention_show() -> None:
    """Print each table's retention and the oldest day it keeps today.

    Example:

        \b
        loglake retention show
    """
    from handler.config import Config

    from .retention import plan

    for line in plan(Config.from_env()):
        click.echo(line)


@retention.command("apply")
@click.option("--table", "tables", multiple=True, help="Only this table (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
def retention_apply(tables: tuple[str, ...], dry_run: bool) -> None:
    """Remove every partition older than its table's retention, exactly once: readers stop
    seeing it in one manifest write, its files go after the reader grace, and a replayed
    object never brings its rows back. Files deleted outside loglake (a lifecycle rule, by
    hand) are recorded as vanished, so queries and compaction work again. The scheduled
    maintenance run does the same every day.

    Examples:

        \b
        loglake retention apply --dry-run
        loglake retention apply --table errors
    """
    from handler.config import Config

    from .retention import apply
    from .target import session

    click.echo(apply(Config.from_env(), session(), tables or None, dry_run, _step))


@main.command()
@click.option("--lines", default=3000, show_default=True, help="Generated lines per file.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),
    default=Path("loglake-report.html"),
    show_default=True,
    help="Where the report page is written.",
)
def demo(lines: int, report_path: Path) -> None:
    """Start the local stack on a free port, upload the tutorial's sample plus generated logs,
    wait for the event path to process them, print saved queries' results and write the report
    page (`loglake report`).

    Example:

        \b
        loglake demo
    """
    from .local.demo import run_demo

    run_demo(lines, report_path, _step)


@main.group(cls=LoglakeGroup)
def layer() -> None:
    """Build and verify the Lambda layer (pandas, pyarrow, awswrangler, ...)."""


@layer.command("build")
@click.option(
    "--arch",
    type=click.Choice(["arm64", "x86_64"]),
    default="arm64",
    show_default=True,
    help="Lambda architecture the layer is built for (arm64 is cheaper).",
)
@click.option(
    "--python", "python", default="3.12", show_default=True, help="Target Python version."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder the zip is written to.",
)
def layer_build(arch: str, python: str, out: Path) -> None:
    """Build a slim, byte-reproducible layer zip for the target; print its size report and sha256.

    Example:

        \b
        loglake layer build --arch arm64 --python 3.12 --out dist/
    """
    from .layer import build, iter_report

    report = build(arch, python, out, log=_log)
    for line in iter_report(report):
        click.echo(line)
    for rule, size in report.removed.items():
        click.echo(f"pruned {size / 2**20:8.1f} MiB  {rule}")
    click.echo(
        f"stripped with {report.stripped_with or '-'}; .pyc for {report.compiled_for or '- (none)'}"
    )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{report.path}  sha256 {report.sha256}")


@layer.command("verify")
@click.argument("zip_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--arch",
    type=click.Choice(["arm64", "x86_64"]),
    help="Expected architecture (default: from the name).",
)
def layer_verify(zip_path: Path, arch: str | None) -> None:
    """Check a layer: every native library's ELF machine; for this machine's Python and
    architecture also import the handler from it in isolation and convert the sample.

    Example:

        \b
        loglake layer verify dist/loglake-layer-py3.12-arm64.zip
    """
    from .layer import LayerError, verify

    arch = arch or ("arm64" if "arm64" in zip_path.name else "x86_64")
    problems = verify(zip_path, arch, log=_log)
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise LayerError(f"{zip_path} failed {len(problems)} check(s)")
    click.echo(f"ok: {zip_path}")


@main.command("package")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder the zip is written to.",
)
def package_cmd(out: Path) -> None:
    """Build the function zip (handler/ and glue_ddl/ only), reproducibly; print its sha256.

    Example:

        \b
        loglake package --out dist/
    """
    from handler.config import Config

    from .layer import package

    _announce_project()
    report = package(out, sources=_checked_sources(), ddl_dirs=Config.from_env().ddl_dirs)
    click.echo(
        f"{report.path}  {report.unzipped:,} bytes unzipped, {report.zipped:,} zipped  sha256 {report.sha256}"
    )


@main.command()
@click.option(
    "--stack",
    required=True,
    default=lambda: _PROJECT.stack if _PROJECT is not None else None,
    show_default="the project's stack",
    help="CloudFormation stack name.",
)
@click.option("--layer", default="build", show_default=True, help="build, managed, or a layer ARN.")
@click.option("--prefix", default="loglake", show_default=True, help="Prefix of resource names.")
@click.option(
    "--suffix", "suffixes", multiple=True, help="Object suffixes that trigger processing (repeat)."
)
@click.option(
    "--arch",
    type=click.Choice(["arm64", "x86_64"]),
    default="arm64",
    show_default=True,
    help="Lambda architecture of the function and its layer.",
)
@click.option("--runtime", default="python3.12", show_default=True, help="Lambda runtime.")
@click.option("--memory", default=1024, show_default=True, help="Lambda memory, MB.")
@click.option(
    "--timeout",
    default=300,
    show_default=True,
    help="Lambda timeout, seconds (queue visibility is 6x).",
)
@click.option(
    "--alarm-email", default="", help="Send alarms to this address (confirm the SNS e-mail)."
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Custom validation rules for the function (a JSON file).",
)
@_raw_bucket_options
@_sources_option
def deploy(
    stack: str,
    layer: str,
    prefix: str,
    suffixes: tuple[str, ...],
    arch: str,
    runtime: str,
    memory: int,
    timeout: int,
    alarm_email: str,
    rules_file: Path | None,
    raw_bucket: str,
    raw_prefix: str,
) -> None:
    """Deploy (or update) the whole pipeline as one CloudFormation stack, through a change set.

    Packages the function, builds the layer (or uses the managed one or an ARN), uploads both,
    shows progress and prints the outputs. Uses the standard credential chain (--profile, --region).

    Example:

        \b
        loglake deploy --stack demo --region eu-west-1 --layer build

        \b
        loglake deploy --stack shop --raw-bucket shop-app-logs --raw-prefix app/
    """
    from handler.config import Config
    from handler.rules import parse_rules

    from .deploy import Settings
    from .deploy import deploy as run
    from .target import session

    rules = rules_file.read_text(encoding="utf-8") if rules_file else ""
    parse_rules(rules, str(rules_file))  # a bad rules file fails here, not in the deployed function
    sources = _checked_sources()
    settings = Settings(
        stack=stack, prefix=prefix, layer=layer, suffixes=suffixes or _settings().suffixes,
        architecture=arch, runtime=runtime, memory=memory, timeout=timeout, alarm_email=alarm_email,
        rules=json.dumps(json.loads(rules), separators=(",", ":")) if rules.strip() else "",
        sources=sources, ddl_dirs=Config.from_env().ddl_dirs, raw_bucket=raw_bucket,
        raw_prefix=raw_prefix,
    )  # fmt: skip
    _announce_project()
    outputs = run(settings, session(), log=_log)
    for key, value in outputs.items():
        click.echo(f"{key:<22} {value}")


@main.command()
@click.option(
    "--stack",
    required=True,
    default=lambda: _PROJECT.stack if _PROJECT is not None else None,
    show_default="the project's stack",
    help="CloudFormation stack name.",
)
@click.option("--prefix", default="loglake", show_default=True, help="Prefix used at deploy.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def destroy(stack: str, prefix: str, yes: bool) -> None:
    """Empty the stack's buckets (every version) and delete the stack: nothing is left behind.

    Example:

        \b
        loglake destroy --stack demo --yes
    """
    from .deploy import destroy as run
    from .target import session

    if not yes:
        click.confirm(f"Delete stack {stack} and ALL data in its buckets?", abort=True)
    run(stack, session(), log=_log, prefix=prefix)


@main.command()
@click.option(
    "--suffix", "suffixes", multiple=True, help="Object suffixes that trigger processing (repeat)."
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file."
)
@_raw_bucket_options
@_sources_option
def template(
    suffixes: tuple[str, ...], output: Path | None, raw_bucket: str, raw_prefix: str
) -> None:
    """Print the deployable CloudFormation template (infra/template.yaml + tables from glue_ddl/).

    Example:

        \b
        loglake template -o dist/template.json && cfn-lint dist/template.json
    """
    from handler.config import Config

    from .deploy import render

    _announce_project()
    ddl_dirs = Config.from_env().ddl_dirs
    rendered = render(
        suffixes or _settings().suffixes, ddl_dirs, _checked_sources(), raw_bucket, raw_prefix
    )
    text = json.dumps(rendered, indent=1, sort_keys=True) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _step(number: int, total: int, line: str) -> None:
    """One progress line of a command that works through a known number of steps."""
    click.echo(f"[{number}/{total}] {line}", err=True)


def _settings() -> Any:
    from .settings import Settings

    return Settings.from_env()


def _queue_url(required: bool = True) -> str | None:
    from .settings import Settings
    from .target import session

    name = Settings.from_env().queue
    sqs = session().client("sqs")
    try:
        url: str = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return url
    except sqs.exceptions.QueueDoesNotExist:
        if not required:
            return None
        raise click.ClickException(
            f"queue {name!r} does not exist: pass --queue-url or set LOGLAKE_QUEUE"
        ) from None


def _table(headers: list[str], rows: list[tuple[Any, ...]]) -> None:
    from .render import table

    click.echo(table(headers, rows), nl=False)


def _log(message: str) -> None:
    click.echo(message, err=True)


def _checked_sources() -> Path | None:
    """The sources file of ``--sources`` or ``SOURCES_FILE``, checked now (a bad one is one
    Error line here, not a failing cold start of the deployed function)."""
    from handler.sources import load_sources

    named = os.environ.get("SOURCES_FILE")
    if not named:
        return None
    load_sources(named)
    return Path(named)


def _print_result(result: Any) -> None:
    from .render import printable

    read_by = f"  (source {result.source}, format {result.format})" if result.source else ""
    click.echo(
        f"{result.status}: {result.source_uri}{read_by}\n"
        f"  lines read {result.lines_read:,} = valid {result.valid:,} + invalid "
        f"{result.invalid:,} + blank {result.blank:,}   ({result.bytes_read:,} bytes, "
        f"{result.seconds:.2f} s)"
    )
    for code, count in result.error_counts.items():
        click.echo(f"  {count:>8,}  {code}")
    if result.status == "dry_run":
        for sample in result.sample_errors:
            detail = printable(str(sample["detail"]))
            click.echo(f"  line {sample['line']}: {sample['code']}: {detail}")
    elif result.status == "superseded":
        click.echo(
            "  the object was overwritten while it was read: nothing kept; run again for the new bytes"
        )
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


def _every_command(group: click.Group) -> list[click.Command]:
    found: list[click.Command] = []
    for command in group.commands.values():
        found += _every_command(command) if isinstance(command, click.Group) else [command]
    return found


#: Commands that never call AWS: no --endpoint-url, --region or --profile to mislead.
_OFFLINE = (init, queries_list, queries_show, queries_check, template, package_cmd, layer_build,
            layer_verify, sources_list, demo)  # fmt: skip
for _command in _every_command(main):
    if _command not in _OFFLINE:
        _target_options(_command)


if __name__ == "__main__":
    main()

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

    for change in apply(Config.from_env()):
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

    pipeline = Pipeline(Config.from_env())
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

"""The CLI's promises: every command has help with an example and appears in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from loglake.cli import main

README = (Path(__file__).parent.parent / "README.md").read_text()


def commands(group: click.Group = main, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found += commands(command, full + " ")
        else:
            found.append((full, command))
    return found


@pytest.mark.parametrize(("name", "command"), commands(), ids=[n for n, _ in commands()])
def test_every_command_has_help_with_an_example_and_is_in_the_readme(
    name: str, command: click.Command
) -> None:
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, f"`loglake {name} --help` shows no example"
    assert f"loglake {name}" in README, f"`loglake {name}` is missing from README.md"


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["queries", "show", "nope"])
    assert result.exit_code == 2
    assert (
        result.output
        == "Error: unknown query 'nope'; `loglake queries list` shows: "
        + ", ".join(
            sorted(
                p.name for p in (Path(__file__).parent.parent / "queries").iterdir() if p.is_dir()
            )
        )
        + "\n"
    )


def test_missing_bucket_and_queue_are_one_line_with_exit_2(lake: object) -> None:
    sample = Path(__file__).parent.parent / "loglake" / "samples" / "sample_log.log"
    upload = CliRunner().invoke(main, ["upload", str(sample), "--bucket", "no-such-bucket"])
    assert upload.exit_code == 2
    assert upload.stderr.splitlines()[-1] == (
        "Error: bucket no-such-bucket does not exist (PutObject): check the name, or run `loglake local up` locally"
    )
    status = CliRunner().invoke(
        main, ["status", "--queue-url", "https://sqs.us-east-1.amazonaws.com/123456789012/nope"]
    )
    assert status.exit_code == 2
    assert status.output.startswith("Error: ") and status.output.count("\n") == 1


@pytest.mark.parametrize(("name", "command"), commands(), ids=[n for n, _ in commands()])
def test_help_examples_are_verbatim_and_every_option_is_described(
    name: str, command: click.Command
) -> None:
    """A pasted example must run as written: click must not rewrap it (``\\b``)."""
    output = CliRunner().invoke(main, [*name.split(), "--help"], terminal_width=80).output
    examples = [
        line.strip()
        for line in (command.help or "").splitlines()
        if line.strip().startswith("loglake ")
    ]
    assert examples, f"`loglake {name}` has no example"
    for example in examples:
        assert any(line.strip() == example for line in output.splitlines()), example
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"`loglake {name}` option {param.opts[0]} has no description"


def test_the_sources_examples_run_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's sources block, from the checkout's root, as a reader would paste it."""
    import re
    import shlex

    monkeypatch.chdir(Path(__file__).parent.parent)
    section = README.split("### Sources and formats", 1)[1]
    block = re.findall(r"```sh\n(.*?)```", section, re.S)[0]
    for line in filter(None, (x.split("  #")[0].strip() for x in block.splitlines())):
        result = CliRunner().invoke(main, shlex.split(line)[1:], catch_exceptions=False)
        assert result.exit_code == 0, (line, result.output)
        assert "Error" not in result.output


def test_sources_explain_joins_records_and_names_an_unmatched_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES_FILE", "")  # restored after: --sources sets it for the process
    fixture = Path(__file__).parent / "fixtures" / "producers" / "python-traceback.log"
    sources = tmp_path / "sources.toml"
    sources.write_text(
        "[[source]]\nname = 'py'\nmatch = '**/python-traceback.log'\nformat = 'pattern'\n"
        r"multiline = '\d{4}-'"
        "\n"
        r"pattern = '(?P<time>\S+ \S+) - (?P<logger>\S+) - (?P<level>[A-Z]+) - (?P<message>.*)'"
    )
    result = CliRunner().invoke(
        main, ["sources", "explain", str(fixture), "--sources", str(sources)]
    )
    assert result.exit_code == 0, result.output
    assert "source py (format pattern)" in result.output
    assert [line.split()[0] for line in result.output.splitlines() if line[:5].strip().isdigit()] == [
        "1", "2", "6",
    ]  # fmt: skip
    assert "ZeroDivisionError: division by zero" in result.output
    other = tmp_path / "other.log"
    other.write_text("x\n")
    result = CliRunner().invoke(main, ["sources", "explain", str(other), "--sources", str(sources)])
    assert result.exit_code == 2
    assert result.output.count("Error:") == 1 and "no source in" in result.output


def test_status_says_when_the_queue_it_was_told_of_does_not_exist(lake: object) -> None:
    default = CliRunner().invoke(main, ["status"])
    assert default.exit_code == 0, default.output
    assert "queue              none named loglake-ingest (set LOGLAKE_QUEUE)" in default.stdout
    assert "newest objects" not in default.stdout  # not the layout marker as an object "None"
    told = CliRunner().invoke(main, ["status"], env={"LOGLAKE_QUEUE": "nope-queue"})
    assert told.exit_code == 2
    assert told.stderr.splitlines() == [
        "Error: queue 'nope-queue' does not exist, so its depth is not shown: set LOGLAKE_QUEUE "
        "to the ingest queue's name or pass --queue-url"
    ]
    assert "objects processed" in told.stdout  # the rest is still shown


def test_report_open_without_a_browser_says_where_the_page_is(lake: object, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        main, ["report", "-o", str(out), "--open"], env={"BROWSER": "false"}
    )
    assert result.exit_code == 0, result.output
    assert f"no browser could be started here: open {out.resolve().as_uri()} in one" in (
        result.stderr
    )


def test_tables_round_floats_and_show_control_bytes_escaped() -> None:
    import pandas as pd

    from loglake.render import render, size_text

    frame = pd.DataFrame(
        {"p50": [497.8076923076923, 0.000123456], "raw": ["\x1b[2Jgone", "a\x00b"]}
    )
    table = render(frame, "table")
    assert "497.81" in table and "0.000123" in table and "497.807" not in table
    assert "\\x1b[2Jgone" in table and "\x1b" not in table and "a\\x00b" in table
    assert "497.8076923076923" in render(frame, "csv")  # CSV and JSON keep every digit
    assert [size_text(n) for n in (812, 4_200, 31_500_000, 2_100_000_000)] == [
        "812 B", "4.2 kB", "31.5 MB", "2.10 GB"
    ]  # fmt: skip


def test_a_day_that_does_not_exist_is_named_as_such() -> None:
    result = CliRunner().invoke(main, ["report", "--since", "2026-02-30"])
    assert result.exit_code == 2
    assert "'2026-02-30' is not a day: day is out of range for month" in result.output
    assert "does not match the format" not in result.output


def test_commands_that_never_call_aws_offer_no_aws_options() -> None:
    for args in (["template"], ["queries", "list"], ["init"], ["package"], ["layer", "build"]):
        helptext = CliRunner().invoke(main, [*args, "--help"]).output
        assert "--endpoint-url" not in helptext and "--profile" not in helptext, args
    assert "--endpoint-url" in CliRunner().invoke(main, ["status", "--help"]).output


def readme_command_lines() -> list[str]:
    """Every ``loglake ...`` command in the README's sh blocks and its inline code, as typed."""
    import re

    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", README, re.S)).splitlines()
    inline = re.findall(r"`(loglake [^`]+)`", README)
    found = []
    for line in blocks + inline:
        for part in line.split("  #")[0].split("&&"):
            part = part.strip()
            if part.startswith("loglake ") and "…" not in part and "..." not in part:
                found.append(part)
    return sorted(set(found))


def test_every_loglake_command_the_readme_shows_exists_with_those_options() -> None:
    """A renamed command or option must not leave the README describing it."""
    import shlex

    checked = 0
    for line in readme_command_lines():
        words = shlex.split(line.replace("|", " ").replace("[", " ").replace("]", " "))[1:]
        command: click.Command = main
        known = {o for p in main.params for o in getattr(p, "opts", [])}
        while isinstance(command, click.Group) and words:
            options = [w for w in words if w.startswith("-")]
            rest = [w for w in words if not w.startswith("-")]
            if not rest or rest[0] not in command.commands:
                break
            words = options + rest[1:]
            command = command.commands[rest[0]]
            known |= {o for p in command.params for o in getattr(p, "opts", [])}
            known |= {o for p in command.params for o in getattr(p, "secondary_opts", [])}
        assert not isinstance(command, click.Group), f"README: {line!r} names no command"
        for word in words:
            flag = word.split("=")[0]
            if flag.startswith("-") and not flag.lstrip("-").isdigit():
                assert flag in known, f"README: {line!r}: {flag} is not an option of it"
        checked += 1
    assert checked > 40

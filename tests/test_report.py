"""``loglake report``: a page rendered from a lake the real handler wrote into moto's server,
opened in a real headless Chromium (the system's: ``apt-get install chromium``, see .ci/run)."""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from loglake.cli import main
from loglake.engines import LocalEngine
from loglake.queries import resolve

from .conftest import RAW, SAMPLE, Lake, good, ndjson

TODAY = datetime.now(UTC).date().isoformat()
HOSTILE = "</script><script>document.title='pwned'</script> & <b>bold</b>"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def executable() -> str:
    """The system's Chromium: $CHROMIUM, or the first of BROWSERS on the PATH."""
    found = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if not found:
        pytest.fail(
            "no Chromium found: install it (Debian/Ubuntu: sudo apt-get install chromium) "
            "or point CHROMIUM at a Chromium or Chrome binary"
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def report_lake(served_lake: Lake) -> Lake:
    """Three objects through the real handler path: two days of rows, invalid lines, a message
    that tries to end the page's script element."""
    app = ndjson(
        *[good(i, "2025-07-20", level="INFO") for i in range(30)],
        *[good(i, "2025-07-21", level="WARN") for i in range(5)],
        good(40, "2025-07-21", level="ERROR", message="Payment failed"),
        good(41, "2025-07-21", level="ERROR", message="Payment failed"),
        good(42, "2025-07-21", level="CRITICAL", message=HOSTILE),
        "{bad json",
        {"timestamp": "2025-07-21T11:30:00Z", "level": "LOUD", "message": "x"},
        "",
    )
    served_lake.put("sample_log.log", SAMPLE.read_bytes())
    served_lake.put("app/one.log", app)
    served_lake.put("app/two.log", ndjson(good(50, "2025-07-21", level="DEBUG"), "nope"))
    pipeline = served_lake.pipeline()
    counts = [
        pipeline.process_s3(RAW, key) for key in ("sample_log.log", "app/one.log", "app/two.log")
    ]
    assert [(r.valid, r.invalid, r.blank) for r in counts] == [(3, 1, 0), (38, 2, 1), (1, 1, 0)]
    return served_lake


def write(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    assert f"wrote {out.resolve()}" in result.output
    assert "[11/11]" in result.output  # progress, one line per saved query
    return out


def opened(browser: Browser, path: Path) -> tuple[Page, list[str]]:
    """The page loaded from disk with the network cut off, once every chart has settled."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.route(
        "**/*",
        lambda route: route.abort() if route.request.url.startswith("http") else route.continue_(),
    )
    page.goto(path.resolve().as_uri())
    page.wait_for_function(
        "[...document.querySelectorAll('.chart')].every("
        "c => c.dataset.rendered || c.dataset.empty === 'true')",
        timeout=30_000,
    )
    return page, problems


def charts(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.eval_on_selector_all(
        ".chart",
        """els => els.map(e => ({
            id: e.id,
            rendered: e.dataset.rendered || null,
            empty: e.dataset.empty === 'true',
            marks: e.querySelectorAll('svg .role-mark > *').length,
            note: (e.querySelector('.no-data') || {}).textContent || null,
        }))""",
    )
    return found


def x_labels(page: Page) -> dict[str, list[tuple[str, float, float]]]:
    """Each chart's visible x-axis labels: text, left and right edge on the page."""
    found: dict[str, list[tuple[str, float, float]]] = page.eval_on_selector_all(
        ".chart",
        """els => Object.fromEntries(els.map(e => [e.id, [...e.querySelectorAll('svg g.role-axis')]
            .filter(a => (a.getAttribute('aria-label') || '').startsWith('X-axis'))
            .flatMap(a => [...a.querySelectorAll('.role-axis-label text')])
            .filter(t => getComputedStyle(t).opacity !== '0' && t.getAttribute('opacity') !== '0')
            .map(t => { const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.right]; })
        ]))""",
    )
    return found


def assert_readable_time_axes(page: Page, expected: dict[str, list[str]]) -> None:
    """Every time axis: the labels expected, each once, none touching the next."""
    labels = x_labels(page)
    for chart, texts in expected.items():
        shown = labels[chart]
        assert [t for t, _, _ in shown] == texts, (chart, shown)
        for (_, _, right), (_, left, _) in itertools.pairwise(shown):
            assert right + 4 <= left, (chart, shown)


def headline(page: Page) -> dict[str, Any]:
    cards = page.eval_on_selector_all(
        ".number", "els => els.map(e => [e.dataset.field, e.dataset.value])"
    )
    return {field: json.loads(value) for field, value in cards}


def saved(session: Any, name: str, **params: str) -> list[dict[str, Any]]:
    query = resolve(name)
    frame = LocalEngine(session, "log_analytics_db").run(query, query.bind(params))
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


def not_blank(png: bytes) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    inked = sum(n for n, rgb in colours if rgb != (255, 255, 255))
    assert len(colours) > 20, "the screenshot has almost no colours"
    assert inked > 0.03 * image.width * image.height, "the screenshot is almost all white"


def test_report_renders_every_chart_offline_with_the_saved_queries_numbers(
    report_lake: Lake, browser: Browser, tmp_path: Path
) -> None:
    out = write(tmp_path, "--since", "2025-07-20", "--until", TODAY)
    assert out.stat().st_size < 3_000_000
    page, problems = opened(browser, out)
    found = charts(page)
    assert [c["id"] for c in found] == [
        "chart-volume",
        "chart-error_rate",
        "chart-invalid",
        "chart-sources",
        "chart-top_errors",
        "chart-lag",
        "chart-files",
    ]
    for chart in found:
        assert chart["rendered"] == "true" and chart["marks"] > 0 and not chart["empty"], chart
    assert problems == []
    # The hostile message stayed data: it ended no script and set no title.
    assert page.title() == f"loglake report 2025-07-20 to {TODAY}"
    assert HOSTILE in (page.text_content("#chart-top_errors ~ details table") or "")
    expected = saved(report_lake.session, "report_headline", start="2025-07-20", end=TODAY)[0]
    assert headline(page) == expected
    assert expected == {
        "valid_rows": 42,
        "invalid_lines": 4,
        "invalid_pct": 8.7,
        "sources": 3,
        "days": 2,
    }
    assert "report_headline@v1" in page.inner_text("#headline")
    days = (date.fromisoformat(TODAY) - date(2025, 7, 20)).days + 1
    step = -(-days // 8)
    every = [
        (date(2025, 7, 20) + timedelta(days=d)).strftime("%b %d") for d in range(0, days, step)
    ]
    timed = ("volume", "error_rate", "invalid", "lag", "files")
    assert_readable_time_axes(page, {f"chart-{key}": every for key in timed})
    for ref in ("volume_by_level@v1", "error_rate@v1", "partition_files@v1"):
        assert ref in page.inner_text("body")
    not_blank(page.screenshot(full_page=True))
    page.close()


def test_a_single_day_is_drawn_per_hour(
    report_lake: Lake, browser: Browser, tmp_path: Path
) -> None:
    out = write(tmp_path, "--since", "2025-07-21", "--until", "2025-07-21")
    page, problems = opened(browser, out)
    assert problems == []
    by_id = {c["id"]: c for c in charts(page)}
    for key in ("volume", "error_rate", "top_errors", "lag", "files"):
        assert by_id[f"chart-{key}"]["rendered"] == "true", by_id
    # Invalid lines are partitioned by upload date (today), so this day has none: said in words.
    assert by_id["chart-invalid"]["empty"] and "No rows" in by_id["chart-invalid"]["note"]
    assert by_id["chart-sources"]["empty"]  # not three empty bars
    assert by_id["chart-sources"]["note"] == "No invalid lines between 2025-07-21 and 2025-07-21."
    hours = [f"{h:02d}:00" for h in range(0, 24, 3)]
    assert_readable_time_axes(
        page,
        {"chart-volume": hours, "chart-error_rate": hours, "chart-lag": hours,
         "chart-files": ["Jul 21"]},  # the one day once, not twice
    )  # fmt: skip
    assert (
        headline(page)
        == saved(report_lake.session, "report_headline", start="2025-07-21", end="2025-07-21")[0]
    )
    assert "bucket=hour" in page.inner_text("body")
    page.close()


def test_an_empty_range_says_so_and_draws_no_broken_axes(
    report_lake: Lake, browser: Browser, tmp_path: Path
) -> None:
    out = write(tmp_path, "--since", "2020-01-01", "--until", "2020-03-31")
    page, problems = opened(browser, out)
    assert problems == []
    found = charts(page)
    assert found and all(c["empty"] and c["marks"] == 0 for c in found), found
    assert all(c["note"] == "No rows between 2020-01-01 and 2020-03-31." for c in found)
    assert headline(page) == {
        "valid_rows": 0,
        "invalid_lines": 0,
        "invalid_pct": None,
        "sources": 0,
        "days": 0,
    }
    assert "bucket=day" in page.inner_text("body")  # a quarter is drawn per day
    not_blank(page.screenshot(full_page=True))
    page.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2025-07-22", "--until", "2025-07-21"], "--since 2025-07-22 is after"),
        (["--since", "21/07/2025"], "Invalid value for '--since'"),
        (["-o", "no/such/folder/r.html"], "folder no/such/folder does not exist"),
    ],
)
def test_bad_options_are_one_error_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["report", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count("Error:") == 1


def test_athena_against_the_local_stack_is_one_error_line(endpoint: str, tmp_path: Path) -> None:
    """The local stack runs no Athena: the report says so instead of hanging or tracing back."""
    result = CliRunner().invoke(
        main, ["report", "--engine", "athena", "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert result.output.count("Error:") == 1
    assert "use --engine local" in result.output
    assert not (tmp_path / "r.html").exists()


def test_aws_logs_get_their_own_panels_drawn_from_their_saved_queries(
    served_lake: Lake, browser: Browser, tmp_path: Path
) -> None:
    """The ALB, VPC and CloudTrail panels appear where their tables have rows in the range."""
    from .test_queries import load_aws_samples

    load_aws_samples(served_lake)
    for since, until, keys in (
        ("2018-07-01", "2018-07-03", ("alb",)),  # ALB's example entries: drawn per hour
        ("2014-03-01", "2014-12-31", ("vpc", "cloudtrail")),
    ):
        out = write(tmp_path, "--since", since, "--until", until)
        page, problems = opened(browser, out)
        assert problems == []
        by_id = {c["id"]: c for c in charts(page)}
        assert {k for k in ("alb", "vpc", "cloudtrail") if f"chart-{k}" in by_id} == set(keys)
        for key in keys:
            chart = by_id[f"chart-{key}"]
            assert chart["rendered"] == "true" and chart["marks"] > 0, chart
        page.close()
    body = out.read_text()
    assert "vpc_accepted_vs_rejected@v1" in body and "StartInstances" in body
    empty = write(tmp_path, "--since", "2025-01-01", "--until", "2025-01-02")
    assert "chart-alb" not in empty.read_text()  # no ALB rows then: no ALB panel


def test_a_table_keeps_its_colour_in_every_report() -> None:
    import pandas as pd

    from loglake.page import _table_scale

    one = _table_scale(pd.DataFrame({"table_name": ["processed_logs", "errors_logs"]}))
    two = _table_scale(pd.DataFrame({"table_name": ["processed_logs", "alb_logs", "waf_logs"]}))
    colours = [dict(zip(s.domain, s.range, strict=True)) for s in (one, two)]  # type: ignore[arg-type]
    assert colours[0]["processed_logs"] == colours[1]["processed_logs"] == "#1f78c1"
    assert colours[0]["errors_logs"] == "#e24d42"
    alone = _table_scale(pd.DataFrame({"table_name": ["alb_logs"]}))
    assert dict(zip(alone.domain, alone.range, strict=True))["alb_logs"] == colours[1]["alb_logs"]  # type: ignore[arg-type]

"""The report as one HTML file: Vega-Lite charts (written with Altair), Vega's JavaScript inlined.

The page needs no network: vl-convert bundles Vega, Vega-Lite and vega-embed into the file
(about 0.9 MB), and each chart's spec carries its own rows. Levels keep the colours log readers
know from Grafana. Times are UTC. A panel without rows says so in words instead of drawing an
empty axis; every panel names its saved query and shows its rows under a "data" fold.
"""

from __future__ import annotations

import contextlib
import html
import importlib.metadata
import json
import os
import zlib
from datetime import date, timedelta
from typing import Any

import altair as alt
import pandas as pd
import vl_convert

from .render import plain
from .report import Panel, Report
from .resources import CACHE

#: Grafana's log-level colours (FATAL, which it lacks, a darker red), most severe last.
LEVEL_COLOURS = {
    "TRACE": "#6ed0e0",
    "DEBUG": "#1f78c1",
    "INFO": "#7eb26d",
    "WARN": "#eab839",
    "ERROR": "#e24d42",
    "CRITICAL": "#705da0",
    "FATAL": "#890f02",
}
#: Rows shown in a panel's "data" fold.
DATA_ROWS = 100
#: Lag units, largest first: the chart uses the first whose size the biggest lag reaches.
UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))
CHART_HEIGHT = 220
BUNDLE_CACHE = CACHE / "report"
#: Most day labels on a time axis.
AXIS_LABELS = 8
#: Table colours, the same in every report; a typed table gets one of ``PALETTE`` by its name.
TABLE_COLOURS = {"processed_logs": "#1f78c1", "errors_logs": "#e24d42"}
PALETTE = ("#7eb26d", "#eab839", "#6ed0e0", "#705da0", "#ef843c", "#0a437c", "#b7dbab", "#806eb7")


def render(report: Report) -> str:
    """The whole page."""
    shown = [key for key in CHARTS if key in report.panels]  # AWS's only where they have rows
    specs = {key: spec for key in shown if (spec := _spec(report, key)) is not None}
    body = "\n".join(
        [_header(report), _headline(report.panels["headline"])]
        + [_section(report, report.panels[key], key in specs) for key in shown]
    )
    return PAGE.format(
        title=html.escape(_title(report)),
        style=STYLE,
        body=body,
        specs=_script_json(specs),
        bundle=_bundle(),
        boot=BOOT,
    )


def _title(report: Report) -> str:
    return f"loglake report {report.since} to {report.until}"


def _header(report: Report) -> str:
    when = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    per = "hour" if report.bucket == "hour" else "day"
    return (
        f"<header><h1>{html.escape(_title(report))}</h1>"
        f"<p>{report.days} day(s), UTC, one bar per {per}; engine {report.engine}; "
        f"generated {when}. Every number comes from the saved query named under it.</p></header>"
    )


def _headline(panel: Panel) -> str:
    row = (
        {k: plain(v) for k, v in panel.rows.to_dict("records")[0].items()}
        if len(panel.rows)
        else {}
    )
    pct = row.get("invalid_pct")
    cards = [
        ("valid_rows", "valid rows", _count(row.get("valid_rows"))),
        ("invalid_lines", "invalid lines", _count(row.get("invalid_lines"))),
        ("invalid_pct", "invalid share", "-" if pct is None else f"{pct:g}%"),
        ("sources", "source objects", _count(row.get("sources"))),
        ("days", "days with rows", _count(row.get("days"))),
    ]
    shown = "".join(
        f'<div class="card"><div class="number" data-field="{field}" '
        f'data-value="{html.escape(json.dumps(row.get(field)))}">{text}</div>'
        f'<div class="label">{label}</div></div>'
        for field, label, text in cards
    )
    return f'<section id="headline"><div class="cards">{shown}</div>{_caption(panel)}</section>'


def _count(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def _nothing_invalid(panel: Panel) -> bool:
    """The invalid-share panel when no object had an invalid line: bars of zero say nothing."""
    return panel.key == "sources" and not (panel.rows["invalid"].astype(int) > 0).any()


def _section(report: Report, panel: Panel, drawn: bool) -> str:
    what = "No invalid lines" if _nothing_invalid(panel) and len(panel.rows) else "No rows"
    inside = (
        "" if drawn else f'<p class="no-data">{what} between {report.since} and {report.until}.</p>'
    )
    return (
        f'<section><h2>{html.escape(panel.title)}</h2><p class="about">{ABOUT[panel.key]}</p>'
        f'<div class="chart" id="chart-{panel.key}" data-empty="{str(not drawn).lower()}">'
        f"{inside}</div>{_caption(panel)}{_data(panel)}</section>"
    )


def _caption(panel: Panel) -> str:
    return (
        f'<p class="query">from saved query <code>{html.escape(panel.ref)}</code>: '
        f"<code>{html.escape(panel.command)}</code></p>"
    )


def _data(panel: Panel) -> str:
    if panel.rows.empty:
        return ""
    rows = panel.rows.head(DATA_ROWS)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in r) + "</tr>"
        for r in rows.itertuples(index=False, name=None)
    )
    more = f" (first {DATA_ROWS} of {len(panel.rows)})" if len(panel.rows) > DATA_ROWS else ""
    return (
        f"<details><summary>data{more}</summary>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>"
    )


def _cell(value: Any) -> str:
    value = plain(value)
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def _spec(report: Report, key: str) -> dict[str, Any] | None:
    panel = report.panels[key]
    if panel.rows.empty or _nothing_invalid(panel):
        return None
    chart = CHARTS[key](report, panel.rows.copy())
    sized = chart.properties(width="container", autosize={"type": "fit-x", "contains": "padding"})
    spec: dict[str, Any] = sized.to_dict()
    return spec


def _times(frame: pd.DataFrame) -> pd.DataFrame:
    """Bucket starts as ISO UTC text, which Vega reads as UTC whatever the reader's time zone."""
    frame["start"] = pd.to_datetime(frame["bucket_start"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return frame.drop(columns=["bucket_start"])


def _x(report: Report, title: str = "time (UTC)", daily: bool = False) -> alt.X:
    """A UTC time axis with one band per bucket, over the whole range whatever days have rows."""
    hourly = report.bucket == "hour" and not daily
    end = report.until + timedelta(days=1)
    domain = [_moment(report.since), _moment(end)]
    unit = "utcyearmonthdatehours" if hourly else "utcyearmonthdate"
    return alt.X(
        f"{unit}(start):T", title=title, scale=alt.Scale(domain=domain), axis=_axis(report, hourly)
    )


def _axis(report: Report, hourly: bool) -> alt.Axis:
    """Labels that never collide or repeat: a day is labelled once, at its start (at most
    ``AXIS_LABELS`` of them, evenly spaced), and a single day drawn per hour every three hours."""
    if report.days == 1 and hourly:
        day = report.since
        values = [
            alt.DateTime(year=day.year, month=day.month, date=day.day, hours=h, utc=True)
            for h in range(0, 24, 3)
        ]
        return alt.Axis(values=values, labelExpr="utcFormat(datum.value, '%H:%M')")
    step = -(-report.days // AXIS_LABELS)
    days = [report.since + timedelta(days=d) for d in range(0, report.days, step)]
    return alt.Axis(values=[_moment(d) for d in days], labelExpr="utcFormat(datum.value, '%b %d')")


def _when(report: Report) -> alt.Tooltip:
    fmt = "%Y-%m-%d %H:00 UTC" if report.bucket == "hour" else "%Y-%m-%d"
    return alt.Tooltip("start:T", title="bucket", format=fmt, formatType="utc")


def _moment(day: date) -> alt.DateTime:
    return alt.DateTime(year=day.year, month=day.month, date=day.day, utc=True)


def _volume(report: Report, frame: pd.DataFrame) -> alt.Chart:
    frame = _times(frame)
    levels = [lv for lv in LEVEL_COLOURS if lv in set(frame["level"])]
    levels += sorted(set(frame["level"]) - set(levels))
    colours = [LEVEL_COLOURS.get(lv, "#999999") for lv in levels]
    frame["severity"] = frame["level"].map({lv: i for i, lv in enumerate(levels)})
    return (
        alt.Chart(frame, height=CHART_HEIGHT)
        .mark_bar()
        .encode(
            x=_x(report),
            y=alt.Y("row_count:Q", title="rows", stack="zero"),
            color=alt.Color("level:N", scale=alt.Scale(domain=levels, range=colours)),
            order=alt.Order("severity:Q"),
            tooltip=[_when(report), "level:N", alt.Tooltip("row_count:Q", format=",")],
        )
    )


def _error_rate(report: Report, frame: pd.DataFrame) -> alt.Chart:
    frame = _times(frame)
    return (
        alt.Chart(frame, height=CHART_HEIGHT)
        .mark_line(
            color=LEVEL_COLOURS["ERROR"], point=alt.OverlayMarkDef(color=LEVEL_COLOURS["ERROR"])
        )
        .encode(
            x=_x(report),
            y=alt.Y("error_pct:Q", title="% of rows", scale=alt.Scale(domainMin=0)),
            tooltip=[
                _when(report),
                alt.Tooltip("error_pct:Q", title="error %"),
                alt.Tooltip("errors:Q", format=","),
                alt.Tooltip("total:Q", format=","),
            ],
        )
    )


def _invalid(report: Report, frame: pd.DataFrame) -> alt.Chart:
    frame = _times(frame)
    return (
        alt.Chart(frame, height=CHART_HEIGHT)
        .mark_bar()
        .encode(
            x=_x(report, "ingested at (UTC)"),
            y=alt.Y("lines:Q", title="invalid lines", stack="zero"),
            color=alt.Color("error_code:N", title="error code"),
            tooltip=[_when(report), "error_code:N", alt.Tooltip("lines:Q", format=",")],
        )
    )


def _sources(report: Report, frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame, height=_rows_height(frame))
        .mark_bar(color=LEVEL_COLOURS["WARN"])
        .encode(
            x=alt.X(
                "invalid_pct:Q",
                title="invalid lines, % of the object's lines",
                scale=alt.Scale(domain=[0, 100]),
            ),
            y=alt.Y("source_uri:N", title=None, sort="-x", axis=alt.Axis(labelLimit=420)),
            tooltip=[
                "source_uri:N",
                alt.Tooltip("invalid_pct:Q", title="invalid %"),
                alt.Tooltip("invalid:Q", format=","),
                alt.Tooltip("valid:Q", format=","),
            ],
        )
    )


def _rows_height(frame: pd.DataFrame) -> int:
    """Height for one 22-pixel bar per row (a fixed height, so the chart can fit its width)."""
    return 22 * len(frame)


def _top_errors(report: Report, frame: pd.DataFrame) -> alt.LayerChart:
    levels = [lv for lv in ("ERROR", "CRITICAL", "FATAL") if lv in set(frame["level"])]
    base = alt.Chart(frame, height=_rows_height(frame)).encode(
        x=alt.X("occurrences:Q", title="rows"),
        y=alt.Y(
            "message:N",
            title=None,
            sort=list(dict.fromkeys(frame["message"])),
            axis=alt.Axis(labelLimit=420),
        ),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "level:N",
            scale=alt.Scale(domain=levels, range=[LEVEL_COLOURS[lv] for lv in levels]),
        ),
        tooltip=["level:N", "message:N", alt.Tooltip("occurrences:Q", format=",")],
    )
    labels = base.mark_text(align="left", dx=3).encode(text=alt.Text("occurrences:Q", format=","))
    layered: alt.LayerChart = bars + labels
    return layered


def _lag(report: Report, frame: pd.DataFrame) -> alt.Chart:
    frame = _times(frame)
    biggest = float(frame["max_s"].max() or 0)
    unit, size = next(((u, s) for u, s in UNITS if biggest >= s), UNITS[-1])
    for column in ("p50_s", "p90_s", "p99_s"):
        frame[column.removesuffix("_s")] = frame[column].astype(float) / size
    return (
        alt.Chart(frame, height=CHART_HEIGHT)
        .transform_fold(["p50", "p90", "p99"], as_=["percentile", "lag"])
        .mark_line(point=True)
        .encode(
            x=_x(report, "event time (UTC)"),
            y=alt.Y("lag:Q", title=f"lag ({unit})", scale=alt.Scale(domainMin=0)),
            color=alt.Color(
                "percentile:N",
                scale=alt.Scale(
                    domain=["p50", "p90", "p99"], range=["#7eb26d", "#eab839", "#e24d42"]
                ),
            ),
            tooltip=[
                _when(report),
                "percentile:N",
                alt.Tooltip("lag:Q", title=unit, format=".2f"),
                alt.Tooltip("row_count:Q", title="rows", format=","),
            ],
        )
    )


def _files(report: Report, frame: pd.DataFrame) -> alt.Chart:
    frame["start"] = frame["dt"] + "T00:00:00Z"
    frame["megabytes"] = frame["bytes"].astype(float) / 1e6
    return (
        alt.Chart(frame, height=CHART_HEIGHT)
        .mark_bar(width=alt.RelativeBandSize(0.8))
        .encode(
            x=_x(report, "partition (dt)", daily=True),
            y=alt.Y(
                "files:Q",
                title="Parquet files",
                stack="zero",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            color=alt.Color("table_name:N", title="table", scale=_table_scale(frame)),
            tooltip=[
                "table_name:N",
                "dt:N",
                alt.Tooltip("files:Q", format=","),
                alt.Tooltip("small_files:Q", title="small files", format=","),
                alt.Tooltip("megabytes:Q", title="MB", format=",.2f"),
            ],
        )
    )


def _table_scale(frame: pd.DataFrame) -> alt.Scale:
    """Each table's own colour, whatever other tables a report shows."""
    names = sorted(set(frame["table_name"]), key=lambda n: (n not in TABLE_COLOURS, n))
    colours = [
        TABLE_COLOURS.get(n) or PALETTE[zlib.crc32(n.encode()) % len(PALETTE)] for n in names
    ]
    return alt.Scale(domain=names, range=colours)


#: HTTP status classes, coloured as levels are (5xx as errors, 4xx as warnings).
STATUS_COLOURS = {
    "1xx": "#6ed0e0", "2xx": "#7eb26d", "3xx": "#1f78c1", "4xx": "#eab839", "5xx": "#e24d42",
}  # fmt: skip


def _alb(report: Report, frame: pd.DataFrame) -> alt.LayerChart:
    """Requests per bucket stacked by status class (left axis); each class's p99 target latency
    as a line (right axis), its p50 and p90 in the tooltip."""
    frame = _times(frame)
    classes = [c for c in STATUS_COLOURS if c in set(frame["status_class"])]
    colour = alt.Color(
        "status_class:N",
        title="status",
        scale=alt.Scale(domain=classes, range=[STATUS_COLOURS[c] for c in classes]),
    )
    tips = [_when(report), "status_class:N", alt.Tooltip("requests:Q", format=",")] + [
        alt.Tooltip(f"{p}:Q", title=f"{p} s", format=".3f") for p in ("p50", "p90", "p99")
    ]
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=_x(report),
            y=alt.Y("requests:Q", title="requests", stack="zero"),
            color=colour,
            tooltip=tips,
        )
    )
    latency = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=_x(report),
            y=alt.Y("p99:Q", title="p99 target latency (s)"),
            color=colour,
            tooltip=tips,
        )
    )
    return alt.layer(bars, latency, height=CHART_HEIGHT).resolve_scale(y="independent")


def _vpc(report: Report, frame: pd.DataFrame) -> alt.Chart:
    frame = _times(frame)
    actions = [a for a in ("ACCEPT", "REJECT") if a in set(frame["action"])]
    return (
        alt.Chart(frame, height=CHART_HEIGHT)
        .mark_bar()
        .encode(
            x=_x(report),
            y=alt.Y("flows:Q", title="flows", stack="zero"),
            color=alt.Color(
                "action:N",
                scale=alt.Scale(
                    domain=actions,
                    range=[{"ACCEPT": "#7eb26d", "REJECT": "#e24d42"}[a] for a in actions],
                ),
            ),
            tooltip=[
                _when(report),
                "action:N",
                alt.Tooltip("flows:Q", format=","),
                alt.Tooltip("bytes:Q", format=","),
            ],
        )
    )


def _cloudtrail(report: Report, frame: pd.DataFrame) -> alt.Chart:
    frame["failed"] = frame["errorcode"].ne("none").map({True: "error", False: "succeeded"})
    return (
        alt.Chart(frame, height=_rows_height(frame))
        .mark_bar()
        .encode(
            y=alt.Y("eventname:N", title=None, sort="-x"),
            x=alt.X("events:Q", title="events", stack="zero", axis=alt.Axis(format="d")),
            color=alt.Color(
                "failed:N",
                title="call",
                scale=alt.Scale(domain=["succeeded", "error"], range=["#7eb26d", "#e24d42"]),
            ),
            tooltip=["eventname:N", "errorcode:N", alt.Tooltip("events:Q", format=",")],
        )
    )


CHARTS = {
    "volume": _volume,
    "error_rate": _error_rate,
    "invalid": _invalid,
    "sources": _sources,
    "top_errors": _top_errors,
    "lag": _lag,
    "files": _files,
    "alb": _alb,
    "vpc": _vpc,
    "cloudtrail": _cloudtrail,
}

ABOUT = {
    "volume": "Valid rows per bucket of event time, stacked by level.",
    "error_rate": "ERROR, CRITICAL and FATAL rows as a share of all valid rows in each bucket.",
    "invalid": "Lines that failed validation, by reason, per bucket of when they were ingested "
    "(errors_logs is partitioned by upload date).",
    "sources": "Source objects with the largest share of invalid lines: where data quality is "
    "worst. Valid rows count by event date and invalid lines by upload date, so an object whose "
    "events fall outside the range shows only its invalid lines.",
    "top_errors": "The most frequent messages at ERROR and above.",
    "lag": "How long after the event its row reached the lake: p50, p90 and p99 per bucket.",
    "files": "Parquet files per table and partition; many small files slow queries down, "
    "<code>loglake compact</code> merges them (hover a bar for bytes and small files).",
    "alb": "Requests per bucket by HTTP status class (bars), and each class's p99 target "
    "processing time (lines; ALB writes -1 when no target answered).",
    "vpc": "Flows per bucket of their capture window's start, accepted and rejected.",
    "cloudtrail": "The most frequent API events; red where the call failed (its error code in "
    "the tooltip).",
}


def _script_json(specs: dict[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script>`` can end it early."""
    return json.dumps(specs).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script, for the Vega-Lite version Altair writes.

    Building it takes vl-convert about 1.5 s, so it is kept in the user's cache, one file per
    vl-convert and Vega-Lite version (a cache that cannot be written is only slower)."""
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    version = f"v{major}_{minor}"
    made_by = importlib.metadata.version("vl-convert-python")
    cached = BUNDLE_CACHE / f"vega-{made_by}-{version}.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    # The stub says a snippet is required; without one the bundle defines window.vegaEmbed.
    bundle: str = vl_convert.javascript_bundle(vl_version=version)  # type: ignore[call-arg]
    if "</script" in bundle.lower():  # would end the inline script early
        raise RuntimeError("the Vega bundle contains </script>; it cannot be inlined")
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(bundle, encoding="utf-8")
        partial.replace(cached)  # whole or not at all, whoever writes it at the same time
    return bundle


BOOT = """
const specs = JSON.parse(document.getElementById("loglake-specs").textContent);
for (const [key, spec] of Object.entries(specs)) {
  const element = document.getElementById("chart-" + key);
  vegaEmbed(element, spec, {actions: false, renderer: "svg"})
    .then(() => { element.dataset.rendered = "true"; })
    .catch((error) => {
      element.dataset.rendered = "failed";
      element.textContent = "This chart could not be drawn: " + error;
      console.error(error);
    });
}
"""

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       margin: 0 auto; max-width: 1100px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 17px; margin: 28px 0 2px; }
header p, .about, .query { color: #57606a; margin: 2px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 6px; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 16px; min-width: 150px; }
.number { font-size: 26px; font-weight: 600; } .label { color: #57606a; }
.chart { width: 100%; min-height: 60px; margin: 8px 0 4px; }
.no-data { border: 1px dashed #d0d7de; border-radius: 8px; padding: 18px; color: #57606a;
           text-align: center; }
code { font-size: 12px; background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
details { margin: 4px 0; } summary { cursor: pointer; color: #57606a; }
table { border-collapse: collapse; margin: 6px 0; font-size: 12px; }
th, td { border: 1px solid #d0d7de; padding: 2px 8px; text-align: left; }
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
<script>{bundle}</script>
</head>
<body>
{body}
<script type="application/json" id="loglake-specs">{specs}</script>
<script>{boot}</script>
</body>
</html>
"""

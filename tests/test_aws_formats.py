"""AWS's own logs: recognised by AWS's key layouts with no configuration, into typed tables
with AWS's Athena columns; the bulk path held to the reference (fixtures: fixtures/aws/)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.config import Config
from handler.formats import FORMATS, typed_reader
from handler.formats.spaced import split_tokens
from handler.formats.typed import key_columns

from .conftest import RAW, Lake

FIXTURES = Path(__file__).parent / "fixtures" / "aws"
ACCOUNT, REGION = "123456789012", "us-east-2"
ELB = f"prefix/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2018/07/02/"
VPC = f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/2014/12/14/{ACCOUNT}_vpcflowlogs_{REGION}_"
#: fixture -> (its key as AWS writes it, the format the key says, the table, header lines)
CASES = {
    "alb": (
        f"{ELB}{ACCOUNT}_elasticloadbalancing_{REGION}_app.my-loadbalancer.50dc6c495c0c9188_"
        "20180702T2225Z_192.168.131.39_2hd3w5q0.log.gz", "alb", "alb_logs", 0,
    ),
    "nlb": (
        f"{ELB}{ACCOUNT}_elasticloadbalancing_{REGION}_net.my-network-loadbalancer."
        "c6e77e28c25b2234_20181220T0300Z_72.21.218.154_3ch3a8on.log.gz", "nlb", "nlb_logs", 0,
    ),
    "s3-access": (
        "s3-logs/2019-02-06-00-01-57-DD6CC733AEXAMPLE", "s3-access", "s3_access_logs", 0,
    ),
    "cloudfront": (
        "cf/E2EXAMPLE123.2019-12-04-21.a1b2c3d4.gz", "cloudfront", "cloudfront_logs", 2,
    ),
    "vpc-default": (f"{VPC}fl-1234abcd_20141214T0410Z_fe123456.log.gz", "vpc-flow", "vpc_flow_logs", 1),
    "vpc-v3": (f"{VPC}fl-1234abcd_20190826T1950Z_fe123457.log.gz", "vpc-flow", "vpc_flow_logs", 1),
    "vpc-v5": (f"{VPC}fl-1234abcd_20210326T0330Z_fe123458.log.gz", "vpc-flow", "vpc_flow_logs", 1),
    "vpc-v11": (f"{VPC}fl-1234abcd_20210326T0330Z_fe123459.log.gz", "vpc-flow", "vpc_flow_logs", 1),
}  # fmt: skip
KEYS = {kind: case[0] for kind, case in CASES.items()}
TABLES = {kind: case[2] for kind, case in CASES.items()}


def lines(kind: str) -> list[bytes]:
    """The fixture's records (not its header lines)."""
    return (FIXTURES / f"{kind}.log").read_bytes().splitlines()[CASES[kind][3] :]


def reader(kind: str) -> tuple[object, object]:
    """The reference and the bulk path, started on the fixture's first bytes (its header)."""
    table = Config().tables[TABLES[kind]]
    fmt = FORMATS[CASES[kind][1]]
    validator, bulk = typed_reader(fmt, table, datetime(2000, 1, 1), timedelta(days=1))
    validator.start(KEYS[kind], (FIXTURES / f"{kind}.log").read_bytes())
    return validator, bulk


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_aws_logs_under_their_key_layout_fill_their_typed_table(lake: Lake, kind: str) -> None:
    """No sources file: the key says what the object is; every published line is a row."""
    body = (FIXTURES / f"{kind}.log").read_bytes()
    lake.put(KEYS[kind], body, gz=KEYS[kind].endswith(".gz"))
    result = lake.pipeline().process_s3(RAW, KEYS[kind])
    assert (result.status, result.format, result.invalid) == ("processed", CASES[kind][1], 0)
    assert result.blank == CASES[kind][3]  # header lines are not records
    rows = lake.rows(TABLES[kind])
    assert len(rows) == len(lines(kind)) == result.valid
    assert lake.rows("processed").empty and lake.rows("errors").empty
    first = CASES[kind][3] + 1
    assert rows["source_line"].tolist() == list(range(first, first + len(rows)))
    assert (rows["dt"] == rows["event_time"].dt.strftime("%Y-%m-%d")).all()


def test_alb_rows_hold_what_aws_athena_table_would(lake: Lake) -> None:
    lake.put(KEYS["alb"], (FIXTURES / "alb.log").read_bytes(), gz=True)
    lake.pipeline().process_s3(RAW, KEYS["alb"])
    rows = lake.rows("alb_logs").set_index("source_line")
    https = rows.loc[2]
    assert (https.type, https.client_ip, https.client_port, https.target_ip) == (
        "https", "192.168.131.39", 2817, "10.0.0.1",
    )  # fmt: skip
    assert (https.target_processing_time, https.elb_status_code, https.sent_bytes) == (
        0.048,
        200,
        57,
    )
    assert (https.request_verb, https.request_url, https.request_proto) == (
        "GET", "https://www.example.com:443/", "HTTP/1.1",
    )  # fmt: skip
    assert (https.domain_name, https.actions_executed) == (
        "www.example.com",
        "authenticate,forward",
    )
    assert pd.isna(https.redirect_url)  # "-" is NULL
    assert (https.log_account_id, https.log_region) == (ACCOUNT, REGION)
    assert https.event_time == datetime(2018, 7, 2, 22, 23, 0, 186641)
    lambda_error = rows.loc[7]
    assert lambda_error.elb_status_code == 502 and pd.isna(lambda_error.target_status_code)
    assert lambda_error.lambda_error_reason == "LambdaInvalidResponse"
    bad_request = rows.loc[9]  # a 400 whose request line was not HTTP
    assert pd.isna(bad_request.request_verb) and pd.isna(bad_request.request_proto)
    assert bad_request.request_processing_time == -1.0
    ipv6 = rows.loc[11]
    assert (ipv6.client_ip, ipv6.client_port) == ("2601:6bbc:c529:9dad:6bbc:c529:9dad:6bbc", 50599)
    assert ipv6.target_port_list == "fd6d:6bbc:c529:27ff:b::dead:ed84:80"
    newest = rows.loc[13]  # 2025's transformed_host, transformed_uri, request_transform_status
    assert newest.conn_trace_id == "TID_dc57cebed65b444ebc8177bb698fe166"
    assert pd.isna(newest.new_fields)


def test_s3_access_rows_keep_what_aws_table_keeps(lake: Lake) -> None:
    lake.put(KEYS["s3-access"], (FIXTURES / "s3-access.log").read_bytes())
    lake.pipeline().process_s3(RAW, KEYS["s3-access"])
    row = lake.rows("s3_access_logs").set_index("source_line").loc[5]
    assert (row.operation, row.key, row.httpstatus, row.objectsize) == (
        "REST.PUT.OBJECT", "s3-dg.pdf", "200", 4406583,
    )  # fmt: skip
    assert pd.isna(row.bytessent)  # "-"
    assert row.requestdatetime == "06/Feb/2019:00:01:57 +0000"
    assert row.request_uri == '"PUT /awsexamplebucket1/s3-dg.pdf HTTP/1.1"'  # AWS keeps quotes
    assert row.event_time == datetime(2019, 2, 6, 0, 1, 57)
    assert pd.isna(row.log_account_id)  # its key names no account


def test_new_fields_become_columns_once_declared_and_are_kept_until_then(tmp_path: Path) -> None:
    """AWS adds fields: an undeclared one is kept in new_fields; declared, it is its column."""
    line = lines("alb")[12] + b' "next-field" "and-one-more"'
    validator, _ = reader("alb")
    row = dict(zip([n for n, _ in validator.columns], validator.check(line), strict=True))  # type: ignore[attr-defined]
    assert row["new_fields"] == '"next-field" "and-one-more"'
    ddl = tmp_path / "glue_ddl"
    ddl.mkdir()
    for f in Path("glue_ddl").glob("*.sql"):
        text = f.read_text()
        if f.name == "alb_logs.sql":
            text = text.replace("  new_fields ", "  next_field string,\n  new_fields ")
        (ddl / f.name).write_text(text)
    table = Config(ddl_dirs=(ddl,)).tables["alb_logs"]
    later, bulk = typed_reader(FORMATS["alb"], table, datetime(2000, 1, 1), timedelta(days=1))
    row = dict(zip([n for n, _ in later.columns], later.check(line), strict=True))
    assert (row["next_field"], row["new_fields"]) == ("next-field", '"and-one-more"')
    assert bulk.decide([line]).table.to_pylist() == []  # more tokens than known: the reference's


def test_keys_give_the_account_and_region() -> None:
    assert key_columns(KEYS["alb"]) == {"log_account_id": ACCOUNT, "log_region": REGION}
    assert key_columns("AWSLogs/o-abc123/123456789012/CloudTrail/eu-west-1/2024/x.json.gz") == {
        "log_account_id": ACCOUNT, "log_region": "eu-west-1",
    }  # fmt: skip


def test_sources_are_recognised_by_key_and_a_sources_file_overrides_them(tmp_path: Path) -> None:
    config = Config()
    found = {k: config.source_for(key).format for k, key in KEYS.items()}  # type: ignore[union-attr]
    assert found == {kind: case[1] for kind, case in CASES.items()}
    assert config.source_for("app/today.log").name == "default"  # type: ignore[union-attr]
    assert config.source_for("notes.txt") is None
    path = tmp_path / "sources.toml"
    path.write_text("[[source]]\nname = 'mine'\nmatch = '**/elasticloadbalancing/**'\n")
    pinned = Config.from_env({"SOURCES_FILE": str(path)})
    assert pinned.source_for(KEYS["alb"]).name == "mine"  # type: ignore[union-attr]
    assert pinned.source_for(KEYS["s3-access"]).name == "aws-s3-access"  # type: ignore[union-attr]


def test_tokens_are_cut_at_spaces_outside_quotes() -> None:
    assert split_tokens('a "b c" d') == ["a", '"b c"', "d"]
    assert split_tokens('a "b c d') == ["a", '"b c d']  # an open quote runs to the end
    assert split_tokens('a b"c d" e') == ["a", 'b"c d"', "e"]


def _mutations(kind: str) -> st.SearchStrategy[list[bytes]]:
    def mutate(line: bytes, cut: int, insert: bytes, drop: int) -> bytes:
        parts = line.split(b" ")
        if drop < len(parts) and drop % 3 == 0:
            del parts[drop]
        text = b" ".join(parts)
        return text[:cut] + insert + text[cut:]

    junk = st.sampled_from([b"", b"", b"", b'"', b" ", b"-", b"x", b"\xff", b":", b"-1", b"\r"])
    one = st.builds(
        mutate, st.sampled_from(lines(kind)), st.integers(0, 400), junk, st.integers(0, 40)
    )
    return st.lists(one, min_size=1, max_size=8)


@pytest.mark.parametrize("kind", sorted(KEYS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_bulk_rows_are_the_references(kind: str, data: st.DataObject) -> None:
    """Every line the bulk path keeps gives exactly the reference's row."""
    batch = data.draw(_mutations(kind))
    validator, bulk = reader(kind)
    decided = bulk.decide(batch)  # type: ignore[attr-defined]
    names = [n for n, _ in validator.columns]  # type: ignore[attr-defined]
    for position, row in zip(decided.positions.tolist(), decided.table.to_pylist(), strict=True):
        reference = validator.check(batch[position])  # type: ignore[attr-defined]
        assert isinstance(reference, tuple), (batch[position], reference)
        assert row == dict(zip(names, reference, strict=True)), batch[position]


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_the_bulk_path_takes_every_published_line(kind: str) -> None:
    _, bulk = reader(kind)
    assert len(bulk.decide(lines(kind)).positions) == len(lines(kind))  # type: ignore[attr-defined]


def test_vpc_rows_follow_each_file_header(lake: Lake) -> None:
    """Default format, v3, v5 and v11 custom orders into one table: a field a file lacks is
    NULL; a field no column names (v11's resource-id...) is kept in new_fields."""
    for kind in ("vpc-default", "vpc-v3", "vpc-v5", "vpc-v11"):
        lake.put(KEYS[kind], (FIXTURES / f"{kind}.log").read_bytes(), gz=True)
        assert lake.pipeline().process_s3(RAW, KEYS[kind]).invalid == 0
    rows = lake.rows("vpc_flow_logs").set_index(["source_uri", "source_line"])
    default = rows.loc[(f"s3://{RAW}/{KEYS['vpc-default']}", 2)]
    assert (default.version, default.srcaddr, default.dstport, default.protocol) == (
        2, "172.31.16.139", 22, 6,
    )  # fmt: skip
    assert (default.bytes, default.start, default.action) == (4249, 1418530010, "ACCEPT")
    assert default.event_time == datetime(2014, 12, 14, 4, 6, 50)
    assert pd.isna(default.vpc_id) and pd.isna(default.new_fields)
    nodata = rows.loc[(f"s3://{RAW}/{KEYS['vpc-default']}", 4)]
    assert nodata.log_status == "NODATA" and pd.isna(nodata.srcport)
    v3 = rows.loc[(f"s3://{RAW}/{KEYS['vpc-v3']}", 2)]
    assert (v3.vpc_id, v3.type, v3.pkt_srcaddr, v3.bytes, v3.packets, v3.tcp_flags) == (
        "vpc-abcdefab012345678", "IPv4", "52.213.180.42", 568, 8, 2,
    )  # fmt: skip
    v5 = rows.loc[(f"s3://{RAW}/{KEYS['vpc-v5']}", 2)]
    assert (v5.region, v5.pkt_src_aws_service, v5.flow_direction) == (
        "ap-southeast-2", "S3", "ingress",
    )  # fmt: skip
    assert pd.isna(v5.traffic_path) and v5.log_region == REGION  # the key's region
    v11 = rows.loc[(f"s3://{RAW}/{KEYS['vpc-v11']}", 2)]
    assert (v11.version, v11.action, v11.reject_reason) == (11, "REJECT", "BPA")
    assert v11.new_fields == (
        "resource_id=nat-0c50d5961bcb2d47b encryption_status=1 interface_type=nat_gateway"
    )


def test_cloudfront_rows_follow_the_fields_line(lake: Lake) -> None:
    lake.put(KEYS["cloudfront"], (FIXTURES / "cloudfront.log").read_bytes(), gz=True)
    lake.pipeline().process_s3(RAW, KEYS["cloudfront"])
    rows = lake.rows("cloudfront_logs").set_index("source_line")
    error = rows.loc[6]
    assert (str(error.date), error.location, error.status, error.referrer) == (
        "2019-12-13", "SEA19-C1", 502, "http://www.example.com/",
    )  # fmt: skip
    assert (error.result_type, error.x_edge_detailed_result_type, error.c_port) == (
        "Error", "OriginDnsError", 25260,
    )  # fmt: skip
    assert error.time_taken == pytest.approx(0.102) and pd.isna(error.ssl_protocol)
    assert error.event_time == datetime(2019, 12, 13, 22, 36, 27)
    assert rows.loc[3].user_agent.startswith("Mozilla/5.0%20(Windows")  # kept as written


def test_a_cloudfront_file_with_fewer_fields_is_read_by_its_own_fields_line(lake: Lake) -> None:
    text = (FIXTURES / "cloudfront.log").read_text().splitlines()
    names = text[1].split()[1:]
    keep = [names.index(n) for n in ("date", "time", "sc-status", "c-ip")]
    head = "#Version: 1.0\n#Fields: date time sc-status c-ip\n"
    body = "".join("\t".join(line.split("\t")[i] for i in keep) + "\n" for line in text[2:])
    lake.put(KEYS["cloudfront"], head + body, gz=True)
    result = lake.pipeline().process_s3(RAW, KEYS["cloudfront"])
    assert (result.valid, result.invalid, result.blank) == (6, 0, 2)
    rows = lake.rows("cloudfront_logs")
    assert rows["status"].tolist() == [200, 200, 200, 502, 502, 502]
    assert rows["location"].isna().all()


CT = f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2014/03/06/{ACCOUNT}_CloudTrail_{REGION}_"
JSON_CASES = {
    "cloudtrail-ec2": (f"{CT}20140306T2225Z_Mu0KsOhtH1ar15ZZ.json.gz", "cloudtrail_logs", 1),
    "cloudtrail-keypair": (f"{CT}20140306T1715Z_Mu0KsOhtH1ar15ZY.json.gz", "cloudtrail_logs", 1),
    "cloudtrail-error": (f"{CT}20160714T1920Z_Mu0KsOhtH1ar15ZX.json.gz", "cloudtrail_logs", 1),
    "waf": (
        f"AWSLogs/{ACCOUNT}/WAFLogs/{REGION}/STMTest/2019/12/13/23/40/"
        f"{ACCOUNT}_waflogs_{REGION}_STMTest_20191213T2340Z_a1b2c3d4.log.gz", "waf_logs", 4,
    ),
    "route53": (
        f"AWSLogs/{ACCOUNT}/vpcdnsquerylogs/vpc-thevpc/2023/09/11/"
        f"{ACCOUNT}_vpcdnsquerylogs_vpc-thevpc_20230911T1905Z_5e6f7a8b.log.gz",
        "route53_resolver_logs", 2,
    ),
}  # fmt: skip


def _json_rows(lake: Lake, name: str) -> pd.DataFrame:
    key, table, count = JSON_CASES[name]
    suffix = ".json" if name.startswith("cloudtrail") else ".log"
    lake.put(key, (FIXTURES / f"{name}{suffix}").read_bytes(), gz=True)
    result = lake.pipeline().process_s3(RAW, key)
    assert (result.status, result.valid, result.invalid) == ("processed", count, 0), result
    return lake.rows(table)


def test_cloudtrail_files_give_a_row_per_record_with_aws_columns(lake: Lake) -> None:
    rows = _json_rows(lake, "cloudtrail-ec2")
    row = rows.iloc[0]
    assert (row.eventname, row.eventsource, row.awsregion) == (
        "StartInstances", "ec2.amazonaws.com", "us-east-2",
    )  # fmt: skip
    assert row.useridentity["username"] == "Alice"  # matched regardless of case, as AWS's
    assert row.useridentity["type"] == "IAMUser"
    assert json.loads(row.requestparameters) == {
        "instancesSet": {"items": [{"instanceId": "i-ebeaf9e2"}]}
    }  # an object in a string column: its JSON text
    assert row.event_time == datetime(2014, 3, 6, 21, 22, 54)
    assert (row.log_account_id, row.log_region, row.source_line) == (ACCOUNT, REGION, 1)
    error = _json_rows(lake, "cloudtrail-error").query("eventname == 'UpdateTrail'").iloc[0]
    assert error.errorcode == "TrailNotFoundException" and pd.isna(error.responseelements)
    key = _json_rows(lake, "cloudtrail-keypair").query("eventname == 'CreateKeyPair'").iloc[0]
    assert key.useridentity["sessioncontext"]["attributes"]["mfaauthenticated"] == "false"
    assert "<sensitiveDataRemoved>" in key.responseelements


def test_waf_and_route53_records_keep_their_nested_fields(lake: Lake) -> None:
    waf = _json_rows(lake, "waf").set_index("source_line")
    assert waf.loc[1].httprequest["clientip"] == "1.1.1.1"
    assert list(waf.loc[1].terminatingrulematchdetails[0]["matcheddata"]) == ["10", "AND", "1"]
    assert waf.loc[3].rulegrouplist[0]["terminatingrule"]["ruleid"] == "RuleA-XSS"
    assert (waf.loc[4].action, waf.loc[4].responsecodesent) == ("CAPTCHA", "405")
    assert waf.loc[4].captcharesponse["failurereason"] == "TOKEN_MISSING"
    assert waf.loc[1].event_time == datetime(2019, 12, 13, 23, 40, 12, 771000)
    dns = _json_rows(lake, "route53").set_index("source_line")
    assert (dns.loc[1].rcode, dns.loc[1].srcport, dns.loc[1].vpc_id) == (
        "SERVFAIL",
        38214,
        "vpc-thevpc",
    )
    assert dns.loc[2].answers[0]["rdata"] == "5.6.7.8"
    assert dns.loc[1].log_account_id == ACCOUNT and pd.isna(dns.loc[1].log_region)


def _records(count: int) -> bytes:
    one = json.loads((FIXTURES / "cloudtrail-keypair.json").read_text())["Records"][0]
    body = ",".join(
        json.dumps({**one, "eventID": f"id-{i}", "note": 'a "}, {" inside a string \\\\'})
        for i in range(count)
    )
    return ('{"Records":[' + body + "]}").encode()


@pytest.mark.parametrize("piece", [1, 7, 1000, 1 << 20])
def test_the_records_of_one_document_are_cut_out_at_any_piece_size(piece: int) -> None:
    """Records split the same however the stream is cut (a piece can end mid-escape)."""
    from handler.formats.documents import splitter

    text = _records(40)
    pieces = [text[i : i + piece] for i in range(0, len(text), piece)]
    lines = b"".join(splitter("Records")(pieces)).splitlines()
    assert [json.loads(x)["eventID"] for x in lines] == [f"id-{i}" for i in range(40)]
    assert all(json.loads(x)["note"] == 'a "}, {" inside a string \\\\' for x in lines)


def test_a_truncated_cloudtrail_file_keeps_its_records_and_fails_the_cut_one(lake: Lake) -> None:
    text = _records(3)
    lake.put(JSON_CASES["cloudtrail-ec2"][0], text[: len(text) - 200], gz=True)
    result = lake.pipeline().process_s3(RAW, JSON_CASES["cloudtrail-ec2"][0])
    assert (result.valid, result.invalid, result.error_counts) == (2, 1, {"invalid_json": 1})


def test_a_large_cloudtrail_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    """200,000 records in one document (one 300 MB 'line'): each record is counted, and the
    process never holds the file (its peak is far below the file's size)."""
    import gzip
    import subprocess
    import sys

    path = tmp_path / "trail.json.gz"
    path.write_bytes(gzip.compress(_records(200_000), 1))
    loglake = Path(sys.executable).parent / "loglake"
    command = [str(loglake), "process", str(path), "--format", "cloudtrail", "--dry-run"]
    # a small parent runs it, so the peak is loglake's own (a child forked from this test
    # process would start with this process's memory)
    measure = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, *command], capture_output=True, text=True, check=True
    )
    assert "lines read 200,000 = valid 200,000 + invalid 0 + blank 0" in done.stdout
    peak_mb = int(done.stdout.split()[-1])
    assert peak_mb < 400, f"peak {peak_mb} MB"


FIREHOSE = (
    "firehose/2020/09/14/19/logs-stream-1-2020-09-14-19-09-29-0b1d2c3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
)
#: The subscription message of vectordotdev/vrl's parse_aws_cloudwatch_log_subscription_message
#: example, and the health check CloudWatch Logs sends a new destination.
DATA_MESSAGE = {
    "messageType": "DATA_MESSAGE",
    "owner": "111111111111",
    "logGroup": "test",
    "logStream": "test",
    "subscriptionFilters": ["Destination"],
    "logEvents": [
        {
            "id": "35683658089614582423604394983260738922885519999578275840",
            "timestamp": 1600110569039,
            "message": '{"bytes":26780,"datetime":"14/Sep/2020:11:45:41-0400","host":'
            '"157.130.216.193","method":"PUT","protocol":"HTTP/1.0","referer":'
            '"https://www.principalcross-platform.io/markets/ubiquitous","request":'
            '"/expedite/convergence","source_type":"stdin","status":301,"user-identifier":"-"}',
        }
    ],
}
CONTROL_MESSAGE = {
    "messageType": "CONTROL_MESSAGE",
    "owner": "CloudwatchLogs",
    "logGroup": "",
    "logStream": "",
    "subscriptionFilters": [],
    "logEvents": [
        {
            "id": "",
            "timestamp": 1600110569000,
            "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose.",
        }
    ],
}


def test_cloudwatch_logs_through_firehose_give_a_row_per_log_event(lake: Lake) -> None:
    """Three gzip members of objects back to back: the control message dropped, a Lambda's
    JSON log line read with its own level and time, a text line given the event's time."""
    import gzip

    lambda_lines = (FIXTURES.parent / "producers" / "powertools-python.jsonl").read_text()
    lambda_group = {
        **DATA_MESSAGE,
        "logGroup": "/aws/lambda/payment",
        "logStream": "2021/05/03/[$LATEST]abc",
        "logEvents": [
            {"id": "1", "timestamp": 1620042432494, "message": line}
            for line in lambda_lines.splitlines()
        ]
        + [{"id": "2", "timestamp": 1620042432600, "message": "START RequestId: 8f5a Version: 1"}],
    }
    members = [
        gzip.compress(json.dumps(CONTROL_MESSAGE).encode()),
        gzip.compress((json.dumps(DATA_MESSAGE) + json.dumps(lambda_group)).encode()),
        gzip.compress(json.dumps(DATA_MESSAGE, indent=2).encode()),
    ]
    lake.put(FIREHOSE, b"".join(members))
    result = lake.pipeline().process_s3(RAW, FIREHOSE)
    events = 2 + len(lambda_group["logEvents"])
    # vrl's example message carries its own time, in a form the JSON rules do not read: the
    # record's verdict, not the CloudWatch timestamp in its place (time_format would read it)
    assert (result.format, result.valid, result.invalid, result.lines_read) == (
        "cloudwatch-firehose", events - 2, 2, events,
    )  # fmt: skip
    assert result.error_counts == {"bad_timestamp": 2}
    rows = lake.rows().set_index("source_line")
    powertools = rows.loc[2]
    assert (powertools.level, powertools.message) == ("INFO", "Collecting payment")
    assert dict(powertools.attributes)["logGroup"] == "/aws/lambda/payment"
    start = rows.loc[events - 1]
    assert (start.level, start.message) == ("INFO", "START RequestId: 8f5a Version: 1")
    assert start.event_time == datetime(2021, 5, 3, 11, 47, 12, 600000)  # the event's time
    assert not any("CONTROL MESSAGE" in m for m in rows["message"])


def test_a_cloudwatch_export_joins_continuation_lines(lake: Lake) -> None:
    """Export task output: <ISO time> <message>; a traceback's lines are one record."""
    key = "exports/2f7d3a1e-1b2c-4d5e-8f90-a1b2c3d4e5f6/2024/01/31/[$LATEST]abc/000000.gz"
    text = (
        "2024-01-31T12:00:00.000Z START RequestId: 8f5a Version: $LATEST\n"
        "2024-01-31T12:00:00.120Z [ERROR] ZeroDivisionError: division by zero\n"
        "Traceback (most recent call last):\n"
        '  File "/var/task/app.py", line 3, in handler\n'
        "2024-01-31T12:00:00.130Z END RequestId: 8f5a\n"
        "2024-01-31T12:00:00.130Z REPORT RequestId: 8f5a Duration: 2.21 ms\n"
    )  # the Lambda runtime's own lines, as an export writes them
    lake.put(key, text, gz=True)
    result = lake.pipeline().process_s3(RAW, key)
    assert (result.format, result.valid, result.invalid, result.physical_lines) == (
        "cloudwatch-export", 4, 0, 6,
    )  # fmt: skip
    rows = lake.rows().set_index("source_line")
    assert rows.loc[2].message.endswith("line 3, in handler")
    assert rows.loc[2].event_time == datetime(2024, 1, 31, 12, 0, 0, 120000)
    assert (rows.loc[1].level, rows.loc[5].message) == ("INFO", "END RequestId: 8f5a")


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        ("alb.log", "alb"),
        ("nlb.log", "nlb"),
        ("s3-access.log", "s3-access"),
        ("cloudfront.log", "cloudfront"),
        ("vpc-v5.log", "vpc-flow"),
        ("cloudtrail-error.json", "cloudtrail"),
    ],
)
def test_an_object_whose_key_says_nothing_is_told_by_its_first_bytes(
    lake: Lake, fixture: str, fmt: str
) -> None:
    key = f"uploads/by-hand/{fixture}.data"  # no glob matches it
    lake.put(key, (FIXTURES / fixture).read_bytes(), gz=True)
    result = lake.pipeline().process_s3(RAW, key)
    assert (result.status, result.format, result.invalid) == ("processed", fmt, 0)


def test_an_object_nothing_recognises_is_skipped_as_unmatched(lake: Lake) -> None:
    lake.put("notes/readme.txt", "these are my notes\n")
    assert lake.pipeline().process_s3(RAW, "notes/readme.txt").status == "unmatched"

"""`loglake deploy` and `loglake destroy` against moto; the rendered template against cfn-lint and a
least-privilege check of the role's policies."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

import handler.app
from handler.app import lambda_handler
from handler.config import Config
from loglake.catalog import apply
from loglake.cli import main
from loglake.deploy import render

from .conftest import SAMPLE, load_event

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:deps:1"


def test_rendered_template_passes_cfn_lint(tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(render()))
    cfn_lint = str(Path(sys.executable).parent / "cfn-lint")
    result = subprocess.run([cfn_lint, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tables_come_from_glue_ddl_and_notifications_from_suffixes() -> None:
    template = render((".log", ".json.gz"))
    resources = template["Resources"]
    table = resources["ProcessedLogsTable"]["Properties"]["TableInput"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == [
        "event_time", "level", "message", "attributes", "source_uri", "source_line", "ingested_at",
    ]  # fmt: skip
    assert table["Parameters"]["projection.enabled"] == "true"
    # Symlink tables: readers list the manifests; the data files are where loglake writes them.
    assert table["Parameters"]["storage.location.template"] == {
        "Fn::Sub": "s3://${ProcessedBucket}/symlink/processed/dt=${!dt}/"
    }
    assert table["StorageDescriptor"]["InputFormat"].endswith("SymlinkTextInputFormat")
    assert table["Parameters"]["loglake.files"] == {"Fn::Sub": "s3://${ProcessedBucket}/processed/"}
    assert resources["ErrorsLogsTable"]["Properties"]["TableInput"]["StorageDescriptor"][
        "Location"
    ] == {"Fn::Sub": "s3://${ProcessedBucket}/symlink/errors/"}
    notifications = resources["RawBucket"]["Properties"]["NotificationConfiguration"][
        "QueueConfigurations"
    ]
    # AWS's own logs are recognised by key (S3 access logs have no suffix): every key notifies.
    assert [n.get("Filter") for n in notifications] == [None]
    assert resources["RawBucket"]["DependsOn"] == "IngestQueuePolicy"
    assert "Ref" not in json.dumps(
        resources["IngestQueuePolicy"]["Properties"]["PolicyDocument"]
    ).replace('"Ref": "AWS::AccountId"', "")


def statements(document: dict[str, Any] | str) -> list[dict[str, Any]]:
    if isinstance(document, str):  # moto returns the document as text, sometimes as a Python repr
        document = json.loads(document) if document.startswith('{"') else ast.literal_eval(document)
    assert isinstance(document, dict)
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


ALLOWED_WILDCARDS = (
    "/processed/*",
    "/typed/*",
    "/errors/*",
    "/_manifests/*",
    "/symlink/*",
    "/_manifests/_partitions/*",
    ":log-stream:*",
    "-us-east-1/*",
    "-${AWS::Region}/*",
)


def assert_least_privilege(document: dict[str, Any] | str) -> None:
    """No wildcard action at all; a wildcard resource only as the object part of this stack's own
    bucket prefixes (the handler must read whatever key is uploaded) or as a log stream."""
    for statement in statements(document):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in a for a in actions), statement
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        for resource in resources:
            text = resource if isinstance(resource, str) else resource.get("Fn::Sub", "")
            if "*" in text:
                assert text.endswith(ALLOWED_WILDCARDS) and text.count("*") == 1, text


@pytest.mark.parametrize("role", ["FunctionRole", "CompactRole"])
def test_roles_in_the_template_are_least_privilege(role: str) -> None:
    for policy in render()["Resources"][role]["Properties"]["Policies"]:
        assert_least_privilege(policy["PolicyDocument"])


def test_the_stack_compacts_daily_and_alarms_when_it_fails() -> None:
    resources = render()["Resources"]
    function = resources["CompactFunction"]["Properties"]
    assert function["Handler"] == "handler.app.compact_handler"
    assert function["Role"] == {"Fn::GetAtt": ["CompactRole", "Arn"]}
    rule = resources["CompactSchedule"]["Properties"]
    assert rule["State"] == "ENABLED"
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["CompactFunction", "Arn"]}
    alarm = resources["CompactErrorAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "CompactFunction"}}]
    compact_actions = {
        a
        for s in resources["CompactRole"]["Properties"]["Policies"][0]["PolicyDocument"][
            "Statement"
        ]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not any(a.startswith(("sqs:", "glue:")) for a in compact_actions)


@pytest.fixture
def cloud(lake: Any) -> boto3.Session:
    session: boto3.Session = lake.session
    return session


def test_deploy_then_process_then_destroy(
    cloud: boto3.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules.json"
    rules.write_text('{"user_id": {"max_length": 64}}')
    deploy_args = [
        "deploy",
        "--stack",
        "demo",
        "--layer",
        LAYER,
        "--timeout",
        "120",
        "--rules",
        str(rules),
    ]
    result = CliRunner().invoke(main, deploy_args)
    assert result.exit_code == 0, result.output
    # moto leaves the outputs of a stack created through a change set empty (it builds them before
    # the change set runs), so the names come from the stack's resources, as the outputs would.
    cfn = cloud.client("cloudformation")
    ids = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName="demo")["StackResourceSummaries"]
    }
    outputs = {
        "QueueUrl": ids["IngestQueue"],
        "FunctionName": ids["IngestFunction"],
        "GlueDatabaseName": "log_analytics_db",
    }
    raw, processed = ids["RawBucket"], ids["ProcessedBucket"]
    assert (raw, processed) == (
        "loglake-raw-123456789012-us-east-1",
        "loglake-processed-123456789012-us-east-1",
    )
    s3, sqs, lam, iam = (cloud.client(n) for n in ("s3", "sqs", "lambda", "iam"))
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {raw, processed} <= buckets
    encryption = s3.get_bucket_encryption(Bucket=raw)["ServerSideEncryptionConfiguration"]["Rules"][
        0
    ]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    attributes = sqs.get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] in (3, "3")
    assert int(attributes["VisibilityTimeout"]) == 720  # 6 x the 120 s function timeout
    function = lam.get_function_configuration(FunctionName=outputs["FunctionName"])
    assert (function["Handler"], function["Runtime"]) == (
        "handler.app.lambda_handler",
        "python3.12",
    )
    stack = cfn.describe_stacks(StackName="demo")["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert (parameters["Architecture"], parameters["LayerArn"]) == (
        "arm64",
        LAYER,
    )  # moto ignores Architectures
    assert (function["MemorySize"], function["Timeout"]) == (1024, 120)
    assert function["Environment"]["Variables"]["PROCESSED_BUCKET"] == processed
    assert (
        function["Environment"]["Variables"]["VALIDATION_RULES"] == '{"user_id":{"max_length":64}}'
    )
    mappings = lam.list_event_source_mappings(FunctionName=outputs["FunctionName"])[
        "EventSourceMappings"
    ]
    # The ingest queue and the reprocessing queue, each with partial batch responses.
    assert sorted(m["EventSourceArn"].rsplit(":", 1)[1] for m in mappings) == [
        "loglake-ingest",
        "loglake-reprocess",
    ]
    assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)
    role = function["Role"].rsplit("/", 1)[-1]
    policy = iam.get_role_policy(RoleName=role, PolicyName="loglake-ingest")["PolicyDocument"]
    assert_least_privilege(policy)
    assert {s["Sid"] for s in statements(policy)} >= {
        "ReadRawObjects",
        "WriteOwnPrefixes",
        "OwnGlueTables",
        "ConsumeOwnQueue",
        "WriteOwnLogs",
    }

    again = CliRunner().invoke(main, deploy_args)
    assert again.exit_code == 0, again.output
    assert "no changes" in again.stderr

    # moto's CloudFormation creates no Glue tables: create them from glue_ddl as the template does.
    config = Config.from_env(
        {"PROCESSED_BUCKET": processed, "GLUE_DATABASE": outputs["GlueDatabaseName"]}
    )
    apply(config, cloud)
    monkeypatch.setenv("PROCESSED_BUCKET", processed)
    handler.app._pipeline = None
    s3.put_object(Bucket=raw, Key="app/my file+1.log", Body=SAMPLE.read_bytes())
    event = load_event("s3_put")
    event["Records"][0]["s3"]["bucket"]["name"] = raw
    lambda_handler(event, None)
    written = s3.list_objects_v2(Bucket=processed, Prefix="processed/")["KeyCount"]
    assert written == 1

    gone = CliRunner().invoke(main, ["destroy", "--stack", "demo", "--yes"])
    assert gone.exit_code == 0, gone.output
    left = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert not {raw, processed} & left
    assert not any(name.startswith("loglake-artifacts-") for name in left)
    with pytest.raises(cloud.client("cloudformation").exceptions.ClientError):
        cloud.client("cloudformation").describe_stacks(StackName="demo")


def test_destroy_of_a_missing_stack_is_one_line(cloud: boto3.Session) -> None:
    result = CliRunner().invoke(main, ["destroy", "--stack", "nope", "--yes"])
    assert result.exit_code == 2
    assert result.output == "Error: stack 'nope' does not exist in us-east-1\n"


def test_a_separate_reprocessing_queue_feeds_the_same_function_with_its_own_limit() -> None:
    resources = render()["Resources"]
    queue = resources["ReprocessQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["ReprocessDeadLetterQueue", "Arn"]
    }
    source = resources["ReprocessEventSource"]["Properties"]
    assert source["FunctionName"] == {"Ref": "IngestFunction"}
    assert source["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "ReprocessConcurrency"}
    assert resources["IngestEventSource"]["Properties"]["ScalingConfig"]["MaximumConcurrency"] == {
        "Ref": "MaximumConcurrency"
    }


def test_a_sources_file_gives_the_notification_filters_and_ships_in_the_zip(tmp_path: Path) -> None:
    import zipfile

    from loglake.layer import package

    sources = tmp_path / "sources.toml"
    sources.write_text(
        "aws_logs = false\n"
        "[[source]]\nname = 'nginx'\nmatch = ['nginx/**.log', 'nginx/**.log.gz']\n"
        "format = 'combined'\n[[source]]\nname = 'otel'\nmatch = 'otel/**'\nformat = 'otlp-json'\n"
    )
    template = render(sources=sources)
    configs = template["Resources"]["RawBucket"]["Properties"]["NotificationConfiguration"]
    rules = [c["Filter"]["S3Key"]["Rules"] for c in configs["QueueConfigurations"]]
    assert rules == [
        [{"Name": "prefix", "Value": "nginx/"}, {"Name": "suffix", "Value": ".log"}],
        [{"Name": "prefix", "Value": "nginx/"}, {"Name": "suffix", "Value": ".log.gz"}],
        [{"Name": "prefix", "Value": "otel/"}],
    ]
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout
    zipped = package(tmp_path / "dist", log=lambda _: None, sources=sources)
    with zipfile.ZipFile(zipped.path) as archive:
        assert archive.read("sources.toml") == sources.read_bytes()


def test_a_bad_sources_file_fails_the_template_command_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES_FILE", "")  # restored after: --sources sets it for the process
    bad = tmp_path / "bad.toml"
    bad.write_text("[[source]]\nname = 'x'\nmatch = '*'\nformat = 'xml'\n")
    result = CliRunner().invoke(main, ["template", "--sources", str(bad)])
    assert result.exit_code == 2
    assert result.output.count("Error:") == 1 and "format must be one of" in result.output

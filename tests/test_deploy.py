"""`loglake deploy` and `loglake destroy` against moto; the rendered template against cfn-lint and a
least-privilege check of the role's policies."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

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


def assert_least_privilege(document: dict[str, Any] | str, also: tuple[str, ...] = ()) -> None:
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
                assert text.endswith(ALLOWED_WILDCARDS + also) and text.count("*") == 1, text


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
    # It expires partitions past retention too: deleting Glue partitions is all it does in Glue.
    assert not any(a.startswith("sqs:") for a in compact_actions)
    assert {a for a in compact_actions if a.startswith("glue:")} == {"glue:BatchDeletePartition"}


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


def test_deploy_onto_an_existing_bucket_keeps_its_notifications(
    cloud: boto3.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bucket where the logs already land, with another team's queue notification on it:
    the stack reads it through EventBridge, and the other notification still works."""
    monkeypatch.chdir(tmp_path)
    s3, sqs = cloud.client("s3"), cloud.client("sqs")
    s3.create_bucket(Bucket="shop-app-logs")
    other = sqs.create_queue(QueueName="billing-exports")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    theirs = {
        "Id": "billing",
        "QueueArn": other_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "billing/"}]}},
    }
    s3.put_bucket_notification_configuration(
        Bucket="shop-app-logs", NotificationConfiguration={"QueueConfigurations": [theirs]}
    )
    args = ["deploy", "--stack", "shop", "--layer", LAYER, "--raw-bucket", "shop-app-logs"]
    result = CliRunner().invoke(main, [*args, "--raw-prefix", "app/"])
    assert result.exit_code == 0, result.output
    assert "s3://shop-app-logs: EventBridge notifications turned on; its 1 other(s) kept" in (
        result.stderr
    )
    notifications = s3.get_bucket_notification_configuration(Bucket="shop-app-logs")
    assert notifications["QueueConfigurations"] == [theirs | {"Events": ["s3:ObjectCreated:*"]}]
    # (moto leaves EventBridgeConfiguration out of its answer; the deliveries below prove it on)
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloud.client("cloudformation").list_stack_resources(StackName="shop")[
            "StackResourceSummaries"
        ]
    }
    assert "RawBucket" not in resources and "RawObjectEvents" in resources
    role = cloud.client("lambda").get_function_configuration(
        FunctionName=resources["IngestFunction"]
    )
    policy = cloud.client("iam").get_role_policy(
        RoleName=role["Role"].rsplit("/", 1)[-1], PolicyName="loglake-ingest"
    )["PolicyDocument"]
    read = next(s for s in statements(policy) if s["Sid"] == "ReadRawObjects")
    assert read["Resource"] in (
        "arn:aws:s3:::shop-app-logs/*",
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::shop-app-logs/*"},
    )

    # moto matches a schedule rule (no pattern) against every event and fails on its Lambda
    # target, which ends delivery to the rules after it: the compaction's is set aside here.
    cloud.client("events").remove_targets(Rule="loglake-compact-daily", Ids=["compact"])
    s3.put_object(Bucket="shop-app-logs", Key="app/web-1.log", Body=SAMPLE.read_bytes())
    s3.put_object(Bucket="shop-app-logs", Key="billing/2026-12.csv", Body=b"a,b\n")
    ingest = sqs.receive_message(QueueUrl=resources["IngestQueue"], MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in ingest.get("Messages", [])]
    assert [(b["detail-type"], b["detail"]["object"]["key"]) for b in bodies] == [
        ("Object Created", "app/web-1.log")
    ]  # the billing export is not loglake's, and still reaches its own queue:
    billing = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=other, MaxNumberOfMessages=10)["Messages"]
    ]
    assert [
        unquote_plus(r["s3"]["object"]["key"]) for b in billing for r in b.get("Records", [])
    ] == [
        "billing/2026-12.csv"
    ]  # (besides the s3:TestEvent S3 sends when a configuration is written)

    from loglake.local.lambda_event import lambda_sqs_event

    processed = resources["ProcessedBucket"]
    apply(Config.from_env({"PROCESSED_BUCKET": processed}), cloud)
    monkeypatch.setenv("PROCESSED_BUCKET", processed)
    handler.app._pipeline = None
    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{resources['IngestQueue'].rsplit('/', 1)[1]}"
    response = lambda_handler(lambda_sqs_event(ingest["Messages"], queue_arn), None)
    assert response == {"batchItemFailures": []}
    assert s3.list_objects_v2(Bucket=processed, Prefix="processed/")["KeyCount"] == 1

    again = CliRunner().invoke(main, [*args, "--raw-prefix", "app/"])
    assert again.exit_code == 0, again.output
    assert "1 other(s)" in again.stderr  # on AWS "already on ... untouched"; moto cannot tell
    s3.put_object(Bucket="shop-app-logs", Key="app/web-2.log", Body=SAMPLE.read_bytes())
    s3.put_object(Bucket="shop-app-logs", Key="billing/2027-01.csv", Body=b"a,b\n")
    assert sqs.receive_message(QueueUrl=resources["IngestQueue"])["Messages"]
    assert sqs.receive_message(QueueUrl=other)["Messages"]
    gone = CliRunner().invoke(main, ["destroy", "--stack", "shop", "--yes"])
    assert gone.exit_code == 0, gone.output
    assert s3.list_objects_v2(Bucket="shop-app-logs")["KeyCount"] == 4  # not the stack's
    kept = s3.get_bucket_notification_configuration(Bucket="shop-app-logs")
    assert kept["QueueConfigurations"][0]["Id"] == "billing"


def test_an_existing_bucket_in_another_region_or_missing_is_one_line(cloud: boto3.Session) -> None:
    cloud.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="far-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    args = ["deploy", "--stack", "x", "--layer", LAYER, "--raw-bucket"]
    far = CliRunner().invoke(main, [*args, "far-logs"])
    assert (
        far.exit_code == 2
        and "is in eu-west-1, not us-east-1: deploy with --region eu-west-1" in far.output
    )
    missing = CliRunner().invoke(main, [*args, "no-such-logs"])
    assert missing.exit_code == 2 and "--raw-bucket no-such-logs: NoSuchBucket" in missing.output


def test_the_template_onto_an_existing_bucket_passes_cfn_lint_and_filters_keys(
    tmp_path: Path,
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        "aws_logs = false\n[[source]]\nname = 'web'\nmatch = ['app/**.log', 'app/**.log.gz']\n"
    )
    template = render(sources=sources, raw_bucket="shop-app-logs", raw_prefix="app/")
    pattern = template["Resources"]["RawObjectEvents"]["Properties"]["EventPattern"]
    assert pattern["detail"]["object"]["key"] == [
        {"wildcard": "app/*.log"}, {"wildcard": "app/*.log.gz"}
    ]  # fmt: skip
    assert "RawRetentionDays" not in template["Parameters"]
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout
    for policy in template["Resources"]["FunctionRole"]["Properties"]["Policies"]:
        assert_least_privilege(policy["PolicyDocument"], also=(":::shop-app-logs/*",))
    with pytest.raises(Exception, match="no source reads keys under --raw-prefix 'billing/'"):
        render(sources=sources, raw_bucket="shop-app-logs", raw_prefix="billing/")
    assert render() == render(raw_bucket="")  # without the option: today's template


#: boto3 calls whose IAM action is not their CamelCase name.
IAM_NAMES = {
    "s3:head_bucket": "s3:ListBucket",
    "s3:head_object": "s3:GetObject",
    "s3:list_object_versions": "s3:ListBucketVersions",
    "s3:get_paginator": "s3:ListBucketVersions",
    "s3:upload_file": "s3:PutObject",
    "s3:delete_objects": "s3:DeleteObjectVersion",
    "s3:put_public_access_block": "s3:PutBucketPublicAccessBlock",
    "s3:put_bucket_encryption": "s3:PutEncryptionConfiguration",
    "s3:get_bucket_notification_configuration": "s3:GetBucketNotification",
    "s3:put_bucket_notification_configuration": "s3:PutBucketNotification",
    "cloudformation:get_paginator": "cloudformation:ListStackResources",
    "glue:get_paginator": "glue:GetPartitions",
}
#: What CloudFormation calls to create each resource type of the template.
CREATES = {
    "AWS::S3::Bucket": "s3:CreateBucket", "AWS::S3::BucketPolicy": "s3:PutBucketPolicy",
    "AWS::SQS::Queue": "sqs:CreateQueue", "AWS::SQS::QueuePolicy": "sqs:SetQueueAttributes",
    "AWS::IAM::Role": "iam:CreateRole", "AWS::Lambda::Function": "lambda:CreateFunction",
    "AWS::Lambda::LayerVersion": "lambda:PublishLayerVersion",
    "AWS::Lambda::Permission": "lambda:AddPermission",
    "AWS::Lambda::EventSourceMapping": "lambda:CreateEventSourceMapping",
    "AWS::Logs::LogGroup": "logs:CreateLogGroup", "AWS::Events::Rule": "events:PutRule",
    "AWS::Glue::Database": "glue:CreateDatabase", "AWS::Glue::Table": "glue:CreateTable",
    "AWS::Athena::WorkGroup": "athena:CreateWorkGroup", "AWS::SNS::Topic": "sns:CreateTopic",
    "AWS::CloudWatch::Alarm": "cloudwatch:PutMetricAlarm",
}  # fmt: skip


def test_the_deployers_policy_covers_the_template_and_every_call_deploy_makes(
    tmp_path: Path,
) -> None:
    import re

    root = Path(__file__).parent.parent
    policy = json.loads((root / "infra" / "deployer-policy.json").read_text())
    allowed = {a for s in statements(policy) for a in s["Action"]}
    for raw in ("", "shop-app-logs"):
        types = {r["Type"] for r in render(raw_bucket=raw)["Resources"].values()}
        assert types <= set(CREATES), types - set(CREATES)
        assert {CREATES[t] for t in types} <= allowed
    clients = {"cfn": "cloudformation", "s3": "s3", "glue": "glue"}
    for module in ("deploy.py", "migrate.py"):
        text = (root / "loglake" / module).read_text()
        for client, call in re.findall(r"\b(cfn|s3|glue)\.([a-z_]+)\(", text):
            service = clients[client]
            name = f"{service}:{call}"
            action = IAM_NAMES.get(name) or f"{service}:" + call.title().replace("_", "")
            assert action in allowed, f"{module} calls {name}: add {action} to the policy"
    # cfn-lint checks every action name against IAM's list (W3037) and the document's shape.
    template = {
        "Resources": {"Deployer": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "PolicyDocument": policy}}}
    }  # fmt: skip
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(template))
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout

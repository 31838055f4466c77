"""``loglake deploy`` / ``loglake destroy``: the whole pipeline from one template, and back.

The committed ``infra/template.yaml`` is rendered before use: one ``AWS::Glue::Table`` per file in
``glue_ddl/`` (generated from the same parser the handler uses, so the columns are defined once)
and one queue notification per log suffix. Deployment goes through a change set, so an unchanged
stack reports "no changes" and nothing is touched.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

from handler.ddl import load_tables
from handler.sources import DEFAULT_SOURCES, key_filters, load_sources, notification_events

from .catalog import table_input
from .exceptions import DeployError
from .resources import INFRA_DIR
from .settings import DEFAULT_SUFFIXES

TEMPLATE = INFRA_DIR / "template.yaml"
TEMPLATE_BODY_LIMIT = 51_200
#: Where a deployed function finds the sources file shipped in its zip.
SOURCES_IN_ZIP = "/var/task/sources.toml"
#: The AWS SDK for pandas managed layer (account 336392948345); pass an ARN to pick another version.
MANAGED_LAYER = "arn:aws:lambda:{region}:336392948345:layer:AWSSDKPandas-Python{py}{arch}:{version}"
MANAGED_LAYER_VERSION = 5
Log = Callable[[str], object]


@dataclass(frozen=True)
class Settings:
    """What ``loglake deploy`` was asked for."""

    stack: str
    prefix: str = "loglake"
    layer: str = "build"  # build | managed | an ARN
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES
    architecture: str = "arm64"
    runtime: str = "python3.12"
    memory: int = 1024
    timeout: int = 300
    alarm_email: str = ""
    rules: str = ""  # custom validation rules, JSON
    #: A sources file: shipped in the function zip, notification filters made from it.
    sources: Path | None = None
    #: The table definitions, layered (a project's over the built-ins): one set for the zip and
    #: the template.
    ddl_dirs: tuple[Path, ...] | None = None
    #: An existing bucket to read (through EventBridge) instead of a raw bucket of the stack's.
    raw_bucket: str = ""
    raw_prefix: str = ""


def render(
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES,
    ddl_dirs: Sequence[Path] | None = None,
    sources: Path | None = None,
    raw_bucket: str = "",
    raw_prefix: str = "",
) -> dict[str, Any]:
    """The deployable template: tables from glue_ddl/, one notification per suffix, or with a
    sources file one per key filter its globs need (``handler.sources.key_filters``). With
    ``raw_bucket``, no raw bucket of its own: an EventBridge rule on that existing bucket's
    new objects (under ``raw_prefix``) feeds the queue instead (``onto_existing``)."""
    template: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    resources = template["Resources"]
    specs = load_sources(sources) if sources else DEFAULT_SOURCES
    filters = key_filters(specs, suffixes, sources is not None)
    resources["RawBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"] = [
        {
            "Event": event,
            "Queue": {"Fn::GetAtt": ["IngestQueue", "Arn"]},
            **s3_key_filter(prefix, suffix, "Rules", "S3Key"),
        }
        for event in notification_events(specs)
        for prefix, suffix in filters
    ]
    tables = load_tables(ddl_dirs)
    _grant_tables(resources["FunctionRole"], list(tables))
    _grant_tables(resources["CompactRole"], list(tables))
    for name, table in tables.items():
        rendered = table_input(table.render("${ProcessedBucket}"), name)
        resources[_logical_id(name)] = {
            "Type": "AWS::Glue::Table",
            "DependsOn": "GlueDatabaseResource",
            "Properties": {
                "CatalogId": {"Ref": "AWS::AccountId"},
                "DatabaseName": {"Ref": "GlueDatabase"},
                "TableInput": _substitute(rendered),
            },
        }
    if raw_bucket:
        deletions = len(notification_events(specs)) > 1
        template = onto_existing(template, raw_bucket, raw_prefix, filters, deletions)
    elif raw_prefix:
        raise DeployError("--raw-prefix needs --raw-bucket (the stack's own bucket is read whole)")
    return template


def _grant_tables(role: dict[str, Any], names: list[str]) -> None:
    """The ingest function may register partitions (the compact function delete expired ones)
    in exactly the tables the template defines (the typed ones included), named one by one."""
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Sid") in {"OwnGlueTables", "ExpireGluePartitions"}:
                prefix = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
                statement["Resource"] = [
                    {"Fn::Sub": f"{prefix}:catalog"},
                    {"Fn::Sub": f"{prefix}:database/${{GlueDatabase}}"},
                    *({"Fn::Sub": f"{prefix}:table/${{GlueDatabase}}/{n}"} for n in names),
                ]


#: How the template names the raw bucket it creates (replaced by an existing bucket's name).
_OWN_RAW = "${NamePrefix}-raw-${AWS::AccountId}-${AWS::Region}"


def onto_existing(
    template: dict[str, Any],
    bucket: str,
    prefix: str,
    filters: list[tuple[str, str]],
    deletions: bool = False,
) -> dict[str, Any]:
    """``template`` reading the existing ``bucket``: its own raw bucket and that bucket's policy
    left out, every permission naming the bucket given instead, and an EventBridge rule that
    sends the bucket's ``Object Created`` events (for the keys ``filters`` admit under
    ``prefix``; and ``Object Deleted`` with ``deletions``) to the ingest queue. The bucket's notification configuration is not in the
    template: ``deploy`` turns EventBridge on there, keeping every notification it has."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise DeployError(f"--raw-bucket {bucket!r} is not an S3 bucket name")
    text = json.dumps(template).replace(_OWN_RAW, bucket)
    text = text.replace('{"Ref": "RawBucket"}', json.dumps(bucket))
    out: dict[str, Any] = json.loads(text)
    resources = out["Resources"]
    del resources["RawBucket"], resources["RawBucketPolicy"]
    del out["Parameters"]["RawRetentionDays"]  # the bucket's lifecycle is its owner's
    try_it = out["Outputs"]["TryIt"]["Value"]
    try_it["Fn::Sub"] = try_it["Fn::Sub"].replace("${RawBucket}/", f"{bucket}/{prefix}")
    key: dict[str, Any] = {"key": keys} if (keys := _key_patterns(prefix, filters)) else {}
    resources["RawObjectEvents"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": {"Fn::Sub": "${NamePrefix}-raw-objects"},
            "Description": f"New objects of the existing bucket {bucket} -> the ingest queue",
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created", *(["Object Deleted"] if deletions else [])],
                "detail": {"bucket": {"name": [bucket]}, **({"object": key} if key else {})},
            },
            "State": "ENABLED",
            "Targets": [{"Id": "ingest", "Arn": {"Fn::GetAtt": ["IngestQueue", "Arn"]}}],
        },
    }
    resources["IngestQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"] = [
        {
            "Sid": "OnlyTheRawObjectsRule",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["IngestQueue", "Arn"]},
            "Condition": {
                "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["RawObjectEvents", "Arn"]}}
            },
        }
    ]
    return out


def _key_patterns(prefix: str, filters: list[tuple[str, str]]) -> list[dict[str, str]]:
    """EventBridge key patterns (any may match) for the keys under ``prefix`` that the
    notification ``filters`` admit; empty: every key."""
    patterns = []
    for start, end in filters:
        if not (start.startswith(prefix) or prefix.startswith(start)):
            continue  # a source whose keys are never under the prefix
        start = max(start, prefix, key=len)
        if end:
            escaped = [part.replace("\\", "\\\\").replace("*", "\\*") for part in (start, end)]
            patterns.append({"wildcard": f"{escaped[0]}*{escaped[1]}"})
        elif start:
            patterns.append({"prefix": start})
        else:
            return []
    if not patterns:
        raise DeployError(f"no source reads keys under --raw-prefix {prefix!r}: check sources.toml")
    return patterns


def s3_key_filter(prefix: str, suffix: str, rules: str, key: str) -> dict[str, Any]:
    """An S3 notification's key filter (CloudFormation and the S3 API spell it differently)."""
    found = [{"Name": n, "Value": v} for n, v in (("prefix", prefix), ("suffix", suffix)) if v]
    return {"Filter": {key: {rules: found}}} if found else {}


def _logical_id(table: str) -> str:
    return "".join(part.capitalize() for part in table.split("_")) + "Table"


def _substitute(value: Any) -> Any:
    """Strings naming the processed bucket become ``Fn::Sub``; Athena's own ``${dt}`` stays literal."""
    if isinstance(value, dict):
        return {k: _substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v) for v in value]
    if isinstance(value, str) and "${ProcessedBucket}" in value:
        return {"Fn::Sub": re.sub(r"\$\{(?!ProcessedBucket\})", "${!", value)}
    return value


def deploy(
    settings: Settings, session: boto3.Session, log: Log = print, dist: Path = Path("dist")
) -> dict[str, str]:
    """Create or update the stack through a change set; return its outputs."""
    from .layer import build, package

    account = session.client("sts").get_caller_identity()["Account"]
    region = session.region_name or "us-east-1"
    cfn, s3 = session.client("cloudformation"), session.client("s3")
    rendered = render(
        settings.suffixes, settings.ddl_dirs, settings.sources, settings.raw_bucket,
        settings.raw_prefix,
    )  # fmt: skip
    if settings.raw_bucket:
        _check_existing(s3, settings.raw_bucket, region)
    artifacts = f"{settings.prefix}-artifacts-{account}-{region}"
    _artifact_bucket(s3, artifacts, region)
    python = settings.runtime.removeprefix("python")
    managed = settings.layer == "managed"
    function = package(
        dist,
        extras_for=(settings.architecture, python) if managed else None,
        log=log,
        sources=settings.sources,
        ddl_dirs=settings.ddl_dirs,
    )
    code_key = _upload(
        s3, artifacts, f"{settings.stack}/function/{function.sha256}.zip", function.path, log
    )
    parameters = {
        "NamePrefix": settings.prefix,
        "ArtifactBucket": artifacts,
        "FunctionCodeKey": code_key,
        "Architecture": settings.architecture,
        "Runtime": settings.runtime,
        "FunctionMemory": str(settings.memory),
        "FunctionTimeout": str(settings.timeout),
        "QueueVisibilityTimeout": str(max(6 * settings.timeout, 180)),
        "AlarmEmail": settings.alarm_email,
        "ValidationRules": settings.rules,
        "SourcesFile": SOURCES_IN_ZIP if settings.sources else "",
        "LayerS3Key": "unused",  # replaced below for a built layer
        "LayerArn": "",
    }
    if settings.layer == "build":
        built = build(settings.architecture, python, dist, log=log)
        parameters["LayerS3Key"] = _upload(
            s3, artifacts, f"{settings.stack}/layer/{built.sha256}.zip", built.path, log
        )
    elif settings.layer == "managed":
        py = settings.runtime.removeprefix("python").replace(".", "")
        arch = "-Arm64" if settings.architecture == "arm64" else ""
        parameters["LayerArn"] = MANAGED_LAYER.format(
            region=region, py=py, arch=arch, version=MANAGED_LAYER_VERSION
        )
    elif settings.layer.startswith("arn:"):
        parameters["LayerArn"] = settings.layer
    else:
        raise DeployError(f"--layer takes build, managed or a layer ARN, not {settings.layer!r}")
    body = json.dumps(rendered, indent=1, sort_keys=True)
    template = _template_argument(s3, artifacts, settings.stack, body)
    current = _stack(cfn, settings.stack)
    if current and _unchanged(cfn, settings.stack, current, body, parameters):
        log("no changes")
        if settings.raw_bucket:
            subscribe(s3, settings.raw_bucket, log)
        return _outputs(current)
    _run_change_set(cfn, settings.stack, template, parameters, exists=current is not None, log=log)
    if settings.raw_bucket:
        subscribe(s3, settings.raw_bucket, log)
        log(
            f"objects already in s3://{settings.raw_bucket}/{settings.raw_prefix} are not read "
            f"until you run: loglake reprocess s3://{settings.raw_bucket}/{settings.raw_prefix} "
            f"--queue <ReprocessQueueUrl>"
        )
    final = _stack(cfn, settings.stack)
    assert final is not None
    outputs = _outputs(final)
    _publish_existing(session, outputs, log)
    return outputs


def _check_existing(s3: Any, bucket: str, region: str) -> None:
    """The existing raw bucket is reachable and in the stack's region (EventBridge delivers a
    bucket's events only in its own region)."""
    try:
        where = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        raise DeployError(
            f"--raw-bucket {bucket}: {code}; give a bucket of this account that you may configure"
        ) from None
    if where != region:
        raise DeployError(
            f"--raw-bucket {bucket} is in {where}, not {region}: deploy with --region {where}"
        )


def subscribe(s3: Any, bucket: str, log: Log = print) -> None:
    """Turn on EventBridge notifications for ``bucket``, keeping every notification it has.

    ``PutBucketNotificationConfiguration`` replaces a bucket's whole configuration, so the
    current one is read and written back with the EventBridge part added; its queue, topic and
    function notifications stay exactly as they were (and keep working: EventBridge delivery is
    in addition to them, and cannot overlap with them the way two queue filters can).
    """
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    kinds = ("QueueConfigurations", "TopicConfigurations", "LambdaFunctionConfigurations")
    others = sum(len(current.get(kind, [])) for kind in kinds)
    if "EventBridgeConfiguration" in current:
        log(f"s3://{bucket}: EventBridge notifications already on; {others} other(s) untouched")
        return
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={**current, "EventBridgeConfiguration": {}}
    )
    log(f"s3://{bucket}: EventBridge notifications turned on; its {others} other(s) kept")


def _publish_existing(session: boto3.Session, outputs: dict[str, str], log: Log) -> None:
    """Publish the objects a previous version committed into the readers' manifests (once per
    lake; after the update, so none committed by the old function just before is missed)."""
    from handler.config import Config

    from .migrate import publish_committed

    if "ProcessedBucketName" not in outputs:
        return
    config = dataclasses.replace(
        Config.from_env(),
        processed_bucket=outputs["ProcessedBucketName"],
        glue_database=outputs.get("GlueDatabaseName", Config.glue_database),
    )

    def progress(count: int) -> None:
        log(f"  published {count:,} objects")

    published = publish_committed(config, session, progress)
    if published:
        log(f"published {published:,} objects committed before into the readers' manifests")


def destroy(stack: str, session: boto3.Session, log: Log = print, prefix: str = "loglake") -> None:
    """Empty the stack's buckets (every version) and delete the stack and its artifacts."""
    cfn, s3 = session.client("cloudformation"), session.client("s3")
    if _stack(cfn, stack) is None:
        raise DeployError(f"stack {stack!r} does not exist in {session.region_name}")
    pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
    buckets = [
        r["PhysicalResourceId"]
        for page in pages
        for r in page["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::S3::Bucket" and r.get("PhysicalResourceId")
    ]
    for bucket in buckets:
        removed = empty_bucket(s3, bucket)
        log(f"emptied s3://{bucket} ({removed} object versions)")
    raw = _outputs(_stack(cfn, stack) or {}).get("RawBucketName")
    if raw and raw not in buckets:
        log(f"s3://{raw} is not the stack's: its objects and notifications stay as they are")
    cfn.delete_stack(StackName=stack)
    _wait(cfn, stack, log, deleting=True)
    account = session.client("sts").get_caller_identity()["Account"]
    artifacts = f"{prefix}-artifacts-{account}-{session.region_name or 'us-east-1'}"
    try:
        removed = empty_bucket(s3, artifacts, prefix=f"{stack}/")
        log(f"removed {removed} artifact(s) of {stack} from s3://{artifacts}")
        if not s3.list_object_versions(Bucket=artifacts, MaxKeys=1).get("Versions"):
            s3.delete_bucket(Bucket=artifacts)
            log(f"deleted s3://{artifacts} (no other stack uses it)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise


def empty_bucket(s3: Any, bucket: str, prefix: str = "") -> int:
    """Delete every object version and delete marker under ``prefix``; return how many."""
    removed = 0
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            keys = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(keys), 1000):
                s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
                )
            removed += len(keys)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise
    return removed


def _artifact_bucket(s3: Any, name: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=name)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    options = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=name, **options)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        },
    )  # fmt: skip
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def _upload(s3: Any, bucket: str, key: str, path: Path, log: Log) -> str:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        log(f"s3://{bucket}/{key} already uploaded")
    except ClientError:
        log(f"uploading {path.name} ({path.stat().st_size / 2**20:.1f} MiB) to s3://{bucket}/{key}")
        s3.upload_file(str(path), bucket, key)
    return key


def _template_argument(s3: Any, bucket: str, stack: str, body: str) -> dict[str, str]:
    if len(body.encode()) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body}
    import hashlib

    key = f"{stack}/template/{hashlib.sha256(body.encode()).hexdigest()}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    return {"TemplateURL": f"https://{bucket}.s3.amazonaws.com/{key}"}


def _stack(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in exc.response["Error"].get("Message", ""):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] not in {"DELETE_COMPLETE", "REVIEW_IN_PROGRESS"}]
    return live[0] if live else None


def _unchanged(
    cfn: Any, name: str, stack: dict[str, Any], body: str, parameters: dict[str, str]
) -> bool:
    deployed = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    deployed_text = (
        deployed if isinstance(deployed, str) else json.dumps(deployed, indent=1, sort_keys=True)
    )
    have = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    same_parameters = all(have.get(k, "") == v for k, v in parameters.items())
    try:
        same_template = json.loads(deployed_text) == json.loads(body)
    except json.JSONDecodeError:
        same_template = False
    return same_template and same_parameters and stack["StackStatus"].endswith("_COMPLETE")


def _run_change_set(
    cfn: Any,
    stack: str,
    template: dict[str, str],
    parameters: dict[str, str],
    exists: bool,
    log: Log,
) -> None:
    name = f"loglake-{int(time.time())}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="UPDATE" if exists else "CREATE",
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        **template,
    )
    while True:
        change = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        if change["Status"] in {"CREATE_COMPLETE", "FAILED"}:
            break
        time.sleep(2)
    if change["Status"] == "FAILED":
        reason = change.get("StatusReason", "")
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        if "didn't contain changes" in reason or "No updates" in reason:
            log("no changes")
            return
        raise DeployError(f"change set failed: {reason}")
    log(
        f"{'updating' if exists else 'creating'} stack {stack}: {len(change.get('Changes', []))} change(s)"
    )
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    _wait(cfn, stack, log)


def _wait(cfn: Any, stack: str, log: Log, deleting: bool = False) -> None:
    """Print stack events as they come until the stack settles."""
    seen: set[str] = set()
    while True:
        try:
            events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
            status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except ClientError as exc:
            if deleting and "does not exist" in exc.response["Error"].get("Message", ""):
                log(f"stack {stack} deleted")
                return
            raise
        for event in reversed(events):
            if event["EventId"] not in seen:
                seen.add(event["EventId"])
                reason = (
                    f"  {event['ResourceStatusReason']}"
                    if event.get("ResourceStatusReason")
                    else ""
                )
                log(f"  {event['LogicalResourceId']:<28} {event['ResourceStatus']}{reason}")
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            if deleting and status == "DELETE_COMPLETE":
                log(f"stack {stack} deleted")
                return
            if "ROLLBACK" in status or status.endswith("_FAILED"):
                raise DeployError(f"stack {stack} ended in {status}; the events above say why")
            return
        time.sleep(3)


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

"""Turn the failures users meet into one line that says what to do."""

from __future__ import annotations

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from handler.exceptions import LoglakeError


def explain(exc: BaseException) -> str | None:
    """One human line for a known failure, or ``None`` when it is a real bug (show the traceback)."""
    if isinstance(exc, LoglakeError):
        return str(exc)
    if isinstance(exc, S3UploadFailedError):  # boto3 wraps the real error of an upload
        cause = exc.__cause__ or exc.__context__
        return explain(cause) if cause is not None else str(exc)
    if isinstance(exc, EndpointConnectionError):
        return (
            f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: is the local stack "
            "running (`loglake local up`)? Or unset AWS_ENDPOINT_URL to use AWS."
        )
    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found: run `aws configure`, set AWS_PROFILE, or export "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (any values work against the local stack)"
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region set: pass --region or export AWS_REGION (e.g. us-east-1)"
    if isinstance(exc, ProfileNotFound):
        return f"{exc}: check --profile / AWS_PROFILE against ~/.aws/config"
    if isinstance(exc, ClientError):
        return _client_error(exc)
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename}"
    return None


def _client_error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "?"), error.get("Message", "")
    op = exc.operation_name
    if code == "NoSuchBucket":
        name = exc.response.get("Error", {}).get("BucketName", "")
        bucket = f"bucket {name}" if name else "the bucket"
        return f"{bucket} does not exist ({op}): check the name, or run `loglake local up` locally"
    if code in {"AccessDenied", "AccessDeniedException", "403", "UnauthorizedOperation"}:
        return f"access denied for {op}: the credentials in use lack permission ({message})"
    if code in {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ExpiredToken",
    }:
        return f"AWS rejected the credentials ({code}): refresh them or check AWS_PROFILE"
    if code in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
        return f"the queue does not exist ({op}): pass --queue-url, set LOGLAKE_QUEUE, or run `loglake local up`"
    if code == "EntityNotFoundException":
        return f"{message}: run `loglake catalog apply` to create the database and tables"
    return f"{op} failed: {code}: {message}"

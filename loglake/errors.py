"""Turn the failures users meet into one line that says what to do."""

from __future__ import annotations

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
    if code in {"NoSuchBucket"}:
        name = exc.response.get("Error", {}).get("BucketName", "")
        return f"bucket {name or ''} does not exist ({op}): create it, or run `loglake local up` locally"
    if code in {"AccessDenied", "AccessDeniedException", "403", "UnauthorizedOperation"}:
        return f"access denied for {op}: the credentials in use lack permission ({message})"
    if code in {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ExpiredToken",
    }:
        return f"AWS rejected the credentials ({code}): refresh them or check AWS_PROFILE"
    if code == "EntityNotFoundException":
        return f"{message}: run `loglake catalog apply` to create the database and tables"
    return f"{op} failed: {code}: {message}"

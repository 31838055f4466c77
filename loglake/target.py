"""Which AWS (or local emulator) the CLI talks to: the standard credential chain and profiles."""

from __future__ import annotations

import os

import boto3
from botocore.config import Config as BotoConfig


def session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    """A boto3 session from flags, then the environment; a local endpoint gets a default region.

    ``AWS_ENDPOINT_URL`` (honoured by boto3 itself) points every client at the local stack.
    """
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region is None and os.environ.get("AWS_ENDPOINT_URL"):
        region = "us-east-1"
    made = boto3.Session(profile_name=profile, region_name=region)
    # Standard retries (throttling, 5xx, dropped connections) for every command; the number of
    # attempts stays botocore's (3, or AWS_MAX_ATTEMPTS) so a stopped stack is reported quickly.
    mode = os.environ.get("AWS_RETRY_MODE") or "standard"
    made._session.set_default_client_config(BotoConfig(retries={"mode": mode}))  # type: ignore[typeddict-item]
    return made

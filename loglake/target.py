"""Which AWS (or local emulator) the CLI talks to: the standard credential chain and profiles."""

from __future__ import annotations

import os

import boto3


def session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    """A boto3 session from flags, then the environment; a local endpoint gets a default region.

    ``AWS_ENDPOINT_URL`` (honoured by boto3 itself) points every client at the local stack.
    """
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region is None and os.environ.get("AWS_ENDPOINT_URL"):
        region = "us-east-1"
    return boto3.Session(profile_name=profile, region_name=region)

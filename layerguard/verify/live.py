"""The live account: one boto3 session, clients bounded in retries and time, and the errors that
mean bad input (no credentials, unknown profile) rather than a finding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions


def error_code(exc: Exception) -> str:
    """The AWS error code of a ClientError ("" for anything else)."""
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, botocore.exceptions.ClientError) else ""


def number(value: Any) -> int | None:
    """An integer from a state or API value (a number or its text), None when it is not one."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


class InputError(Exception):
    """Bad input for verify (exit 2): the message says what is missing and how to give it."""


_CONFIG = botocore.config.Config(retries={"max_attempts": 3, "mode": "standard"},
                                 connect_timeout=10, read_timeout=30)


@dataclass
class Account:
    session: boto3.session.Session
    region: str
    endpoint_url: str | None

    def client(self, service: str, region: str | None = None, attempts: int | None = None):
        config = _CONFIG if attempts is None else _CONFIG.merge(
            botocore.config.Config(retries={"max_attempts": attempts, "mode": "standard"}))
        return self.session.client(service, region_name=region or self.region,
                                   endpoint_url=self.endpoint_url, config=config)


def connect(region: str | None, profile: str | None, endpoint_url: str | None) -> Account:
    try:
        session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
    except botocore.exceptions.ProfileNotFound:
        raise InputError(f"AWS profile {profile!r} is not configured (see `aws configure list-profiles`)") from None
    region = region or session.region_name
    if not region:
        raise InputError("no AWS region: pass --region, set AWS_REGION, or keep the stack's default "
                         "provider region in the state")
    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise InputError(f"AWS credentials cannot be loaded: {exc}") from None
    if credentials is None:
        raise InputError("no AWS credentials found (environment, --profile, SSO or instance role); "
                         "verify needs read access to EC2, ELBv2, WAFv2 and CloudFront")
    return Account(session, region, endpoint_url)


def missing_credentials(exc: BaseException) -> bool:
    return isinstance(exc, (botocore.exceptions.NoCredentialsError,
                            botocore.exceptions.PartialCredentialsError))

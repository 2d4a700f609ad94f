"""The ARN partition and DNS suffix of a region: every ARN or AWS host name the program builds
itself uses these, so a stack in China or GovCloud names its own resources correctly."""

from __future__ import annotations


def partition(region: str) -> str:
    """aws, aws-cn or aws-us-gov."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"

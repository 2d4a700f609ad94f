"""Edge ALB access logs: a private, SSE-S3 bucket that only ELB log delivery may write to, under
the ALB's prefix and this account; wired to the ALB through property dependencies; on in every
stack file and required in prod."""

from __future__ import annotations

import json

import pytest
from _program import LB, ancestors, named, of_type, ok, one_dep, run
from parliament import analyze_policy_string

ACCOUNT_ID = "123456789012"  # what the offline engine's getCallerIdentity answers
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
BUCKET = "aws:s3/bucket:Bucket"
LOG_RESOURCES = {
    "edge-alb-logs-public-access": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "edge-alb-logs-encryption":
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "edge-alb-logs-ownership": "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "edge-alb-logs-lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "edge-alb-logs-policy": "aws:s3/bucketPolicy:BucketPolicy",
}
RETENTION = {"dev": 14, "staging": 30, "prod": 365}


def findings(document: str) -> list[str]:
    return [f"{f.issue}: {f.detail}" for f in analyze_policy_string(document).findings]


@pytest.mark.parametrize("mode", ["preview", "update"])
def test_prod_edge_alb_logs_to_its_bucket(mode):
    result = ok("prod", mode)
    alb, bucket = named(result, "edge-alb"), named(result, "edge-alb-logs")
    logs = alb.inputs.get("accessLogs")
    assert isinstance(logs, dict) and logs.get("enabled") is True, f"{alb.urn}: accessLogs {logs!r}"
    assert logs["prefix"] == "edge-alb" and "AWSLogs" not in logs["prefix"], alb.urn
    # The bucket name comes from the bucket resource, not from a string that merely looks right.
    assert one_dep(alb, "accessLogs") == bucket.urn
    if mode == "update":
        assert isinstance(logs.get("bucket"), str) and logs["bucket"], f"{alb.urn}: bucket {logs!r}"
    # ELB checks the bucket policy when logging is enabled: the ALB must wait for it.
    assert named(result, "edge-alb-logs-policy").urn in alb.dependencies, alb.urn


def test_log_bucket_resources_belong_to_the_edge(stack_run):
    stack, _mode, result = stack_run
    (bucket,) = of_type(result, BUCKET)
    assert bucket.name == "edge-alb-logs" and bucket.layer == "edge", bucket.urn
    assert bucket.inputs["tags"]["layerguard:layer"] == "edge", bucket.urn
    assert "layerguard:edge:AlbPerimeter" in [a.type for a in ancestors(result, bucket)], bucket.urn
    for name, type_token in LOG_RESOURCES.items():
        res = named(result, name)
        assert res.type == type_token and res.layer == "edge", res.urn
        assert res.parent == bucket.parent, f"{res.urn}: parent {res.parent}"
        assert one_dep(res, "bucket") == bucket.urn, res.urn
    assert all(r.type == BUCKET or r.name in LOG_RESOURCES
               for r in result.resources if r.type.startswith("aws:s3/")), stack


def test_log_bucket_is_private_encrypted_owner_enforced_and_expires(stack_run):
    stack, mode, result = stack_run
    block = named(result, "edge-alb-logs-public-access").inputs
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.get(flag) is True, f"{stack}/{mode}: {flag}={block.get(flag)!r}"
    (rule,) = named(result, "edge-alb-logs-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}, rule
    ownership = named(result, "edge-alb-logs-ownership").inputs["rule"]
    assert ownership == {"objectOwnership": "BucketOwnerEnforced"}, ownership
    (expire,) = named(result, "edge-alb-logs-lifecycle").inputs["rules"]
    assert expire["status"] == "Enabled" and expire["expiration"]["days"] == RETENTION[stack], expire
    assert not expire.get("filter", {}).get("prefix"), f"the rule must cover every object: {expire}"
    # Only a stack without deletion protection (dev) may destroy the bucket with its logs.
    assert named(result, "edge-alb-logs").inputs["forceDestroy"] is (stack == "dev")


def test_bucket_policy_lets_only_elb_log_delivery_write_and_denies_insecure_transport(update_run):
    _stack, result = update_run
    bucket, policy = named(result, "edge-alb-logs"), named(result, "edge-alb-logs-policy")
    assert one_dep(policy, "policy") == bucket.urn, policy.urn
    arn = bucket.outputs["arn"]
    prefix = named(result, "edge-alb").inputs["accessLogs"]["prefix"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [{
        "Sid": allows[0].get("Sid"), "Effect": "Allow", "Principal": {"Service": ELB_LOG_DELIVERY},
        "Action": "s3:PutObject", "Resource": f"{arn}/{prefix}/AWSLogs/{ACCOUNT_ID}/*"}], policy.urn
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert len(denies) == 1 and len(statements) == 2, policy.urn
    deny = denies[0]
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*", policy.urn
    assert sorted(deny["Resource"]) == sorted([arn, f"{arn}/*"]), policy.urn
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy.urn


def test_bucket_policy_passes_parliament(update_run):
    _stack, result = update_run
    policy = named(result, "edge-alb-logs-policy")
    assert findings(policy.inputs["policy"]) == [], policy.urn
    # Guards the check against passing vacuously: the same policy granting PutObject on the
    # bucket itself instead of its objects is a finding.
    broken = json.loads(policy.inputs["policy"])
    allow = next(s for s in broken["Statement"] if s["Effect"] == "Allow")
    allow["Resource"] = named(result, "edge-alb-logs").outputs["arn"]
    assert findings(json.dumps(broken)), policy.urn


def test_dev_may_turn_access_logs_off():
    result = ok("dev", "preview", config={"layerguard:albAccessLogs": "false"})
    (alb,) = [r for r in of_type(result, LB) if r.name == "edge-alb"]
    assert not (alb.inputs.get("accessLogs") or {}).get("enabled"), alb.urn
    assert [r.urn for r in result.resources if r.type.startswith("aws:s3/")] == []


def test_prod_without_access_logs_exits_2_naming_the_key():
    result = run("prod", "preview", config={"layerguard:albAccessLogs": "false"})
    assert result.exit_code == 2 and result.resources == [], (result.exit_code, result.error)
    lines = [line.strip() for line in result.error.splitlines() if line.strip().startswith("- ")]
    assert len(lines) == 1 and lines[0].startswith("- albAccessLogs:"), result.error
    assert "prod" in lines[0], lines

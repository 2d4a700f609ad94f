"""IAM: every permission policy passes parliament; each role can do only what its layer needs."""

from __future__ import annotations

import json

from _program import of_type, ok, one_dep
from parliament import analyze_policy_string

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"


# parliament's bundled IAM data predates repository-level permissions for this permission-only
# action; the Service Authorization Reference lists ecr:BatchImportUpstreamImage with resource type
# repository* (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html).
STALE_IN_PARLIAMENT = {("RESOURCE_MISMATCH", "ecr:BatchImportUpstreamImage")}


def _stale(finding) -> bool:
    details = finding.detail if isinstance(finding.detail, list) else [finding.detail]
    return bool(details) and all(isinstance(d, dict) and (finding.issue, d.get("action")) in STALE_IN_PARLIAMENT
                                 for d in details)


def findings(document: str) -> list[str]:
    return [f"{f.issue}: {f.detail}" for f in analyze_policy_string(document).findings if not _stale(f)]


def test_parliament_finds_a_broken_policy():
    """Guards the checks below against passing vacuously."""
    broken = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValu", "Resource": "*"}]}
    assert findings(json.dumps(broken))


def test_permission_policies_pass_parliament(update_run):
    _stack, result = update_run
    policies = of_type(result, ROLE_POLICY)
    assert {p.name for p in policies} == {
        "network-flow-logs-write", "node-execution-policy", "app-execution-policy"}
    for policy in policies:
        assert findings(policy.inputs["policy"]) == [], policy.urn
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            resources = statement["Resource"]
            for arn in [resources] if isinstance(resources, str) else resources:
                # ecr:GetAuthorizationToken has no resource type: "*" is the only form it takes.
                if statement["Action"] == "ecr:GetAuthorizationToken":
                    assert arn == "*", policy.urn
                    continue
                assert arn != "*" and arn.startswith("arn:aws:"), f"{policy.urn}: {arn}"


def test_resource_policies_pass_parliament(update_run):
    """The alarm topic's policy and the WAF log group's own delivery policy."""
    _stack, result = update_run
    documents = {
        "ops-alarms-policy": next(r for r in result.resources if r.name == "ops-alarms-policy").inputs["policy"],
        "edge-waf-logs-delivery-policy": next(r for r in result.resources
                                              if r.name == "edge-waf-logs-delivery-policy").inputs["policyDocument"],
    }
    for name, document in documents.items():
        assert findings(document) == [], name
        for statement in json.loads(document)["Statement"]:
            assert statement["Resource"] != "*" and "aws:SourceAccount" in json.dumps(statement["Condition"]), name


def test_node_execution_role_reads_only_the_token_secret(update_run):
    _stack, result = update_run
    by_name = {r.name: r for r in result.resources}
    policy = json.loads(by_name["node-execution-policy"].inputs["policy"])
    reads = [s for s in policy["Statement"] if "secretsmanager" in json.dumps(s["Action"])]
    containers = json.loads(by_name["node-task"].inputs["containerDefinitions"])
    token_arn = containers[-1]["secrets"][0]["valueFrom"]
    assert reads == [{"Sid": "ReadNodeToken", "Effect": "Allow",
                      "Action": "secretsmanager:GetSecretValue", "Resource": token_arn}]
    app_policy = by_name["app-execution-policy"].inputs["policy"]
    assert "secretsmanager" not in app_policy


def test_node_execution_role_pulls_exactly_the_cached_node_image(update_run):
    stack, result = update_run
    by_name = {r.name: r for r in result.resources}
    statements = json.loads(by_name["node-execution-policy"].inputs["policy"])["Statement"]
    ecr = {s["Sid"]: s for s in statements if "ecr:" in json.dumps(s["Action"])}
    repository = f"arn:aws:ecr:eu-west-1:123456789012:repository/layerguard-{stack}-hub/wallarm/node"
    assert ecr == {
        "EcrAuthorization": {"Sid": "EcrAuthorization", "Effect": "Allow",
                             "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        "PullNodeImage": {"Sid": "PullNodeImage", "Effect": "Allow",
                          "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                          "Resource": repository},
        "CacheNodeImage": {"Sid": "CacheNodeImage", "Effect": "Allow",
                           "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
                           "Resource": repository},
    }
    assert "ecr:" not in by_name["app-execution-policy"].inputs["policy"]


def test_partial_token_arn_and_customer_managed_key():
    """A secret ARN without its random suffix is matched with -??????; a customer-managed key
    on the secret is decryptable through Secrets Manager only."""
    partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:layerguard/dev/wallarm-node-token"
    key = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-4333-8444-555555555555"
    result = ok("dev", "update", config={"layerguard:wallarmTokenSecretArn": partial,
                                         "layerguard:wallarmTokenKmsKeyArn": key})
    policy = next(r for r in result.resources if r.name == "node-execution-policy").inputs["policy"]
    assert findings(policy) == []
    statements = {s["Sid"]: s for s in json.loads(policy)["Statement"]}
    assert statements["ReadNodeToken"]["Resource"] == partial + "-??????"
    assert statements["DecryptNodeToken"] == {
        "Sid": "DecryptNodeToken", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}}


def test_arns_use_the_partition_of_the_region():
    """aws-cn: every ARN the program builds (ECR repository, trust conditions) and the ECR host."""
    cn = {"aws:region": "cn-north-1",
          "layerguard:certificateArn":
              "arn:aws-cn:acm:cn-north-1:123456789012:certificate/00000000-0000-4000-8000-000000000001",
          "layerguard:wallarmTokenSecretArn":
              "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:layerguard/dev/token-AbCdEf",
          "layerguard:dockerHubCredentialArn":
              "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:ecr-pullthroughcache/hub-AbCdEf"}
    result = ok("dev", "update", config=cn)
    by_name = {r.name: r for r in result.resources}
    statements = json.loads(by_name["node-execution-policy"].inputs["policy"])["Statement"]
    pull = next(s for s in statements if s["Sid"] == "PullNodeImage")
    assert pull["Resource"].startswith("arn:aws-cn:ecr:cn-north-1:123456789012:repository/")
    trust = json.loads(by_name["node-task-role"].inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws-cn:ecs:cn-north-1:123456789012:*"
    node = json.loads(by_name["node-task"].inputs["containerDefinitions"])[-1]
    assert node["image"].startswith("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/")


def test_roles_are_separate_and_task_roles_have_no_permissions(update_run):
    _stack, result = update_run
    names = {r.urn: r.name for r in result.resources}
    attached = {names[one_dep(p, "role")] for p in of_type(result, ROLE_POLICY)}
    assert attached == {"network-flow-logs-role", "node-execution-role", "app-execution-role"}
    assert not of_type(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for task in ("node-task", "app-task"):
        res = next(r for r in result.resources if r.name == task)
        execution = names[one_dep(res, "executionRoleArn")]
        role = names[one_dep(res, "taskRoleArn")]
        assert execution != role and role.endswith("-task-role"), (task, execution, role)


def test_trust_policies_name_one_service_and_this_account(update_run):
    """Task roles carry the conditions ECS supplies when tasks assume them (source account and
    ARN); execution roles, assumed by the ECS agent without them, carry none (AWS ECS developer
    guide, task-iam-roles; terraform-aws-modules/ecs task_exec_assume vs tasks_assume)."""
    _stack, result = update_run
    services = {}
    for role in of_type(result, ROLE):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
        services[role.name] = statement["Principal"]["Service"]
        if role.name.endswith("-task-role"):
            assert statement["Condition"] == {
                "StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnLike": {"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:*"}}, role.urn
        elif role.name.endswith("-execution-role"):
            assert "Condition" not in statement, role.urn
    assert services["network-flow-logs-role"] == "vpc-flow-logs.amazonaws.com"
    assert sum(s == "ecs-tasks.amazonaws.com" for s in services.values()) == 4

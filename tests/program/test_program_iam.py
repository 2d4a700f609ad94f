"""IAM: every permission policy passes parliament; each role can do only what its layer needs."""

from __future__ import annotations

import json

from _program import of_type, one_dep
from parliament import analyze_policy_string

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"


def findings(document: str) -> list[str]:
    return [f"{f.issue}: {f.detail}" for f in analyze_policy_string(document).findings]


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
                assert arn != "*" and arn.startswith("arn:aws:"), f"{policy.urn}: {arn}"


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
    _stack, result = update_run
    services = {}
    for role in of_type(result, ROLE):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
        services[role.name] = statement["Principal"]["Service"]
        if services[role.name] == "ecs-tasks.amazonaws.com":
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert services["network-flow-logs-role"] == "vpc-flow-logs.amazonaws.com"
    assert sum(s == "ecs-tasks.amazonaws.com" for s in services.values()) == 4

"""Operations, WAF body handling, the custom domain and the issue-12 settings, through the offline
preview of the real program (update mode unless said: ARNs, ids and names known)."""

from __future__ import annotations

import json

import pytest
from _program import REPO, of_type, ok, one_dep
from test_program_settings import stack_config

from components import settings
from layerguard.engine import preview

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
CONFIG_RULE = "aws:cfg/rule:Rule"
TOPIC = "aws:sns/topic:Topic"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
GIVEN_TOPIC = "arn:aws:sns:eu-west-1:123456789012:oncall"
DOMAIN = {"layerguard:domainName": "api.example.com", "layerguard:hostedZoneId": "Z0123456789ABCDEFGHIJ",
          "layerguard:alarmTopicArn": GIVEN_TOPIC, "layerguard:wafBodySizeAction": "block"}


def by_name(result) -> dict:
    return {r.name: r for r in result.resources}


def test_alarms_watch_the_node_targets_the_edge_and_waf(update_run):
    _stack, result = update_run
    res = by_name(result)
    alarms = {a.name: a.inputs for a in of_type(result, ALARM)}
    assert set(alarms) == {"ops-node-unhealthy-targets", "ops-node-no-healthy-targets", "ops-edge-5xx",
                           "ops-node-5xx", "ops-waf-blocked-spike"}
    topic = res["ops-alarms"]
    for name, alarm in alarms.items():
        assert alarm["alarmActions"] == [topic.outputs["arn"]] == alarm["okActions"], name
        assert alarm["name"].startswith(f"layerguard-{_stack}-"), name
    lb = res["edge-alb"].outputs["arnSuffix"]
    tg = res["edge-node-tg"].outputs["arnSuffix"]
    both = {"LoadBalancer": lb, "TargetGroup": tg}
    assert (alarms["ops-node-unhealthy-targets"]["metricName"], alarms["ops-node-unhealthy-targets"]["dimensions"]) \
        == ("UnHealthyHostCount", both)
    assert alarms["ops-node-unhealthy-targets"]["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarms["ops-node-no-healthy-targets"]["treatMissingData"] == "breaching"
    assert alarms["ops-node-5xx"]["metricName"] == "HTTPCode_Target_5XX_Count"
    assert alarms["ops-node-5xx"]["dimensions"] == both
    assert (alarms["ops-edge-5xx"]["metricName"], alarms["ops-edge-5xx"]["dimensions"]) \
        == ("HTTPCode_ELB_5XX_Count", {"LoadBalancer": lb})
    waf = alarms["ops-waf-blocked-spike"]
    assert waf["namespace"] == "AWS/WAFV2" and waf["metricName"] == "BlockedRequests"
    assert waf["dimensions"] == {"WebACL": res["edge-web-acl"].outputs["name"], "Region": "eu-west-1",
                                 "Rule": "ALL"}
    # CloudWatch and EventBridge may publish, from this account only.
    (statement,) = json.loads(res["ops-alarms-policy"].inputs["policy"])["Statement"]
    assert sorted(statement["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_security_group_changes_alert(update_run):
    _stack, result = update_run
    res = by_name(result)
    rules = {r.name: r for r in of_type(result, RULE)}
    assert set(rules) == {"ops-sg-ingress-changed", "ops-sg-created"}
    pattern = json.loads(rules["ops-sg-ingress-changed"].inputs["eventPattern"])
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert {"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress",
            "ModifySecurityGroupRules"} <= set(pattern["detail"]["eventName"])
    watched = sorted(res[n].outputs["id"] for n in ("node-sg", "app-alb-sg", "app-task-sg"))
    ors = pattern["detail"]["$or"]
    assert ors[0] == {"requestParameters": {"groupId": watched}}
    assert ors[1] == {"requestParameters": {"ModifySecurityGroupRulesRequest": {"GroupId": watched}}}
    created = json.loads(rules["ops-sg-created"].inputs["eventPattern"])
    assert created["detail"]["requestParameters"] == {"vpcId": [res["network-vpc"].outputs["id"]]}
    targets = of_type(result, TARGET)
    assert len(targets) == 2
    for target in targets:
        assert target.inputs["arn"] == res["ops-alarms"].outputs["arn"], target.urn
        assert res[result.by_urn()[one_dep(target, "rule")].name].type == RULE


def test_config_rules_only_where_the_stack_says_a_recorder_runs(update_run):
    stack, result = update_run
    rules = {r.inputs["source"]["sourceIdentifier"]: r.inputs for r in of_type(result, CONFIG_RULE)}
    if stack != "prod":
        assert rules == {}
        return
    assert {"ALB_WAF_ENABLED", "API_GW_ASSOCIATED_WITH_WAF", "RESTRICTED_INCOMING_TRAFFIC",
            "VPC_FLOW_LOGS_ENABLED"} <= set(rules)
    assert all(r["source"]["owner"] == "AWS" for r in rules.values())
    assert json.loads(rules["ALB_DESYNC_MODE_CHECK"]["inputParameters"]) == {"desyncMode": "strictest"}


def test_flow_logs_cover_the_app_subnets(update_run):
    """The VPC-level flow log (network layer) covers every subnet, the app's included."""
    _stack, result = update_run
    (flow,) = of_type(result, "aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    vpc = result.by_urn()[one_dep(flow, "vpcId")]
    app_service = by_name(result)["app-service"]
    for subnet_id in app_service.inputs["networkConfiguration"]["subnets"]:
        subnet = next(s for s in of_type(result, "aws:ec2/subnet:Subnet") if s.outputs.get("id") == subnet_id)
        assert result.by_urn()[one_dep(subnet, "vpcId")].urn == vpc.urn


def test_common_rule_set_counts_oversized_bodies_by_default(update_run):
    _stack, result = update_run
    (acl,) = of_type(result, WEB_ACL)
    common = next(r for r in acl.inputs["rules"] if r["name"] == "AWSManagedRulesCommonRuleSet")
    overrides = common["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert overrides == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    others = [r for r in acl.inputs["rules"] if "managedRuleGroupStatement" in r["statement"]
              and r["name"] != "AWSManagedRulesCommonRuleSet"]
    assert others and all(not r["statement"]["managedRuleGroupStatement"].get("ruleActionOverrides")
                          for r in others)


def test_waf_log_group_has_its_own_delivery_policy(update_run):
    _stack, result = update_run
    res = by_name(result)
    policy = res["edge-waf-logs-delivery-policy"]
    (statement,) = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Resource"] == res["edge-waf-logs"].outputs["arn"] + ":*"
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws:logs:eu-west-1:123456789012:*"
    assert policy.urn in res["edge-waf-logging"].dependencies, "logging waits for its own policy"


@pytest.mark.parametrize("mode", ["preview", "update"])
def test_custom_domain_given_topic_and_blocking_body_rule(mode):
    result = ok("staging", mode, config=DOMAIN)
    res = by_name(result)
    # Custom domain: alias to the edge ALB, a DNS-validated certificate on the HTTPS listener.
    alias = res["edge-domain-alias"].inputs
    assert alias["name"] == "api.example.com" and alias["type"] == "A"
    assert alias["zoneId"] == "Z0123456789ABCDEFGHIJ"
    assert {result.by_urn()[u].name for u in res["edge-domain-alias"].property_dependencies["aliases"]} \
        == {"edge-alb"}
    certificate = res["edge-domain-certificate"].inputs
    assert certificate["domainName"] == "api.example.com" and certificate["validationMethod"] == "DNS"
    listener_cert = res["edge-domain-listener-certificate"]
    assert result.by_urn()[one_dep(listener_cert, "listenerArn")].name == "edge-https"
    assert result.by_urn()[one_dep(listener_cert, "certificateArn")].name == "edge-domain-certificate-validation"
    assert result.outputs["entryUrl"] == "https://api.example.com"
    # A given topic: none created, alarms and rules publish to it.
    assert not of_type(result, TOPIC)
    assert all(a.inputs["alarmActions"] == [GIVEN_TOPIC] for a in of_type(result, ALARM))
    assert all(t.inputs["arn"] == GIVEN_TOPIC for t in of_type(result, TARGET))
    # wafBodySizeAction block: the managed rule keeps its own action.
    (acl,) = of_type(result, WEB_ACL)
    common = next(r for r in acl.inputs["rules"] if r["name"] == "AWSManagedRulesCommonRuleSet")
    assert not common["statement"]["managedRuleGroupStatement"].get("ruleActionOverrides")


def test_pack_checks_override_and_fail_closed_on_the_program():
    """dev renders strict and fails open; a policy config that allows only `off` and makes every
    stack fail closed must report both on the node task, naming what it saw."""
    result = preview(REPO, "dev", "update", policy_pack=REPO / "policy", policy_config={
        "enforce-wallarm-mode": {"allowedModeOverrides": {"*": ["off"]}, "failClosedStacks": ["*"]}})
    assert result.exit_code != 0
    mode = [v for v in result.violations if v.policy == "enforce-wallarm-mode"]
    assert {v.urn.split("::")[-1] for v in mode} == {"node-task"}
    text = "\n".join(v.message for v in mode)
    assert "wallarm_mode_allow_override strict at server level" in text
    assert "WALLARM_FALLBACK 'true'" in text
    assert "wallarm_fallback on at server level" in text
    # The health location proxies to the node's loopback readiness endpoint only: not "upstream".
    assert "proxies upstream" not in text


# --- settings: every bad value of a new key is refused with the key named ---------------------

@pytest.fixture
def problems():
    import pulumi.runtime.config as runtime_config
    saved = (dict(runtime_config.CONFIG.get()), set(runtime_config._SECRET_KEYS.get()))

    def load(stack="dev", overrides=None, secrets=None) -> list[str]:
        config, secret_keys = stack_config(stack, overrides, secrets)
        runtime_config.set_all_config(config, sorted(secret_keys))
        try:
            settings.load()
        except settings.SettingsError as exc:
            return exc.problems
        return []

    yield load
    runtime_config.set_all_config(*saved)


SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
INVALID = [
    ("wallarmModeAllowOverride", {"wallarmModeAllowOverride": "on"}, "dev"),
    ("wallarmModeAllowOverride", {"wallarmModeAllowOverride": "Strict!"}, "dev"),
    ("nodeFailClosed", {"nodeFailClosed": "false"}, "prod"),
    ("nodeFailClosed", {"nodeFailClosed": "maybe"}, "dev"),
    ("nodeFailClosed", {"nodeImageTag": "6.13.0"}, "staging"),
    ("nodeImagePullThrough", {"nodeImagePullThrough": "yes"}, "dev"),
    ("nodeImagePullThroughPrefix", {"nodeImagePullThroughPrefix": "Docker_Hub"}, "dev"),
    ("nodeImagePullThroughPrefix", {"nodeImagePullThroughPrefix": "x"}, "dev"),
    ("dockerHubCredentialArn", {"dockerHubCredentialArn": ""}, "dev"),
    ("dockerHubCredentialArn", {"dockerHubCredentialArn": SECRET + "dockerhub-AbCdEf"}, "dev"),
    ("dockerHubCredentialArn", {"dockerHubCredentialArn": (SECRET + "ecr-pullthroughcache/hub-AbCdEf")
                                .replace("eu-west-1", "us-east-1")}, "dev"),
    ("wallarmTokenKmsKeyArn", {"wallarmTokenKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:alias/token"}, "dev"),
    ("wallarmTokenKmsKeyArn", {"wallarmTokenKmsKeyArn":
                               "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555"}, "dev"),
    ("nodeMaxBodySizeMib", {"nodeMaxBodySizeMib": "0"}, "dev"),
    ("nodeMaxBodySizeMib", {"nodeMaxBodySizeMib": "2048"}, "dev"),
    ("nodeMaxBodySizeMib", {"nodeMaxBodySizeMib": "1m"}, "dev"),
    ("wafBodySizeAction", {"wafBodySizeAction": "allow"}, "dev"),
    ("waitForSteadyState", {"waitForSteadyState": "soon"}, "dev"),
    ("alarmTopicArn", {"alarmTopicArn": "oncall"}, "dev"),
    ("alarmTopicArn", {"alarmTopicArn": GIVEN_TOPIC.replace("eu-west-1", "us-east-1")}, "dev"),
    ("awsConfigRules", {"awsConfigRules": "recorder"}, "dev"),
    ("domainName", {"domainName": "not a name", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}, "dev"),
    ("domainName", {"hostedZoneId": "Z0123456789ABCDEFGHIJ"}, "dev"),
    ("hostedZoneId", {"domainName": "api.example.com"}, "dev"),
    ("hostedZoneId", {"domainName": "api.example.com", "hostedZoneId": "zone-1"}, "dev"),
]


@pytest.mark.parametrize("key,overrides,stack", INVALID,
                         ids=[f"{k}={list(o.values())[-1]}" for k, o, _s in INVALID])
def test_each_invalid_new_setting_is_named(problems, key, overrides, stack):
    found = problems(stack, overrides)
    assert len(found) == 1, found
    assert found[0].startswith(f"{key}:"), found
    assert "got" in found[0] and ("allowed" in found[0] or "must" in found[0] or "required" in found[0]
                                  or "needs" in found[0] or "only with" in found[0] or "expected" in found[0]), found


def test_kms_key_only_with_an_existing_secret(problems):
    """The secret the program creates itself uses the AWS managed key: a key ARN there is refused."""
    found = problems("dev", {"wallarmTokenSecretArn": "", "wallarmTokenKmsKeyArn":
                             "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-4333-8444-555555555555"},
                     secrets={"wallarmToken": "x" * 20})
    assert len(found) == 1 and found[0].startswith("wallarmTokenKmsKeyArn:"), found


def test_valid_new_settings_load(problems):
    assert problems("staging", {
        "wallarmModeAllowOverride": "off", "nodeMaxBodySizeMib": "1024", "wafBodySizeAction": "block",
        "nodeImagePullThrough": "false", "dockerHubCredentialArn": "",
        "wallarmTokenKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-4333-8444-555555555555",
        **{k.split(":")[1]: v for k, v in DOMAIN.items()}}) == []


# --- the pack's predicates on hand-written task definitions (no preview needed) ---------------

def _node_mode():
    import sys
    pack = str(REPO / "policy")
    if pack not in sys.path:
        sys.path.insert(0, pack)
    from guard.policies.wallarm import node_mode
    return node_mode


NODE = {"name": "wallarm", "image": "wallarm/node:7.1.0",
        "environment": [{"name": "WALLARM_MODE", "value": "block"}, {"name": "WALLARM_FALLBACK", "value": "false"},
                        {"name": "WALLARM_IGNORE_REGISTER_ERROR", "value": "false"}]}


def _vhost(body: str) -> dict:
    return {"name": "vhost", "image": "busybox", "environment": [{"name": "NODE_VHOST", "value": body}]}


GOOD_VHOST = """server {
    wallarm_mode block;
    wallarm_mode_allow_override strict;
    wallarm_fallback off;
    location = /healthz { wallarm_mode off; proxy_pass http://127.0.0.1:9446/ready; }
    location / { proxy_pass http://app.internal:8080; }
}"""


def test_pack_override_and_fallback_predicates():
    node_mode = _node_mode()
    prod = ["strict", "off"]
    assert list(node_mode._overrides([NODE], [_vhost(GOOD_VHOST), NODE], "prod", prod)) == []
    assert list(node_mode._fail_closed([NODE], [_vhost(GOOD_VHOST), NODE], "prod")) == []
    # No custom vhost: the image's default `on` lets the Cloud weaken the mode.
    (env_only,) = node_mode._overrides([NODE], [NODE], "prod", prod)
    assert "'wallarm'" in env_only and "'on'" in env_only
    assert list(node_mode._overrides([NODE], [NODE], "dev", ["strict", "off", "on"])) == []
    # A location may not loosen what the server level pins.
    loose = GOOD_VHOST.replace("location / {", "location / { wallarm_mode_allow_override on;")
    (finding,) = node_mode._overrides([NODE], [_vhost(loose), NODE], "prod", prod)
    assert "wallarm_mode_allow_override on in 'location /'" in finding
    # Fail closed: the environment and every vhost level.
    fallback_on = dict(NODE, environment=[e for e in NODE["environment"] if e["name"] != "WALLARM_FALLBACK"])
    (finding,) = node_mode._fail_closed([fallback_on], [_vhost(GOOD_VHOST), fallback_on], "prod")
    assert "WALLARM_FALLBACK None" in finding
    # The 7.x image starts NGINX after a failed start-up unless registration errors are fatal
    # (scripts/init at 7.1.0: the wd --wait-init gate), so that switch is required too.
    for value in (None, "true"):
        env = [e for e in NODE["environment"] if e["name"] != "WALLARM_IGNORE_REGISTER_ERROR"]
        lenient = dict(NODE, environment=env + ([{"name": "WALLARM_IGNORE_REGISTER_ERROR", "value": value}]
                                                if value else []))
        (finding,) = node_mode._fail_closed([lenient], [_vhost(GOOD_VHOST), lenient], "prod")
        assert f"WALLARM_IGNORE_REGISTER_ERROR {value!r}" in finding
    from_secret = dict(NODE, secrets=[{"name": "WALLARM_FALLBACK", "valueFrom": "arn:aws:ssm:x"}])
    (finding,) = node_mode._fail_closed([from_secret], [_vhost(GOOD_VHOST), from_secret], "prod")
    assert "from a secret" in finding
    reopened = GOOD_VHOST.replace("location / {", "location / { wallarm_fallback on;")
    (finding,) = node_mode._fail_closed([NODE], [_vhost(reopened), NODE], "prod")
    assert "wallarm_fallback on in 'location /'" in finding


def test_pack_health_location_proxying_to_the_node_is_not_upstream():
    node_mode = _node_mode()
    assert node_mode._node_health_only(GOOD_VHOST, "location = /healthz")
    assert not node_mode._node_health_only(GOOD_VHOST, "location /")
    mixed = GOOD_VHOST.replace("proxy_pass http://127.0.0.1:9446/ready;",
                               "proxy_pass http://127.0.0.1:9446/ready; grpc_pass grpc://app.internal:50051;")
    assert not node_mode._node_health_only(mixed, "location = /healthz")
    # Another loopback port may be a container of the same task (one network namespace): the app.
    sidecar = GOOD_VHOST.replace("http://127.0.0.1:9446/ready", "http://127.0.0.1:8080/")
    assert not node_mode._node_health_only(sidecar, "location = /healthz")
    (finding,) = node_mode._vhost_modes([_vhost(sidecar)], "prod", ["block"])
    assert "'location = /healthz', which proxies upstream" in finding
    # The mode rule itself: filtering off where the location forwards to the app is still reported.
    leaky = GOOD_VHOST.replace("proxy_pass http://127.0.0.1:9446/ready;", "proxy_pass http://app.internal:8080;")
    (finding,) = node_mode._vhost_modes([_vhost(leaky)], "prod", ["block"])
    assert "proxies upstream" in finding
    assert list(node_mode._vhost_modes([_vhost(GOOD_VHOST)], "prod", ["block"])) == []

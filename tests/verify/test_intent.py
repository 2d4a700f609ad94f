"""What the state intends for a security group, compared with rules as EC2 describes them, and
what the pack is sent for a group."""

from __future__ import annotations

from layerguard.verify.reachability import properties
from layerguard.verify.security_groups import intended_rules, live_rule_key
from layerguard.verify.state import parse

P = "urn:pulumi:dev::p::"


def state():
    group = {"urn": P + "aws:ec2/securityGroup:SecurityGroup::app", "type": "aws:ec2/securityGroup:SecurityGroup",
             "custom": True, "id": "sg-app",
             "inputs": {"ingress": [{"protocol": "tcp", "fromPort": 8080, "toPort": 8080,
                                     "cidrBlocks": ["10.20.0.0/19"], "securityGroups": ["sg-node"]},
                                    {"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]},
             # refreshed outputs mirror every rule the account had, declared or not
             "outputs": {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}],
                         "tags": {"layerguard:layer": "app"}}}
    legacy = {"urn": P + "aws:ec2/securityGroupRule:SecurityGroupRule::in-443", "custom": True,
              "type": "aws:ec2/securityGroupRule:SecurityGroupRule", "id": "sgrule-1",
              "inputs": {"type": "ingress", "protocol": "6", "fromPort": 443, "toPort": 443,
                         "prefixListIds": ["pl-3b927c52"], "securityGroupId": "sg-app"}}
    egress = {**legacy, "urn": P + "aws:ec2/securityGroupRule:SecurityGroupRule::out",
              "inputs": {**legacy["inputs"], "type": "egress", "fromPort": 5432, "toPort": 5432}}
    return parse({"version": 3, "deployment": {"resources": [group, legacy, egress]}})


def live(**fields):
    return {"SecurityGroupRuleId": "sgr-x", "IsEgress": False, **fields}


def test_declared_rules_match_their_live_form():
    s = state()
    intended = intended_rules(s, s.resources[0])
    for rule in (live(IpProtocol="tcp", FromPort=8080, ToPort=8080, CidrIpv4="10.20.0.0/19"),
                 live(IpProtocol="6", FromPort=8080, ToPort=8080, ReferencedGroupInfo={"GroupId": "sg-node"}),
                 live(IpProtocol="-1", FromPort=-1, ToPort=-1, ReferencedGroupInfo={"GroupId": "sg-app"}),
                 live(IpProtocol="tcp", FromPort=443, ToPort=443, PrefixListId="pl-3b927c52")):
        assert live_rule_key(rule) in intended, rule
    assert len(intended) == 4


def test_undeclared_rules_do_not_match():
    s = state()
    intended = intended_rules(s, s.resources[0])
    for rule in (live(IpProtocol="tcp", FromPort=22, ToPort=22, CidrIpv4="0.0.0.0/0"),  # only in refreshed outputs
                 live(IpProtocol="tcp", FromPort=8081, ToPort=8081, CidrIpv4="10.20.0.0/19"),
                 live(IpProtocol="tcp", FromPort=5432, ToPort=5432, PrefixListId="pl-3b927c52")):  # the egress rule
        assert live_rule_key(rule) not in intended, rule


def test_the_pack_gets_the_declared_ingress_not_the_refreshed_one():
    props = properties(state().resources[0])
    assert props["ingress"][0]["securityGroups"] == ["sg-node"] and len(props["ingress"]) == 2
    assert props["tags"] == {"layerguard:layer": "app"}

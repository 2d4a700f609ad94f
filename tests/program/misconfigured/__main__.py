"""The real program with one typical misconfiguration of an entry, chosen by `misconfig:case`.

Used by tests/program/test_program_entries.py to prove the policy pack catches each one. Changes
to resources the program creates go through a stack transformation (applied by the Python SDK in
this process, before registration); additions are made after the program ran, from its globals.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
CASE = pulumi.Config("misconfig").require("case")


def transform(args: pulumi.ResourceTransformationArgs):
    props, name = args.props, args.name
    changed = None
    if CASE == "cloudfront-acl-outside-us-east-1" and args.type_ == "aws:wafv2/webAcl:WebAcl":
        changed = {**props, "region": "eu-west-1"}     # v7's per-resource region input
    elif CASE == "distribution-without-web-acl" and args.type_ == "aws:cloudfront/distribution:Distribution":
        changed = {**props, "web_acl_id": None}
    elif CASE == "header-not-required" and name == "edge-origin-https":
        # The listener forwards everything: only the prefix list is left in front of the origin.
        rule_forward = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=_tg_arn())
        changed = {**props, "default_actions": [rule_forward]}
    elif CASE in ("alb-without-web-acl", "stage-without-web-acl") \
            and args.type_ == "aws:wafv2/webAclAssociation:WebAclAssociation":
        # The association names some other resource: the entry itself has none.
        changed = {**props, "resource_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
                                            "loadbalancer/app/someone-else/0123456789abcdef"}
    elif CASE == "exemption-tag-missing" and name == "edge-nlb":
        # An NLB without WAF whose exemption nobody wrote down.
        tags = {k: v for k, v in (props.get("tags") or {}).items() if k != "layerguard:waf-exemption"}
        changed = {**props, "tags": tags}
    if changed is None:
        return None
    return pulumi.ResourceTransformationResult(changed, args.opts)


_TG: dict = {}


def _tg_arn():
    return _TG["origin"].arn


def remember(args: pulumi.ResourceTransformationArgs):
    if args.name == "edge-origin-node-tg":
        _TG["origin"] = args.resource
    return None


pulumi.runtime.register_stack_transformation(remember)
pulumi.runtime.register_stack_transformation(transform)
program = runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")
edge, app, nodes, network = program["edge"], program["app"], program["nodes"], program["network"]
child = pulumi.ResourceOptions(providers=[program["provider"]])

if CASE == "app-open-to-world":
    # Someone opens the internal app ALB to the internet (it stays internal, but a public route
    # or a peering would do the rest): the pack must name the rule.
    aws.vpc.SecurityGroupIngressRule(
        "misconfig-app-open", security_group_id=app.security_group.id, cidr_ipv4="0.0.0.0/0",
        ip_protocol="tcp", from_port=8080, to_port=8080, opts=child)
elif CASE == "origin-open-to-world":
    aws.vpc.SecurityGroupIngressRule(
        "misconfig-origin-open", security_group_id=edge.security_group.id, cidr_ipv4="0.0.0.0/0",
        ip_protocol="tcp", from_port=443, to_port=443, opts=child)
elif CASE == "vpc-link-to-app":
    # A second route of the REST API that reaches the app's load balancer, not the nodes.
    link = aws.apigateway.VpcLink("misconfig-link", target_arn=app.load_balancer.arn, opts=child)
    direct = aws.apigateway.Resource("misconfig-direct", rest_api=edge.rest_api.id,
                                     parent_id=edge.rest_api.root_resource_id, path_part="direct",
                                     opts=child)
    method = aws.apigateway.Method("misconfig-direct-any", rest_api=edge.rest_api.id,
                                   resource_id=direct.id, http_method="ANY", authorization="NONE",
                                   opts=child)
    aws.apigateway.Integration(
        "misconfig-direct-app", rest_api=edge.rest_api.id, resource_id=direct.id,
        http_method=method.http_method, type="HTTP_PROXY", integration_http_method="ANY",
        connection_type="VPC_LINK", connection_id=link.id,
        uri=pulumi.Output.concat("http://", app.load_balancer.dns_name, ":8080/"), opts=child)

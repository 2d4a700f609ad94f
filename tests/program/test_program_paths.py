"""The only network path is internet -> edge ALB -> nodes -> app ALB -> app, in every stack and mode.

Security groups and their rules are linked through property dependencies (URNs), never ids, so the
checks hold at preview, where every id is unknown.
"""

from __future__ import annotations

from _program import EGRESS, INGRESS, LB, SERVICE, SG, dep, of_type, ok, one_dep

INTERNET = "0.0.0.0/0"


def rule_set(result) -> set[tuple]:
    """(direction, security group, peer, port) for every rule; peer is a SG name or a CIDR."""
    names = {r.urn: r.name for r in of_type(result, SG)}
    rules = set()
    for type_token, direction in ((INGRESS, "in"), (EGRESS, "out")):
        for rule in of_type(result, type_token):
            inputs = rule.inputs
            assert inputs["ipProtocol"] == "tcp", f"{rule.urn}: protocol {inputs['ipProtocol']}"
            assert inputs["fromPort"] == inputs["toPort"], f"{rule.urn}: a port range"
            owner = names[one_dep(rule, "securityGroupId")]
            if "referencedSecurityGroupId" in inputs:
                peer = names[one_dep(rule, "referencedSecurityGroupId")]
            else:
                peer = inputs["cidrIpv4"]
                assert "cidrIpv6" not in inputs and "prefixListId" not in inputs, rule.urn
            rules.add((direction, owner, peer, int(inputs["toPort"])))
    return rules


def expected_rules(https: bool = True) -> set[tuple]:
    return {
        *({("in", "edge-alb-sg", INTERNET, 443)} if https else set()),
        ("in", "edge-alb-sg", INTERNET, 80),
        ("out", "edge-alb-sg", "node-sg", 80),
        ("in", "node-sg", "edge-alb-sg", 80),
        ("out", "node-sg", "app-alb-sg", 8080),
        ("out", "node-sg", INTERNET, 443),  # Wallarm Cloud, registry, AWS APIs
        ("in", "app-alb-sg", "node-sg", 8080),
        ("out", "app-alb-sg", "app-task-sg", 8080),
        ("in", "app-task-sg", "app-alb-sg", 8080),
        ("out", "app-task-sg", INTERNET, 443),  # image pull and logs from the task's own ENI
    }


def test_security_group_rules_are_exactly_the_intended_path(stack_run):
    stack, mode, result = stack_run
    assert rule_set(result) == expected_rules(), f"{stack}/{mode}"
    for sg in of_type(result, SG):
        # No inline rules anywhere: every rule is one of the standalone ones checked above.
        assert not sg.inputs.get("ingress") and not sg.inputs.get("egress"), sg.urn
    default = of_type(result, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert len(default) == 1 and default[0].inputs.get("ingress", []) == [] \
        and default[0].inputs.get("egress", []) == [], "the VPC's default SG must be emptied"


def test_load_balancers_and_services_sit_behind_their_groups(stack_run):
    stack, mode, result = stack_run
    names = {r.urn: r.name for r in result.resources}
    members = {}
    for res in of_type(result, LB):
        members[res.name] = [names[u] for u in dep(res, "securityGroups")]
    for res in of_type(result, SERVICE):
        members[res.name] = sorted(names[u] for u in dep(res, "networkConfiguration")
                                   if names[u].endswith("-sg"))
    assert members == {"edge-alb": ["edge-alb-sg"], "app-alb": ["app-alb-sg"],
                       "node-service": ["node-sg"], "app-service": ["app-task-sg"]}, f"{stack}/{mode}"


def test_traffic_hops_edge_to_nodes_to_app(stack_run):
    _stack, _mode, result = stack_run
    names = {r.urn: r.name for r in result.resources}
    by_name = {r.name: r for r in result.resources}
    https = by_name["edge-https"]
    assert names[one_dep(https, "loadBalancerArn")] == "edge-alb"
    assert [names[u] for u in dep(https, "defaultActions")] == ["edge-node-tg"]
    assert [names[u] for u in dep(by_name["node-service"], "loadBalancers")] == ["edge-node-tg"]
    assert [names[u] for u in dep(by_name["app-service"], "loadBalancers")] == ["app-tg"]
    assert names[one_dep(by_name["app-listener"], "loadBalancerArn")] == "app-alb"
    record = by_name["app-dns"]
    assert names[one_dep(record, "aliases")] == "app-alb"
    assert names[one_dep(by_name["edge-web-acl-alb"], "resourceArn")] == "edge-alb"


def test_http_listener_only_redirects(stack_run):
    _stack, _mode, result = stack_run
    by_name = {r.name: r for r in result.resources}
    http = by_name["edge-http"].inputs
    (action,) = http["defaultActions"]
    assert action["type"] == "redirect" and action["redirect"]["protocol"] == "HTTPS"
    https = by_name["edge-https"].inputs
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    edge = by_name["edge-alb"].inputs
    assert edge["dropInvalidHeaderFields"] is True
    assert edge["desyncMitigationMode"] == "strictest"
    assert edge["xffHeaderProcessingMode"] == "append"


def test_no_public_ip_outside_the_edge(stack_run):
    _stack, _mode, result = stack_run
    names = {r.urn: r.name for r in result.resources}
    for res in of_type(result, SERVICE):
        assert res.inputs["networkConfiguration"]["assignPublicIp"] is False, res.urn
        subnets = [names[u] for u in dep(res, "networkConfiguration") if "subnet" in u.split("::")[-2]]
        assert subnets and all(n.startswith("network-private-") for n in subnets), (res.urn, subnets)
    for res in of_type(result, "aws:ec2/subnet:Subnet"):
        assert res.inputs["mapPublicIpOnLaunch"] is False, res.urn
    for res in of_type(result, LB):
        if res.inputs["internal"] is not True:
            assert res.layer == "edge", f"{res.urn}: internet-facing outside the edge"
            assert all(names[u].startswith("network-public-") for u in dep(res, "subnets"))
        else:
            assert all(names[u].startswith("network-private-") for u in dep(res, "subnets"))
    eips = {r.urn for r in of_type(result, "aws:ec2/eip:Eip")}
    users = {u for r in of_type(result, "aws:ec2/natGateway:NatGateway") for u in dep(r, "allocationId")}
    assert eips == users, "an Elastic IP that is not a NAT gateway's"
    for res in result.resources:
        assert res.inputs.get("associatePublicIpAddress") is not True, res.urn


def test_http_only_is_possible_in_dev_when_asked():
    result = ok("dev", "preview", config={"layerguard:allowHttpOnly": "true",
                                          "layerguard:certificateArn": ""})
    assert rule_set(result) == expected_rules(https=False)
    by_name = {r.name: r for r in result.resources}
    assert "edge-https" not in by_name
    (action,) = by_name["edge-http"].inputs["defaultActions"]
    assert action["type"] == "forward"

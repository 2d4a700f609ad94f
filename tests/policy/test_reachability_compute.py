"""The compute family of the reachability model over hand-built resources (issue 18): what proves an
Auto Scaling group or an instance to run the Wallarm node (model.py ASSUMPTIONS, "A NODE"), what a
literal address and a Cloud Map service name, and the Wallarm rules on EC2 launch data. The previews are tests/policy/test_reachability_entries.py
(`ec2-nodes`) and tests/program/test_program_entries.py (`examples/ec2-fleet.yaml`)."""

from __future__ import annotations

import base64

import pytest
from test_reachability_model import Builder, openers

from guard.framework import Resource, Stack, Unknown
from guard.policies.wallarm import node_mode, token_secret
from guard.reachability import Model
from guard.reachability.model import NodeRules

LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
INSTANCE = "aws:ec2/instance:Instance"
TG_ATTACHMENT = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
CLOUD_INIT = "/opt/wallarm/usr/share/wallarm-common/cloud-init.py"
AMI = "ami-0a1b2c3d4e5f60718"
DECLARED = {"layerguard:node-ami-owner": "679593333241", "layerguard:node-ami-name": "wallarm-node-7-1-20260101"}
BOOT = f'#!/bin/bash\nset -e\ntoken="$(fetch-token)"\n{CLOUD_INIT} -t "$token" -H api.wallarm.com -m block\n'


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def ec2_cell(user_data: str | None = BOOT, tags: dict | None = None, image=AMI, tg_port: int = 80):
    """The model's compliant cell with its node service replaced by an Auto Scaling group."""
    b = Builder()
    cell = b.cell()
    b.resources.remove(cell["node"])
    node_tg = next(r for r in b.resources if r.name == "node-tg")
    node_tg.props["port"] = tg_port
    props = {"imageId": image, "tags": {"layerguard:layer": "node", **(DECLARED if tags is None else tags)}}
    if user_data is not None:
        props["userData"] = b64(user_data)
    lt = b.add(LT, "node-lt", props, {"vpcSecurityGroupIds": [cell["sg"]["node"]]})
    asg = b.add(ASG, "node-asg", {"tags": [{"key": "layerguard:layer", "value": "node", "propagateAtLaunch": True}]},
                {"launchTemplate": [lt], "vpcZoneIdentifiers": [cell["node_sub"]], "targetGroupArns": [node_tg]})
    return b, cell, lt, asg


def model(b: Builder, **rules) -> Model:
    return Model(Stack(list(b.resources)), node_rules=NodeRules(**rules))


def test_declared_wallarm_ami_with_its_set_up_is_a_proven_node():
    b, _cell, _lt, asg = ec2_cell()
    m = model(b)
    assert m.filters == {asg.urn} and not m.unproven, m.unproven
    assert openers(m) == set()


@pytest.mark.parametrize("user_data,tags,why", [
    (None, None, "declaration alone"),                                   # tags, no user data
    (BOOT.replace(CLOUD_INIT, "/usr/local/bin/setup.sh"), None, "does not run"),
    (f"#!/bin/bash\n# {CLOUD_INIT} -t x\n", None, "does not run"),       # only in a comment
    (BOOT, {}, "declares no AMI lookup"),                                # user data, no declaration
    (BOOT, {**DECLARED, "layerguard:node-ami-owner": "123456789012"}, "not an account"),
    (BOOT, {**DECLARED, "layerguard:node-ami-name": "wallarm-node-5-2-20240101"}, "major 5"),
    (BOOT, {**DECLARED, "layerguard:node-ami-name": "ubuntu-jammy-22.04"}, "not a Wallarm node image"),
])
def test_ec2_node_without_evidence_is_not_a_filter(user_data, tags, why):
    b, _cell, _lt, asg = ec2_cell(user_data, tags)
    m = model(b)
    assert not m.filters and why in m.unproven[asg.urn], m.unproven
    assert "node-asg" in openers(m)  # traffic passes the unproven group to the app


def test_an_ami_id_the_policy_owner_lists_is_evidence_alone():
    b, _cell, _lt, asg = ec2_cell(user_data=None, tags={})
    assert asg.urn in model(b).unproven
    assert model(b, ami_ids=(AMI,)).filters == {asg.urn}


def test_the_target_group_must_send_to_the_port_the_node_listens_on():
    vhost = BOOT + "cat > /etc/nginx/conf.d/node.conf <<'EOF'\nserver {\n  listen 8080;\n  wallarm_mode block;\n}\nEOF\n"
    b, _cell, _lt, asg = ec2_cell(vhost, tg_port=80)
    assert "port 80" in model(b).unproven[asg.urn]
    b, _cell, _lt, asg = ec2_cell(vhost, tg_port=8080)
    assert model(b).filters == {asg.urn}


def test_unknown_user_data_is_trusted_at_preview_only_for_a_secret_reference():
    b, _cell, lt, asg = ec2_cell()
    secret = b.add("aws:secretsmanager/secret:Secret", "token", {})
    lt.props["userData"] = Unknown("x", "string")
    lt.property_dependencies["userData"] = (secret.urn,)
    m = model(b)
    assert m.filters == {asg.urn} and m.pending == {asg.urn: "token"}
    other = next(r for r in b.resources if r.name == "app-alb")
    lt.property_dependencies["userData"] = (secret.urn, other.urn)
    assert "unknown at preview" in model(b).unproven[asg.urn]


def test_an_instance_is_proven_from_its_own_base64_user_data_and_tags():
    b = Builder()
    cell = b.cell()
    b.resources.remove(cell["node"])
    node_tg = next(r for r in b.resources if r.name == "node-tg")
    box = b.add(INSTANCE, "node-box", {"ami": AMI, "userDataBase64": b64(BOOT),
                                       "tags": {"layerguard:layer": "node", **DECLARED}},
                {"subnetId": [cell["node_sub"]], "vpcSecurityGroupIds": [cell["sg"]["node"]]})
    b.add(TG_ATTACHMENT, "box-attachment", {"port": 80}, {"targetGroupArn": [node_tg], "targetId": [box]})
    assert model(b).filters == {box.urn}
    box.props.pop("userDataBase64")
    box.props["userData"] = "0" * 40  # the provider's SHA-1 of plain userData: not readable
    assert "userDataBase64" in model(b).unproven[box.urn]


def test_a_literal_ip_in_the_node_subnet_is_an_address_not_a_node():
    b = Builder()
    b.cell()
    node_tg = next(r for r in b.resources if r.name == "node-tg")
    att = b.add(TG_ATTACHMENT, "ip-target", {"targetId": "10.0.10.50", "port": 80}, {"targetGroupArn": [node_tg]})
    m = model(b)
    assert att.urn not in m.filters and m.endpoints[att.urn].kind == "address"
    assert openers(m) == {"ip-target"}


def test_a_literal_ip_an_instance_is_configured_with_names_that_instance():
    b = Builder()
    cell = b.cell()
    node_tg = next(r for r in b.resources if r.name == "node-tg")
    box = b.add(INSTANCE, "app-box", {"privateIp": "10.0.20.9"}, {"subnetId": [cell["app_sub"]]}, layer="app")
    b.add(TG_ATTACHMENT, "ip-target", {"targetId": "10.0.20.9"}, {"targetGroupArn": [node_tg]})
    m = model(b)
    assert m.tg_members[node_tg.urn][-1][0] == box.urn
    assert "ip-target" in openers(m)


# -- Cloud Map: what an HTTP API's VPC link integration reaches is what the service lists

def cloudmap_cell(sd_layer: str):
    b = Builder()
    cell = b.cell()
    unk = Unknown("x", "string")
    link = b.add("aws:apigatewayv2/vpcLink:VpcLink", "link", {}, {"subnetIds": [cell["node_sub"]],
                                                                 "securityGroupIds": [cell["sg"]["edge"]]}, layer="edge")
    api = b.add("aws:apigatewayv2/api:Api", "http-api", {"protocolType": "HTTP"}, layer="edge")
    sd = b.add("aws:servicediscovery/service:Service", "sd", {}, layer=sd_layer)
    b.add("aws:apigatewayv2/integration:Integration", "integration",
          {"integrationUri": unk, "connectionType": "VPC_LINK", "connectionId": unk},
          {"apiId": [api], "connectionId": [link], "integrationUri": [sd]})
    return b, cell, sd


def test_an_app_address_registered_in_the_nodes_cloud_map_service_opens_the_path():
    b, _cell, sd = cloudmap_cell("node")
    b.add("aws:servicediscovery/instance:Instance", "app-instance",
          {"attributes": {"AWS_INSTANCE_IPV4": "10.0.20.15", "AWS_INSTANCE_PORT": "8080"}}, {"serviceId": [sd]})
    m = model(b)
    assert openers(m) == {"app-instance"}
    assert m.endpoints[next(r.urn for r in b.resources if r.name == "app-instance")].layer == "app"


def test_an_app_service_in_an_app_cloud_map_service_is_opened_by_the_integration():
    b, cell, sd = cloudmap_cell("app")
    cell["app"].property_dependencies["serviceRegistries"] = (sd.urn,)
    assert openers(model(b)) == {"integration"}


def test_a_cloud_map_registration_of_a_sidecar_port_is_not_the_node():
    b, cell, sd = cloudmap_cell("node")
    cell["node"].property_dependencies["serviceRegistries"] = (sd.urn,)
    cell["node"].props["serviceRegistries"] = [{"containerName": "wallarm", "containerPort": 80}]
    assert cell["node"].urn in model(b).filters
    cell["node"].props["serviceRegistries"] = [{"containerName": "wallarm", "containerPort": 8081}]
    assert "port 8081" in model(b).unproven[cell["node"].urn]


# -- IPv6 at the first preview: the subnet's block is computed from the VPC's, its route is known

@pytest.mark.parametrize("gateway,expected", [("igw", {"app-svc", "v6-default"}), ("eigw", set())])
def test_tasks_in_a_dual_stack_subnet_are_public_where_v6_routes_to_an_internet_gateway(gateway, expected):
    b = Builder()
    cell = b.cell()
    unk = Unknown("x", "string")
    cell["app_sub"].props["ipv6CidrBlock"] = unk
    cell["app_sub"].property_dependencies["ipv6CidrBlock"] = (cell["vpc"].urn,)
    rt = b.add("aws:ec2/routeTable:RouteTable", "v6-rt", {"vpcId": unk}, {"vpcId": [cell["vpc"]]}, layer="network")
    target = cell["igw"] if gateway == "igw" else b.add("aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
                                                        "eigw", {"vpcId": unk}, {"vpcId": [cell["vpc"]]})
    prop = "gatewayId" if gateway == "igw" else "egressOnlyGatewayId"
    b.add("aws:ec2/route:Route", "v6-default", {"routeTableId": unk, prop: unk, "destinationIpv6CidrBlock": "::/0"},
          {"routeTableId": [rt], prop: [target]})
    b.add("aws:ec2/routeTableAssociation:RouteTableAssociation", "app-v6-rt", {"subnetId": unk, "routeTableId": unk},
          {"subnetId": [cell["app_sub"]], "routeTableId": [rt]})
    b.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "v6-world",
          {"ipProtocol": "tcp", "fromPort": 80, "toPort": 8080, "cidrIpv6": "::/0", "securityGroupId": unk},
          {"securityGroupId": [cell["sg"]["app"]]})
    assert openers(model(b)) == expected


# -- the Wallarm rules on launch data

def launch_template(script: str) -> Resource:
    return Resource(urn=f"urn:pulumi:dev::p::{LT}::node-lt", type=LT, name="node-lt", props={"userData": b64(script)})


def defaults(rule) -> dict:
    return {k: v["default"] for k, v in rule.config.items()}


def test_a_literal_token_in_user_data_is_refused(monkeypatch):
    assert list(token_secret.check_any(launch_template(BOOT), {})) == []
    found = list(token_secret.check_any(launch_template(BOOT.replace('"$token"', "s3cr3t-token")), {}))
    assert len(found) == 1 and "literal Wallarm token" in found[0]
    assert list(token_secret.check_any(launch_template("#!/bin/bash\necho hi\n"), {})) == []  # not a node


def test_the_cloud_init_mode_and_vhost_are_judged(monkeypatch):
    monkeypatch.setenv("PULUMI_STACK", "prod")
    cfg = defaults(node_mode.RULE)
    strict = BOOT + ("cat > /etc/nginx/conf.d/n.conf <<'V'\nserver {\n  wallarm_mode block;\n"
                     "  wallarm_mode_allow_override strict;\n  wallarm_fallback off;\n}\nV\n")
    assert list(node_mode.check_any(launch_template(strict), cfg)) == []
    found = list(node_mode.check_any(launch_template(strict.replace("-m block", "-m monitoring")), cfg))
    assert any("mode 'monitoring'" in f for f in found), found
    found = list(node_mode.check_any(launch_template(BOOT), cfg))  # no vhost: override on, fallback on
    assert any("wallarm_mode_allow_override" in f for f in found) and any("wallarm_fallback" in f for f in found)


RDS = "aws:rds/instance:Instance"


@pytest.mark.parametrize("configured,problem", [(False, False), (True, True)])
def test_a_database_subnet_group_name_counts_only_when_the_program_set_it(configured, problem):
    """After an update the provider reports `dbSubnetGroupName: default` for a database the program
    gave no subnet group (the default VPC's, judged by default_vpc.py): not a literal group outside
    the stack. A name the program set that is no resource of the stack is one (fail closed)."""
    from guard.planned import INPUTS
    b = Builder()
    cell = b.cell()
    db = b.add(RDS, "app-db", {"dbSubnetGroupName": "default", "publiclyAccessible": False,
                               "tags": {"layerguard:layer": "app"}},
               {"vpcSecurityGroupIds": [cell["sg"]["app"]]})
    INPUTS.wants(db.urn)
    INPUTS.record(db.urn, {"engine": "postgres", **({"dbSubnetGroupName": "default"} if configured else {})})
    try:
        m = model(b)
    finally:
        INPUTS.shapes.pop(db.urn, None)
    named = [p for p in m.problems if p.urn == db.urn and p.prop == "dbSubnetGroupName"]
    assert bool(named) is problem, m.problems

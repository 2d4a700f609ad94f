"""Seed a moto account (server mode) through boto3 with the resources of an exported state, then
rewrite the state's ids, ARNs and DNS names to the ones moto assigned, as if `pulumi up` had run
against that account and `pulumi stack export` had been taken after it.

What ECS would add at run time (task network interfaces registered as IP targets) is created
too: one app and one node interface in the private subnets, registered in their target groups.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3

REGION = "eu-west-1"


def client(service: str, endpoint: str):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def _by_type(doc: dict[str, Any], token: str) -> list[dict[str, Any]]:
    return [r for r in doc["deployment"]["resources"] if r["type"] == token]


def _tags(res: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (res["inputs"].get("tags") or {}).items()]


def _permission(props: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": str(props["ipProtocol"])}
    if perm["IpProtocol"] != "-1":
        perm["FromPort"], perm["ToPort"] = int(props["fromPort"]), int(props["toPort"])
    if props.get("cidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": props["cidrIpv4"]}]
    elif props.get("cidrIpv6"):
        perm["Ipv6Ranges"] = [{"CidrIpv6": props["cidrIpv6"]}]
    elif props.get("prefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": props["prefixListId"]}]
    elif props.get("referencedSecurityGroupId"):
        perm["UserIdGroupPairs"] = [{"GroupId": ids[props["referencedSecurityGroupId"]]}]
    return perm


def seed(doc: dict[str, Any], endpoint: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create the state's network, security groups, rules, load balancers, target groups,
    listeners, web ACL and association in moto. Returns the rewritten state and `live`, a dict of
    what tests need (moto ids by resource name, the task interfaces)."""
    ec2, elb, waf = client("ec2", endpoint), client("elbv2", endpoint), client("wafv2", endpoint)
    ids: dict[str, str] = {}       # placeholder value -> moto value (ids, ARNs, DNS names)
    live: dict[str, Any] = {"by_name": {}}

    def record(res: dict[str, Any], new_id: str, **outputs: str) -> None:
        ids[res["id"]] = new_id
        for key, value in outputs.items():
            old = res["outputs"].get(key)
            if isinstance(old, str):
                ids[old] = value
        live["by_name"][res["urn"].rsplit("::", 1)[1]] = new_id

    for vpc in _by_type(doc, "aws:ec2/vpc:Vpc"):
        record(vpc, ec2.create_vpc(CidrBlock=vpc["inputs"]["cidrBlock"])["Vpc"]["VpcId"])
    for subnet in _by_type(doc, "aws:ec2/subnet:Subnet"):
        s = ec2.create_subnet(VpcId=ids[subnet["inputs"]["vpcId"]], CidrBlock=subnet["inputs"]["cidrBlock"],
                              AvailabilityZone=subnet["inputs"]["availabilityZone"])["Subnet"]
        record(subnet, s["SubnetId"], arn=s.get("SubnetArn", ""))
    for igw in _by_type(doc, "aws:ec2/internetGateway:InternetGateway"):
        gw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=gw, VpcId=ids[igw["inputs"]["vpcId"]])
        record(igw, gw)
    for rt in _by_type(doc, "aws:ec2/routeTable:RouteTable"):
        table = ec2.create_route_table(VpcId=ids[rt["inputs"]["vpcId"]])["RouteTable"]["RouteTableId"]
        for route in rt["inputs"].get("routes") or []:
            if route.get("gatewayId"):  # NAT gateways are not seeded: verify reads internet gateway routes only
                ec2.create_route(RouteTableId=table, DestinationCidrBlock=route["cidrBlock"],
                                 GatewayId=ids[route["gatewayId"]])
        record(rt, table)
    for assoc in _by_type(doc, "aws:ec2/routeTableAssociation:RouteTableAssociation"):
        made = ec2.associate_route_table(RouteTableId=ids[assoc["inputs"]["routeTableId"]],
                                         SubnetId=ids[assoc["inputs"]["subnetId"]])
        record(assoc, made["AssociationId"])
    for sg in _by_type(doc, "aws:ec2/securityGroup:SecurityGroup"):
        gid = ec2.create_security_group(GroupName=sg["outputs"]["name"], Description=sg["inputs"]["description"],
                                        VpcId=ids[sg["inputs"]["vpcId"]])["GroupId"]
        ec2.create_tags(Resources=[gid], Tags=_tags(sg))
        # The provider removes the default allow-all egress rule AWS adds to a new group.
        ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        record(sg, gid, arn=f"arn:aws:ec2:{REGION}:123456789012:security-group/{gid}")
    for token, call in (("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", ec2.authorize_security_group_ingress),
                        ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", ec2.authorize_security_group_egress)):
        for rule in _by_type(doc, token):
            out = call(GroupId=ids[rule["inputs"]["securityGroupId"]],
                       IpPermissions=[_permission(rule["inputs"], ids)])
            record(rule, out["SecurityGroupRules"][0]["SecurityGroupRuleId"])
    for tg in _by_type(doc, "aws:lb/targetGroup:TargetGroup"):
        i = tg["inputs"]
        arn = elb.create_target_group(Name=tg["outputs"]["name"], Protocol=i["protocol"], Port=int(i["port"]),
                                      VpcId=ids[i["vpcId"]], TargetType=i["targetType"])["TargetGroups"][0]["TargetGroupArn"]
        record(tg, arn, arn=arn)
    for lb in _by_type(doc, "aws:lb/loadBalancer:LoadBalancer"):
        i = lb["inputs"]
        made = elb.create_load_balancer(Name=lb["outputs"]["name"], Subnets=[ids[s] for s in i["subnets"]],
                                        SecurityGroups=[ids[s] for s in i["securityGroups"]],
                                        Scheme="internal" if i.get("internal") else "internet-facing",
                                        Type=i.get("loadBalancerType", "application"))["LoadBalancers"][0]
        arn = made["LoadBalancerArn"]
        attrs = [{"Key": "deletion_protection.enabled", "Value": str(bool(i.get("enableDeletionProtection"))).lower()},
                 {"Key": "routing.http.drop_invalid_header_fields.enabled",
                  "Value": str(bool(i.get("dropInvalidHeaderFields"))).lower()},
                 {"Key": "routing.http.desync_mitigation_mode", "Value": i.get("desyncMitigationMode", "defensive")}]
        elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=attrs)
        record(lb, arn, arn=arn, dnsName=made["DNSName"], id=arn)
        live.setdefault("dns", {})[lb["urn"].rsplit("::", 1)[1]] = made["DNSName"]
    for listener in _by_type(doc, "aws:lb/listener:Listener"):
        i = listener["inputs"]
        actions = []
        for a in i["defaultActions"]:
            if a["type"] == "forward":
                actions.append({"Type": "forward", "TargetGroupArn": ids[a["targetGroupArn"]]})
            else:
                r = a["redirect"]
                actions.append({"Type": "redirect", "RedirectConfig": {"Protocol": r["protocol"], "Port": r["port"],
                                                                       "StatusCode": r["statusCode"]}})
        arn = elb.create_listener(LoadBalancerArn=ids[i["loadBalancerArn"]], Protocol=i["protocol"],
                                  Port=int(i["port"]), DefaultActions=actions)["Listeners"][0]["ListenerArn"]
        record(listener, arn, arn=arn)
    for acl in _by_type(doc, "aws:wafv2/webAcl:WebAcl"):
        summary = waf.create_web_acl(Name=acl["outputs"]["name"], Scope=acl["inputs"]["scope"],
                                     DefaultAction=_api(acl["inputs"].get("defaultAction") or {"allow": {}}),
                                     Rules=_api(acl["inputs"].get("rules") or []),
                                     VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                                       "MetricName": "edge"})["Summary"]
        record(acl, summary["Id"], arn=summary["ARN"])
    for assoc in _by_type(doc, "aws:wafv2/webAclAssociation:WebAclAssociation"):
        waf.associate_web_acl(WebACLArn=ids[assoc["inputs"]["webAclArn"]], ResourceArn=ids[assoc["inputs"]["resourceArn"]])
        record(assoc, f"{ids[assoc['inputs']['webAclArn']]},{ids[assoc['inputs']['resourceArn']]}")
    ecs = client("ecs", endpoint)
    for cluster in _by_type(doc, "aws:ecs/cluster:Cluster"):
        arn = ecs.create_cluster(clusterName=cluster["outputs"]["name"])["cluster"]["clusterArn"]
        record(cluster, arn, arn=arn)
    for td in _by_type(doc, "aws:ecs/taskDefinition:TaskDefinition"):
        i = td["inputs"]
        made = ecs.register_task_definition(
            family=i["family"], containerDefinitions=json.loads(i["containerDefinitions"]),
            networkMode=i.get("networkMode", "awsvpc"), requiresCompatibilities=i.get("requiresCompatibilities", ["FARGATE"]),
            cpu=str(i.get("cpu", "256")), memory=str(i.get("memory", "512")))["taskDefinition"]
        record(td, made["taskDefinitionArn"], arn=made["taskDefinitionArn"])
    for svc in _by_type(doc, "aws:ecs/service:Service"):
        i = svc["inputs"]
        made = ecs.create_service(cluster=ids[i["cluster"]], serviceName=svc["outputs"]["name"],
                                  taskDefinition=ids[i["taskDefinition"]], desiredCount=int(i.get("desiredCount", 1)),
                                  launchType=i.get("launchType", "FARGATE"))["service"]
        record(svc, made["serviceArn"])
        live.setdefault("services", {})[svc["urn"].rsplit("::", 1)[1]] = (ids[i["cluster"]], made["serviceName"])
    # What ECS adds at run time: a task interface per service, registered as an IP target.
    private = [ids[s["id"]] for s in _by_type(doc, "aws:ec2/subnet:Subnet") if "private" in s["urn"]]
    by_name = live["by_name"]
    for layer, sg_name, tg_name, port in (("app", "app-task-sg", "app-tg", 8080), ("node", "node-sg", "edge-node-tg", 80)):
        eni = ec2.create_network_interface(SubnetId=private[0], Groups=[by_name[sg_name]])["NetworkInterface"]
        elb.register_targets(TargetGroupArn=by_name[tg_name], Targets=[{"Id": eni["PrivateIpAddress"], "Port": port}])
        live[f"{layer}_eni"] = eni["NetworkInterfaceId"]
    return rewrite(doc, ids), live


_API_NAMES = {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled"}


def _api(value: Any) -> Any:
    """Pulumi's camelCase WAFv2 inputs as the API's PascalCase shapes (numbers as integers)."""
    if isinstance(value, dict):
        return {_API_NAMES.get(k, k[:1].upper() + k[1:]): _api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def rewrite(doc: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return ids.get(value, value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    out = copy.deepcopy(doc)
    for res in out["deployment"]["resources"]:
        for key in ("id", "inputs", "outputs"):
            if key in res:
                res[key] = walk(res[key])
    return out

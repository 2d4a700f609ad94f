"""Realistic answers for what a cloud provider would compute: invoke results and, in update mode,
resource outputs (ids, ARNs, DNS names).

Everything here is deterministic (derived from the resource's type, name and region) so two runs of
the same stack give the same report. An invoke nobody taught us fails loudly, naming its token: a
made-up answer would let a program or a policy pass on data no AWS account would return.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

ACCOUNT_ID = "123456789012"
AZ_SUFFIXES = "abcdef"

# The managed prefix lists a program may look up by name. The CloudFront list id is the one AWS
# publishes in us-east-1; the per-region S3/DynamoDB ids are stable placeholders of the same shape.
MANAGED_PREFIX_LISTS = {
    "com.amazonaws.global.cloudfront.origin-facing": ("pl-3b927c52", 55),
    "com.amazonaws.global.groundstation": ("pl-0b1f2ee0f5a1c6d10", 5),
}


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class InvokeError(Exception):
    """An invoke the offline engine cannot answer honestly."""


def _availability_zones(args: dict[str, Any], region: str) -> dict[str, Any]:
    names = [f"{region}{s}" for s in AZ_SUFFIXES[:4]]
    zone_ids = [f"{region[:2]}{region.split('-')[1][:1]}{region[-1]}-az{i + 1}" for i in range(4)]
    return {"id": region, "names": names, "zoneIds": zone_ids, "groupNames": [region] * 4,
            "state": args.get("state") or "available"}


def _caller_identity(_args: dict[str, Any], _region: str) -> dict[str, Any]:
    return {"id": ACCOUNT_ID, "accountId": ACCOUNT_ID,
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-preview", "userId": "AIDAOFFLINEPREVIEW"}


def _region(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = args.get("region") or args.get("name") or region
    return {"id": name, "name": name, "region": name, "description": name,
            "endpoint": f"ec2.{name}.amazonaws.com"}


def _partition(_args: dict[str, Any], _region: str) -> dict[str, Any]:
    return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com",
            "reverseDnsPrefix": "com.amazonaws"}


def _managed_prefix_list(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = args.get("name")
    for flt in args.get("filters") or []:
        if flt.get("name") == "prefix-list-name" and flt.get("values"):
            name = flt["values"][0]
    if name not in MANAGED_PREFIX_LISTS:
        raise InvokeError(
            f"aws:ec2/getManagedPrefixList:getManagedPrefixList: no managed prefix list named "
            f"{name!r} is known offline (known: {', '.join(sorted(MANAGED_PREFIX_LISTS))})")
    pl_id, max_entries = MANAGED_PREFIX_LISTS[name]
    return {"id": pl_id, "name": name, "addressFamily": "IPv4", "maxEntries": max_entries,
            "ownerId": "AWS", "version": 1, "entries": [], "tags": {},
            "arn": f"arn:aws:ec2:{region}:aws:prefix-list/{pl_id}"}


def _policy_document(args: dict[str, Any], _region: str) -> dict[str, Any]:
    """Render `aws.iam.get_policy_document` the way the provider does (the JSON is data, not cloud
    state, so rendering it here is exact rather than invented)."""
    statements = []
    for st in args.get("statements") or []:
        out: dict[str, Any] = {}
        if st.get("sid"):
            out["Sid"] = st["sid"]
        out["Effect"] = st.get("effect") or "Allow"
        for src, dst in (("actions", "Action"), ("notActions", "NotAction"),
                         ("resources", "Resource"), ("notResources", "NotResource")):
            values = st.get(src)
            if values:
                out[dst] = values[0] if len(values) == 1 else sorted(values)
        for src, dst in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            principals = st.get(src)
            if principals:
                block: dict[str, Any] = {}
                for p in principals:
                    ids = p.get("identifiers") or []
                    block[p["type"]] = ids[0] if len(ids) == 1 else ids
                out[dst] = "*" if block == {"*": "*"} else block
        conditions = st.get("conditions")
        if conditions:
            cond: dict[str, dict[str, Any]] = {}
            for c in conditions:
                values = c.get("values") or []
                cond.setdefault(c["test"], {})[c["variable"]] = values[0] if len(values) == 1 else values
            out["Condition"] = cond
        statements.append(out)
    doc = {"Version": args.get("version") or "2012-10-17", "Statement": statements}
    if args.get("policyId"):
        doc = {"Version": doc["Version"], "Id": args["policyId"], "Statement": statements}
    text = json.dumps(doc, indent=2)
    return {"id": digest(text, length=10), "json": text, "minifiedJson": json.dumps(doc, separators=(",", ":"))}


INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": _managed_prefix_list,
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
}


def invoke(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    handler = INVOKES.get(token)
    if handler is None:
        raise InvokeError(
            f"the offline preview cannot answer the invoke {token!r}; known invokes: "
            f"{', '.join(sorted(INVOKES))}")
    return handler(args, region)


# --- update mode: what the provider would compute on create -------------------------------------

# Id prefixes of EC2-style resources (the rest get a name-based id, as their providers do).
_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-", "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-", "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-", "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-", "aws:ec2/instance:Instance": "i-",
    "aws:ec2/flowLog:FlowLog": "fl-", "aws:ec2/networkInterface:NetworkInterface": "eni-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-", "aws:ec2/managedPrefixList:ManagedPrefixList": "pl-",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "sgrule-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
}

_ARN_SERVICE_FIXUPS = {"lb": "elasticloadbalancing", "alb": "elasticloadbalancing",
                       "cloudwatch": "logs", "appautoscaling": "application-autoscaling",
                       "apigateway": "apigateway", "wafv2": "wafv2"}


def _physical_name(name: str, inputs: dict[str, Any]) -> str:
    given = inputs.get("name")
    if isinstance(given, str) and given:
        return given
    # Pulumi auto-naming: logical name plus a random suffix of seven hex digits.
    return f"{name}-{digest(name, length=7)}"


def _arn(type_token: str, name: str, physical: str, region: str, rid: str) -> str:
    module = type_token.split(":")[1].split("/")[0]
    kind = type_token.split(":")[-1]
    service = _ARN_SERVICE_FIXUPS.get(module, module)
    if module == "iam":
        return f"arn:aws:iam::{ACCOUNT_ID}:{kind[0].lower() + kind[1:]}/{physical}"
    if module == "secretsmanager":
        return f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{physical}-{digest(name, length=6)}"
    if module == "cloudwatch" and kind == "LogGroup":
        return f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}"
    if module in ("lb", "alb") and kind == "LoadBalancer":
        flavour = "net" if "network" in physical else "app"
        return f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:loadbalancer/{flavour}/{physical[:32]}/{digest(name, length=16)}"
    if module in ("lb", "alb") and kind == "TargetGroup":
        return f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:targetgroup/{physical[:32]}/{digest(name, length=16)}"
    if module == "wafv2":
        return f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:regional/webacl/{physical}/{digest(name, length=8)}"
    if module == "cloudfront":
        return f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{rid}"
    if module == "s3":
        return f"arn:aws:s3:::{physical}"
    resource_kind = re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower()
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource_kind}/{rid}"


def computed_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    """The id and the outputs a provider would report after creating the resource."""
    physical = _physical_name(name, inputs)
    prefix = _ID_PREFIXES.get(type_token)
    rid = f"{prefix}{digest(type_token, name)}" if prefix else physical
    outputs: dict[str, Any] = {}
    if not type_token.startswith("aws:"):
        if type_token.startswith("random:"):
            outputs["result"] = digest(name, length=16)
        return digest(type_token, name, length=12), outputs
    module, kind = type_token.split(":")[1].split("/")[0], type_token.split(":")[-1]
    if module == "cloudfront" and kind == "Distribution":
        rid = "E" + digest(name, length=13).upper()
        outputs["domainName"] = f"d{digest(name, length=13)}.cloudfront.net"
        outputs["hostedZoneId"] = "Z2FDTNDATAQYW2"
    outputs["arn"] = _arn(type_token, name, physical, region, rid)
    if "name" not in inputs and kind not in ("SecurityGroupRule",):
        outputs["name"] = physical
    if module in ("lb", "alb") and kind == "LoadBalancer":
        internal = inputs.get("internal") is True
        prefix = "internal-" if internal else ""
        outputs["dnsName"] = f"{prefix}{physical[:32]}-{int(digest(name, length=8), 16) % 10**10}.{region}.elb.amazonaws.com"
        outputs["zoneId"] = "Z35SXDOTRQ7X7K"
        outputs["arnSuffix"] = outputs["arn"].split(":loadbalancer/")[1]
    if module in ("lb", "alb") and kind == "TargetGroup":
        outputs["arnSuffix"] = outputs["arn"].split(":")[-1]
    if module == "ec2" and kind == "Vpc":
        outputs.update(defaultSecurityGroupId=f"sg-{digest('default', name)}",
                       mainRouteTableId=f"rtb-{digest('main', name)}")
    if module == "ec2" and kind in ("Eip", "Instance"):
        octets = [int(digest(name, str(i), length=2), 16) for i in range(3)]
        outputs["publicIp"] = f"3.{octets[0]}.{octets[1]}.{octets[2]}"
    if module == "apigateway" and kind == "RestApi":
        rid = digest(name, length=10)
        outputs["rootResourceId"] = digest("root", name, length=10)
        outputs["executionArn"] = f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{rid}"
    if module == "apigateway" and kind == "Stage":
        outputs["invokeUrl"] = f"https://{digest(name, length=10)}.execute-api.{region}.amazonaws.com/{inputs.get('stageName', 'stage')}"
    if module == "apigatewayv2" and kind == "Api":
        outputs["apiEndpoint"] = f"https://{digest(name, length=10)}.execute-api.{region}.amazonaws.com"
    if module == "ecs" and kind == "TaskDefinition":
        outputs["revision"] = 1
        outputs["arnWithoutRevision"] = outputs["arn"]
        outputs["arn"] = outputs["arn"] + ":1"
    if module == "wafv2" and inputs.get("scope") == "CLOUDFRONT":
        outputs["arn"] = outputs["arn"].replace(":regional/", ":global/")
    if module == "wafv2" and kind == "WebAcl":
        outputs["capacity"] = 0
    outputs["id"] = rid
    return rid, outputs

"""The compute family of the reachability model: ECS services (tasks, containers, capacity),
instances, network interfaces, Auto Scaling groups and launch templates, Lambda functions and
function URLs, RDS instances, Elastic IPs, what carries an app's traffic, and the proof that a
node-labelled service runs the Wallarm node (`NodeRules`, the image helpers). The assumptions
are in `model.py`'s docstring (A NODE is a filter only when PROVEN, PROTECTED).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, NamedTuple

from guard.framework import UNCLASSIFIED, Resource, is_unknown

from . import tokens as T
from .base import Endpoint, _configured, _items, pget, same
from .net import has_public_part, parse_cidr

# Wallarm's node image, as published and as mirrored by an ECR pull-through cache.
DEFAULT_NODE_REPOSITORIES = (
    "wallarm/node", "docker.io/wallarm/node", "registry-1.docker.io/wallarm/node",
    "index.docker.io/wallarm/node", "*.dkr.ecr.*.amazonaws.com/*/wallarm/node",
)
DEFAULT_NODE_MAJORS = (6, 7)
_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.]+)?$")

# Wallarm's node AMIs, as Wallarm publishes them: through AWS Marketplace (the images belong to its
# publishing account, alias aws-marketplace), named `wallarm-node-<major>-<minor>-<stamp>`
# (docs.wallarm.com/installation/cloud-platforms/aws/ami/; the lookup of wallarm/terraform-aws-wallarm,
# modules/template/ami.tf). A program declares the lookup it made on the launch template (or the
# instance) in these two tags; layerguard's EC2 fleet does (components/node_fleet_ec2.py).
DEFAULT_NODE_AMI_OWNERS = ("679593333241",)
AMI_NAME_TAG = "layerguard:node-ami-name"
AMI_OWNER_TAG = "layerguard:node-ami-owner"
_AMI_NAME = re.compile(r"^wallarm-node-(\d+)[.-]")
# Wallarm's documented node set-up on its AMI (docs.wallarm.com/installation/cloud-platforms/cloud-init/).
CLOUD_INIT = "/opt/wallarm/usr/share/wallarm-common/cloud-init.py"
_RUNS_CLOUD_INIT = re.compile(r"^\s*(?:-\s*)?(?:[\[\"']\s*)?(?:(?:sudo|exec|python3?)\s+)*[\"']?"
                              + re.escape(CLOUD_INIT) + r"(?=[\s\"',\]]|$)", re.MULTILINE)
_LISTEN = re.compile(r"^\s*listen\s+(?:\S*:)?(\d+)\b", re.MULTILINE)
# The AMI's NGINX serves on port 80 until a vhost of the user data says otherwise.
NODE_AMI_PORT = 80

# A task definition whose containerDefinitions is unknown only through these is waiting for the ARN
# of a secret the stack creates (the Wallarm token), not for its image.
_SECRET_REFERENCES = ("aws:secretsmanager/secret:", "aws:secretsmanager/secretVersion:", "aws:ssm/parameter:",
                      "aws:kms/key:", "aws:cloudwatch/logGroup:")


def split_image(image: str) -> tuple[str, str | None]:
    """(repository, tag) of an image reference (registry host and digest allowed)."""
    ref = image.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, None


def _repo_matches(repo: str, pattern: str) -> bool:
    # `*` matches within one path segment only (an account, a region, a cache prefix)
    regex = "^" + ".*?".join(re.escape(p) for p in pattern.split("*")).replace(".*?", "[^/]+") + "$"
    return re.match(regex, repo) is not None or (pattern == repo)


class NodeRules(NamedTuple):
    repositories: tuple = DEFAULT_NODE_REPOSITORIES
    majors: tuple = DEFAULT_NODE_MAJORS
    ami_ids: tuple = ()                          # AMI ids the policy owner checked are Wallarm's
    ami_owners: tuple = DEFAULT_NODE_AMI_OWNERS  # accounts that publish Wallarm's AMIs

    def declared_ami_problem(self, tags: dict) -> str | None:
        """Why the AMI lookup a launch declares (owner and name tags) is not Wallarm's published node."""
        owner, name = tags.get(AMI_OWNER_TAG), tags.get(AMI_NAME_TAG)
        if owner is None or name is None:
            return (f"it declares no AMI lookup (tags {AMI_OWNER_TAG} and {AMI_NAME_TAG}), so the image "
                    "cannot be told to be Wallarm's")
        if is_unknown(owner) or is_unknown(name):
            return "its declared AMI owner or name is unknown at preview"
        if str(owner) not in self.ami_owners:
            return (f"its declared AMI owner {owner!r} is not an account that publishes Wallarm's node "
                    f"({', '.join(self.ami_owners)})")
        m = _AMI_NAME.match(str(name))
        if not m:
            return f"its declared AMI name {name!r} is not a Wallarm node image (wallarm-node-<major>-...)"
        if int(m.group(1)) not in self.majors:
            return (f"its declared AMI name {name!r} is major {m.group(1)}, not a supported major "
                    f"({', '.join(str(x) for x in self.majors)})")
        return None

    def image_problem(self, image: Any) -> str | None:
        if not isinstance(image, str):
            return f"its image {image!r} is not known"
        repo, tag = split_image(image)
        if not any(_repo_matches(repo, p) for p in self.repositories):
            return f"image {image!r} is not from a Wallarm node repository ({', '.join(self.repositories)})"
        m = _RELEASE.match(tag or "")
        if not m:
            return f"image {image!r} is not tagged with a Wallarm node release (e.g. 7.1.0)"
        if int(m.group(1)) not in self.majors:
            return (f"image {image!r} is major {m.group(1)}, not a supported major "
                    f"({', '.join(str(x) for x in self.majors)})")
        return None

    def is_wallarm_repo(self, image: Any) -> bool:
        return isinstance(image, str) and any(_repo_matches(split_image(image)[0], p) for p in self.repositories)


def node_rules_from(cfg: dict) -> NodeRules:
    repos = cfg.get("nodeImageRepositories") or DEFAULT_NODE_REPOSITORIES
    majors = cfg.get("nodeImageMajors") or DEFAULT_NODE_MAJORS
    ami_ids = cfg.get("nodeAmiIds") or ()
    ami_owners = cfg.get("nodeAmiOwners") or DEFAULT_NODE_AMI_OWNERS
    return NodeRules(tuple(str(r) for r in repos), tuple(int(m) for m in majors),
                     tuple(str(i) for i in ami_ids), tuple(str(o) for o in ami_owners))


class Launch(NamedTuple):
    """What an EC2 node boots: its image and user data, where each was read, its tags."""
    image: Any
    image_from: tuple | None     # (resource, property)
    data: Any
    data_from: tuple | None
    data_base64: bool
    tags: dict


def _tag_map(tags: Any) -> dict:
    if isinstance(tags, dict):
        return dict(tags)
    if isinstance(tags, list):  # an Auto Scaling group's [{key, value, propagateAtLaunch}]
        return {t.get("key"): t.get("value") for t in tags if isinstance(t, dict) and isinstance(t.get("key"), str)}
    return {}


class Compute:
    """Mixin of `Model` (model.py): the builders of this family; state lives on the model."""

    def _ecs(self, svc: Resource) -> None:
        sgt = T.SECURITY_GROUPS
        sgs = self._owned(svc, "networkConfiguration.securityGroups", "networkConfiguration", sgt, "security groups")
        subnets = self._owned(svc, "networkConfiguration.subnets", "networkConfiguration", [T.SUBNET], "subnets")
        ep = self._endpoint(svc, "ecs", sgs, subnets)
        if self._bool(svc, "networkConfiguration.assignPublicIp", False, "a public IP"):
            self._publicly(ep, svc.urn, "assigns public IPs to its tasks")
        if self._dual_stack(ep, tasks=True):
            # awsvpc tasks in a subnet with an IPv6 block get an IPv6 address (with the account's
            # dualStackIPv6 setting, which may be set outside the stack: assumed on)
            self._publicly_v6(ep, svc.urn, "runs its tasks in a dual-stack subnet, which gives them IPv6 "
                                           "addresses (globally routable)")

    def _instance(self, inst: Resource) -> None:
        sgt = T.SECURITY_GROUPS
        tpl = self.deps(inst, "launchTemplate", [T.LAUNCH_TEMPLATE])
        sgs = self._owned(inst, "vpcSecurityGroupIds", "vpcSecurityGroupIds", sgt, "security groups")
        sgs += self._owned(inst, "securityGroups", "securityGroups", sgt, "security groups")
        subnets = self._owned(inst, "subnetId", "subnetId", [T.SUBNET], "subnet")
        for lt in tpl:
            sgs += self.deps_any(lt, ("vpcSecurityGroupIds", "networkInterfaces"), sgt)
            subnets += self.deps(lt, "networkInterfaces", [T.SUBNET])
        ep = self._endpoint(inst, "instance", sgs, subnets)
        assoc = self._bool(inst, "associatePublicIpAddress", None, "a public IP")
        for lt in tpl:
            if assoc is None:
                assoc = self._lt_public(lt)
        if assoc is None:
            assoc = any(pget(self.stack.by_urn[s], "mapPublicIpOnLaunch") is True for s in ep.subnets
                        if s in self.stack.by_urn)
        if assoc:
            self._publicly(ep, inst.urn, "associates a public IP address")
        if self._ipv6(inst, ep):
            self._publicly_v6(ep, inst.urn, "has IPv6 addresses (globally routable)")

    def _eni(self, eni: Resource) -> None:
        sgs = self._owned(eni, "securityGroups", "securityGroups", T.SECURITY_GROUPS, "security groups")
        subnets = self._owned(eni, "subnetId", "subnetId", [T.SUBNET], "subnet")
        ep = self._endpoint(eni, "eni", sgs, subnets)
        if self._ipv6(eni, ep):
            self._publicly_v6(ep, eni.urn, "has IPv6 addresses (globally routable)")

    def _ipv6(self, res: Resource, ep: Endpoint) -> bool:
        """IPv6 addresses are public: no NAT stands between them and an internet gateway route."""
        count = pget(res, "ipv6AddressCount")
        if is_unknown(count) or (isinstance(count, (int, float)) and count > 0):
            return True
        addresses = pget(res, "ipv6Addresses")
        if is_unknown(addresses) or (isinstance(addresses, list) and addresses):
            return True
        return self._dual_stack(ep)

    def _publicly_v6(self, ep: Endpoint, opener: str, reason: str) -> None:
        """An IPv6 address is public where its subnet's route table sends public IPv6 space to an
        internet gateway (an egress-only gateway admits nothing in). The route is an opener beside
        the resource: the subnet's IPv6 block may be unknown at the first preview, its route is not."""
        routes = []
        for s in ep.subnets:
            table = self.subnet_table.get(s)
            if table is None:
                routes.append(s)  # a table the model cannot see (already a Problem): fail closed
                continue
            for dest, kind, _target, route in self.rt_routes.get(table, ()):
                if kind in ("igw", "unknown") and (dest is None or (dest.version == 6 and has_public_part(dest))):
                    routes.append(route)
        if routes or not ep.subnets:
            ep.public.append((opener, reason))
            ep.public.extend((r, "routes public IPv6 space to an internet gateway") for r in dict.fromkeys(routes)
                             if r in self.stack.by_urn)

    def _dual_stack(self, ep: Endpoint, tasks: bool = False) -> bool:
        """A subnet that gives what launches in it an IPv6 address, decided by what the program
        configured (known at the first preview), not by the value of its IPv6 block (computed from
        the VPC's until then). ECS tasks get one in any subnet with an IPv6 block (AWS: "Using a
        VPC in dual-stack mode", awsvpc); instances and interfaces where the subnet assigns one."""
        for s in ep.subnets:
            sub = self.stack.by_urn.get(s)
            if sub is None:
                continue
            if tasks and pget(sub, "ipv6CidrBlock") is not None and not same(pget(sub, "ipv6CidrBlock"), ""):
                return True
            for prop in ("assignIpv6AddressOnCreation", "ipv6Native", "enableResourceNameDnsAaaaRecordOnLaunch"):
                if self._bool(sub, prop, False, "IPv6 addresses on launch"):
                    return True
        return False

    def _asg(self, asg: Resource) -> None:
        sgt = T.SECURITY_GROUPS
        tpl = self.deps_any(asg, ("launchTemplate", "mixedInstancesPolicy"), [T.LAUNCH_TEMPLATE])
        subnets = self._owned(asg, "vpcZoneIdentifiers", "vpcZoneIdentifiers", [T.SUBNET], "subnets")
        sgs = []
        for lt in tpl:
            sgs += self.deps_any(lt, ("vpcSecurityGroupIds", "networkInterfaces"), sgt)
            subnets += self.deps(lt, "networkInterfaces", [T.SUBNET])
        if pget(asg, "launchConfiguration") is not None and not self.deps(asg, "launchConfiguration",
                                                                          [T.LAUNCH_CONFIGURATION]):
            self.problem(asg, "launchConfiguration", "the group launches from a launch configuration, whose "
                                                     "public IP and security groups the model does not follow")
        ep = self._endpoint(asg, "asg", sgs, subnets)
        public = None
        for lt in tpl:
            value = self._lt_public(lt)
            if value:
                self._publicly(ep, lt.urn, "launch template associates public IP addresses")
            public = value if public is None else (public or value)
        if public is None and any(pget(self.stack.by_urn[s], "mapPublicIpOnLaunch") is True
                                  for s in ep.subnets if s in self.stack.by_urn):
            self._publicly(ep, asg.urn, "launches in a subnet that maps public IPs")

    def _lambda(self, fn: Resource) -> None:
        sgs = self._owned(fn, "vpcConfig.securityGroupIds", "vpcConfig", T.SECURITY_GROUPS, "security groups")
        subnets = self._owned(fn, "vpcConfig.subnetIds", "vpcConfig", [T.SUBNET], "subnets")
        self._endpoint(fn, "lambda", sgs, subnets)

    def _rds(self, db: Resource) -> None:
        subnets = []
        for group in self.deps(db, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
            subnets += self._owned(group, "subnetIds", "subnetIds", [T.SUBNET], "subnets")
        # only a configured name counts: without one the provider reports the `default` group after
        # an update (the default VPC, default_vpc.py), and nothing at the first preview
        if pget(db, "dbSubnetGroupName") is not None and _configured(db, "dbSubnetGroupName") \
                and not self.deps(db, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
            self.problem(db, "dbSubnetGroupName", "the database's subnet group is not a resource of this stack")
        sgs = self._owned(db, "vpcSecurityGroupIds", "vpcSecurityGroupIds", T.SECURITY_GROUPS, "security groups")
        ep = self._endpoint(db, "rds", sgs, subnets)
        if self._bool(db, "publiclyAccessible", False, "public accessibility"):
            self._publicly(ep, db.urn, "is publicly accessible")

    def _rds_cluster_instance(self, db: Resource) -> None:
        """An Aurora instance: its cluster's security groups, its (or its cluster's) subnet group."""
        clusters = self.deps(db, "clusterIdentifier", [T.RDS_CLUSTER])
        if not clusters:
            self.problem(db, "clusterIdentifier", "the instance's cluster is not a resource of this stack")
        sgs, subnets = [], []
        for group in self.deps(db, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
            subnets += self._owned(group, "subnetIds", "subnetIds", [T.SUBNET], "subnets")
        for cluster in clusters:
            sgs += self._owned(cluster, "vpcSecurityGroupIds", "vpcSecurityGroupIds", T.SECURITY_GROUPS,
                               "security groups")
            if not subnets:
                for group in self.deps(cluster, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
                    subnets += self._owned(group, "subnetIds", "subnetIds", [T.SUBNET], "subnets")
        ep = self._endpoint(db, "rds", sgs, subnets)
        if self._bool(db, "publiclyAccessible", False, "public accessibility"):
            self._publicly(ep, db.urn, "is publicly accessible")

    def _function_urls(self) -> None:
        for url in self.of(T.LAMBDA_URL):
            fns = self.deps(url, "functionName", [T.LAMBDA])
            if not fns:
                self.problem(url, "functionName", "the function URL's function is not a resource of this stack")
            auth = pget(url, "authorizationType")
            if same(auth, "AWS_IAM"):
                continue  # only signed requests of IAM principals: not a public entry
            if is_unknown(auth):
                self.problem(url, "authorizationType", "the authorization type is unknown at preview; "
                                                       "treated as NONE (public)")
            for fn in fns:
                self.endpoints[fn.urn].exposures.append((url.urn, "has a function URL reachable from the internet"))

    def _elastic_ips(self) -> None:
        targets_types = [T.INSTANCE, T.NETWORK_INTERFACE]
        for_nat = {e.urn for nat in self.of(T.NAT_GATEWAY) for e in self.deps(nat, "allocationId", [T.EIP])}
        for eip in self.of(T.EIP):
            for target in self.deps_any(eip, ("instance", "networkInterface"), targets_types):
                self._publicly(self.endpoints[target.urn], eip.urn, "has an Elastic IP")
            # After an update the provider reports where AWS attached the address: a NAT gateway's
            # own interface, or what an association resource names. Only what the program set
            # itself is an attachment of the EIP (the Analyze inputs say what it set).
            attached = [p for p in ("instance", "networkInterface")
                        if pget(eip, p) is not None and _configured(eip, p)]
            if attached and eip.urn not in for_nat and \
                    not self.deps_any(eip, ("instance", "networkInterface"), targets_types):
                self.problem(eip, "instance", "the Elastic IP is attached to something that is not a resource "
                                              "of this stack")
        for assoc in self.of(T.EIP_ASSOC):
            targets = self.deps_any(assoc, ("instanceId", "networkInterfaceId"), targets_types)
            for target in targets:
                self._publicly(self.endpoints[target.urn], assoc.urn, "has an Elastic IP association")
            if not targets:
                self.problem(assoc, "instanceId", "the Elastic IP association targets nothing of this stack "
                                                  "the model can follow (no property dependency)")

    def _unused_launch_templates(self) -> None:
        used = {lt.urn for r in self.of(T.INSTANCE, T.SPOT_INSTANCE, T.ASG)
                for lt in self.deps_any(r, ("launchTemplate", "mixedInstancesPolicy"), [T.LAUNCH_TEMPLATE])}
        for lt in self.of(T.LAUNCH_TEMPLATE):
            if lt.urn not in used and self._lt_public(lt):
                self.problem(lt, "networkInterfaces", "the launch template associates public IP addresses and "
                                                      "is used by nothing in this stack the model can follow")

    def _lt_public(self, lt: Resource) -> bool | None:
        nics = pget(lt, "networkInterfaces")
        if is_unknown(nics):
            self.problem(lt, "networkInterfaces", "the launch template's network interfaces are unknown at "
                                                  "preview; treated as public (fail closed)")
            return True
        result = None
        for i, nic in enumerate(_items(nics)):
            value = nic.get("associatePublicIpAddress") if isinstance(nic, dict) else None
            if is_unknown(value):
                self.problem(lt, f"networkInterfaces[{i}].associatePublicIpAddress",
                             "unknown at preview; treated as a public IP (fail closed)")
                return True
            if isinstance(value, str):
                value = value.lower() == "true"
            if value is not None:
                result = bool(value) or bool(result)
        return result

    # -- what carries an app's traffic is app

    def _carriers(self) -> None:
        for att in self.of(T.ENI_ATTACHMENT):
            for eni in self.deps(att, "networkInterfaceId", [T.NETWORK_INTERFACE]):
                for inst in self.deps(att, "instanceId", [T.INSTANCE, T.SPOT_INSTANCE]):
                    if self.layer(inst.urn) in ("app", UNCLASSIFIED):
                        self._carry(eni.urn, inst.urn)
                    else:
                        self._carry(inst.urn, eni.urn)
        for sga in self.of(T.ENI_SG_ATTACHMENT):
            sgs = self.deps(sga, "securityGroupId", T.SECURITY_GROUPS)
            targets = self.deps(sga, "networkInterfaceId", [T.NETWORK_INTERFACE, T.INSTANCE, T.SPOT_INSTANCE])
            if not sgs or not targets:
                self.problem(sga, "networkInterfaceId", "the security group attachment names a network "
                                                        "interface or group that is not a resource of this stack")
            for t in targets:
                ep = self.endpoints.get(t.urn)
                if ep is not None:
                    for s in sgs:
                        if s.urn not in ep.sgs:
                            ep.sgs.append(s.urn)
                            ep.sg_openers[s.urn] = sga.urn
        cluster_default: dict[str, list[Resource]] = {}
        for ccp in self.of(T.ECS_CLUSTER_CAPACITY_PROVIDERS):
            providers = self.deps_any(ccp, ("capacityProviders", "defaultCapacityProviderStrategies"),
                                      [T.ECS_CAPACITY_PROVIDER])
            for cluster in self.deps(ccp, "clusterName", [T.ECS_CLUSTER]):
                cluster_default.setdefault(cluster.urn, []).extend(providers)
        for svc in self.of(T.ECS_SERVICE):
            ep = self.endpoints[svc.urn]
            providers = self.deps(svc, "capacityProviderStrategies", [T.ECS_CAPACITY_PROVIDER])
            launch = pget(svc, "launchType")
            if not providers and not same(launch, "FARGATE") and pget(svc, "capacityProviderStrategies") is None:
                for cluster in self.deps(svc, "cluster", [T.ECS_CLUSTER]):
                    providers += cluster_default.get(cluster.urn, [])
            hosts = [asg for cp in providers
                     for asg in self.deps(cp, "autoScalingGroupProvider", [T.ASG])]
            ec2 = same(launch, "EC2") or (bool(providers) and not any(
                same(pget(cp, "name"), n) for cp in providers for n in ("FARGATE", "FARGATE_SPOT")))
            if launch is None and not providers and pget(svc, "networkConfiguration") is None:
                ec2 = True  # no launch type, no capacity provider: ECS places the tasks on EC2 hosts
            if ec2 and not hosts:
                self.problem(svc, "launchType", "the service runs on EC2 container instances that are not "
                                                "resources of this stack, so the model cannot tell where its "
                                                "traffic arrives (fail closed)")
            for asg in hosts:
                if ep.layer in ("app", UNCLASSIFIED):
                    self._carry(asg.urn, svc.urn)
                host = self.endpoints.get(asg.urn)
                if host is not None and pget(svc, "networkConfiguration") is None:
                    # bridge/host networking: the tasks receive on the hosts' addresses and groups
                    ep.sgs.extend(s for s in host.sgs if s not in ep.sgs)
                    ep.subnets.extend(s for s in host.subnets if s not in ep.subnets)
                    ep.public.extend(host.public)

    def _carry(self, carrier: str, app: str) -> None:
        layer = self.layer(app)
        if layer in ("app", UNCLASSIFIED):
            self.layer_override[carrier] = "app"
            ep = self.endpoints.get(carrier)
            if ep is not None:
                ep.layer = "app"

    # -- ECS task ports and containers

    def _task_ports(self, svc: Resource) -> list | None:
        defs = self._containers(svc)
        if defs is None:
            return None
        out = []
        for c in defs:
            for pm in _items(c.get("portMappings")) if isinstance(c, dict) else []:
                if not isinstance(pm, dict):
                    continue
                port = pm.get("containerPort")
                proto = str(pm.get("protocol") or "tcp").lower()
                if not isinstance(port, (int, float)):
                    return None
                out.append((proto, int(port)))
        if pget(svc, "networkConfiguration") is None:
            return None  # bridge or host networking: host ports are dynamic
        return out

    def _containers(self, svc: Resource) -> list | None:
        tds = self.deps(svc, "taskDefinition", [T.ECS_TASK_DEFINITION])
        if len(tds) != 1:
            return None
        raw = pget(tds[0], "containerDefinitions")
        if not isinstance(raw, str):
            return raw if isinstance(raw, list) else None
        try:
            doc = json.loads(raw)
        except ValueError:
            return None
        return doc if isinstance(doc, list) else None

    # -- proven nodes

    def _prove_nodes(self) -> None:
        for urn, ep in self.endpoints.items():
            if ep.layer != "node" or not ep.compute:
                continue
            why = self._node_unproven(self.stack.by_urn[urn], ep)
            if why is None:
                self.filters.add(urn)
            else:
                self.unproven[urn] = why

    def _node_unproven(self, res: Resource, ep: Endpoint) -> str | None:
        if ep.kind in ("asg", "instance"):
            return self._ec2_node_unproven(res)
        if ep.kind != "ecs":
            return (f"a {ep.kind} cannot be proven to run the Wallarm node (only an ECS service whose task "
                    "definition the pack can read, or EC2 capacity of Wallarm's AMI, can)")
        tds = self.deps(res, "taskDefinition", [T.ECS_TASK_DEFINITION])
        if len(tds) != 1:
            return "its task definition is not a resource of this stack"
        raw = pget(tds[0], "containerDefinitions")
        if is_unknown(raw):
            sources = self.stack.deps(tds[0], "containerDefinitions")
            if sources and all(d.type.startswith(_SECRET_REFERENCES) for d in sources):
                # Unknown only because it embeds the ARN of a secret created in this stack: the
                # image cannot come from that ARN. Trusted at preview, proved exactly when the ARN
                # is known (update mode; `pulumi up` runs Analyze on the task definition first).
                self.pending[res.urn] = ", ".join(d.name for d in sources)
                return None
            return (f"the containerDefinitions of task definition '{tds[0].name}' are unknown at preview, so its "
                    "image cannot be proven (build them from values known at preview)")
        defs = self._containers(res)
        if defs is None:
            return f"the containerDefinitions of task definition '{tds[0].name}' are not a JSON list"
        rules = self.node_rules
        wallarm = [c for c in defs if isinstance(c, dict) and rules.is_wallarm_repo(c.get("image"))]
        if not wallarm:
            images = ", ".join(repr(c.get("image")) for c in defs if isinstance(c, dict))
            return f"no container runs the Wallarm node image (images: {images})"
        for c in wallarm:
            bad = rules.image_problem(c.get("image"))
            if bad:
                return bad
        ports = {c.get("name"): {pm.get("containerPort") for pm in _items(c.get("portMappings"))
                                 if isinstance(pm, dict)} for c in wallarm}
        for i, lb in enumerate(_items(pget(res, "loadBalancers"))):
            if not isinstance(lb, dict):
                continue
            name, port = lb.get("containerName"), lb.get("containerPort")
            if is_unknown(name) or is_unknown(port):
                return f"loadBalancers[{i}] names its container or port with a value unknown at preview"
            if name not in ports:
                return (f"its load balancer targets container {name!r}, not the Wallarm container "
                        f"({', '.join(repr(n) for n in ports)}): traffic would skip the node")
            if port not in ports[name] and (not isinstance(port, float) or int(port) not in ports[name]):
                return f"its load balancer targets port {port} of {name!r}, which the Wallarm container does not map"
        return self._registry_unproven(res, ports)

    def _registry_unproven(self, svc: Resource, ports: dict) -> str | None:
        """A Cloud Map registration (`serviceRegistries`) lists the container and port clients are
        sent to: anything but a Wallarm container's mapped port is not the node."""
        registries = pget(svc, "serviceRegistries")
        for i, reg in enumerate(_items(registries) if not is_unknown(registries) else [registries]):
            if is_unknown(reg):
                return "its serviceRegistries are unknown at preview"
            if not isinstance(reg, dict):
                continue
            name, port = reg.get("containerName"), reg.get("containerPort")
            if port is None:
                port = reg.get("port")
            if is_unknown(name) or is_unknown(port):
                return f"serviceRegistries[{i}] names its container or port with a value unknown at preview"
            if name is not None and name not in ports:
                return (f"it registers container {name!r} in Cloud Map, not the Wallarm container "
                        f"({', '.join(repr(n) for n in ports)}): whoever Cloud Map sends there skips the node")
            mapped = ports[name] if name is not None else set().union(*ports.values())
            if isinstance(port, (int, float)) and int(port) not in {int(p) for p in mapped
                                                                   if isinstance(p, (int, float))}:
                return (f"it registers port {int(port)} in Cloud Map, which no Wallarm container maps: "
                        "whoever Cloud Map sends there skips the node")
        return None

    # -- proven nodes on EC2 (an Auto Scaling group or an instance): Wallarm's AMI, set up by the
    # node's own cloud-init, registered in the target group on the port the node listens on

    def _ec2_node_unproven(self, res: Resource) -> str | None:
        launches = self._launches(res)
        if isinstance(launches, str):
            return launches
        ports: set[int] = set()
        for launch in launches:
            why = self._launch_unproven(res, launch, ports)
            if why:
                return why
        return self._registrations_unproven(res, ports or {NODE_AMI_PORT})

    def _template_launch(self, lt: Resource) -> Launch:
        tags = _tag_map(pget(lt, "tags"))
        for spec in _items(pget(lt, "tagSpecifications")):
            if isinstance(spec, dict) and same(spec.get("resourceType"), "instance"):
                tags.update(_tag_map(spec.get("tags")))
        return Launch(pget(lt, "imageId"), (lt, "imageId"), pget(lt, "userData"), (lt, "userData"), True, tags)

    def _launches(self, res: Resource) -> list[Launch] | str:
        tpls = self.deps_any(res, ("launchTemplate", "mixedInstancesPolicy"), [T.LAUNCH_TEMPLATE])
        named = pget(res, "launchTemplate") is not None or pget(res, "mixedInstancesPolicy") is not None
        if named and not tpls:
            return "its launch template is not a resource of this stack, so what it boots cannot be read"
        foreign = self._foreign_template_spec(res, tpls)
        if foreign:
            return (f"{foreign} names a launch template that is not a resource of this stack, so what the "
                    "instances launched from it boot cannot be read")
        if res.type == T.ASG:
            if pget(res, "launchConfiguration") is not None:
                return "it launches from a launch configuration, which the pack does not read"
            return [self._template_launch(lt) for lt in tpls] or "it names no launch template"
        if len(tpls) > 1:
            return "it names more than one launch template"
        base = self._template_launch(tpls[0]) if tpls else Launch(None, None, None, None, True, {})
        own = _tag_map(pget(res, "tags"))
        tags = {**base.tags, **own}

        def given(prop: str) -> bool:
            # what the program set on the instance; after an update the provider also reports the
            # template's values there (user data as a hash), which are not the instance's own
            return pget(res, prop) is not None and (not tpls or _configured(res, prop))

        image, image_from = base.image, base.image_from
        if given("ami"):
            if not same(pget(res, "ami"), base.image):
                tags = own  # another image than the template's: its declaration is not this one's
            image, image_from = pget(res, "ami"), (res, "ami")
        data, data_from, b64 = base.data, base.data_from, True
        if given("userDataBase64"):
            data, data_from = pget(res, "userDataBase64"), (res, "userDataBase64")
        elif given("userData"):
            data, data_from, b64 = pget(res, "userData"), (res, "userData"), False
        return [Launch(image, image_from, data, data_from, b64, tags)]

    @staticmethod
    def _template_specs(res: Resource) -> list[tuple[str, Any]]:
        """Every launch template specification of an instance or Auto Scaling group, as (path, the
        template id or name it gives): `launchTemplate`, and a mixed-instances policy's own
        specification and each override's (an override may boot another template)."""
        out: list[tuple[str, Any]] = []

        def add(path: str, spec: Any, id_key: str, name_key: str) -> None:
            if not isinstance(spec, dict):
                return
            value = spec.get(id_key)
            if value is None:
                value = spec.get(name_key)
            if value is not None:
                out.append((path, value))

        add("launchTemplate", pget(res, "launchTemplate"), "id", "name")
        mip = pget(res, "mixedInstancesPolicy")
        tpl = mip.get("launchTemplate") if isinstance(mip, dict) else None
        if isinstance(tpl, dict):
            add("mixedInstancesPolicy.launchTemplate.launchTemplateSpecification",
                tpl.get("launchTemplateSpecification"), "launchTemplateId", "launchTemplateName")
            overrides = tpl.get("overrides")
            for i, o in enumerate(_items(overrides) if not is_unknown(overrides) else []):
                if isinstance(o, dict):
                    add(f"mixedInstancesPolicy.launchTemplate.overrides[{i}].launchTemplateSpecification",
                        o.get("launchTemplateSpecification"), "launchTemplateId", "launchTemplateName")
        return out

    def _foreign_template_spec(self, res: Resource, tpls: list[Resource]) -> str | None:
        """The first specification naming a template that none of the stack's templates it depends
        on is: a literal id or name that is not one of theirs (a value unknown at preview comes
        from those dependencies)."""
        known = set()
        for lt in tpls:
            for prop in ("id", "name", "arn"):
                value = pget(lt, prop)
                if isinstance(value, str):
                    known.add(value)
        for path, value in self._template_specs(res):
            if is_unknown(value) or not isinstance(value, str):
                continue
            if value not in known:
                return path
        return None

    def _launch_unproven(self, res: Resource, launch: Launch, ports: set[int]) -> str | None:
        rules = self.node_rules
        image = launch.image
        where = f"{launch.image_from[0].name}'s {launch.image_from[1]}" if launch.image_from else "its image"
        if image is None:
            return "it names no image (AMI)"
        if is_unknown(image):
            return f"{where} is unknown at preview, so the image cannot be proven to be Wallarm's AMI"
        listed = str(image) in rules.ami_ids
        if not listed:
            declared = rules.declared_ami_problem(launch.tags)
            if declared:
                return f"image {image!r} is not listed in the pack's nodeAmiIds, and {declared}"
        raw = launch.data
        if raw is None:
            if listed:
                return None
            return (f"image {image!r} declares Wallarm's AMI, but no user data runs Wallarm's node set-up "
                    f"({CLOUD_INIT}): a declaration alone is not evidence")
        holder, prop = launch.data_from
        if is_unknown(raw):
            sources = self.stack.deps(holder, prop)
            if sources and all(d.type.startswith(_SECRET_REFERENCES) for d in sources):
                # As a task definition embedding a secret's ARN: trusted at preview, proved once known.
                self.pending[res.urn] = ", ".join(d.name for d in sources)
                return None
            return (f"the {prop} of '{holder.name}' is unknown at preview, so what the node runs cannot be "
                    "proven (build it from values known at preview)")
        text = _user_data_text(raw, launch.data_base64)
        if text is None:
            return (f"the {prop} of '{holder.name}' is not text the pack can read (base64 of a shell script "
                    "or cloud-config; the provider keeps an instance's plain userData as a hash: use userDataBase64)")
        if not listed and not _RUNS_CLOUD_INIT.search(text):
            return (f"the {prop} of '{holder.name}' does not run Wallarm's node set-up ({CLOUD_INIT}), so the "
                    "declared AMI is not evidenced")
        ports.update(int(p) for p in _LISTEN.findall(text))
        return None

    def _registrations_unproven(self, res: Resource, ports: set[int]) -> str | None:
        """Every target group the node is registered in must send to a port the node listens on."""
        for tg_urn, members in self.tg_members.items():
            tg = self.stack.by_urn.get(tg_urn)
            for member, via in members:
                if member != res.urn or tg is None:
                    continue
                att = self.stack.by_urn.get(via)
                port = pget(att, "port") if att is not None and att.type in T.TG_ATTACHMENTS else None
                if port is None:
                    port = pget(tg, "port")
                if is_unknown(port):
                    return f"target group '{tg.name}' sends to a port unknown at preview"
                if not isinstance(port, (int, float)):
                    return f"target group '{tg.name}' names no port the node could be shown to listen on"
                if int(port) not in ports:
                    return (f"target group '{tg.name}' sends to port {int(port)}, where the node does not listen "
                            f"({', '.join(str(p) for p in sorted(ports))}): traffic would skip the node")
        return None

    # -- literal targets: a Lambda function ARN names the stack's function of that name; an IP
    # address is what is configured with it, else only an address

    def _literal_targets(self, res: Resource, value: Any) -> list[Resource] | None:
        """The endpoints a literal target id names (a target group attachment's `targetId`): a Lambda
        function ARN is the stack's function with that `name` (as an integration URI is; one naming
        no function of the stack fails closed there, `_literal_functions`); otherwise an address
        (`_address_targets`). None: neither; []: nothing of the stack (fail closed by the caller)."""
        if isinstance(value, str) and value.startswith("arn:") and ":lambda:" in value:
            fns = self._literal_functions(res, "targetId", value, plain=False)
            return [self.stack.by_urn[f] for f in fns]
        return self._address_targets(res, value)

    # -- addresses: what a literal IP names is what is configured with it, else only an address

    def _address_targets(self, res: Resource, value: Any) -> list[Resource] | None:
        """The endpoints a literal address (a target id, a Cloud Map instance's IPv4) names: compute
        of the stack configured with exactly that private IP; otherwise the address itself, an
        endpoint of its own (keyed by `res`) in the subnets that contain it, never trusted as a node
        (a node is proven by what runs there, not by an address range), app when a subnet is app.
        None: not an address; []: an address in no subnet of the stack."""
        net = parse_cidr(value)
        if net is None or not isinstance(value, str) or "/" in value:
            return None
        owners = [self.stack.by_urn[u] for u in self.endpoints if value in self._literal_ips(self.stack.by_urn.get(u))]
        if owners:
            return owners
        subnets = list(dict.fromkeys(self.subnets.overlapping(net, any_vpc=True)))
        if not subnets:
            return []
        layer = "app" if any(self.layer(s) == "app" for s in subnets) else UNCLASSIFIED
        ep = Endpoint(res.urn, "address", layer, subnets=subnets)
        vpcs = {self.subnet_vpc.get(s) for s in subnets} - {None}
        ep.vpc = next(iter(vpcs)) if len(vpcs) == 1 else None
        self.endpoints[res.urn] = ep
        self.layer_override[res.urn] = layer
        return [res]

    @staticmethod
    def _literal_ips(res: Resource | None) -> set[str]:
        if res is None or res.type not in (T.INSTANCE, T.SPOT_INSTANCE, T.NETWORK_INTERFACE):
            return set()
        out: set[str] = set()
        for prop in ("privateIp", "privateIps", "privateIpList", "secondaryPrivateIps"):
            if _configured(res, prop):
                out.update(v for v in _items(pget(res, prop)) if isinstance(v, str))
        return out

    # -- service discovery: what a Cloud Map service sends to is what is registered in it

    def _cloudmap_targets(self, sd: Resource) -> list[str]:
        """The Cloud Map service as a vertex of the graph, with an edge to every registration: ECS
        services registering into it (`serviceRegistries`; their registered container and port are
        part of the node proof) and `servicediscovery.Instance`s (the address they list)."""
        if sd.urn in self.cloudmap_linked:
            return [sd.urn]
        self.cloudmap_linked.add(sd.urn)
        for svc in self.of(T.ECS_SERVICE):
            if any(d.urn == sd.urn for d in self.stack.deps(svc, "serviceRegistries")):
                self._edge(sd.urn, svc.urn, self._registration_openers(sd, svc.urn, svc.urn),
                           "listed by Cloud Map (an ECS service registry)")
        for inst in self.of(T.SD_INSTANCE):
            if not any(d.urn == sd.urn for d in self.stack.deps(inst, "serviceId")):
                continue
            for target in self._cloudmap_instance(inst):
                self._edge(sd.urn, target, self._registration_openers(sd, target, inst.urn),
                           "listed by Cloud Map (a registered instance)")
        return [sd.urn]

    def _registration_openers(self, sd: Resource, member: str, registration: str) -> list[str]:
        """As for a target group: a registration of the service's own layer is legitimate (what
        sends to the service opens the path), one from another layer opens it itself."""
        ep = self.endpoints.get(member)
        if ep is not None and ep.layer == self.stack.layer(sd) != UNCLASSIFIED:
            return []
        return [registration]

    def _cloudmap_instance(self, inst: Resource) -> list[str]:
        linked = [d.urn for d in self.stack.deps(inst, "attributes") if d.urn in self.endpoints]
        if linked:
            return linked
        attrs = pget(inst, "attributes")
        address = None if is_unknown(attrs) else (attrs or {}).get("AWS_INSTANCE_IPV4") or \
            (attrs or {}).get("AWS_INSTANCE_IPV6")
        targets = self._address_targets(inst, address) if address is not None and not is_unknown(address) else None
        if not targets:
            self.problem(inst, "attributes", "the Cloud Map instance lists an address or name that is no resource "
                                             "of this stack (it could be anything: fail closed)")
            return []
        return [t.urn for t in targets]


def _user_data_text(raw: Any, is_base64: bool) -> str | None:
    if not isinstance(raw, str):
        return None
    if is_base64:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        if re.fullmatch(r"[0-9a-f]{40}", raw):
            return None  # the provider's SHA-1 of the user data, not the script
        data = raw.encode()
    if data[:2] == b"\x1f\x8b":
        return None  # gzip: cloud-init reads it, the pack does not
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None

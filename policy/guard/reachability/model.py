"""One reachability model of the stack, from the internet to every endpoint, built once per
`AnalyzeStack` (the way VPC Reachability Analyzer, Network Access Analyzer or checkov's graph
checks reason), linked through `property_dependencies` and parents, never through id values.

ASSUMPTIONS (what a verdict means; each is an explanation the findings can cite)
--------------------------------------------------------------------------------
THE INTERNET is every address that can be a source on the internet (not RFC 1918, CGNAT,
link-local, multicast). It reaches:
  * a public address (an internet-facing load balancer, a task or instance public IP, an Elastic IP,
    a publicly accessible database) only when (a) the address sits in a subnet whose route table
    (its explicit association, else the VPC's main route table) routes public address space to an
    internet gateway (an egress-only gateway is not inbound; no route, no path), (b) a security
    group of the resource admits a public source on a protocol and port the resource listens on,
    and (c) the subnet's network ACL allows it in and the reply out (stateless, rules in number
    order, implicit deny; a subnet without an ACL of the stack uses the VPC default ACL, which
    allows everything unless the stack manages it);
  * the ADDRESS SPACE of a public subnet (a subnet routed to an internet gateway): any address in
    it may carry a public IP, so a rule admitting such a CIDR admits the internet;
  * CloudFront distributions, REST APIs that are not PRIVATE, HTTP APIs, Lambda function URLs with
    authorization NONE: directly (an API whose default execute-api endpoint is disabled only
    through its custom domains); API Gateway custom domains that are not PRIVATE: directly, opened
    by each mapping (BasePathMapping, apigatewayv2 ApiMapping) to the API whose stage it serves.
A CIDR outside the VPC is what the routes say it is: public space through an internet gateway is
the internet; private space routed to a peering connection or Transit Gateway is the subnets of
the stack's VPCs on the other side whose own route tables send part of this VPC's space back
through the same connection or gateway (their requests leave by their own routes: without one, no
connection opens, so a peer with no route back is no source); space routed to anything outside the stack (a VPN, a foreign
VPC, a gateway id the stack does not own) is treated as the internet; space with no route is
unreachable.
THE DEFAULT VPC (default_vpc.py): what the stack places in a network without naming one (an
instance or Auto Scaling group without a subnet, an RDS instance without a subnet group, a
security group without `vpcId`) is in the region's default VPC, outside the stack and public as
AWS builds it: an instance or group there has a public IPv4 address unless it configures
`associatePublicIpAddress: false`; every CIDR a default-VPC security group admits, the default
VPC's own space included, is a source outside the stack (the internet); its default security
group (a resource without groups) admits the internet (its rules and members are not the stack's).
Traffic: a request is tcp or udp to a port a resource listens on (load balancers: their listeners;
ECS tasks: their container ports; other compute: any port). ICMP and other protocols carry none.

REACHED resources send on: compute reached from the internet is a foothold that may send anything
from its security groups and subnets; a load balancer or VPC link only forwards (to its targets,
and as a member of its security groups to whatever trusts those groups); CloudFront and API
Gateway forward to their origins and integrations. An integration or authorizer URI, or a target
group attachment's target id, naming a Lambda function by a literal ARN or name reaches the stack's function of that `name`; a literal
naming no function of the stack fails closed. A Lambda authorizer (REST TOKEN/REQUEST, HTTP API
REQUEST) runs its function on the caller's request before any integration: the API reaches the
function, which is app code whatever its label (an `edge` label cannot make customer code a
filter); Cognito and JWT authorizers run no customer code.
Gateway forward to their origins and integrations. Per listener: a source a load balancer's
security group admits on some ports enters only the listeners on those ports and is forwarded only
by them (sources that are not security group rules, such as CloudFront or a VPC link, enter every
listener); the load balancer reaches its own targets only through those forwards, not as a member
of its groups; CloudFront enters an origin load balancer on the listeners of its origin ports. The
perimeter searches (which entries reach the nodes) go per listener too. When a rule admits the
internet only to listeners that forward around the nodes of a load balancer whose other listeners
serve the nodes, that rule is what opens the path.
SHARED with other accounts (sources in an open world): a subnet in a RAM share (their resources are
placed in it: its address space is theirs); a CloudFront VPC origin in a RAM share (their
distributions, without this stack's WAF, reach its load balancer: an internet entry); a Transit
Gateway in a RAM share that auto-accepts shared attachments and associates and propagates the
default route table (the ranges the stack routes to it are theirs to attach: the share opens what
rules trust there); a Transit Gateway whose route table association, propagation or static
route names an attachment that is not a VPC attachment of the stack (the stack wires that network
into its routing: that association is what opens it); a PrivateLink endpoint service whose allowed
principals (`*` or any account) may connect without acceptance, or that accepts a connection from
an endpoint outside the stack;
a peering accepted from a connection that is not a resource of the stack (another account's VPC).
A managed prefix list in a RAM share is no source: consumers may reference it, only its owner
changes its entries. A subnet in a share adds no member to the stack's security groups (other
accounts cannot use them), so only rules trusting its range open to them.
Every RAM resource association shares: a share's principals are other accounts by construction.

ORIGIN PROTECTION BY A SECRET HEADER: an ALB listener admits, per request, what its rules admit:
condition blocks ANDed, the values of one block ORed (`*`/`?` wildcards). A forward is reachable
only with the secret when one of its rule's blocks is a header condition whose every value is a
secret (a random or secret resource's value, or the same literal the distribution sends) that no
distribution sends to an origin outside the stack, or a source-IP condition with no internet
address; any other forward (a default forward, a header anyone can send, a public source range,
path or host only) admits the internet without CloudFront's WAF. A SECRET is what nobody outside
can guess: a Secrets Manager secret or SSM parameter, or a pulumi_random password or string of at
least 12 characters, id or bytes of at least 8 bytes (64 bits or more), or UUID (a literal: at
least 16 characters, its entropy unknown); a pet name, integer, shuffle or shorter value is tried
straight at the ALB, and a value equal to an output of a resource that is
no secret (an id, a DNS name) is readable. Only the listeners the internet enters count (directly
on the ports its rules admit, through the CloudFront origin-facing list, a public subnet's space,
a foothold it reaches, or the stack's distributions on their origin ports): a listener nobody
outside can enter answers nobody there, whatever it forwards. Every origin (origin group
members included) of every distribution that gets a secret header and is outside the stack (a
literal domain, or one that is no output of a resource of the stack) leaks it; an origin named by
a Route 53 record of the stack (its name, fqdn, or relative name completed with its zone's) is what
that record's alias or records point to (the ALB whose certificate covers the name), and is inside; at preview an
unknown header value sent there may be any secret the distribution's origins use (fail closed).
An API that is a CloudFront origin rejects direct calls when its default endpoint is off (or only
CloudFront's API key opens it) AND every public custom domain mapped to it is protected itself
(each stage it serves has a web ACL, or only CloudFront's API key opens it):
`disable_execute_api_endpoint` turns off the execute-api host only, a custom domain (regional or
edge-optimized, whose CloudFront is AWS's, without a web ACL of ours) still serves the stage.
THE PERIMETER WAF holds when every internet path to the nodes crosses a web ACL: at the entry, or
further on (a distribution without a web ACL in front of an origin with its own regional ACL); a
distribution whose webAclId names an ACL that cannot apply is reported regardless. A web ACL
applies only where AWS accepts it: CLOUDFRONT scope in us-east-1 on a distribution's `webAclId`,
REGIONAL scope through an association made in the protected resource's own region, the ACL in that
region too (the `region` input, else the provider's; a literal ACL ARN's region; an unknown region
fails closed). A REGIONAL ACL on a distribution, a CLOUDFRONT ACL in an association, an association
naming another resource (the app's ALB instead of the stage), an ACL of another region, and a web
ACL association on an HTTP API stage (WAF does not support HTTP APIs) protect nothing. API keys and
usage plans are no WAF (every key holder calls the API), except as the CloudFront-only key above.
What the ACL's rules must hold is `require-rate-based-rule`'s (LG-WAF-002): an ACL that allows
everything with no rule fails there.

EDGE CODE: a Lambda@Edge function or CloudFront Function associated with a cache behaviour of a
distribution (any event type: viewer or origin, request or response) runs customer code on the
attacker's request before any node: it is an endpoint the distribution reaches, protected like any
compute (app or unclassified). A CloudFront Function is customer code too (no network, but it reads
and rewrites the unfiltered request); it can carry no tags, so it is edge logic only inside a
layerguard edge component, and otherwise needs a suppression with a reason. A Lambda@Edge function
labelled `edge` is deliberate edge logic (header rewrites, redirects, signing), not the app: it
passes, as any edge-labelled compute does.

A NODE is a filter only when PROVEN: an ECS service labelled `node` whose task definition runs the
Wallarm node image (repository and release rules in policy config) and whose load balancer targets
and Cloud Map registrations name that container and port; or EC2 capacity labelled `node` (an
Auto Scaling group over launch templates of the stack, every specification of it naming one: its
own, a mixed-instances policy's and each override's, which may boot another template; or an
instance) whose image is Wallarm's
and which every target group it is registered in sends to on a port the node listens on (the
`listen` ports of the user data's vhost, else 80, the AMI's). The pack cannot look an AMI id up
(invoke results never reach it), so an image is Wallarm's when (a) its id is in the policy
config's `nodeAmiIds` (the policy owner vouches for it), or (b) the launch declares the lookup it
made (tags `layerguard:node-ami-owner` in `nodeAmiOwners`, AWS Marketplace 679593333241 by default,
and `layerguard:node-ami-name` `wallarm-node-<supported major>...`) AND its user data runs Wallarm's
documented set-up, `/opt/wallarm/usr/share/wallarm-common/cloud-init.py`, which exists only on that
image: the tags alone are the program's own claim and never suffice; `layerguard verify` is where
the deployed image is compared with the declaration. (At the first preview, a task definition or
user data that is unknown only because it embeds the ARN of a secret the stack creates is trusted
until that ARN is known; update mode and `pulumi up` decide it exactly; any other unknown fails.)
An ADDRESS (a literal IP target, a Cloud Map instance's AWS_INSTANCE_IPV4) is what the stack
configures with exactly that private IP, else an endpoint of its own in the subnets containing it:
app when such a subnet is app, otherwise unclassified, never a node (a node is proven by what runs
there, not by where). A Cloud Map service reached by an integration sends to what is registered in
it. Anything labelled `node` that is not proven is reported and is not a filter.
IPv6: an instance or interface with IPv6 addresses, and ECS tasks or instances in a subnet that
assigns them (`assignIpv6AddressOnCreation`, `ipv6Native`, AAAA records on launch: settings known at
the first preview, while the subnet's IPv6 block is still computed), have a public address where
the subnet's route table sends public IPv6 space to an internet gateway; that route opens it too.
A rule admitting a VPC's or subnet's IPv6 block that is still computed (Amazon-provided: unknown
at the first preview) admits exactly that subnet, or that VPC's subnets given an IPv6 block,
whatever the value.
PROTECTED is every compute resource labelled `app` or that cannot be classified (it may
be app), and what carries an app's traffic (attached network interfaces, the EC2 capacity of an
app service) is app. A security group labelled `app` with no member in the stack (an adopted
backend's, imported) protects app resources outside it: one protected endpoint in that group,
listening on any port, with a public address (the model cannot see theirs: fail closed). So does
the default security group of a VPC outside the stack (literal or declared) that the stack adopts
(`DefaultSecurityGroup`), whatever its label: AWS gives it to whatever is launched there without a
group, which the stack cannot see and which may be the app.

FAILS CLOSED (a `Problem`, reported as a violation naming the resource and the property): a value
the model needs but cannot know at preview; a resource type the model does not understand that
exposes compute or is placed in a network (`kinds.py`); ids of subnets, security groups, route
tables or targets that are not resources of this stack (literal ids or `.get()` lookups, which are
not part of AnalyzeStack; a route, or the adopted main table of a VPC outside the stack, only when it
sends public space to an internet gateway or a target the model cannot judge: which subnets it
serves is unknown, but a NAT gateway or endpoint route makes none of them public); API Gateway routes defined by an OpenAPI body or quick-create target.

Analyses (each O(V + E)): `bypasses()` searches from the internet without entering proven nodes;
every edge from that region into a protected endpoint is a path around the nodes.
`reaches_nodes()` searches backwards from the proven nodes (for the perimeter rules).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from guard import sdk_memo
from guard.framework import UNCLASSIFIED, Resource, Stack, is_unknown

from . import declared
from . import tokens as T
from .apigateway import ApiGateway
from .base import (
    _NET,
    _OUTSIDE,
    _SG,
    COMPUTE,
    FORWARDERS,
    INTERNET,
    Edge,
    Endpoint,
    Problem,
    Source,
    _items,
    pget,
    same,
)
from .cloudfront import CloudFront
from .compute import (
    DEFAULT_NODE_AMI_OWNERS,
    DEFAULT_NODE_MAJORS,
    DEFAULT_NODE_REPOSITORIES,
    Compute,
    NodeRules,
    node_rules_from,
    split_image,
)
from .default_vpc import DEFAULT_VPC, DefaultVpc
from .loadbalancing import LoadBalancing
from .net import AclRule, Network, SubnetIndex
from .network import FOREIGN_SG_TAG, NetworkFamily
from .sharing import Sharing

__all__ = [
    "COMPUTE", "DEFAULT_NODE_AMI_OWNERS", "DEFAULT_NODE_MAJORS", "DEFAULT_NODE_REPOSITORIES", "FOREIGN_SG_TAG", "FORWARDERS", "INTERNET",
    "Edge", "Endpoint", "Model", "NodeRules", "Problem", "Source", "model_for", "node_rules_from", "pget", "same",
    "split_image",
]


class Reach(dict):
    """`reaches_nodes`: vertex -> next hop toward a node; `states`: the (vertex, listener) states
    that reach one ("" : entered on any listener)."""

    def __init__(self) -> None:
        super().__init__()
        self.states: set[tuple] = set()


class Model(NetworkFamily, Sharing, LoadBalancing, CloudFront, ApiGateway, Compute, DefaultVpc):
    """The graph of one stack: `__init__` holds the state every family fills, `_build` runs the
    families in order, the analyses search the graph. Each family's builders live in its module
    (network.py, sharing.py, loadbalancing.py, cloudfront.py, apigateway.py, compute.py, default_vpc.py)."""

    def __init__(self, stack: Stack, cloudfront_list_ids: Iterable[str] = (),
                 node_rules: NodeRules | None = None) -> None:
        self.stack = stack
        self.cf_ids = set(T.CLOUDFRONT_PREFIX_LIST_IDS) | {str(i) for i in cloudfront_list_ids}
        self.node_rules = node_rules or NodeRules()
        self.problems: list[Problem] = []
        self.endpoints: dict[str, Endpoint] = {}
        self.out: dict[str, list[Edge]] = {}
        self.inn: dict[str, list[tuple[str, Edge]]] = {}
        self._by_type: dict[str, list[Resource]] = {}
        for r in stack.resources:
            self._by_type.setdefault(r.type, []).append(r)
        self.vpc_nets: dict[str, list[Network]] = {}
        self.subnet_nets: dict[str, list[Network]] = {}
        self.subnet_vpc: dict[str, str | None] = {}
        self.public_subnets: dict[str, list[tuple[str, str]]] = {}
        self.subnets = SubnetIndex()
        self.rt_routes: dict[str, list[tuple]] = {}      # table -> [(dest, kind, target, opener)]
        self.vpc_tables: dict[str, set] = {}             # vpc -> tables in it
        self.subnet_table: dict[str, str | None] = {}
        self.subnet_acl: dict[str, str | None] = {}
        self.acl_rules: dict[str, dict[str, list[AclRule]]] = {}
        self.sg_vpc: dict[str, str | None] = {}
        self.sg_rules: dict[str, list[Source]] = {}
        self.sg_members: dict[str, list[str]] = {}
        self.default_sg: dict[str, str] = {}
        self.tg_members: dict[str, list[tuple[str, str]]] = {}
        self.lb_listeners: dict[str, list[Resource]] = {}
        self.listener_rules: dict[str, list[Resource]] = {}
        self.cf_origins: dict[str, list[tuple[str, str, str]]] = {}  # dist -> (target, via, opener)
        self.rest_stages: dict[str, list[Resource]] = {}
        self.waf_assocs: dict[str, list[Resource]] = {}
        self.layer_override: dict[str, str] = {}
        self.filters: set[str] = set()                   # proven Wallarm node endpoints
        self.unproven: dict[str, str] = {}               # node-labelled compute that is not proven
        self.pending: dict[str, str] = {}                # nodes trusted at preview until a secret ARN is known
        self.cloudmap_linked: set[str] = set()           # Cloud Map services whose registrations are edges
        self.internet_admission: dict[str, list[tuple[tuple, str, bool]]] = {}
        self.foreign_groups: list[tuple[str, str]] = []  # (rule, group id): see _foreign_rule
        self.ram_shared: dict[str, list[str]] = {}       # resource -> RAM associations sharing it
        self.tgw_open: dict[str, list[tuple[str, str]]] = {}  # TGW with outside networks -> [(opener, why)]
        self._in_subnet: dict[str, list[str]] | None = None
        self._all_vpc_nets: list[Network] | None = None
        self._build()

    # ------------------------------------------------------------------ helpers

    def of(self, *types: str) -> list[Resource]:
        out: list[Resource] = []
        for t in types:
            out.extend(self._by_type.get(t, ()))
        return out

    def deps(self, res: Resource, prop: str, types: Iterable[str] | None = None) -> list[Resource]:
        found = self.stack.deps(res, prop)
        if types is not None:
            wanted = set(types)
            found = [d for d in found if d.type in wanted]
        return found

    def deps_any(self, res: Resource, props: Iterable[str], types: Iterable[str]) -> list[Resource]:
        seen: dict[str, Resource] = {}
        for p in props:
            for d in self.deps(res, p, types):
                seen.setdefault(d.urn, d)
        return list(seen.values())

    def problem(self, res: Resource, prop: str, message: str, area: str = "reach") -> None:
        self.problems.append(Problem(res.urn, prop, message, area))

    def label(self, vertex: str) -> str:
        if vertex == INTERNET:
            return "internet"
        if vertex.startswith(_SG):
            return f"members of security group {self._name(vertex[len(_SG):])}"
        if vertex.startswith(_NET):
            return f"subnet {self._name(vertex[len(_NET):])}"
        if vertex.startswith(_OUTSIDE):
            return f"the app resources outside the stack in security group {self._name(vertex[len(_OUTSIDE):])}"
        return self._name(vertex)

    def _name(self, urn: str) -> str:
        if urn.startswith("default|" + DEFAULT_VPC):
            return f"the default security group of the region's default VPC ({urn.rsplit('|', 1)[-1]})"
        if urn.startswith("default|"):
            return "the VPC's default security group"
        res = self.stack.by_urn.get(urn)
        if res is None:
            return urn
        return f"{res.type.rsplit(':', 1)[-1]} '{res.name}'"

    def layer(self, urn: str) -> str:
        if urn in self.layer_override:
            return self.layer_override[urn]
        res = self.stack.by_urn.get(urn)
        return self.stack.layer(res) if res is not None else UNCLASSIFIED

    def _edge(self, src: str, dst: str, openers: Iterable[str], note: str, via_cf: bool = False,
              membership: bool = False, ports: str = "", via: str = "", entry: tuple | None = None,
              listener: str = "", rule: str = "") -> None:
        edge = Edge(dst, tuple(dict.fromkeys(o for o in openers if o)), note, via_cf, membership, ports, via,
                    entry, listener, rule)
        self.out.setdefault(src, []).append(edge)
        self.inn.setdefault(dst, []).append((src, edge))

    def _bool(self, res: Resource, path: str, default: bool | None, why: str) -> bool | None:
        """A literal boolean input; unknown is a Problem and counted as the unsafe `True`."""
        value = pget(res, path)
        if value is None:
            return default
        if is_unknown(value):
            self.problem(res, path, f"{path} is unknown at preview, so {why} cannot be proved false; "
                                    "it is treated as true (fail closed)")
            return True
        if isinstance(value, str):
            return value.lower() in ("true", "enabled", "1")
        return bool(value)

    def _owned(self, res: Resource, path: str, dep_prop: str, types: Iterable[str], what: str) -> list[Resource]:
        """The resources of `types` an id list names, through property dependencies; ids that are
        not resources of this stack (literal, or read with `.get()`) are a Problem."""
        found = self.deps(res, dep_prop, types)
        value = pget(res, path)
        if value is None:
            return found
        items = [value] if is_unknown(value) else _items(value)
        items = [v for v in items if not same(v, "")]
        if is_unknown(value) and not found:
            self.problem(res, path, f"the {what} are unknown at preview and are not resources of this stack")
        elif len(items) > len(found):
            self.problem(res, path, f"{len(items) - len(found)} of the {what} in {path} are not resources of "
                                    "this stack (literal ids or `.get()` lookups are not part of the preview), "
                                    "so the model cannot tell what they expose (fail closed)")
        return found

    # ------------------------------------------------------------------ build

    def _build(self) -> None:
        self._open_world()
        self._ram_shares()
        self._shared_tgws()
        self._network()
        self._routes()
        self._nacls()
        self._security_groups()
        self._endpoints()
        self._default_vpc()
        self._carriers()
        self._memberships()
        self._target_groups()
        self._forwarding()
        self._listening()
        self._prove_nodes()
        self._cloudfront()
        self._shares()
        self._api_gateway()
        self._waf()
        self._outside_members()
        self._graph()
        self._lb_sends()

    # -- endpoints: one builder per kind

    def _endpoint(self, res: Resource, kind: str, sgs: Iterable[Resource], subnets: Iterable[Resource]) -> Endpoint:
        tag = res.tag_layer
        if is_unknown(tag):
            self.problem(res, "tags", "the layerguard:layer tag is unknown at preview; the resource is "
                                      "treated as unclassified (untrusted)")
        ep = Endpoint(res.urn, kind, self.stack.layer(res),
                      sgs=list(dict.fromkeys(s.urn for s in sgs)),
                      subnets=list(dict.fromkeys(s.urn for s in subnets)))
        vpcs = {self.subnet_vpc.get(s) for s in ep.subnets} - {None}
        ep.vpc = next(iter(vpcs)) if len(vpcs) == 1 else None
        self.endpoints[res.urn] = ep
        return ep

    def _publicly(self, ep: Endpoint, opener: str, reason: str) -> None:
        """A public address: reachable only from a subnet routed to an internet gateway."""
        routed = [s for s in ep.subnets if self.public_subnets.get(s)]
        if routed or not ep.subnets:
            ep.public.append((opener, reason))

    def _endpoints(self) -> None:
        builders = {}
        for t in T.LOAD_BALANCERS:
            builders[t] = self._lb
        builders.update({T.ECS_SERVICE: self._ecs, T.INSTANCE: self._instance, T.SPOT_INSTANCE: self._instance,
                         T.NETWORK_INTERFACE: self._eni, T.ASG: self._asg, T.LAMBDA: self._lambda,
                         T.RDS_INSTANCE: self._rds, T.RDS_CLUSTER_INSTANCE: self._rds_cluster_instance,
                         T.DISTRIBUTION: self._distribution,
                         T.REST_API: self._rest_api, T.HTTP_API: self._http_api, T.HTTP_VPC_LINK: self._vpc_link,
                         T.REST_DOMAIN_NAME: self._custom_domain, T.HTTP_DOMAIN_NAME: self._custom_domain})
        for res in self.stack.resources:
            build = builders.get(res.type)
            if build is not None:
                build(res)
        self._function_urls()
        self._elastic_ips()
        self._unused_launch_templates()

    # -- AWS WAF associations (any entry: CloudFront, load balancers, API Gateway stages)

    def _waf(self) -> None:
        for assoc in self.of(T.WEB_ACL_ASSOC):
            targets = self.stack.deps(assoc, "resourceArn")
            if not targets:
                self.problem(assoc, "resourceArn", "the web ACL association's resource is not a resource of "
                                                   "this stack", area="perimeter")
            for t in targets:
                self.waf_assocs.setdefault(t.urn, []).append(assoc)

    # ------------------------------------------------------------------ graph

    def _graph(self) -> None:
        for ep in self.endpoints.values():
            for opener, reason in ep.exposures:
                self._edge(INTERNET, ep.urn, [opener], reason)
            for sg in ep.sgs:
                self._edge(ep.urn, _SG + sg, self._stranger(ep, sg), "member of the security group",
                           membership=True)
                for src in self.sg_rules.get(sg, ()):
                    self._admit(ep, sg, src)
            if ep.compute:
                for s in ep.subnets:
                    self._edge(ep.urn, _NET + s, self._stranger(ep, s), "located in the subnet", membership=True)
            if ep.kind in ("nlb", "alb") and not ep.sgs and not ep.public:
                self._no_sg_internal(ep)
        for sub, reasons in self.public_subnets.items():
            for opener, reason in reasons:
                self._edge(INTERNET, _NET + sub, [opener], f"subnet {reason}")
        for lb_urn, listeners in self.lb_listeners.items():
            for listener in listeners:
                self._forward(lb_urn, listener, listener, "defaultActions")
                for rule in self.listener_rules.get(listener.urn, ()):
                    self._forward(lb_urn, listener, rule, "actions")
        for dist, targets in self.cf_origins.items():
            for target, via, opener in targets:
                self._edge(dist, target, [opener], "CloudFront VPC origin" if via == "vpc-origin" else "CloudFront origin",
                           entry=self.origin_entry(dist, target, via, opener))

    # ------------------------------------------------------------------ analyses

    def is_filter(self, vertex: str) -> bool:
        return vertex in self.filters

    def is_protected(self, vertex: str) -> bool:
        """App-layer endpoints (its load balancers included) and compute that may be app."""
        ep = self.endpoints.get(vertex)
        return ep is not None and (ep.layer == "app" or (ep.compute and ep.layer == UNCLASSIFIED))

    def _stops(self, vertex: str) -> bool:
        ep = self.endpoints.get(vertex)
        return ep is not None and ep.layer == "app"

    def _step(self, state: tuple, e: Edge) -> list[tuple] | None:
        """The search states an edge leads to from `state` (vertex, listener): a forward leaves a
        load balancer only from the listener it was entered on; an edge that enters a load balancer
        on given listeners leads to each of them ("" : the vertex as a whole, every listener)."""
        if e.listener and state[1] and e.listener != state[1]:
            return None
        if e.entry is not None:
            return [(e.dst, x) for x in e.entry]
        return [(e.dst, "")]

    def bypasses(self) -> list[tuple[str, str, list[str], str]]:
        """(opener urn, protected endpoint urn, path labels, note) for every edge from the part of
        the graph the internet reaches without a proven node into a protected endpoint. The search
        runs over (vertex, listener) states, so a load balancer forwards only through the listeners
        its sources are admitted to."""
        start = (INTERNET, "")
        parent: dict[tuple, tuple[tuple, Edge] | None] = {start: None}
        states: dict[str, list[tuple]] = {INTERNET: [start]}
        queue = deque([start])
        while queue:
            s = queue.popleft()
            for e in self.out.get(s[0], ()):
                if e.dst in self.filters:
                    continue
                for t in self._step(s, e) or ():
                    if t in parent or (t[1] and (t[0], "") in parent):
                        continue
                    parent[t] = (s, e)
                    states.setdefault(t[0], []).append(t)
                    if not self._stops(t[0]):
                        queue.append(t)
        found = []
        seen = set()
        for v in list(states):
            if v == INTERNET or not self.is_protected(v):
                continue
            for src, edge in self.inn.get(v, ()):
                if self._stops(src) or src in self.filters:
                    continue
                s = next((x for x in states.get(src, ()) if self._step(x, edge) is not None), None)
                if s is None:
                    continue
                path = [*self._path(parent, s), self._hop(edge, v)]
                unproven = [u for u in self._chain(parent, s) if u in self.unproven]
                # app-layer load balancers in front of the app are the app's own: the path is opened
                # where it enters the app layer
                while True:
                    entry = parent.get(s)
                    if entry is None:
                        break
                    if self._app_forwarder(s[0]) or (entry[1].membership and not entry[1].openers
                                                     and self._app_forwarder(entry[0][0])):
                        s, edge = entry
                        continue
                    break
                src = s[0]
                via = parent.get(s)
                if via is not None and via[0][0] == INTERNET and src.startswith(_NET) and \
                        self.layer(src[len(_NET):]) in ("app", "node") and via[1].openers:
                    via = (via[0], via[1]._replace(membership=True))  # the route made an app subnet public
                if unproven:
                    openers = tuple(unproven[:1])
                elif via is not None and s[1] and self.stray_admission(src, via[1].entry):
                    # the rule opens only listeners that forward around the nodes: it is what to change
                    openers = (via[1].rule,) if via[1].rule else via[1].openers
                elif via is not None and via[1].membership and via[1].openers:
                    openers = via[1].openers  # a stranger joined the group the rule trusts
                else:
                    openers = edge.openers or self._last_openers(parent, s) or (v,)
                for opener in openers:
                    key = (opener, v)
                    if key not in seen:
                        seen.add(key)
                        found.append((opener, v, path, edge.note))
        return found

    def _app_forwarder(self, v: str) -> bool:
        ep = self.endpoints.get(v)
        return ep is not None and not ep.compute and self.layer(v) == "app"

    def _chain(self, parent, s: tuple) -> list[str]:
        out = []
        while s is not None:
            out.append(s[0])
            entry = parent.get(s)
            s = entry[0] if entry else None
        return out

    def _hop(self, edge: Edge, dst: str) -> str:
        label = self.label(dst) + (edge.ports if not dst.startswith((_SG, _NET)) else "")
        return f"[{edge.via}] -> {label}" if edge.via else label

    def _path(self, parent, s: tuple) -> list[str]:
        labels = []
        while s is not None:
            entry = parent.get(s)
            labels.append(self._hop(entry[1], s[0]) if entry else self.label(s[0]))
            s = entry[0] if entry else None
        return list(reversed(labels))

    def _last_openers(self, parent, s: tuple) -> tuple:
        while s is not None:
            entry = parent.get(s)
            if entry is None:
                return ()
            if entry[1].openers:
                return entry[1].openers
            s = entry[0]
        return ()

    def reaches_nodes(self, stop=None) -> Reach:
        """Every vertex with a path to a proven node -> its next hop toward one (None for nodes),
        not searching past vertices `stop` accepts. Per listener, as `bypasses`: a load balancer
        reaches a node through a listener only when it is entered on that listener."""
        nxt = Reach()
        seen = nxt.states
        queue = deque()
        for urn in self.filters:
            nxt[urn] = None
            seen.add((urn, ""))
            queue.append((urn, ""))
        while queue:
            w, on = queue.popleft()
            if stop is not None and stop(w):
                continue
            for v, e in self.inn.get(w, ()):
                if on and e.entry is not None and on not in e.entry:
                    continue  # enters the load balancer on other listeners than the one that leads on
                state = (v, e.listener)
                if state in seen or (v, "") in seen:
                    continue
                seen.add(state)
                nxt.setdefault(v, (w, e))
                queue.append(state)
        return nxt

    @staticmethod
    def enters(reach: Reach, edge: Edge) -> bool:
        """Does traffic along `edge` go on to a node (per listener: it enters a listener that does)?"""
        v = edge.dst
        if v not in reach:
            return False
        if edge.entry is None or (v, "") in reach.states:
            return True
        return any((v, x) in reach.states for x in edge.entry)

    def path_to_node(self, nxt, v: str) -> list[str]:
        labels = [self.label(v)]
        seen = {v}
        while nxt.get(v) is not None:
            w, e = nxt[v]
            if w in seen:
                break
            seen.add(w)
            labels.append(self._hop(e, w))
            v = w
        return labels

    def internet_edges(self, vertex: str) -> list[Edge]:
        return [e for src, e in self.inn.get(vertex, ()) if src == INTERNET]


# ---------------------------------------------------------------------- one model per AnalyzeStack

_CACHE_LOCK = threading.Lock()
_CACHE: dict[str, Any] = {"key": None, "model": None}


def _fingerprint(stack: Stack, extra: tuple) -> int:
    return hash((extra, tuple(
        (r.urn, r.type, r.parent, repr(r.props), repr(sorted(r.property_dependencies.items())),
         repr(r.provider_region)) for r in stack.resources)))


def model_for(stack: Stack, cloudfront_list_ids: Iterable[str] = (), node_rules: NodeRules | None = None) -> Model:
    """The model of this stack. The CLI runs every stack policy of one AnalyzeStack on the same
    resources, so the model is built once and shared (keyed by a fingerprint of the resources).
    Within one AnalyzeStack call the policies share one stack view object (view.build_stack), so
    the call's scope answers a repeat without expanding and fingerprinting the stack again."""
    ids = tuple(sorted(str(i) for i in cloudfront_list_ids))
    rules = node_rules or NodeRules()
    scope = sdk_memo.call_scope()
    scope_key = ("layerguard:model", id(stack), ids, rules)
    if scope is not None and scope_key in scope and scope[scope_key][0] is stack:
        return scope[scope_key][1]
    model = _model_for(stack, ids, rules)
    if scope is not None:
        scope[scope_key] = (stack, model)
    return model


def _model_for(given: Stack, ids: tuple, rules: NodeRules) -> Model:
    stack = declared.expand(given)  # an existing VPC the stack declares, as resources (declared.py)
    key = _fingerprint(stack, (ids, rules))
    with _CACHE_LOCK:
        if _CACHE["key"] == key and _CACHE["model"] is not None:
            model = _CACHE["model"]
            model.stack = stack  # same data; let labels and layers read the current objects
            return model
        model = Model(stack, ids, rules)
        _CACHE["key"], _CACHE["model"] = key, model
        return model


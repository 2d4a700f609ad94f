"""LG-APIGW-001: a private REST API is reachable only through the stack's `execute-api` interface
endpoint, and that endpoint only from the Wallarm nodes.

A private API has no public endpoint, but any VPC endpoint in any account can invoke it unless its
resource policy says otherwise; the endpoint's security group decides who in the VPC gets to the
endpoint. Three findings, all on stacks written by hand as well as on layerguard's
`private-apigateway` backend:

* **An endpoint without its resource policy.** An `execute-api` endpoint of the stack (a
  `VpcEndpoint` whose `serviceName` ends in `.execute-api`; an unknown service name is judged as
  one, fail closed) is *covered* by a `RestApiPolicy` whose `policy` has a property dependency on
  it, or on the VPC resource it is in (`aws:SourceVpc`): an endpoint the stack creates has an id
  only after `pulumi up`, so a policy that names it can only be computed from it, at preview and at
  update alike. Nothing is linked by id values (unknown at preview) nor by `restApiId` (an API id
  says nothing about which endpoint a policy names). The one literal accepted is an existing VPC's
  id the endpoint is configured with (`vpcId`, known at preview): a known policy whose every
  `aws:SourceVpc` id is that VPC covers it. An uncovered endpoint is a violation on it.
* **A resource policy that admits callers outside the stack.** The resource policies of private
  APIs are every `RestApiPolicy` (except one whose `restApiId` is computed from a `RestApi` of the
  stack that is not `PRIVATE`; an API outside the stack is judged) and the inline `policy` the
  program gives a `RestApi` whose endpoint type is `PRIVATE` (or unknown); an empty one, or one the
  program did not set (the provider reports `""` there, or the attached RestApiPolicy's copy), is
  none. A known document is evaluated as IAM does for this API's ARN (`resource_policy.py`: Allow
  minus explicit Deny, wildcard actions expanded against `execute-api:Invoke`, resources matched
  against this API, conditions on `aws:SourceVpce`/`aws:SourceVpc` judged for every caller outside
  the stack: any other endpoint, each literal endpoint or VPC id that is not one of the stack's).
  An Allow that admits one is a violation. And the policy must depend on an `execute-api`
  endpoint of the stack or its VPC (or name only the endpoints' literal VPC ids). When the
  document is unknown (at the first preview it is computed from the endpoint id) only the
  dependency can be checked: a policy that does not depend on one of the stack's `execute-api`
  endpoints fails closed, naming `.policy`; the statements are judged when the document is known
  (update state; `pulumi up`'s AnalyzeStack, after the policy exists). LG-APIGW-002
  (`private_api_policy.py`) judges them in `Analyze`, before `pulumi up` creates the policy, and
  lists the unknown document at preview as decided then.
* **An endpoint group open to more than the nodes.** Every ingress rule of the endpoint's security
  groups (inline, `SecurityGroupRule` or `SecurityGroupIngressRule`, as the reachability model reads
  them) must admit only security groups of layer `node`; any other source (a CIDR, the VPC, a
  prefix list, a group of another layer or outside the stack) is a violation on the rule resource
  (on the group itself for an inline rule). An endpoint with no security group gets the VPC's
  default group, and one with a group given by literal id (beside stack groups too) admits that
  group's unknown members: both are violations on the endpoint. An endpoint whose `serviceName` is
  computed from an endpoint service of the stack is PrivateLink, not execute-api.
"""

from __future__ import annotations

from typing import Any

from guard.framework import Finding, Resource, Rule, Stack, is_unknown, parse_json, stack_policy
from guard.policies.stack._config import MODEL_CONFIG, model_args
from guard.reachability import model_for
from guard.reachability.base import _configured

from .resource_policy import Api, Ours, judge

VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
VPC_ENDPOINT_SERVICE = "aws:ec2/vpcEndpointService:VpcEndpointService"
REST_API_POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
REST_API = "aws:apigateway/restApi:RestApi"
VPC = "aws:ec2/vpc:Vpc"
SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
EXECUTE_API = ".execute-api"
RULE = Rule(
    id="LG-APIGW-001",
    name="enforce-private-api-endpoint-access",
    description="A private REST API must be invokable only through the stack's execute-api interface endpoint (a resource policy on aws:SourceVpce computed from that endpoint), and the endpoint's security group must admit only the Wallarm nodes.",
    remediation="Add an aws.apigateway.RestApiPolicy whose Allow statements for execute-api:Invoke are conditioned on aws:SourceVpce equal to the endpoint's id (and deny every other source), and limit the endpoint's security group ingress to the Wallarm node security group.",
    severity="critical",
    link="https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-examples.html#apigateway-resource-policies-source-vpc-example",
    config=MODEL_CONFIG,
)


def execute_api_endpoints(stack: Stack) -> list[Resource]:
    """The stack's `execute-api` VPC endpoints; an unknown service name fails closed."""
    out = []
    for ep in stack.of_type(VPC_ENDPOINT):
        service = ep.get("serviceName")
        if is_unknown(service):
            if any(d.type == VPC_ENDPOINT_SERVICE for d in stack.deps(ep, "serviceName")):
                continue  # the name of an endpoint service of this stack: PrivateLink, not execute-api
            out.append(ep)  # cannot tell: judged as an execute-api endpoint (fail closed)
        elif isinstance(service, str) and service.endswith(EXECUTE_API):
            out.append(ep)
    return out


def _items(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _document(policy: Resource, api: Resource | None = None) -> Any:
    """The policy document: `None` for none (an unset or empty `policy`: a RestApi whose policy a
    separate RestApiPolicy carries reports `""`), `Unknown`, or the parsed JSON."""
    value = policy.get("policy")
    if isinstance(value, str) and not value.strip():
        return None
    return parse_json(value, "policy")


def _known(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _api(stack: Stack, policy: Resource) -> Api:
    """This API's ARN parts (each None when unknown): a RestApi's own, or the one a RestApiPolicy
    names by literal id or by a property dependency."""
    if policy.type == REST_API:
        api_id = _known(policy.get("id"))
    else:
        api_id = _known(policy.get("restApiId"))
        if api_id is None:
            ids = {_known(a.get("id")) for a in stack.deps(policy, "restApiId") if a.type == REST_API}
            api_id = ids.pop() if len(ids) == 1 else None
    region = policy.region
    return Api(api_id=api_id, region=region if isinstance(region, str) else None)


def _ours(stack: Stack, policy: Resource, endpoints: list[Resource]) -> Ours:
    deps = {d.urn for d in stack.deps(policy, "policy")}
    vpces = {i for ep in endpoints if (i := _known(ep.get("id")))}
    vpcs = {v for ep in endpoints if (v := _known(ep.get("vpcId")))}
    vpcs |= {i for v in stack.of_type(VPC) if (i := _known(v.get("id")))}
    unread_vpces = sum(1 for ep in endpoints if ep.urn in deps and not _known(ep.get("id")))
    dep_vpcs = {v.urn: v for ep in endpoints if ep.urn in deps for v in stack.deps(ep, "vpcId") if v.type == VPC}
    dep_vpcs.update({d.urn: d for d in stack.deps(policy, "policy") if d.type == VPC})
    unread_vpcs = sum(1 for v in dep_vpcs.values() if not _known(v.get("id")))
    return Ours(frozenset(vpces), frozenset(vpcs), unread_vpces, unread_vpcs)


def _sources_of(stack: Stack, ep: Resource) -> set[str]:
    """What a resource policy limited to `ep` is computed from: the endpoint, or (aws:SourceVpc) the
    VPC resource it is in."""
    return {ep.urn} | {v.urn for v in stack.deps(ep, "vpcId") if v.type == VPC}


def _literal_vpcs(endpoints: list[Resource]) -> set[str]:
    """Literal VPC ids of the endpoints (an existing VPC the stack declares): configured values,
    known at preview, so an aws:SourceVpc naming one of them is the endpoint's VPC."""
    return {v for ep in endpoints if isinstance(v := ep.get("vpcId"), str)}


def _allowed_ids(stack: Stack, policy: Resource, endpoints: list[Resource]) -> list:
    """The aws:SourceVpce/aws:SourceVpc ids a known document limits its invocations to ([] when
    unknown, or when any Allow of execute-api:Invoke is not limited)."""
    try:
        document = _document(policy)
    except ValueError:
        return []
    if document is None or is_unknown(document):
        return []
    problems, ids = judge(document, _api(stack, policy), _ours(stack, policy, endpoints))
    return [] if problems else ids


def _names_literal_vpc_of(stack: Stack, ep: Resource, policies: list[Resource], endpoints: list[Resource]) -> bool:
    vpc = ep.get("vpcId")
    return isinstance(vpc, str) and any((ids := _allowed_ids(stack, p, endpoints)) and set(ids) == {vpc}
                                        for p in policies)


def _policy_findings(stack: Stack, policy: Resource, endpoints: list[Resource]) -> list[Finding]:
    deps = {d.urn for d in stack.deps(policy, "policy")}
    from_stack = any(deps & _sources_of(stack, ep) for ep in endpoints)
    document = _document(policy)
    if document is None:
        return []
    if is_unknown(document):
        if from_stack:
            return []  # computed from the endpoint (or its VPC); the statements are judged once known
        return [Finding(policy.urn, f"{_label(policy)}: .policy is unknown at preview and "
                                    "is not computed from an execute-api VPC endpoint of this stack, so it "
                                    "cannot be proven to limit the API to the stack's endpoint (fail closed)")]
    problems, ids = judge(document, _api(stack, policy), _ours(stack, policy, endpoints))
    out = [Finding(policy.urn, f"{_label(policy)}: Statement[{i}] allows execute-api:Invoke and {why}, and "
                               "no Deny stops it (evaluated as IAM does: Allow minus explicit Deny, wildcards "
                               "expanded, for this API's ARN): it may invoke the private API without the nodes")
           for i, why in problems]
    if not out and not from_stack and not (ids and set(ids) <= _literal_vpcs(endpoints)):
        out.append(Finding(policy.urn, f"{_label(policy)}: its aws:SourceVpce/aws:SourceVpc "
                                       "ids are not computed from an execute-api VPC endpoint of this stack "
                                       "(no property dependency of .policy), so they are not the stack's"))
    return out


def _label(res: Resource) -> str:
    return f"{res.type.rsplit(':', 1)[-1]} '{res.name}'"


def is_private_api(api: Resource) -> bool:
    """Whether a REST API of the stack is (or may be: unknown, fail closed) a PRIVATE API."""
    types = api.get("endpointConfiguration.types")
    if is_unknown(types) or any(is_unknown(t) for t in _items(types)):
        return True
    return "PRIVATE" in _items(types)


def resource_policies(stack: Stack) -> list[Resource]:
    """The resource policies of private APIs: every `RestApiPolicy` except those on a REST API of the
    stack that is not PRIVATE (an API outside the stack is judged, fail closed), and the inline
    `policy` of every private `RestApi`."""
    out = []
    for policy in stack.of_type(REST_API_POLICY):
        apis = [a for a in stack.deps(policy, "restApiId") if a.type == REST_API]
        if not apis or any(is_private_api(a) for a in apis):
            out.append(policy)
    # an empty inline policy is none (the API's computed `policy` is "" when a RestApiPolicy carries it)
    out.extend(a for a in stack.of_type(REST_API) if _has_inline(a) and is_private_api(a))
    return out


def _has_inline(api: Resource) -> bool:
    """Whether the program gives the API an inline policy. An empty one is none, and so is a
    `policy` the program did not set: the provider reports there whatever document is attached
    (`""` before a separate RestApiPolicy exists, its copy after), and that RestApiPolicy is
    judged as itself. Without a record of the inputs, a present value counts as set."""
    value = api.get("policy")
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    return _configured(api, "policy")


def check(stack: Stack, cfg: dict):
    endpoints = execute_api_endpoints(stack)
    policies = resource_policies(stack)
    covered = {d.urn for p in policies for d in stack.deps(p, "policy")}
    for ep in endpoints:
        if is_unknown(ep.get("serviceName")):
            yield Finding(ep.urn, f"VpcEndpoint '{ep.name}': .serviceName is unknown at preview, so the rule "
                                  "judges it as an execute-api endpoint (fail closed)")
        if not (_sources_of(stack, ep) & covered or _names_literal_vpc_of(stack, ep, policies, endpoints)):
            yield Finding(ep.urn, f"execute-api endpoint '{ep.name}' has no RestApiPolicy in the stack "
                                  "limiting its API to it (aws:SourceVpce computed from the endpoint): "
                                  "any VPC endpoint may invoke the private API")
    for policy in policies:
        yield from _policy_findings(stack, policy, endpoints)
    if endpoints:
        yield from _group_findings(stack, endpoints, cfg)


def _group_findings(stack: Stack, endpoints: list[Resource], cfg: dict):
    model = model_for(stack, *model_args(cfg))
    seen = set()
    for ep in endpoints:
        groups = [g for g in stack.deps(ep, "securityGroupIds") if g.type in SECURITY_GROUPS]
        literal = ep.get("securityGroupIds")
        if not groups:
            if is_unknown(literal) or _items(literal):
                yield Finding(ep.urn, f"execute-api endpoint '{ep.name}': its security groups are not "
                                      "resources of this stack, so who reaches it is unknown (fail closed)")
            else:
                yield Finding(ep.urn, f"execute-api endpoint '{ep.name}' has no security group: AWS "
                                      "applies the VPC's default group; give it one admitting only the nodes")
            continue
        given = [g for g in ([literal] if is_unknown(literal) else _items(literal)) if not (isinstance(g, str) and not g)]
        if len(given) > len(groups):
            # a group by literal id (or a `.get()` lookup) beside the stack's: its members, which the
            # stack cannot see, reach the endpoint
            yield Finding(ep.urn, f"execute-api endpoint '{ep.name}': {len(given) - len(groups)} of its "
                                  "security groups are not resources of this stack (a literal id or a lookup), "
                                  "so their members reach the private API without the nodes (fail closed)")
        for sg in groups:
            for source in model.sg_rules.get(sg.urn, []):
                if source.kind == "sg" and model.layer(source.value) == "node":
                    continue
                opener = source.opener or sg.urn
                if (opener, sg.urn) in seen:
                    continue
                seen.add((opener, sg.urn))
                yield Finding(opener, f"{model.label(opener)} admits {_source(model, source)} to security "
                                      f"group '{sg.name}' of execute-api endpoint '{ep.name}'; only the "
                                      "Wallarm nodes' security group may reach the private API")


def _source(model: Any, source: Any) -> str:
    if source.kind == "sg":
        return model.label("sg|" + source.value)
    if source.kind == "cidr":
        return str(source.value)
    return source.kind if source.value is None else f"{source.kind} ({source.value})"


POLICY = stack_policy(RULE, check)

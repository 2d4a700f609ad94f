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
* **A resource policy not limited to the endpoint.** The resource policies of private APIs are
  every `RestApiPolicy` (except one whose `restApiId` is computed from a `RestApi` of the stack that
  is not `PRIVATE`; an API outside the stack is judged) and the inline `policy` of every `RestApi`
  whose endpoint type is `PRIVATE` (or unknown). Every `Allow` statement of one that grants
  `execute-api:Invoke` (or `execute-api:*`, `*`, or any `NotAction`) must carry a positive string
  condition (`StringEquals`, `StringLike`, their `IgnoreCase`/`ForAnyValue:`
  forms) on `aws:SourceVpce` or `aws:SourceVpc` whose values are concrete ids (no wildcard), unless
  the document has AWS's documented counterpart: a Deny of `execute-api:Invoke` on the whole API
  for every principal whose only condition is `StringNotEquals`/`StringNotLike` on one of those
  keys with concrete ids (then an unconditioned Allow is limited by the Deny). And
  the policy must depend on an `execute-api` endpoint of the stack or its VPC (or name only the
  endpoints' literal VPC ids), so those ids are the stack's. The ids themselves are not compared
  with the endpoint's id (ids are not linked by value). When the document is unknown (at the first
  preview it is computed from the endpoint id) only the dependency can be checked: a policy that
  does not depend on one of the stack's `execute-api` endpoints fails closed, naming `.policy`;
  the statements themselves are judged when the document is known (`pulumi up`).
* **An endpoint group open to more than the nodes.** Every ingress rule of the endpoint's security
  groups (inline, `SecurityGroupRule` or `SecurityGroupIngressRule`, as the reachability model reads
  them) must admit only security groups of layer `node`; any other source (a CIDR, the VPC, a
  prefix list, a group of another layer or outside the stack) is a violation on the rule resource
  (on the group itself for an inline rule). An endpoint with no security group gets the VPC's
  default group, which is a violation on the endpoint.
"""

from __future__ import annotations

from typing import Any

from guard.framework import Finding, Resource, Rule, Stack, is_unknown, parse_json, stack_policy
from guard.policies.stack._config import MODEL_CONFIG, model_args
from guard.reachability import model_for

VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ENDPOINT_SERVICE = "aws:ec2/vpcEndpointService:VpcEndpointService"
REST_API_POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
REST_API = "aws:apigateway/restApi:RestApi"
VPC = "aws:ec2/vpc:Vpc"
SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
EXECUTE_API = ".execute-api"
INVOKE_ACTIONS = {"*", "execute-api:*", "execute-api:invoke"}
SOURCE_KEYS = {"aws:sourcevpce": "vpce-", "aws:sourcevpc": "vpc-"}
NEGATIVE_OPERATORS = {"stringnotequals", "stringnotequalsignorecase", "stringnotlike"}
POSITIVE_OPERATORS = {"stringequals", "stringequalsignorecase", "stringlike",
                      "foranyvalue:stringequals", "foranyvalue:stringequalsignorecase",
                      "foranyvalue:stringlike"}

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
        if is_unknown(service) and any(d.type == ENDPOINT_SERVICE for d in stack.deps(ep, "serviceName")):
            continue  # the name of a PrivateLink endpoint service of the stack, not execute-api
        if is_unknown(service):
            out.append(ep)  # cannot tell: judged as an execute-api endpoint (fail closed)
        elif isinstance(service, str) and service.endswith(EXECUTE_API):
            out.append(ep)
    return out


def _items(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _grants_invoke(statement: dict) -> bool:
    if "NotAction" in statement:
        return True
    return any(isinstance(a, str) and a.lower() in INVOKE_ACTIONS for a in _items(statement.get("Action")))


def _limited(statement: dict) -> tuple[str | None, list]:
    """(None, the ids) when the statement is conditioned on concrete endpoint/VPC ids (conditions
    are ANDed: one such block suffices), else (why not, [])."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return "has no Condition", []
    why = "has no positive StringEquals/StringLike condition on aws:SourceVpce or aws:SourceVpc"
    for operator, block in condition.items():
        if not isinstance(operator, str) or operator.lower() not in POSITIVE_OPERATORS \
                or not isinstance(block, dict):
            continue
        for key, values in block.items():
            prefix = SOURCE_KEYS.get(key.lower()) if isinstance(key, str) else None
            if prefix is None:
                continue
            values = _items(values)
            if values and all(isinstance(v, str) and v.startswith(prefix) and not set(v) & {"*", "?"}
                              for v in values):
                return None, values
            why = f"conditions {key} on {values!r}, not on concrete ids"
    return why, []


def _sources_of(stack: Stack, ep: Resource) -> set[str]:
    """What a resource policy limited to `ep` is computed from: the endpoint, or (aws:SourceVpc) the
    VPC resource it is in."""
    return {ep.urn} | {v.urn for v in stack.deps(ep, "vpcId") if v.type == VPC}


def _literal_vpcs(endpoints: list[Resource]) -> set[str]:
    """Literal VPC ids of the endpoints (an existing VPC the stack declares): configured values,
    known at preview, so an aws:SourceVpc naming one of them is the endpoint's VPC."""
    return {v for ep in endpoints if isinstance(v := ep.get("vpcId"), str)}


def _covers_all(resource: Any) -> bool:
    """A statement `Resource` that is every method of the API (`execute-api:/*`, `*`, or an ARN whose
    path part is `*`)."""
    for r in _items(resource):
        if not isinstance(r, str):
            continue
        if r in ("*", "execute-api:/*", "execute-api:*"):
            return True
        arn = r.split(":", 5)
        if len(arn) == 6 and arn[0] == "arn" and arn[2] == "execute-api" and arn[5].split("/", 1)[-1] == "*":
            return True
    return False


def _denied_elsewhere(statement: dict) -> list:
    """The ids of a Deny of execute-api:Invoke on the whole API, for everyone, whose only condition
    is a negative string match on aws:SourceVpce/aws:SourceVpc with concrete ids (AWS's documented
    pattern: deny every other source, allow without a condition); [] when it is not one."""
    principal = statement.get("Principal")
    if statement.get("Effect") != "Deny" or "NotAction" in statement or not _grants_invoke(statement) \
            or principal not in ("*", {"AWS": "*"}) or not _covers_all(statement.get("Resource")):
        return []
    condition = statement.get("Condition")
    if not isinstance(condition, dict) or len(condition) != 1:
        return []
    ((operator, block),) = condition.items()
    if not isinstance(operator, str) or operator.lower() not in NEGATIVE_OPERATORS \
            or not isinstance(block, dict) or len(block) != 1:
        return []
    ((key, values),) = block.items()
    prefix = SOURCE_KEYS.get(key.lower()) if isinstance(key, str) else None
    values = _items(values)
    if prefix and values and all(isinstance(v, str) and v.startswith(prefix) and not set(v) & {"*", "?"}
                                 for v in values):
        return values
    return []


def judge(document: Any) -> tuple[list, list]:
    """([(statement index, why)] of the Allows of execute-api:Invoke not limited to endpoint/VPC ids,
    the ids the document limits invocations to) for a known policy document."""
    statements = _items(document.get("Statement")) if isinstance(document, dict) else []
    denied: list = []
    for st in statements:
        if isinstance(st, dict) and not denied:
            denied = _denied_elsewhere(st)
    problems, ids = [], list(denied)
    for i, st in enumerate(statements):
        if not isinstance(st, dict) or st.get("Effect") != "Allow" or not _grants_invoke(st):
            continue
        why, values = _limited(st)
        ids.extend(values)
        if why is not None and not denied:
            problems.append((i, why))
    return problems, ids


def _allowed_ids(policy: Resource) -> list:
    """The aws:SourceVpce/aws:SourceVpc ids a known document limits its invocations to ([] when
    unknown, or when any Allow of execute-api:Invoke is not limited)."""
    try:
        document = parse_json(policy.get("policy"), "policy")
    except ValueError:
        return []
    if is_unknown(document):
        return []
    problems, ids = judge(document)
    return [] if problems else ids


def _names_literal_vpc_of(ep: Resource, policies: list[Resource]) -> bool:
    vpc = ep.get("vpcId")
    return isinstance(vpc, str) and any((ids := _allowed_ids(p)) and set(ids) == {vpc} for p in policies)


def _policy_findings(stack: Stack, policy: Resource, endpoints: list[Resource]) -> list[Finding]:
    deps = {d.urn for d in stack.deps(policy, "policy")}
    from_stack = any(deps & _sources_of(stack, ep) for ep in endpoints)
    document = parse_json(policy.get("policy"), "policy")
    if is_unknown(document):
        if from_stack:
            return []  # computed from the endpoint (or its VPC); the statements are judged once known
        return [Finding(policy.urn, f"{_label(policy)}: .policy is unknown at preview and "
                                    "is not computed from an execute-api VPC endpoint of this stack, so it "
                                    "cannot be proven to limit the API to the stack's endpoint (fail closed)")]
    problems, ids = judge(document)
    out = [Finding(policy.urn, f"{_label(policy)}: Statement[{i}] allows execute-api:Invoke but {why}, and "
                               "no Deny limits the API to endpoint/VPC ids: any VPC endpoint may invoke it")
           for i, why in problems]
    if not out and not from_stack and not (ids and set(ids) <= _literal_vpcs(endpoints)):
        out.append(Finding(policy.urn, f"{_label(policy)}: its aws:SourceVpce/aws:SourceVpc "
                                       "ids are not computed from an execute-api VPC endpoint of this stack "
                                       "(no property dependency of .policy), so they are not the stack's"))
    return out


def _label(res: Resource) -> str:
    return f"{res.type.rsplit(':', 1)[-1]} '{res.name}'"


def _private(api: Resource) -> bool:
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
        if not apis or any(_private(a) for a in apis):
            out.append(policy)
    out.extend(a for a in stack.of_type(REST_API) if a.get("policy") is not None and _private(a))
    return out


def check(stack: Stack, cfg: dict):
    endpoints = execute_api_endpoints(stack)
    policies = resource_policies(stack)
    covered = {d.urn for p in policies for d in stack.deps(p, "policy")}
    for ep in endpoints:
        if is_unknown(ep.get("serviceName")):
            yield Finding(ep.urn, f"VpcEndpoint '{ep.name}': .serviceName is unknown at preview, so the rule "
                                  "judges it as an execute-api endpoint (fail closed)")
        if not (_sources_of(stack, ep) & covered or _names_literal_vpc_of(ep, policies)):
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

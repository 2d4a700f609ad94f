"""LG-APIGW-002: a private API's resource policy admits no VPC endpoint outside the stack, judged on
the policy resource itself, so that `pulumi up` refuses to create one that does.

Why a resource rule beside LG-APIGW-001 (the stack rule, which judges the same documents with the
whole graph): a policy limited to the stack's endpoint is computed from the endpoint's id, which
AWS assigns on creation. At the first preview the whole document is one unknown (the Python SDK
does not run an `apply` over an unknown output: sdk/python/lib/pulumi/output.py `Output.apply`),
so no rule can read a statement of it then. `pulumi up` sends `Analyze` for each registration
before its step, with the inputs known by then, and a mandatory violation there stops the resource
from being created (pulumi/pulumi pkg/resource/deploy/step_generator.go `generateSteps` ->
`analyzeAll`; `AnalyzeStack` only runs after every step, when the policy already exists). So:

* at preview an unknown document is deferred: the advisory LG-META-003 lists it on the resource
  ("decided at `pulumi up`, before <name> is created ..."), never a silent pass;
* a known document is evaluated as IAM does for this API's ARN (`resource_policy.admitted`: Allow
  minus explicit Deny, wildcard and `NotAction` actions expanded against `execute-api:Invoke`,
  resources matched against this API, conditions on `aws:SourceVpce`/`aws:SourceVpc` judged per
  caller), and an Allow that admits any VPC endpoint of another VPC or account is a violation.

What one `Analyze` request cannot say, this rule takes from the earlier requests of the same
operation (the CLI sends them in registration order, and a policy computed from an endpoint or an
API is registered after them; `guard.planned.INPUTS.operation` tells operations apart):

* which endpoints are the stack's: an endpoint's id is no input, so a document may name as many
  literal endpoint ids as the stack has `execute-api` endpoints seen so far (a `VpcEndpoint` whose
  `serviceName` ends in `.execute-api`, or is unknown); an Allow admitting more ids than that
  admits at least one endpoint outside the stack. The VPC ids the endpoints are configured with
  are the only VPC ids an `aws:SourceVpc` condition may name. With no endpoint seen (a client that
  sends the policy first, or an API reached through endpoints of another stack) literal ids are left
  to LG-APIGW-001, which reads the ids from the stack's state;
* whether a `RestApiPolicy` belongs to a private API: its `restApiId` is an id, not the API. It is
  judged when its document conditions on `aws:SourceVpce`/`aws:SourceVpc` (only calls through an
  interface endpoint carry those keys, so the author wrote it for a private API), or when every
  `RestApi` seen in the operation is PRIVATE (and there is one). Otherwise a regional API's policy
  (an IP allow list, say) would be judged as a private one; LG-APIGW-001 decides it from the graph.

A `RestApi` whose endpoint type is PRIVATE (or unknown: fail closed) is judged on the inline
`policy` it is given; an empty one is none.
"""

from __future__ import annotations

import threading
from typing import Any

from guard.framework import Resource, Rule, is_unknown, parse_json, resource_policy, waiting
from guard.planned import INPUTS

from .private_api_access import is_private_api
from .resource_policy import OTHER, Api, Caller, admitted, endpoint_conditions, literal_ids

VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
REST_API = "aws:apigateway/restApi:RestApi"
REST_API_POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
EXECUTE_API = ".execute-api"

RULE = Rule(
    id="LG-APIGW-002",
    name="disallow-private-api-outside-endpoints",
    description="A private REST API's resource policy (a RestApiPolicy, or a private RestApi's inline policy) must not allow execute-api:Invoke to any VPC endpoint outside the stack, evaluated as IAM does before the policy is created.",
    remediation="Condition every Allow of execute-api:Invoke on aws:SourceVpce equal to the stack's execute-api endpoint id (computed from the endpoint resource), add a Deny for every other aws:SourceVpce on this API's ARN, and drop wildcard actions or ids of endpoints the stack does not create.",
    severity="critical",
    link="https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-examples.html#apigateway-resource-policies-source-vpc-example",
    resource_types=(VPC_ENDPOINT, REST_API, REST_API_POLICY),
)


class _Seen:
    """What the earlier `Analyze` requests of this operation said: the stack's execute-api
    endpoints (URN -> the VPC id they are configured with, or None), and its REST APIs (URN ->
    private)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.operation = -1
        self.endpoints: dict[str, Any] = {}
        self.apis: dict[str, bool] = {}

    def _current(self) -> None:
        if self.operation != INPUTS.operation:
            self.operation = INPUTS.operation
            self.endpoints.clear()
            self.apis.clear()

    def endpoint(self, urn: str, vpc: Any) -> None:
        with self.lock:
            self._current()
            self.endpoints[urn] = vpc if isinstance(vpc, str) and vpc else None

    def api(self, urn: str, private: bool) -> None:
        with self.lock:
            self._current()
            self.apis[urn] = private

    def snapshot(self) -> tuple[dict, dict]:
        with self.lock:
            self._current()
            return dict(self.endpoints), dict(self.apis)


SEEN = _Seen()


def _items(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _known(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def check(res: Resource, cfg: dict):
    if res.type == VPC_ENDPOINT:
        service = res.get("serviceName")
        if is_unknown(service) or (isinstance(service, str) and service.endswith(EXECUTE_API)):
            SEEN.endpoint(res.urn, res.get("vpcId"))
        return
    if res.type == REST_API:
        private = is_private_api(res)
        SEEN.api(res.urn, private)
        if not private:
            return
    value = res.get("policy")
    if value is None or (isinstance(value, str) and not value.strip()):
        return  # none: a RestApi whose policy a separate RestApiPolicy carries, or none at all
    if is_unknown(value):
        yield waiting(value, "its document is computed from another resource's output (the execute-api endpoint's id, at the "
                             "first preview), so its statements are judged once it is known")
        return
    document = parse_json(value, "policy")
    statements = _items(document.get("Statement")) if isinstance(document, dict) else []
    endpoints, apis = SEEN.snapshot()
    if res.type == REST_API_POLICY and not any(endpoint_conditions(statements)) \
            and not (apis and all(apis.values())):
        return  # maybe a regional API's policy: LG-APIGW-001 tells from the graph
    region = res.region
    api = Api(api_id=_known(res.get("restApiId")) if res.type == REST_API_POLICY else None,
              region=region if isinstance(region, str) else None)
    for i, caller in admitted(statements, api, [Caller("any VPC endpoint of another VPC or account", OTHER, OTHER)]):
        yield (f"Statement[{i}] allows execute-api:Invoke to {caller.what}, and no Deny stops it (evaluated "
               "as IAM does: Allow minus explicit Deny, wildcards expanded, for this API's ARN): it may invoke "
               "the private API without the Wallarm nodes")
    if not endpoints:
        return
    yield from _literal_findings(statements, api, endpoints)


def _literal_findings(statements: list, api: Api, endpoints: dict):
    """More literal endpoint ids admitted than the stack has endpoints, or a VPC id that none of
    them is in."""
    named = literal_ids(statements)
    vpce = sorted({c.vpce for _i, c in admitted(statements, api, [Caller(v, v, OTHER) for v in named["vpce"]])})
    if len(vpce) > len(endpoints):
        yield (f"allows execute-api:Invoke to {len(vpce)} literal endpoint ids ({', '.join(vpce)}) but the stack "
               f"has {len(endpoints)} execute-api endpoint(s), so at least {len(vpce) - len(endpoints)} of them "
               "is another VPC's or account's: it may invoke the private API without the Wallarm nodes")
    vpcs = set(endpoints.values())
    if None in vpcs:
        return  # an endpoint whose VPC id is not known yet: LG-APIGW-001 reads it from the state
    foreign = sorted(named["vpc"] - vpcs)
    for _i, caller in admitted(statements, api, [Caller(v, OTHER, v) for v in foreign]):
        yield (f"allows execute-api:Invoke to every endpoint in VPC {caller.vpc}, which none of the stack's "
               "execute-api endpoints is in: it may invoke the private API without the Wallarm nodes")


POLICY = resource_policy(RULE, check)

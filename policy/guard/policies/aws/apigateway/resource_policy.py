"""Who may invoke one REST API, read from its resource policy the way IAM evaluates it.

API Gateway allows a call when some `Allow` statement applies to it and no `Deny` applies
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html).
A statement applies when its action, resource, principal and every condition match the request:

* actions are glob patterns (`*`, `?`, case-insensitive) matched against `execute-api:Invoke`;
  `NotAction` applies when Invoke matches none of its patterns;
* resources are glob patterns matched against this API's execute-api ARN
  (`arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>`; `execute-api:/...`
  is short for this API); a pattern naming another API does not apply to this one;
* conditions on `aws:SourceVpce` / `aws:SourceVpc` are evaluated for each caller; a condition on
  any other key is unknown here.

Callers judged: the stack's endpoints (and their VPCs), every literal endpoint id the document
names that is not one of them, and any other endpoint. An outside caller is admitted when an
Allow may apply to it (an unknown condition may hold) and no Deny surely covers that Allow's
resources for it (an unknown condition, a principal that is not everyone, or a narrower resource
may leave it out). This errs towards admitting, never towards a silent pass.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

INVOKE = "execute-api:invoke"
KEYS = {"aws:sourcevpce": "vpce", "aws:sourcevpc": "vpc"}
OTHER = object()  # an id no literal of the document names (another account's endpoint or VPC)
MAYBE = "maybe"


@dataclass(frozen=True)
class Api:
    """This API's ARN parts, each None when unknown (then any pattern may match it)."""

    api_id: str | None = None
    region: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class Caller:
    what: str      # how a finding names it
    vpce: Any      # the endpoint id (a literal, or OTHER)
    vpc: Any       # its VPC id (a literal, or OTHER)


def _items(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _glob(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value.lower(), pattern.lower().replace("[", "[[]"))


def grants_invoke(statement: dict) -> bool:
    if "NotAction" in statement:
        return not any(isinstance(a, str) and _glob(a, INVOKE) for a in _items(statement["NotAction"]))
    return any(isinstance(a, str) and _glob(a, INVOKE) for a in _items(statement.get("Action")))


def _part(pattern: str, value: str | None, deny: bool) -> bool:
    if value is None:  # unknown: an Allow may match it, a Deny only when it matches anything
        return pattern == "*" if deny else True
    return _glob(pattern, value)


def resource_pattern(resource: str, api: Api, deny: bool) -> str | None:
    """The pattern over `<stage>/<METHOD>/<path>` this statement resource covers on the API, or
    None when it does not apply to the API."""
    if resource in ("*", "execute-api:*"):
        return "*"
    if resource.startswith("execute-api:/"):
        return resource[len("execute-api:/"):] or "*"
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not _glob(parts[2], "execute-api"):
        return None
    # the policy is attached to this API: an unknown region or account is its own
    if not (_part(parts[3], api.region, False) and _part(parts[4], api.account, False)):
        return None
    ident, _slash, rest = parts[5].partition("/")
    if not _part(ident, api.api_id, deny):
        return None
    if ident.endswith("*") and not rest:
        return "*"
    return rest or None


def covers(deny: str, allow: str) -> bool:
    """Whether every request the allow pattern matches is matched by the deny pattern."""
    return deny == "*" or deny == allow or ("?" not in deny and _glob(deny, allow))


def _values_match(op: str, values: list, actual: Any) -> Any:
    """True / False / MAYBE: the operator's match of one caller value against the literals."""
    like = "like" in op
    ignore = "ignorecase" in op
    results = []
    for v in values:
        if not isinstance(v, str):
            results.append(MAYBE)
        elif actual is OTHER:
            results.append(MAYBE if like and ("*" in v or "?" in v) else False)
        elif like:
            results.append(_glob(v, actual))
        else:
            results.append(v.lower() == actual.lower() if ignore else v == actual)
    if True in results:
        return True
    return MAYBE if MAYBE in results else False


def _condition(condition: Any, caller: Caller) -> Any:
    """True / False / MAYBE for the whole Condition block (operators and keys are ANDed)."""
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return MAYBE
    verdict: Any = True
    for operator, block in condition.items():
        if not isinstance(operator, str) or not isinstance(block, dict):
            return MAYBE
        op = operator.lower()
        for prefix in ("foranyvalue:", "forallvalues:"):
            op = op.removeprefix(prefix)
        op = op.removesuffix("ifexists")
        for key, values in block.items():
            kind = KEYS.get(key.lower()) if isinstance(key, str) else None
            if kind is None or not op.startswith("string"):
                if op == "null" and kind is not None:
                    # endpoint calls always carry both keys: "true" (absent) is false for them
                    result = not any(str(v).lower() == "true" for v in _items(values))
                else:
                    result = MAYBE
            else:
                actual = caller.vpce if kind == "vpce" else caller.vpc
                negative = "not" in op
                match = _values_match(op.replace("not", ""), _items(values), actual)
                result = (not match if match != MAYBE else MAYBE) if negative else match
            if result is False:
                return False
            if result == MAYBE:
                verdict = MAYBE
    return verdict


def _everyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, dict) and _items(principal.get("AWS")) == ["*"])


def endpoint_conditions(statements: list):
    """(key kind, values) of every condition of the document on an endpoint key (`KEYS`)."""
    for st in statements:
        condition = st.get("Condition") if isinstance(st, dict) else None
        for block in condition.values() if isinstance(condition, dict) else ():
            for key, values in block.items() if isinstance(block, dict) else ():
                kind = KEYS.get(key.lower()) if isinstance(key, str) else None
                if kind is not None:
                    yield kind, values


def literal_ids(statements: list) -> dict[str, set]:
    """Every literal id the document's conditions on the endpoint keys name, per key kind."""
    out: dict[str, set] = {"vpce": set(), "vpc": set()}
    for kind, values in endpoint_conditions(statements):
        out[kind].update(v for v in _items(values) if isinstance(v, str) and "*" not in v and "?" not in v)
    return out


def admitted(statements: list, api: Api, callers: list[Caller]) -> list[tuple[int, Caller]]:
    """(index of the Allow that admits it, caller) for every caller some Allow admits and no Deny
    surely stops."""
    allows, denies = [], []
    for i, st in enumerate(statements):
        if not isinstance(st, dict) or not grants_invoke(st):
            continue
        effect = st.get("Effect")
        deny = effect == "Deny"
        if "NotResource" in st:
            # every resource but some: an Allow reaches part of the API; a Deny is not relied on
            patterns = [] if deny else ["*"]
        else:
            patterns = [p for r in _items(st.get("Resource")) if isinstance(r, str)
                        if (p := resource_pattern(r, api, deny)) is not None]
        if deny:
            if _everyone(st.get("Principal")):
                denies.append((st, patterns))
        elif effect == "Allow":
            allows.append((i, st, patterns))
    out = []
    for caller in callers:
        for i, st, patterns in allows:
            if _condition(st.get("Condition"), caller) is False:
                continue
            stopping = [p for d, ps in denies if _condition(d.get("Condition"), caller) is True for p in ps]
            if any(not any(covers(d, a) for d in stopping) for a in patterns):
                out.append((i, caller))
                break
    return out


@dataclass(frozen=True)
class Ours:
    """The ids the stack's own endpoints and VPCs have, as far as the pack can read them."""

    vpces: frozenset
    vpcs: frozenset
    unread_vpces: int  # endpoints the policy is computed from whose id the pack cannot read
    unread_vpcs: int


def outside_callers(statements: list, ours: Ours) -> list[Caller]:
    """Who outside the stack could call: any other endpoint, and every literal id the document
    names that is not the stack's. While the pack cannot read the ids of the endpoints (or VPCs)
    the policy is computed from, as many literal ids as there are such endpoints are taken to be
    theirs (the document can only have got them from those resources); any more are outsiders."""
    named = literal_ids(statements)
    out = [Caller("any VPC endpoint of another VPC or account", OTHER, OTHER)]
    foreign = sorted(named["vpce"] - ours.vpces)
    if len(foreign) > ours.unread_vpces:
        out += [Caller(f"endpoint {v}, which is not an endpoint of this stack", v, OTHER) for v in foreign]
    foreign = sorted(named["vpc"] - ours.vpcs)
    if len(foreign) > ours.unread_vpcs:
        out += [Caller(f"every endpoint in VPC {v}, which is not a VPC of this stack", OTHER, v) for v in foreign]
    return out


def judge(document: Any, api: Api | None = None, ours: Ours | None = None) -> tuple[list, list]:
    """([(statement index, why)] of the Allows that admit a caller outside the stack, the literal
    endpoint/VPC ids the document names) for a known policy document, evaluated as IAM does for
    this API (`admitted`)."""
    statements = [s for s in _items(document.get("Statement"))] if isinstance(document, dict) else []
    api = api or Api()
    ours = ours or Ours(frozenset(), frozenset(), 1 << 30, 1 << 30)
    problems = [(i, f"admits {caller.what}") for i, caller in admitted(statements, api, outside_callers(statements, ours))]
    named = literal_ids(statements)
    return problems, sorted(named["vpce"] | named["vpc"])

"""Perimeter judgements over the reachability model: which internet entries carry AWS WAF, and
which CloudFront origins reject requests that did not come through CloudFront.

AWS facts encoded here (see shared/FACTS.md): WAFv2 REGIONAL attaches to ALBs and REST API stages
through a web ACL association made in the resource's own region, with an ACL of that region
(`_same_region`); CloudFront takes a CLOUDFRONT-scope web ACL created in us-east-1 through `webAclId`; NLBs and HTTP APIs take no WAF, so they need CloudFront+WAF in front and an
origin that rejects direct requests (security group limited to the CloudFront origin-facing prefix
list, or, for an ALB, a secret-header listener rule with a fixed-response 403 default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from guard.framework import Resource, is_unknown

from . import tokens as T
from .base import _configured
from .model import INTERNET, Model, same
from .net import has_public_part, parse_cidr

CLOUDFRONT_WAF_REGION = "us-east-1"


SERVICE_ENTRIES = ("cloudfront", "alb", "nlb", "httpapi", "restapi", "apidomain")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    urns: tuple = ()  # the resources to name when not ok (default: the entry itself)


def _acl_verdict(acl: Resource, scope: str, region: str | None) -> Verdict:
    got = acl.get("scope")
    if is_unknown(got):
        return Verdict(False, f"the scope of web ACL '{acl.name}' is unknown at preview")
    if got != scope:
        return Verdict(False, f"web ACL '{acl.name}' has scope {got!r}, not {scope}")
    if region is not None:
        where = acl.region
        if is_unknown(where) or where is None:
            return Verdict(False, f"the region of web ACL '{acl.name}' cannot be determined (neither its "
                                  "own region input nor its provider's region is known)")
        if where != region:
            return Verdict(False, f"web ACL '{acl.name}' is created in {where}, not {region} "
                                  "(set the provider or the resource's region to us-east-1)")
    return Verdict(True, f"web ACL '{acl.name}'")


def _literal_arn(value, scope_marker: str, region: str | None) -> Verdict:
    if isinstance(value, str) and value.startswith("arn:aws:wafv2:"):
        parts = value.split(":")
        if len(parts) >= 6 and parts[5].startswith(scope_marker) and (region is None or parts[3] == region):
            return Verdict(True, f"web ACL {value}")
        return Verdict(False, f"web ACL {value} is not a {scope_marker.rstrip('/')} ACL"
                              + (f" in {region}" if region else ""))
    if is_unknown(value):
        return Verdict(False, "the web ACL is unknown at preview and is not a resource of this stack")
    return Verdict(False, f"{value!r} is not a WAFv2 web ACL ARN")


def cloudfront_waf(model: Model, dist: Resource) -> Verdict:
    acls = model.deps(dist, "webAclId", [T.WEB_ACL])
    if acls:
        verdicts = [_acl_verdict(a, "CLOUDFRONT", CLOUDFRONT_WAF_REGION) for a in acls]
        bad = [v for v in verdicts if not v.ok]
        return bad[0] if bad else verdicts[0]
    value = dist.get("webAclId")
    if value is None or same(value, ""):
        return Verdict(False, "the distribution has no webAclId")
    return _literal_arn(value, "global/", CLOUDFRONT_WAF_REGION)


def _same_region(res: Resource | None, assoc: Resource, acl: Resource | None, arn) -> Verdict | None:
    """A regional web ACL protects resources of its own region only, and the association is made in
    that region too (AWS refuses any other: WAFNonexistentItemException). The regions compared are
    the resources' own `region` input, else their provider's; a literal ACL ARN carries its region.
    A known mismatch is a failure, an unknown region fails closed; a region no input or provider
    gives (None) is not compared."""
    where = {"the protected resource": res.region if res is not None else None, f"association '{assoc.name}'":
             assoc.region, "the web ACL": acl.region if acl is not None else None}
    if acl is None and isinstance(arn, str) and arn.startswith("arn:aws:wafv2:") and len(arn.split(":")) > 3:
        where["the web ACL"] = arn.split(":")[3] or None
    for what, region in where.items():
        if is_unknown(region):
            return Verdict(False, f"the region of {what} is unknown at preview, so the web ACL may not apply "
                                  "(fail closed)")
    known = {what: r for what, r in where.items() if isinstance(r, str) and r}
    if len(set(known.values())) > 1:
        return Verdict(False, "a regional web ACL applies only in its own region, but "
                              + ", ".join(f"{what} is in {r}" for what, r in known.items()))
    return None


def regional_waf(model: Model, urn: str) -> Verdict:
    assocs = model.waf_assocs.get(urn, [])
    if not assocs:
        return Verdict(False, "no aws:wafv2/webAclAssociation names it (resourceArn)")
    reasons = []
    res = model.stack.by_urn.get(urn)
    for assoc in assocs:
        acls = model.deps(assoc, "webAclArn", [T.WEB_ACL])
        if acls:
            verdict = _acl_verdict(acls[0], "REGIONAL", None)
        else:
            verdict = _literal_arn(assoc.get("webAclArn"), "regional/", None)
        if verdict.ok:
            verdict = _same_region(res, assoc, acls[0] if acls else None, assoc.get("webAclArn")) or verdict
        if verdict.ok:
            return Verdict(True, f"{verdict.reason} through association '{assoc.name}'")
        reasons.append(verdict.reason)
    return Verdict(False, "; ".join(reasons))


def internet_sources(model: Model, urn: str) -> list[tuple[tuple, str, bool]]:
    """(openers, note, via CloudFront list) for every internet source the resource admits."""
    return list(model.internet_admission.get(urn, ()))


SECRET_TYPES_PREFIXES = ("random:", "aws:secretsmanager/", "aws:ssm/parameter:")
# pulumi_random resources whose value is a secret: (length property, least length), the least
# giving 64 bits or more (a password or string of 12 characters from the 62 letters and digits is
# 71 bits; 8 random bytes are 64). A pet name (dictionary words), an integer or a shuffle of given
# items is no secret; neither is a short string (62^4 values are tried in hours against an ALB
# that has no WAF of its own).
RANDOM_SECRETS = {
    "random:index/randomPassword:RandomPassword": ("length", 12),
    "random:index/randomString:RandomString": ("length", 12),
    "random:index/randomId:RandomId": ("byteLength", 8),
    "random:index/randomBytes:RandomBytes": ("length", 8),
    "random:index/randomUuid:RandomUuid": (None, 0),
}
MIN_SECRET_TEXT = 16


def _is_secret_source(res: Resource) -> bool:
    """A resource whose value nobody outside the stack can guess: a Secrets Manager secret or SSM
    parameter (their content is the owner's), or a pulumi_random password, string, id, bytes or
    UUID of enough length. Other pulumi_random resources are guessable (`_is_random`)."""
    if not res.type.startswith(SECRET_TYPES_PREFIXES):
        return False
    if not res.type.startswith("random:"):
        return True
    rule = RANDOM_SECRETS.get(res.type)
    if rule is None:
        return False
    prop, least = rule
    if prop is None:
        return True
    value = res.get(prop)
    return isinstance(value, (int, float)) and value >= least


def _is_random(res: Resource) -> bool:
    return res.type.startswith("random:")


def origin_protection(model: Model, urn: str, dists: list[str] | tuple = ()) -> Verdict:
    """Does this origin reject requests that did not come through the stack's own CloudFront?

    The CloudFront origin-facing prefix list admits every distribution, an attacker's included, so
    it proves nothing on its own; what proves it is a listener whose every forward is reachable only
    with a secret header value (`_secret_header_only`), a VPC origin (an internal load balancer the
    internet cannot reach), or the origin's own regional web ACL (then the WAF is met either way).
    When the secret is what fails (it is sent to an origin outside the stack), `urns` names the
    distributions that hand it out."""
    ep = model.endpoints[urn]
    sources = internet_sources(model, urn)
    if not ep.exposures and not model.internet_edges(urn):
        return Verdict(True, "it is not reachable from the internet")
    if ep.kind == "alb" and regional_waf(model, urn).ok:
        return Verdict(True, "it carries its own regional web ACL")
    leakers: tuple = ()
    if ep.kind == "alb":
        header, leakers = _secret_header_only(model, urn)
        if header is None:
            return Verdict(True, "every forward of every listener is reachable only with the distribution's "
                                 "secret header")
        why = header
    else:
        why = "a network load balancer cannot check CloudFront's secret header"
    if sources and all(via_cf for _o, _n, via_cf in sources):
        why = ("its security groups admit only the CloudFront origin-facing prefix list, which admits every "
               f"CloudFront distribution, an attacker's included, and {why}")
    else:
        open_sources = [n for _o, n, via_cf in sources if not via_cf] or [r for _o, r in ep.exposures]
        why = f"it accepts requests that bypass CloudFront ({'; '.join(open_sources) or 'internet-facing'}); {why}"
    return Verdict(False, f"{why}; forward only on the distribution's secret header with a 403 default, "
                          "or use a CloudFront VPC origin with an internal load balancer", leakers)


_WILDCARD = re.compile(r"[*?]")
# The outputs of a secret source that carry its value (random password/string, Secrets Manager
# secret version, SSM parameter).
_SECRET_VALUE_PROPS = ("result", "secretString", "value")


class _Leaks:
    """Where secret header values go: every custom header of every origin of every distribution
    of the stack (origin group members are origins too) whose origin is outside the stack (its
    domain is a literal, or a known value that is no output of a resource the origins come from).

    Per value: a known header value sent outside is leaked as such. An unknown one (at preview,
    a value computed from the stack's secrets) may be any of the secret sources the distribution's
    origins depend on (property dependencies are per top-level property), so all of them count
    as leaked (fail closed)."""

    def __init__(self, model: Model) -> None:
        self.values: dict[str, set] = {}   # leaked literal value -> distributions
        self.sources: dict[str, set] = {}  # leaked secret source urn -> distributions
        self.sent: set = set()             # literal values sent to origins of the stack
        for dist in model.of(T.DISTRIBUTION):
            origins = dist.get("origins")
            deps = model.stack.deps(dist, "origins")
            secret_srcs = {r.urn for r in deps if _is_secret_source(r)}
            for origin in origins if isinstance(origins, list) else []:
                if not isinstance(origin, dict):
                    continue
                inside = _origin_in_stack(model, deps, origin.get("domainName"))
                headers = origin.get("customHeaders")
                headers = [headers] if is_unknown(headers) else headers if isinstance(headers, list) else []
                for h in headers:
                    value = h.get("value") if isinstance(h, dict) else h
                    if isinstance(value, str):
                        if inside:
                            self.sent.add(value)
                        else:
                            self.values.setdefault(value, set()).add(dist.urn)
                    elif is_unknown(value) and not inside:
                        for s in secret_srcs:
                            self.sources.setdefault(s, set()).add(dist.urn)


def _origin_in_stack(model: Model, deps: list[Resource], domain: Any) -> bool:
    """Is an origin's domain a resource of the stack's (an output of what the origins come from)?
    An unknown domain is computed from the stack's resources; a literal one is outside."""
    if is_unknown(domain):
        return True
    if not isinstance(domain, str) or not domain:
        return False
    for record in model.records_named(domain):
        # a name of the stack's zone that resolves to a resource of the stack (alias or records)
        if any(not _is_secret_source(d) for prop in ("aliases", "records") for d in model.stack.deps(record, prop)):
            return True
    for res in deps:
        if _is_secret_source(res):
            continue
        for value in res.props.values() if isinstance(res.props, dict) else ():
            if isinstance(value, str) and len(value) >= 6 and (value == domain or value in domain or domain in value):
                return True
    return False


def _leaks_for(model: Model) -> _Leaks:
    found = getattr(model, "_secret_leaks", None)
    if found is None:
        found = _Leaks(model)
        model._secret_leaks = found
    return found


def _secret_header_only(model: Model, urn: str) -> tuple[str | None, tuple]:
    """(None, ()) when every forward of every listener of the ALB is reachable only with a secret
    header value, else (why not, the distributions that leak the secret when that is why).

    AWS evaluates a rule's condition blocks ANDed and the values of one block ORed (an
    `http_header` value may use `*` and `?`): a rule requires the secret when one of its blocks is a
    header condition whose every value is an unleaked secret, or a source-IP condition with no
    public address (the internet cannot send from there). Any other rule that forwards, and a
    default action that forwards, admits whoever can send the request: the internet, without
    CloudFront's WAF. Rule priority is not used to shadow later rules (a shadowed rule counts as
    reachable: fail closed). Only the listeners a source outside the stack enters count
    (`_exposed_listeners`): a listener on a port no rule admits from the internet answers nobody
    there, whatever it forwards."""
    listeners = model.lb_listeners.get(urn, [])
    if not listeners:
        return "it has no listener the model can read", ()
    exposed = _exposed_listeners(model, urn)
    leaks = _leaks_for(model)
    for listener in listeners:
        if exposed is not None and listener.urn not in exposed:
            continue
        actions = listener.get("defaultActions")
        if not isinstance(actions, list) or not actions:
            return f"the default actions of listener '{listener.name}' are not known", ()
        for a in actions:
            kind = a.get("type") if isinstance(a, dict) else None
            if not (same(kind, "fixed-response") or same(kind, "redirect")):
                return f"listener '{listener.name}' forwards by default, without a header check", ()
        for rule in model.listener_rules.get(listener.urn, []):
            forwards = bool(model.deps(rule, "actions", T.TARGET_GROUPS)) or any(
                isinstance(a, dict) and not (same(a.get("type"), "fixed-response") or same(a.get("type"), "redirect"))
                for a in (rule.get("actions") if isinstance(rule.get("actions"), list) else []))
            if not forwards and isinstance(rule.get("actions"), list):
                continue
            why, leakers = _rule_admits(model, rule, leaks)
            if why:
                return why, leakers
    return None, ()


def _exposed_listeners(model: Model, urn: str) -> set | None:
    """The listeners of a load balancer that the internet enters, directly or through anything it
    reaches (None: every listener): the ports its security group rules admit from internet
    addresses, the CloudFront origin-facing list (any distribution, an attacker's included), a
    public subnet's address space, a foothold the internet reaches, the stack's distributions on
    their origin ports. An edge that is not per listener (an exposure without a security group,
    an origin whose ports are not known) enters them all."""
    reached = _internet_reach(model)
    found: set = set()
    for src, e in model.inn.get(urn, ()):
        if src == urn or src not in reached:
            continue
        if e.entry is None:
            return None
        found.update(e.entry)
    return found


def _internet_reach(model: Model) -> set:
    """Every vertex with a path from the internet (the internet included), any edge followed."""
    found = getattr(model, "_internet_reach", None)
    if found is None:
        found, todo = {INTERNET}, [INTERNET]
        while todo:
            for e in model.out.get(todo.pop(), ()):
                if e.dst not in found:
                    found.add(e.dst)
                    todo.append(e.dst)
        model._internet_reach = found
    return found


def _rule_admits(model: Model, rule: Resource, leaks: _Leaks) -> tuple[str | None, tuple]:
    """(None, ()) when the rule requires something the internet cannot send, else (why, leakers)."""
    conditions = rule.get("conditions")
    if not isinstance(conditions, list):
        return f"the conditions of listener rule '{rule.name}' are not known", ()
    deps = model.stack.deps(rule, "conditions")
    secret_srcs = {r.urn: r for r in deps if _is_secret_source(r)}
    others = [r for r in deps if not _is_secret_source(r)]
    open_parts: list[str] = []
    leakers: set = set()
    for c in conditions:
        if not isinstance(c, dict):
            continue
        header, source_ip = c.get("httpHeader"), c.get("sourceIp")
        if isinstance(header, dict):
            values = header.get("values")
            if not isinstance(values, list) or not values:
                open_parts.append(f"header {header.get('httpHeaderName')} with values unknown at preview")
                continue
            verdicts = [_secret_value(v, secret_srcs, others, leaks) for v in values]
            weak = [(v, why, who) for v, (why, who) in zip(values, verdicts, strict=True) if why]
            if not weak:
                return None, ()
            for v, why, who in weak:
                leakers |= who
                shown = repr(v) if isinstance(v, str) and not who else "a value"
                open_parts.append(f"header {header.get('httpHeaderName')}: {shown} {why}")
        elif isinstance(source_ip, dict):
            values = source_ip.get("values")
            cidrs = [parse_cidr(v) for v in values] if isinstance(values, list) else [None]
            if cidrs and all(n is not None and not has_public_part(n) for n in cidrs):
                return None, ()
            open_parts.append("a source IP range with internet addresses (or not known at preview)")
    if not open_parts:
        open_parts.append("no header condition")
    return (f"listener rule '{rule.name}' forwards on conditions anyone can meet without CloudFront: "
            f"{'; '.join(open_parts)}"), tuple(sorted(leakers))


def _secret_value(value: Any, secret_srcs: dict, others: list, leaks: _Leaks) -> tuple[str, set]:
    """('', set()) when a header condition value is an unleaked secret, else (why not, leakers)."""
    if is_unknown(value):
        if not secret_srcs or others:
            weak = [r.name for r in others if _is_random(r)]
            if weak:
                return f"comes from {', '.join(weak)}, which is not a secret (too small or guessable)", set()
            return "is unknown at preview and not only from a random or secret resource", set()
        who = set().union(*(leaks.sources.get(s, set()) for s in secret_srcs))
        if who:
            return "is a secret sent to an origin outside the stack", who
        return "", set()
    if not isinstance(value, str):
        return "is not a string", set()
    if value in leaks.values:
        return "is a secret sent to an origin outside the stack", set(leaks.values[value])
    for urn, res in secret_srcs.items():
        if any(isinstance(res.get(p), str) and res.get(p) == value for p in _SECRET_VALUE_PROPS):
            who = set(leaks.sources.get(urn, set()))
            return ("is a secret sent to an origin outside the stack", who) if who else ("", set())
    for res in others:
        # the value of a resource that is no secret (a pet name, a short random string, an id or
        # a DNS name of the stack): whoever can guess or read it sends it
        if _is_random(res) or any(isinstance(v, str) and v == value for v in (res.props.values() if isinstance(res.props, dict) else ())):
            return f"comes from {res.name}, which is not a secret (too small, guessable or readable)", set()
    if _WILDCARD.search(value):
        return "is a wildcard pattern, not a secret", set()
    if value in leaks.sent:
        if len(value) < MIN_SECRET_TEXT:
            return f"is a literal of {len(value)} characters, too short to be a secret", set()
        return "", set()  # the same literal the distribution sends (a secret given as config)
    return "is not a random or secret value the distribution sends", set()


def api_origin_protection(api: Resource) -> Verdict:
    """An API behind CloudFront is an origin only if its default execute-api endpoint is off."""
    value = api.get("disableExecuteApiEndpoint")
    if is_unknown(value):
        return Verdict(False, "disableExecuteApiEndpoint is unknown at preview (fail closed)")
    if value is True:
        return Verdict(True, "its default execute-api endpoint is disabled")
    return Verdict(False, "its default execute-api endpoint is enabled (disable_execute_api_endpoint is not "
                          "true), so it can be called directly, around CloudFront and its WAF")


API_KEY_HEADER = "x-api-key"


def api_origin_verdict(model: Model, api: Resource) -> Verdict:
    """An API behind CloudFront rejects direct calls when its default endpoint is off, or when
    every method requires an API key that only WAF-protected CloudFront distributions send; and
    every public custom domain mapped to it is protected too (`api_domain_verdict`):
    `disable_execute_api_endpoint` turns off the execute-api host only, a custom domain still
    serves the API to anyone. A failing domain names its mappings."""
    shield = api_origin_protection(api)
    if not shield.ok:
        key = api_key_shield(model, api)
        shield = key if key.ok else Verdict(False, f"{shield.reason}, and {key.reason}", (api.urn,))
    domains = [api_domain_verdict(model, d) for d in _public_domains(model, api.urn)]
    bad = [v for v in domains if not v.ok]
    if not bad:
        return shield
    reason = "; ".join(v.reason for v in bad)
    urns = tuple(dict.fromkeys(u for v in bad for u in v.urns))
    if shield.ok:
        return Verdict(False, f"{shield.reason}, but {reason}", urns)
    return Verdict(False, f"{shield.reason}; and {reason}", shield.urns + urns)


def _public_domains(model: Model, api_urn: str) -> list[Resource]:
    """The custom domains mapped to this API that the internet reaches (not PRIVATE)."""
    return [model.stack.by_urn[src] for src, _e in model.inn.get(api_urn, ())
            if src in model.endpoints and model.endpoints[src].kind == "apidomain" and model.internet_edges(src)]


def api_key_shield(model: Model, api: Resource) -> Verdict:
    """Every method of a REST API requires an API key (read from the `x-api-key` header), and every
    key its usage plans accept is sent, as an origin custom header, only by CloudFront distributions
    with WAF (the same literal, the key resource's own value, or a value from the same random or
    secret resource): a request without CloudFront's header is refused with 403, as with the secret
    header on an ALB. CloudFront replaces a viewer's header of the same name with the origin's."""
    if api.type != T.REST_API:
        return Verdict(False, "an HTTP API has no API keys")
    # unset by the program, AWS reads the key from the header (its default, HEADER); what the
    # provider then reports is not the program's choice
    source = api.get("apiKeySource") if _configured(api, "apiKeySource") else None
    if source is not None and not same(source, "HEADER"):
        return Verdict(False, f"its API keys are read from {source!r}, not the x-api-key header")
    methods = [m for m in model.of(T.REST_METHOD) if any(a.urn == api.urn for a in model.deps(m, "restApi"))]
    if not methods:
        return Verdict(False, "it has no method of this stack that requires an API key")
    loose = [m.name for m in methods if m.get("apiKeyRequired") is not True]
    if loose:
        return Verdict(False, f"method(s) {', '.join(loose)} do not require an API key")
    plans = {p.urn for p in model.of(T.REST_USAGE_PLAN)
             if any(a.urn == api.urn for a in model.stack.deps(p, "apiStages"))}
    keys = []
    for link in model.of(T.REST_USAGE_PLAN_KEY):
        if not any(d.urn in plans for d in model.stack.deps(link, "usagePlanId")):
            continue
        found = model.deps(link, "keyId", [T.REST_API_KEY])
        if not found:
            return Verdict(False, f"usage plan key '{link.name}' adds a key that is not a resource of this stack")
        keys.extend(found)
    senders: dict[str, set] = {}
    for dist in model.of(T.DISTRIBUTION):
        origin_deps = {r.urn for r in model.stack.deps(dist, "origins")}
        for origin in dist.get("origins") if isinstance(dist.get("origins"), list) else []:
            headers = origin.get("customHeaders") if isinstance(origin, dict) else None
            for h in headers if isinstance(headers, list) else []:
                name = h.get("name") if isinstance(h, dict) else None
                if isinstance(name, str) and name.lower() == API_KEY_HEADER:
                    for key in keys:
                        value = key.get("value")
                        sources = {key.urn} | {r.urn for r in model.stack.deps(key, "value") if _is_secret_source(r)}
                        if (isinstance(value, str) and value and h.get("value") == value) or origin_deps & sources:
                            senders.setdefault(key.urn, set()).add(dist.urn)
                            host = origin.get("domainName")
                            if isinstance(host, str) and not _serves(model, api, host):
                                # a literal host is not this API (its execute-api name is computed):
                                # whoever runs that origin receives the key (one leaked origin suffices)
                                return Verdict(False, f"distribution '{dist.name}' also sends API key "
                                                      f"'{key.name}' to origin {host}, which is not this API")
    for key in keys:
        if key.urn not in senders:
            return Verdict(False, f"API key '{key.name}' is not one a CloudFront distribution sends, so its "
                                  "holders call the API around CloudFront")
        for d in senders[key.urn]:
            if not cloudfront_waf(model, model.stack.by_urn[d]).ok:
                return Verdict(False, f"API key '{key.name}' is sent by distribution "
                                      f"'{model.stack.by_urn[d].name}', which has no AWS WAF")
    return Verdict(True, "every method requires an API key that only CloudFront distributions with WAF send")


def _serves(model: Model, api: Resource, host: str) -> bool:
    """Whether a known origin host is this API: its execute-api name (once its id is known) or
    one of its custom domains."""
    api_id = api.get("id")
    if isinstance(api_id, str) and api_id and host.lower().startswith(f"{api_id.lower()}.execute-api."):
        return True
    return host in _api_hosts(model, api)


def _api_hosts(model: Model, api: Resource) -> set:
    """The literal host names that serve this API: its custom domains' names."""
    hosts = set()
    for domain in model.of(T.REST_DOMAIN_NAME, T.HTTP_DOMAIN_NAME):
        if any(a is not None and a.urn == api.urn for _m, a, _s in model._domain_mappings(domain)):
            name = domain.get("domainName")
            if isinstance(name, str):
                hosts.add(name)
    return hosts


def api_domain_verdict(model: Model, domain: Resource) -> Verdict:
    """A custom domain serves its mapped stages to anyone who calls it, around whatever fronts it:
    it is protected when every stage it serves has its own web ACL association (the stage's WAF
    applies to every request the stage serves, through a custom domain too) or the API admits only
    CloudFront's API key (api_key_shield). Otherwise each mapping that serves a stage without one
    is named."""
    bad, reasons = [], []
    for mapping, api, stages in model._domain_mappings(domain):
        if api is None:
            continue  # fails closed in the model
        if api.type == T.REST_API:
            stages = stages or model.rest_stages.get(api.urn, [])
            missing = [s.name for s in stages if not regional_waf(model, s.urn).ok]
            if stages and not missing:
                continue
            if api_key_shield(model, api).ok:
                continue
            why = f"stage(s) {', '.join(missing)} have no web ACL association that applies" if stages else \
                "the stages it serves are not known"
        else:
            why = "an HTTP API cannot carry AWS WAF"
        bad.append(mapping.urn)
        reasons.append(f"mapping '{mapping.name}' serves {model.label(api.urn)} directly: {why}")
    if bad:
        return Verdict(False, "a custom domain answers every caller, not only CloudFront; " + "; ".join(reasons),
                       tuple(bad))
    return Verdict(True, "every stage it serves carries a web ACL, or admits only CloudFront's API key")


WAF_EXEMPTION_TAG = "layerguard:waf-exemption"
MIN_EXEMPTION_REASON = 20


def waf_exemption(res: Resource) -> str | None:
    """The reason an internet-facing NLB runs without AWS WAF, from its `layerguard:waf-exemption`
    tag (at least 20 characters), or None. Only NLBs: AWS WAF cannot attach to them at all, so the
    alternative is CloudFront in front; every other entry can carry WAF and gets no exemption."""
    tags = res.get("tags")
    value = tags.get(WAF_EXEMPTION_TAG) if isinstance(tags, dict) else None
    if isinstance(value, str) and len(value.strip()) >= MIN_EXEMPTION_REASON:
        return value.strip()
    return None


class Perimeter:
    """Which internet entries are protected, and which reach the nodes unprotected."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.fronted_by: dict[str, list[str]] = {}
        for dist, targets in model.cf_origins.items():
            for t, _via, _o in targets:
                self.fronted_by.setdefault(t, []).append(dist)
        self.protection: dict[str, Verdict] = {}
        self._waf_memo: dict[str, bool] = {}
        self.exemptions: dict[str, str] = {}   # NLB entry -> the reason its WAF exemption gives
        for dst in {e.dst for e in model.out.get(INTERNET, ())}:
            # an app group's members outside the stack (model._outside_members) are no entry: a path
            # to them is a bypass, judged by the no-bypass rule
            if dst in model.endpoints and model.endpoints[dst].kind != "outside":
                self.protection[dst] = self._judge(dst)

    def cloudfront_fronted(self, urn: str) -> str | None:
        """A WAF-protected distribution having this endpoint as an origin, if any."""
        for dist in self.fronted_by.get(urn, ()):
            if cloudfront_waf(self.model, self.model.stack.by_urn[dist]).ok:
                return dist
        return None

    def _judge(self, urn: str) -> Verdict:
        model = self.model
        ep = model.endpoints[urn]
        res = model.stack.by_urn[urn]
        if ep.kind == "cloudfront":
            return cloudfront_waf(model, res)
        if ep.kind == "apidomain":
            return api_domain_verdict(model, res)
        if ep.kind in ("alb", "nlb", "httpapi", "restapi"):
            own = None
            if ep.kind == "alb":
                own = regional_waf(model, urn)
                if own.ok:
                    return own
            elif ep.kind == "restapi":
                stages = model.rest_stages.get(urn, [])
                bad = [(s, regional_waf(model, s.urn)) for s in stages]
                bad = [(s, v) for s, v in bad if not v.ok]
                if stages and not bad:
                    return Verdict(True, "every stage has a web ACL association")
                own = Verdict(False, "; ".join(f"stage '{s.name}': {v.reason}" for s, v in bad)
                              or "the REST API has no stage with a web ACL association",
                              tuple(s.urn for s, _v in bad))
            dist = self.cloudfront_fronted(urn)
            if dist is not None and ep.kind in ("alb", "nlb"):
                shield = origin_protection(model, urn, self.fronted_by.get(urn, ()))
                if shield.ok:
                    return Verdict(True, f"behind CloudFront '{model.stack.by_urn[dist].name}' with WAF; {shield.reason}")
                return Verdict(False, f"behind CloudFront with WAF, but {shield.reason}")
            if dist is not None and ep.kind in ("httpapi", "restapi"):
                shield = api_origin_verdict(model, res)
                if shield.ok:
                    return Verdict(True, f"behind CloudFront '{model.stack.by_urn[dist].name}' with WAF; {shield.reason}")
                if own is None or not own.ok:
                    return Verdict(False, f"behind CloudFront with WAF, but {shield.reason}")
            if own is not None:
                return own
            if ep.kind == "nlb":
                reason = waf_exemption(res)
                if reason is not None:
                    # An acknowledged NLB without WAF (the stack's `layerguard:waf-exemption` tag):
                    # not a violation, but reported at every preview by report-acknowledged-gaps.
                    self.exemptions[urn] = reason
                    return Verdict(True, f"exempted from AWS WAF: {reason}")
            what = {"nlb": "a network load balancer cannot carry AWS WAF",
                    "httpapi": "an HTTP API cannot carry AWS WAF"}[ep.kind]
            return Verdict(False, f"{what} and no CloudFront distribution with WAF is in front of it")
        return Verdict(False, "it is reachable from the internet without any AWS WAF")

    def unprotected_paths(self):
        """(entry vertex, openers, path labels, reason) for every internet entry that reaches a
        node without crossing a protected entry."""
        model = self.model
        # traffic through a protected entry, or through a web ACL, has met the WAF
        nxt = model.reaches_nodes(lambda w: self.protection.get(w, Verdict(False, "")).ok or self.carries_waf(w))
        # A CloudFront distribution without a web ACL is judged like any entry: it passes when every
        # path from it to the nodes crosses a web ACL (an origin's own regional ACL, say); being in
        # front of an origin that is "protected" only by being behind CloudFront does not count. A
        # distribution whose webAclId names an ACL that cannot apply (wrong scope or region) is
        # reported whenever it reaches a node at all: that ACL is a broken configuration.
        waf_nxt = self._reach_until_waf()
        full = model.reaches_nodes()
        entered = {e.dst for e in model.out.get(INTERNET, ())}
        found = []
        for edge in model.out.get(INTERNET, ()):
            v = edge.dst
            ep = model.endpoints.get(v)
            service = ep is not None and ep.kind in SERVICE_ENTRIES
            cdn = ep is not None and ep.kind == "cloudfront"
            cdn_reach = (waf_nxt if self._no_acl(v) else full) if cdn else None
            if not model.enters(cdn_reach if cdn else nxt, edge):
                continue
            verdict = self.protection.get(v)
            if verdict is not None and verdict.ok:
                continue
            if service:
                openers = verdict.urns or (v,)
                reason = verdict.reason
                nxt_for_path = cdn_reach if cdn else nxt
            elif ep is None:
                # a public subnet: name the rule that lets it in on the way to the nodes, unless
                # the next hop is itself an internet entry (judged on its own)
                hop = nxt.get(v)
                if hop is not None and hop[0] in entered:
                    continue
                openers = hop[1].openers if hop and hop[1].openers else edge.openers
                reason = f"{model.label(v)} is internet address space"
                nxt_for_path = nxt
            else:
                openers = edge.openers or (v,)
                reason = f"{edge.note}; it is reachable from the internet without any AWS WAF"
                nxt_for_path = nxt
            path = ["internet", *model.path_to_node(nxt_for_path, v)]
            found.append((v, openers, path, reason))
        return found

    def carries_waf(self, urn: str) -> bool:
        """Does this vertex carry a web ACL of its own (an ALB's or every REST stage's regional ACL,
        a distribution's CLOUDFRONT ACL)?"""
        found = self._waf_memo.get(urn)
        if found is None:
            model, ep = self.model, self.model.endpoints.get(urn)
            found = False
            if ep is not None and ep.kind == "alb":
                found = regional_waf(model, urn).ok
            elif ep is not None and ep.kind == "cloudfront":
                found = cloudfront_waf(model, model.stack.by_urn[urn]).ok
            elif ep is not None and ep.kind == "restapi":
                stages = model.rest_stages.get(urn, [])
                found = bool(stages) and all(regional_waf(model, s.urn).ok for s in stages)
            self._waf_memo[urn] = found
        return found

    def _no_acl(self, dist: str) -> bool:
        value = self.model.stack.by_urn[dist].get("webAclId")
        return not self.model.deps(self.model.stack.by_urn[dist], "webAclId") and (value is None or same(value, ""))

    def _reach_until_waf(self) -> dict:
        """Every vertex with a path to a proven node that crosses no web ACL -> its next hop."""
        return self.model.reaches_nodes(self.carries_waf)

    def unprotected_origins(self):
        """(load balancer urn, distribution urn, reason, the resources to name) for internet-facing
        CloudFront origins that reach the nodes and accept direct requests: the origin itself, or the
        distributions that send its secret header to an origin outside the stack."""
        model = self.model
        reach = model.reaches_nodes()
        out = []
        for dist, targets in model.cf_origins.items():
            for target, _via, _opener in targets:
                ep = model.endpoints.get(target)
                if ep is None or ep.kind not in ("alb", "nlb", "httpapi", "restapi", "apidomain") or target not in reach:
                    continue
                if not model.internet_edges(target) and not (
                        ep.kind in ("httpapi", "restapi") and _public_domains(model, target)):
                    continue
                if ep.kind == "apidomain":
                    verdict = api_domain_verdict(model, model.stack.by_urn[target])
                    if not verdict.ok:
                        out.append((target, dist, verdict.reason, tuple(verdict.urns) or (target,)))
                    continue
                if ep.kind in ("httpapi", "restapi"):
                    verdict = api_origin_verdict(model, model.stack.by_urn[target])
                else:
                    verdict = origin_protection(model, target, self.fronted_by.get(target, ()))
                if not verdict.ok:
                    out.append((target, dist, verdict.reason, verdict.urns or (target,)))
        return out


def perimeter_for(model: Model) -> Perimeter:
    """The perimeter judgement of a model, computed once and shared by the policies that read it."""
    found = getattr(model, "_perimeter", None)
    if found is None:
        found = Perimeter(model)
        model._perimeter = found
    return found

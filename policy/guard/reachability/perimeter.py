"""Perimeter judgements over the reachability model: which internet entries carry AWS WAF, and
which CloudFront origins reject requests that did not come through CloudFront.

AWS facts encoded here (see shared/FACTS.md): WAFv2 REGIONAL attaches to ALBs and REST API stages
through a web ACL association; CloudFront takes a CLOUDFRONT-scope web ACL created in us-east-1
through `webAclId`; NLBs and HTTP APIs take no WAF, so they need CloudFront+WAF in front and an
origin that rejects direct requests (security group limited to the CloudFront origin-facing prefix
list, or, for an ALB, a secret-header listener rule with a fixed-response 403 default).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from guard.framework import Resource, is_unknown

from . import tokens as T
from .model import INTERNET, Edge, Model, same

CLOUDFRONT_WAF_REGION = "us-east-1"


SERVICE_ENTRIES = ("cloudfront", "alb", "nlb", "httpapi", "restapi")


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


def regional_waf(model: Model, urn: str) -> Verdict:
    assocs = model.waf_assocs.get(urn, [])
    if not assocs:
        return Verdict(False, "no aws:wafv2/webAclAssociation names it (resourceArn)")
    reasons = []
    for assoc in assocs:
        acls = model.deps(assoc, "webAclArn", [T.WEB_ACL])
        if acls:
            verdict = _acl_verdict(acls[0], "REGIONAL", None)
        else:
            verdict = _literal_arn(assoc.get("webAclArn"), "regional/", None)
        if verdict.ok:
            return Verdict(True, f"{verdict.reason} through association '{assoc.name}'")
        reasons.append(verdict.reason)
    return Verdict(False, "; ".join(reasons))


def internet_sources(model: Model, urn: str) -> list[tuple[tuple, str, bool]]:
    """(openers, note, via CloudFront list) for every security-group source that is the internet."""
    ep = model.endpoints[urn]
    out = []
    for sg in ep.sgs:
        for src in model.sg_rules.get(sg, ()):
            for vertex, openers, note, via_cf in model._source_vertices(sg, model.sg_vpc.get(sg), src):
                if vertex == INTERNET:
                    out.append((openers, note, via_cf))
    return out


def origin_protection(model: Model, urn: str) -> Verdict:
    """Does this load balancer reject requests that did not come through CloudFront?"""
    ep = model.endpoints[urn]
    real_sgs = [s for s in ep.sgs if not s.startswith("default|")]
    sources = internet_sources(model, urn)
    if real_sgs and sources and all(via_cf for _o, _n, via_cf in sources):
        return Verdict(True, "its security groups admit the internet only from the CloudFront "
                             "origin-facing prefix list")
    if ep.kind == "alb" and _secret_header_only(model, urn):
        return Verdict(True, "every listener answers 403 by default and forwards only on a header rule")
    if not ep.exposures and not sources:
        return Verdict(True, "it is internal and admits no internet source")
    open_sources = [n for _o, n, via_cf in sources if not via_cf]
    why = "; ".join(open_sources) if open_sources else "it admits internet traffic"
    return Verdict(False, f"it accepts requests that bypass CloudFront ({why}); limit its security group "
                          "to the CloudFront origin-facing prefix list or require a secret header "
                          "with a fixed-response 403 default")


def _secret_header_only(model: Model, urn: str) -> bool:
    listeners = model.lb_listeners.get(urn, [])
    if not listeners:
        return False
    for listener in listeners:
        actions = listener.get("defaultActions")
        if not isinstance(actions, list) or not actions:
            return False
        for a in actions:
            if not isinstance(a, dict) or not same(a.get("type"), "fixed-response"):
                return False
            code = a.get("fixedResponse", {}).get("statusCode") if isinstance(a.get("fixedResponse"), dict) else None
            if not same(code, "403") and not same(code, 403):
                return False
        for rule in model.listener_rules.get(listener.urn, []):
            conditions = rule.get("conditions")
            if not isinstance(conditions, list):
                return False
            has_header = any(isinstance(c, dict) and isinstance(c.get("httpHeader"), dict)
                             and c["httpHeader"].get("values") is not None for c in conditions)
            forwards = bool(model.deps(rule, "actions", T.TARGET_GROUPS)) or any(
                isinstance(a, dict) and same(a.get("type"), "forward")
                for a in (rule.get("actions") if isinstance(rule.get("actions"), list) else []))
            if forwards and not has_header:
                return False
    return True


class Perimeter:
    """Which internet entries are protected, and which reach the nodes unprotected."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.fronted_by: dict[str, list[str]] = {}
        for dist, targets in model.cf_origins.items():
            for t, _via, _o in targets:
                self.fronted_by.setdefault(t, []).append(dist)
        self.protection: dict[str, Verdict] = {}
        for dst in {e.dst for e in model.out.get(INTERNET, ())}:
            if dst in model.endpoints:
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
                shield = origin_protection(model, urn)
                if shield.ok:
                    return Verdict(True, f"behind CloudFront '{model.stack.by_urn[dist].name}' with WAF; {shield.reason}")
                return Verdict(False, f"behind CloudFront with WAF, but {shield.reason}")
            if dist is not None and ep.kind == "httpapi":
                return Verdict(True, f"behind CloudFront '{model.stack.by_urn[dist].name}' with WAF")
            if own is not None:
                return own
            what = {"nlb": "a network load balancer cannot carry AWS WAF",
                    "httpapi": "an HTTP API cannot carry AWS WAF"}[ep.kind]
            return Verdict(False, f"{what} and no CloudFront distribution with WAF is in front of it")
        return Verdict(False, "it is reachable from the internet without any AWS WAF")

    def unprotected_paths(self):
        """(entry vertex, openers, path labels, reason) for every internet entry that reaches a
        node without crossing a protected entry."""
        model = self.model
        nxt: dict[str, tuple[str, Edge] | None] = {}
        queue = deque()
        for urn, ep in model.endpoints.items():
            if ep.layer == "node":
                nxt[urn] = None
                queue.append(urn)
        while queue:
            w = queue.popleft()
            if self.protection.get(w, Verdict(False, "")).ok:
                continue  # traffic through a protected entry has met the WAF
            for v, e in model.inn.get(w, ()):
                if v not in nxt:
                    nxt[v] = (w, e)
                    queue.append(v)
        # A CloudFront distribution forwards to its origins, so it must carry its own web ACL
        # whenever it reaches a node at all; every other entry only when no protected entry stands
        # between it and the nodes (its traffic has met a WAF there).
        full = model.reaches_nodes()
        entered = {e.dst for e in model.out.get(INTERNET, ())}
        found = []
        for edge in model.out.get(INTERNET, ()):
            v = edge.dst
            ep = model.endpoints.get(v)
            service = ep is not None and ep.kind in SERVICE_ENTRIES
            if v not in (full if ep is not None and ep.kind == "cloudfront" else nxt):
                continue
            verdict = self.protection.get(v)
            if verdict is not None and verdict.ok:
                continue
            if service:
                openers = verdict.urns or (v,)
                reason = verdict.reason
                nxt_for_path = full if ep.kind == "cloudfront" else nxt
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

    def unprotected_origins(self):
        """(load balancer urn, distribution urn, reason) for internet-facing CloudFront origins that
        reach the nodes and accept direct requests."""
        model = self.model
        reach = model.reaches_nodes()
        out = []
        for dist, targets in model.cf_origins.items():
            for target, _via, _opener in targets:
                ep = model.endpoints.get(target)
                if ep is None or ep.kind not in ("alb", "nlb") or target not in reach:
                    continue
                if not model.internet_edges(target):
                    continue
                verdict = origin_protection(model, target)
                if not verdict.ok:
                    out.append((target, dist, verdict.reason))
        return out


def perimeter_for(model: Model) -> Perimeter:
    """The perimeter judgement of a model, computed once and shared by the policies that read it."""
    found = getattr(model, "_perimeter", None)
    if found is None:
        found = Perimeter(model)
        model._perimeter = found
    return found

"""The CloudFront family of the reachability model: distributions (reached from the internet
directly), their origins and VPC origins, and the code they run at the edge (Lambda@Edge and
CloudFront Functions on cache behaviours). The assumptions are in `model.py`'s docstring.
"""

from __future__ import annotations

from guard.framework import Resource, is_unknown

from . import tokens as T
from .base import Endpoint, _items, pget
from .net import Ports


class CloudFront:
    """Mixin of `Model` (model.py): the builders of this family; state lives on the model."""

    def _distribution(self, dist: Resource) -> None:
        ep = self._endpoint(dist, "cloudfront", [], [])
        ep.exposures.append((dist.urn, "is a CloudFront distribution"))

    def _cloudfront(self) -> None:
        for dist in self.of(T.DISTRIBUTION):
            self._edge_code(dist)
            targets = self.cf_origins.setdefault(dist.urn, [])
            origin_deps = list(self.stack.deps(dist, "origins"))
            behind_vpc_origins = {lb.urn for d in origin_deps if d.type == T.VPC_ORIGIN
                                  for lb in self.deps(d, "vpcOriginEndpointConfig", T.LOAD_BALANCERS)}
            origins = pget(dist, "origins")
            for origin in _items(origins) if isinstance(origins, list) else ():
                domain = origin.get("domainName") if isinstance(origin, dict) else None
                # an origin by a name of the stack's zone: what that record points to is the origin
                for record in self.records_named(domain):
                    origin_deps += [d for prop in ("aliases", "records") for d in self.stack.deps(record, prop)
                                    if d not in origin_deps]
            for dep in origin_deps:
                if dep.urn in behind_vpc_origins:
                    continue
                if dep.type == T.VPC_ORIGIN:
                    lbs = self.deps(dep, "vpcOriginEndpointConfig", T.LOAD_BALANCERS)
                    if not lbs:
                        self.problem(dep, "vpcOriginEndpointConfig", "the VPC origin's load balancer is not "
                                                                     "a resource of this stack")
                    targets.extend((lb.urn, "vpc-origin", dep.urn) for lb in lbs)
                elif dep.type in T.LISTENERS:
                    targets.extend((lb.urn, "domain", dist.urn)
                                   for lb in self.deps(dep, "loadBalancerArn", T.LOAD_BALANCERS))
                elif dep.urn in self.endpoints:
                    targets.append((dep.urn, "domain", dist.urn))
                elif dep.type in (T.REST_STAGE, T.HTTP_STAGE):
                    apis = self.deps_any(dep, ("restApi", "apiId"), [T.REST_API, T.HTTP_API])
                    targets.extend((a.urn, "domain", dist.urn) for a in apis)
                elif dep.type == T.LAMBDA_URL:
                    targets.extend((f.urn, "domain", dist.urn) for f in self.deps(dep, "functionName", [T.LAMBDA]))

    def records_named(self, domain) -> list[Resource]:
        """The stack's Route 53 records whose name is this literal domain (the record's `name`, its
        `fqdn`, or a relative name completed with its zone's name, as the provider does)."""
        if not isinstance(domain, str) or not domain:
            return []
        want = domain.rstrip(".").lower()
        found = []
        for record in self.of(T.ROUTE53_RECORD):
            names = [pget(record, p) for p in ("name", "fqdn")]
            name = names[0]
            if isinstance(name, str):
                for zone in self.deps(record, "zoneId", [T.ROUTE53_ZONE]):
                    zname = pget(zone, "name")
                    if isinstance(zname, str) and zname and not name.rstrip(".").lower().endswith(
                            zname.rstrip(".").lower()):
                        names.append(f"{name.rstrip('.')}.{zname}")
            if any(isinstance(n, str) and n.rstrip(".").lower() == want for n in names):
                found.append(record)
        return found

    # -- code the distribution runs on viewer and origin requests and responses

    def _edge_code(self, dist: Resource) -> None:
        """Lambda@Edge (`lambdaFunctionAssociations`) and CloudFront Functions
        (`functionAssociations`) on the default and ordered cache behaviours run customer code on
        the attacker's request (or on the origin's response to it) before any node sees it, at any
        event type: each such function is an endpoint the distribution forwards to. Its layer
        decides (model.py, EDGE CODE); code the stack does not hold (a literal ARN) fails closed."""
        for prop in ("defaultCacheBehavior", "orderedCacheBehaviors"):
            behaviours = pget(dist, prop)
            if is_unknown(behaviours):
                self.problem(dist, prop, f"{prop} is unknown at preview, so the model cannot tell which code "
                                         "the distribution runs at the edge")
                continue
            wanted = {"lambda": 0, "function": 0}
            events: dict[str, set] = {"lambda": set(), "function": set()}
            for b in _items(behaviours):
                if not isinstance(b, dict):
                    continue
                for key, kind in (("lambdaFunctionAssociations", "lambda"), ("functionAssociations", "function")):
                    assocs = b.get(key)
                    if is_unknown(assocs):
                        self.problem(dist, f"{prop}.{key}", f"the {key} are unknown at preview")
                        continue
                    # every association counts, whatever its ARN reads (an output the provider may
                    # leave empty in a plan): the function is found through the property dependency
                    for a in _items(assocs):
                        if isinstance(a, dict):
                            wanted[kind] += 1
                            event = a.get("eventType")
                            events[kind].add(event if isinstance(event, str) else "an event")
            if not wanted["lambda"] and not wanted["function"]:
                continue
            fns = self.deps(dist, prop, [T.LAMBDA])
            for alias in self.deps(dist, prop, [T.LAMBDA_ALIAS]):
                fns += [f for f in self.deps(alias, "functionName", [T.LAMBDA]) if f not in fns]
            cf_fns = self.deps(dist, prop, [T.CF_FUNCTION])
            for kind, found, what in (("lambda", fns, "Lambda@Edge function"),
                                      ("function", cf_fns, "CloudFront Function")):
                if wanted[kind] and not found:
                    self.problem(dist, prop, f"a {what} the distribution runs is not a resource of this stack "
                                             "(a literal ARN), so the model cannot tell it is not app code "
                                             "run on attacker input (fail closed)")
                when = ", ".join(sorted(events[kind]))
                for fn in found:
                    if fn.urn not in self.endpoints:
                        self.endpoints[fn.urn] = Endpoint(fn.urn, "edgefn", self.stack.layer(fn))
                    self._edge(dist.urn, fn.urn, [dist.urn], f"runs {what} '{fn.name}' on {when} at the edge")

    # -- which listeners of an origin load balancer CloudFront connects to

    def origin_entry(self, dist: str | None, target: str, via: str, opener: str) -> tuple | None:
        """The listeners of an origin load balancer CloudFront connects to: the HTTP port, the HTTPS
        port or both, by the origin protocol policy of the VPC origin (`vpcOriginEndpointConfig`) or
        of the distribution's custom origins (all of them: the model cannot tell which origin entry
        is which load balancer before the names are known). None (every listener) when not known,
        or when no listener is on those ports."""
        ep = self.endpoints.get(target)
        if ep is None or ep.kind not in ("alb", "nlb"):
            return None
        if via == "vpc-origin":
            res = self.stack.by_urn.get(opener)
            configs = [pget(res, "vpcOriginEndpointConfig")] if res is not None else [None]
        else:
            origins = pget(self.stack.by_urn[dist], "origins") if dist in self.stack.by_urn else None
            if not isinstance(origins, list):
                return None
            configs = [o.get("customOriginConfig") for o in origins
                       if isinstance(o, dict) and o.get("customOriginConfig") is not None]
        ports: set[int] = set()
        for cfg in configs or [None]:
            if not isinstance(cfg, dict):
                return None
            policy = cfg.get("originProtocolPolicy")
            wanted = {"http-only": ("httpPort",), "https-only": ("httpsPort",),
                      "match-viewer": ("httpPort", "httpsPort")}.get(policy if isinstance(policy, str) else "")
            if wanted is None:
                return None
            for key in wanted:
                port = cfg.get(key)
                if not isinstance(port, (int, float)):
                    return None
                ports.add(int(port))
        found = tuple(dict.fromkeys(u for port in sorted(ports)
                                    for u in self.listeners_for(ep, Ports("tcp", port, port))))
        # no listener on those ports: a broken origin, taken as reaching the load balancer as a whole
        return found or None

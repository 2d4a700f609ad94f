"""The CloudFront family of the reachability model: distributions (reached from the internet
directly), their origins and VPC origins. The assumptions are in `model.py`'s docstring.
"""

from __future__ import annotations

from guard.framework import Resource

from . import tokens as T


class CloudFront:
    """Mixin of `Model` (model.py): the builders of this family; state lives on the model."""

    def _distribution(self, dist: Resource) -> None:
        ep = self._endpoint(dist, "cloudfront", [], [])
        ep.exposures.append((dist.urn, "is a CloudFront distribution"))

    def _cloudfront(self) -> None:
        for dist in self.of(T.DISTRIBUTION):
            targets = self.cf_origins.setdefault(dist.urn, [])
            origin_deps = self.stack.deps(dist, "origins")
            behind_vpc_origins = {lb.urn for d in origin_deps if d.type == T.VPC_ORIGIN
                                  for lb in self.deps(d, "vpcOriginEndpointConfig", T.LOAD_BALANCERS)}
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

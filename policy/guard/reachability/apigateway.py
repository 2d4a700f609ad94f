"""The API Gateway family of the reachability model: REST and HTTP APIs, VPC links, integrations
and stages. The assumptions are in `model.py`'s docstring.
"""

from __future__ import annotations

from guard.framework import Resource, is_unknown

from . import tokens as T
from .base import pget, same


class ApiGateway:
    """Mixin of `Model` (model.py): the builders of this family; state lives on the model."""

    def _rest_api(self, api: Resource) -> None:
        ep = self._endpoint(api, "restapi", [], [])
        types = pget(api, "endpointConfiguration.types")
        if is_unknown(types):
            self.problem(api, "endpointConfiguration.types", "the endpoint type is unknown at preview; "
                                                              "the API is treated as public")
            ep.exposures.append((api.urn, "may be public (endpoint type unknown)"))
        elif not (same(types, "PRIVATE") or (isinstance(types, list) and types
                                              and all(same(t, "PRIVATE") for t in types))):
            ep.exposures.append((api.urn, "is a public REST API"))

    def _http_api(self, api: Resource) -> None:
        ep = self._endpoint(api, "httpapi", [], [])
        ep.exposures.append((api.urn, "is a public HTTP API"))

    def _vpc_link(self, link: Resource) -> None:
        self._endpoint(link, "vpclink", self.deps(link, "securityGroupIds", T.SECURITY_GROUPS),
                       self.deps(link, "subnetIds", [T.SUBNET]))

    def _api_gateway(self) -> None:
        for stage in self.of(T.REST_STAGE):
            for api in self.deps(stage, "restApi", [T.REST_API]):
                self.rest_stages.setdefault(api.urn, []).append(stage)
        for integ in self.of(T.REST_INTEGRATION, T.HTTP_INTEGRATION):
            apis = self.deps_any(integ, ("restApi", "apiId"), [T.REST_API, T.HTTP_API])
            targets: list[str] = []
            for dep in [d for p in ("uri", "integrationUri", "integrationTarget") for d in self.stack.deps(integ, p)]:
                targets.extend(self._api_target(dep))
            links = self.deps(integ, "connectionId", [T.REST_VPC_LINK, T.HTTP_VPC_LINK])
            for link in links:
                if link.type == T.REST_VPC_LINK:
                    for dep in self.stack.deps(link, "targetArn"):
                        targets.extend(self._api_target(dep))
            conn = pget(integ, "connectionType")
            if same(conn, "VPC_LINK") and not links:
                self.problem(integ, "connectionId", "the integration's VPC link is not a resource of this stack")
            uri = pget(integ, "uri") if integ.type == T.REST_INTEGRATION else pget(integ, "integrationUri")
            if not targets and is_unknown(uri):
                deps = self.stack.deps(integ, "uri") + self.stack.deps(integ, "integrationUri")
                if not deps:
                    self.problem(integ, "uri", "the integration target is unknown at preview and is not "
                                               "linked to a resource of this stack")
            http_links = [lk for lk in links if lk.type == T.HTTP_VPC_LINK]
            for api in apis:
                for t in dict.fromkeys(targets):
                    if http_links:
                        for lk in http_links:
                            self._edge(api.urn, lk.urn, [integ.urn], "API Gateway integration through VPC link")
                            self._edge(lk.urn, t, [integ.urn], "VPC link forwards to the integration target")
                    else:
                        self._edge(api.urn, t, [integ.urn], "API Gateway integration")

    def _api_target(self, dep: Resource) -> list[str]:
        if dep.type in T.LISTENERS:
            return [lb.urn for lb in self.deps(dep, "loadBalancerArn", T.LOAD_BALANCERS)]
        if dep.type == T.SD_SERVICE:
            return self._cloudmap_targets(dep)  # compute.py: what Cloud Map lists
        if dep.urn in self.endpoints:
            return [dep.urn]
        return []

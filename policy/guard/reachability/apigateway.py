"""The API Gateway family of the reachability model: REST and HTTP APIs, VPC links, integrations,
stages, Lambda authorizers and custom domains. The assumptions are in `model.py`'s docstring.
"""

from __future__ import annotations

import re

from guard.framework import Resource, is_unknown

from . import tokens as T
from .base import pget, same

# `function:<name>` inside a Lambda ARN or an API Gateway invocation URI
# (arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/arn:aws:lambda:...:function:<name>/invocations)
_FUNCTION_IN_ARN = re.compile(r"(?:^|:)function:([A-Za-z0-9_-]+)")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,140}$")
CODE_AUTHORIZERS = {T.REST_AUTHORIZER: ("type", "TOKEN", {"TOKEN", "REQUEST"}),
                    T.HTTP_AUTHORIZER: ("authorizerType", None, {"REQUEST"})}


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
            if not self._default_endpoint_off(api):
                ep.exposures.append((api.urn, "is a public REST API"))

    def _http_api(self, api: Resource) -> None:
        ep = self._endpoint(api, "httpapi", [], [])
        if not self._default_endpoint_off(api):
            ep.exposures.append((api.urn, "is a public HTTP API"))

    @staticmethod
    def _default_endpoint_off(api: Resource) -> bool:
        """A disabled execute-api endpoint answers nothing: the API is reached only through its
        custom domains (and what fronts them). Unknown counts as on (fail closed)."""
        return pget(api, "disableExecuteApiEndpoint") is True

    def _vpc_link(self, link: Resource) -> None:
        self._endpoint(link, "vpclink", self.deps(link, "securityGroupIds", T.SECURITY_GROUPS),
                       self.deps(link, "subnetIds", [T.SUBNET]))

    # -- custom domains: an internet entry of their own to the stages their mappings name

    def _custom_domain(self, domain: Resource) -> None:
        ep = self._endpoint(domain, "apidomain", [], [])
        if domain.type == T.REST_DOMAIN_NAME:
            kind = pget(domain, "endpointConfiguration.types")
            kind = kind[0] if isinstance(kind, list) and len(kind) == 1 else kind
        else:
            kind = pget(domain, "domainNameConfiguration.endpointType")
        if is_unknown(kind):
            self.problem(domain, "endpointConfiguration", "the custom domain's endpoint type is unknown at "
                                                          "preview; it is treated as public")
        elif same(kind, "PRIVATE"):
            return  # a private custom domain is reached through execute-api VPC endpoints only
        for mapping, _api, _stages in self._domain_mappings(domain):
            ep.exposures.append((mapping.urn, "is a custom domain serving an API stage to the internet"))

    def _domain_mappings(self, domain: Resource) -> list[tuple[Resource, Resource | None, list[Resource] | None]]:
        """(mapping, API or None, the stages it serves or None for every stage of the API)."""
        cache = self.__dict__.setdefault("_mapping_cache", {})
        if domain.urn in cache:
            return cache[domain.urn]
        out = []
        for mapping in self.of(T.REST_BASE_PATH_MAPPING, T.HTTP_API_MAPPING):
            if not any(d.urn == domain.urn for d in self.stack.deps(mapping, "domainName")):
                continue
            apis = self.deps_any(mapping, ("restApi", "apiId"), [T.REST_API, T.HTTP_API])
            api = apis[0] if apis else None
            prop = "stageName" if mapping.type == T.REST_BASE_PATH_MAPPING else "stage"
            stages = self.deps(mapping, prop, [T.REST_STAGE, T.HTTP_STAGE]) or None
            name = pget(mapping, prop)
            if stages is None and isinstance(name, str) and name and api is not None:
                stages = [s for s in self._stages_of(api) if same(pget(s, "stageName"), name)] or None
            out.append((mapping, api, stages))
        cache[domain.urn] = out
        return out

    def _stages_of(self, api: Resource) -> list[Resource]:
        return [s for s in self.of(T.REST_STAGE, T.HTTP_STAGE)
                if any(a.urn == api.urn for a in self.deps_any(s, ("restApi", "apiId"), [T.REST_API, T.HTTP_API]))]

    # -- integrations, authorizers

    def _api_gateway(self) -> None:
        for stage in self.of(T.REST_STAGE):
            for api in self.deps(stage, "restApi", [T.REST_API]):
                self.rest_stages.setdefault(api.urn, []).append(stage)
        for mapping in self.of(T.HTTP_API_MAPPING):
            if not self.deps_any(mapping, ("apiId",), [T.REST_API, T.HTTP_API]):
                self.problem(mapping, "apiId", "the custom domain maps to an API that is not a resource of this "
                                               "stack, so the model cannot tell what it exposes (fail closed)")
        for domain in self.of(T.REST_DOMAIN_NAME, T.HTTP_DOMAIN_NAME):
            for mapping, api, _stages in self._domain_mappings(domain):
                if api is not None:
                    self._edge(domain.urn, api.urn, [mapping.urn], "custom domain mapping to the API's stage")
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
            prop = "uri" if integ.type == T.REST_INTEGRATION else "integrationUri"
            uri = pget(integ, prop)
            if not targets and isinstance(uri, str) and uri:
                plain = integ.type == T.HTTP_INTEGRATION and same(pget(integ, "integrationType"), "AWS_PROXY")
                targets.extend(self._literal_functions(integ, prop, uri, plain))
            http_links = [lk for lk in links if lk.type == T.HTTP_VPC_LINK]
            if http_links and not targets and isinstance(uri, str) and uri:
                # a listener or Cloud Map service by literal ARN: what the VPC link reaches inside
                # the stack's network cannot be told (its ARN is not linked to a resource)
                self.problem(integ, prop, "the VPC link integration's target is a literal ARN, not a resource "
                                          "of this stack, so what the link reaches cannot be judged (fail closed)")
            if not targets and is_unknown(uri):
                deps = self.stack.deps(integ, "uri") + self.stack.deps(integ, "integrationUri")
                if not deps:
                    self.problem(integ, "uri", "the integration target is unknown at preview and is not "
                                               "linked to a resource of this stack")
            for api in apis:
                for t in dict.fromkeys(targets):
                    if http_links:
                        for lk in http_links:
                            self._edge(api.urn, lk.urn, [integ.urn], "API Gateway integration through VPC link")
                            self._edge(lk.urn, t, [integ.urn], "VPC link forwards to the integration target")
                    else:
                        self._edge(api.urn, t, [integ.urn], "API Gateway integration")
        self._authorizers()

    def _authorizers(self) -> None:
        """A Lambda authorizer (REST TOKEN/REQUEST, HTTP API REQUEST) runs the function on the
        caller's request before any integration, so before any node: the function is reached from
        the API and judged as app code whatever its label (a label cannot make customer code a
        filter). COGNITO_USER_POOLS and JWT authorizers run no customer code."""
        for auth in self.of(*CODE_AUTHORIZERS):
            prop, default, code = CODE_AUTHORIZERS[auth.type]
            kind = pget(auth, prop, default)
            if is_unknown(kind):
                self.problem(auth, prop, "the authorizer type is unknown at preview; it is treated as a Lambda "
                                         "authorizer (fail closed)")
            elif not (isinstance(kind, str) and kind.upper() in code):
                continue
            fns = [d.urn for d in self._function_deps(auth, "authorizerUri")]
            uri = pget(auth, "authorizerUri")
            if not fns and isinstance(uri, str) and uri:
                fns = self._literal_functions(auth, "authorizerUri", uri, plain=False)
            elif not fns:
                self.problem(auth, "authorizerUri", "the authorizer's function is not a resource of this stack "
                                                    "(or unknown at preview), so what runs on the caller's "
                                                    "request is unknown (fail closed)")
            apis = self.deps_any(auth, ("restApi", "apiId"), [T.REST_API, T.HTTP_API])
            if not apis:
                self.problem(auth, "restApi", "the authorizer belongs to an API that is not a resource of this "
                                              "stack, so who calls its function is unknown (fail closed)")
            for fn in fns:
                ep = self.endpoints.get(fn)
                if ep is not None and ep.layer != "app":
                    ep.layer = self.layer_override[fn] = "app"
                for api in apis:
                    self._edge(api.urn, fn, [auth.urn], "Lambda authorizer runs the function on the caller's "
                                                        "request, before any node")

    def _function_deps(self, res: Resource, prop: str) -> list[Resource]:
        out = []
        for d in self.stack.deps(res, prop):
            if d.type == T.LAMBDA:
                out.append(d)
            elif d.type == T.LAMBDA_ALIAS:
                out.extend(self.deps(d, "functionName", [T.LAMBDA]))
        return out

    def _literal_functions(self, res: Resource, prop: str, uri: str, plain: bool) -> list[str]:
        """The stack's Lambda function a literal ARN or invocation URI names (by the `name` AWS gives
        it: the program's or the auto-name), or, for a name that matches no function of the stack,
        a Problem (fail closed). URIs that name no function (HTTP URLs, other AWS services) are []."""
        found = _FUNCTION_IN_ARN.search(uri)
        name = found.group(1) if found else (uri if plain and _FUNCTION_NAME.match(uri) else None)
        if name is None:
            return []
        fns = self.of(T.LAMBDA)
        named = [f.urn for f in fns if same(pget(f, "name"), name)]
        if named:
            return named
        unknown = [f for f in fns if is_unknown(pget(f, "name"))]
        why = (f"and {len(unknown)} function(s) of the stack have a name unknown at preview" if unknown
               else "which is not a function of this stack")
        self.problem(res, prop, f"{prop} names Lambda function '{name}' by a literal, {why}, so what it runs "
                                "on the caller's request cannot be judged (fail closed)")
        return []

    def _api_target(self, dep: Resource) -> list[str]:
        if dep.type in T.LISTENERS:
            return [lb.urn for lb in self.deps(dep, "loadBalancerArn", T.LOAD_BALANCERS)]
        if dep.type == T.SD_SERVICE:
            return self._cloudmap_targets(dep)  # compute.py: what Cloud Map lists
        if dep.type == T.LAMBDA_ALIAS:
            return [f.urn for f in self.deps(dep, "functionName", [T.LAMBDA])]
        if dep.urn in self.endpoints:
            return [dep.urn]
        return []

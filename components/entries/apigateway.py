"""Entry `apigateway`: a regional REST API whose stage carries the regional web ACL, reaching the
nodes through a VPC link (v1) to an internal NLB in front of them.

Stage throttling applies to every method; access logs go to CloudWatch Logs. API Gateway writes
them with the region's account-level CloudWatch role: `apiGatewayManageAccountLogRole` creates that
role and sets it (one setting per account and region). With a custom domain the default
execute-api endpoint is disabled, so the domain (TLS 1.2, optionally mutual TLS) is the only way in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..interfaces import EntryAttachment, NodeTarget
from ..network import Network
from ..tagging import layer_tags
from . import waf
from .nlb import NlbPerimeter, NlbPerimeterArgs

LAYER = "edge"
STAGE = "live"
PUSH_TO_CLOUDWATCH = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime", "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath", "status": "$context.status",
    "protocol": "$context.protocol", "responseLength": "$context.responseLength",
    "wafResponseCode": "$context.wafResponseCode", "webaclArn": "$context.webaclArn",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "clientCertSerial": "$context.identity.clientCert.serialNumber",
}, separators=(",", ":"))


@dataclass(frozen=True)
class ApiGatewayPerimeterArgs:
    deletion_protection: bool
    throttle_rate_limit: int
    throttle_burst_limit: int
    waf: waf.WafArgs
    manage_account_log_role: bool
    domain_name: str | None = None
    certificate_arn: str | None = None      # regional ACM certificate of the custom domain
    mtls_truststore_uri: str | None = None  # s3://bucket/key: mutual TLS on the custom domain


class ApiGatewayPerimeter(pulumi.ComponentResource):
    """An `Entry` (see interfaces.py): internet -> REST API stage (+ WAF) -> VPC link -> internal
    NLB -> whatever attaches to it."""

    security_group: aws.ec2.SecurityGroup
    rest_api: aws.apigateway.RestApi
    stage: aws.apigateway.Stage
    web_acl: aws.wafv2.WebAcl

    def __init__(self, name: str, network: Network, args: ApiGatewayPerimeterArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:edge:ApiGatewayPerimeter", name, None, opts)
        if args.mtls_truststore_uri and not args.domain_name:
            raise ValueError(f"{name}: mutual TLS needs a custom domain")
        if args.domain_name and not args.certificate_arn:
            raise ValueError(f"{name}: a custom domain needs a certificate")
        self._name = name
        child = pulumi.ResourceOptions(parent=self)

        self.nlb = NlbPerimeter(f"{name}-link", network, NlbPerimeterArgs(
            deletion_protection=args.deletion_protection, internal=True), opts=child)
        self.security_group = self.nlb.security_group
        self.vpc_link = aws.apigateway.VpcLink(
            f"{name}-vpc-link", name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            description="API Gateway to the internal NLB in front of the Wallarm nodes",
            target_arn=self.nlb.load_balancer.arn, tags=self._tags("vpc-link"), opts=child)

        self.rest_api = aws.apigateway.RestApi(
            f"{name}-api", name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            description="Public REST API in front of the Wallarm nodes",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            disable_execute_api_endpoint=bool(args.domain_name),
            tags=self._tags("api"), opts=child)
        proxy = aws.apigateway.Resource(
            f"{name}-proxy", rest_api=self.rest_api.id, parent_id=self.rest_api.root_resource_id,
            path_part="{proxy+}", opts=child)
        base = pulumi.Output.concat("http://", self.nlb.load_balancer.dns_name, ":80")
        parts = []
        for suffix, resource_id, path, params in (
                ("root", self.rest_api.root_resource_id, "/", None),
                ("proxy", proxy.id, "/{proxy}", {"method.request.path.proxy": True})):
            method = aws.apigateway.Method(
                f"{name}-{suffix}-any", rest_api=self.rest_api.id, resource_id=resource_id,
                http_method="ANY", authorization="NONE", request_parameters=params, opts=child)
            integration = aws.apigateway.Integration(
                f"{name}-{suffix}-nodes", rest_api=self.rest_api.id, resource_id=resource_id,
                http_method=method.http_method, type="HTTP_PROXY", integration_http_method="ANY",
                connection_type="VPC_LINK", connection_id=self.vpc_link.id,
                uri=pulumi.Output.concat(base, path),
                request_parameters=({"integration.request.path.proxy": "method.request.path.proxy"}
                                    if params else None),
                timeout_milliseconds=29000, opts=child)
            parts += [method, integration]

        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment", rest_api=self.rest_api.id,
            description="Routes: ANY / and ANY /{proxy+} to the nodes through the VPC link",
            # A new deployment whenever the routes change.
            triggers={"routes": "any-root,any-proxy:http-proxy:vpc-link"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=parts))

        self.access_log_group = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}/access-logs",
            retention_in_days=args.waf.log_retention_days, tags=self._tags("access-logs"),
            opts=child)
        stage_after = []
        if args.manage_account_log_role:
            stage_after.append(self._account_log_role())
        self.stage = aws.apigateway.Stage(
            f"{name}-stage", rest_api=self.rest_api.id, deployment=self.deployment.id,
            stage_name=STAGE, xray_tracing_enabled=False,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.access_log_group.arn, format=ACCESS_LOG_FORMAT),
            tags=self._tags("stage"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=stage_after))
        self.method_settings = aws.apigateway.MethodSettings(
            f"{name}-throttling", rest_api=self.rest_api.id, stage_name=self.stage.stage_name,
            method_path="*/*", settings=aws.apigateway.MethodSettingsSettingsArgs(
                throttling_rate_limit=float(args.throttle_rate_limit),
                throttling_burst_limit=args.throttle_burst_limit, metrics_enabled=True,
                data_trace_enabled=False),
            opts=child)

        acl = waf.web_acl(name, "REGIONAL", args.waf, self._tags, child,
                          "API web ACL: AWS managed rules and a per-client rate limit")
        self.web_acl, self.waf_log_group, self.waf_logging = acl.web_acl, acl.log_group, acl.logging
        self.web_acl_association = aws.wafv2.WebAclAssociation(
            f"{name}-web-acl-stage", resource_arn=self.stage.arn, web_acl_arn=self.web_acl.arn,
            opts=child)

        if args.domain_name:
            self.domain = aws.apigateway.DomainName(
                f"{name}-domain", domain_name=args.domain_name,
                regional_certificate_arn=args.certificate_arn, security_policy="TLS_1_2",
                endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(
                    types="REGIONAL"),
                mutual_tls_authentication=(
                    aws.apigateway.DomainNameMutualTlsAuthenticationArgs(
                        truststore_uri=args.mtls_truststore_uri)
                    if args.mtls_truststore_uri else None),
                tags=self._tags("domain"), opts=child)
            aws.apigateway.BasePathMapping(
                f"{name}-domain-mapping", rest_api=self.rest_api.id,
                stage_name=self.stage.stage_name, domain_name=self.domain.domain_name, opts=child)
            self.url = pulumi.Output.from_input(f"https://{args.domain_name}")
            # Where the custom domain's DNS record must point.
            self.dns_target = self.domain.regional_domain_name
        else:
            self.url = self.stage.invoke_url
            self.dns_target = None
        self.register_outputs({
            "url": self.url,
            "restApiId": self.rest_api.id,
            "stageArn": self.stage.arn,
            "vpcLinkId": self.vpc_link.id,
            "webAclArn": self.web_acl.arn,
        })

    def _tags(self, suffix: str) -> dict[str, str]:
        return layer_tags(LAYER, f"{self._name}-{suffix}")

    def _account_log_role(self) -> aws.apigateway.Account:
        """The role API Gateway writes access logs with, set in the region's account settings."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-cloudwatch-role",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"Service": "apigateway.amazonaws.com"}}],
            }),
            tags=self._tags("cloudwatch-role"), opts=child)
        attachment = aws.iam.RolePolicyAttachment(
            f"{self._name}-cloudwatch-push", role=role.name, policy_arn=PUSH_TO_CLOUDWATCH,
            opts=child)
        return aws.apigateway.Account(
            f"{self._name}-account", cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]))

    def attach(self, target: NodeTarget) -> EntryAttachment:
        """The internal NLB routes to the nodes; API Gateway reaches it only through the VPC link."""
        return self.nlb.attach(target)

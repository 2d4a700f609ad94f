"""A private REST API (seed 002) as the backend: reached only through an `execute-api` interface
endpoint the stack creates in the private subnets, whose security group admits the nodes alone on
443, and locked to that endpoint by a resource policy on `aws:SourceVpce`.

The endpoint has private DNS on, so `<api-id>.execute-api.<region>.amazonaws.com` resolves to it
inside the VPC: the nodes' upstream name is known at the first preview and the API's own
certificate verifies against the system store. The nodes send that name as Host (and the API id as
`x-apigw-api-id`), and the stage as the path prefix.

API Gateway applies a changed resource policy only after the API is deployed again: run
`aws apigateway create-deployment --rest-api-id <id> --stage-name <stage>` after the first `pulumi up`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..interfaces import UpstreamPeer, UpstreamTls
from ..network import Network
from ..settings import PrivateApi
from ..tagging import layer_tags

LAYER = "app"
HTTPS = 443


@dataclass(frozen=True)
class PrivateApiArgs:
    api: PrivateApi
    region: str


def resource_policy(endpoint_id: str) -> str:
    """Invocations only through `endpoint_id`; an explicit deny for every other source."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": "execute-api:/*",
             "Condition": {"StringEquals": {"aws:SourceVpce": endpoint_id}}},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": "execute-api:/*",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoint_id}}},
        ],
    }, sort_keys=True)


class PrivateApiGatewayUpstream(pulumi.ComponentResource):
    """An `Upstream`: a private REST API behind an interface endpoint that admits only the nodes."""

    security_group: aws.ec2.SecurityGroup
    endpoint: aws.ec2.VpcEndpoint
    policy: aws.apigateway.RestApiPolicy

    def __init__(self, name: str, network: Network, args: PrivateApiArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:app:PrivateApiGateway", name, None, opts)
        self._name = name
        api = args.api
        child = pulumi.ResourceOptions(parent=self)
        api_host = f"{api.api_id}.execute-api.{args.region}.amazonaws.com"

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoint-sg", vpc_id=network.vpc_id,
            description="execute-api endpoint: in from the nodes on 443 only; no egress",
            tags=self._tags("endpoint-sg"), opts=child)
        self.endpoint = aws.ec2.VpcEndpoint(
            f"{name}-endpoint", vpc_id=network.vpc_id, vpc_endpoint_type="Interface",
            service_name=f"com.amazonaws.{args.region}.execute-api",
            subnet_ids=network.private_subnet_ids, security_group_ids=[self.security_group.id],
            private_dns_enabled=True, tags=self._tags("endpoint"), opts=child)
        self.policy = aws.apigateway.RestApiPolicy(
            f"{name}-resource-policy", rest_api_id=api.api_id,
            policy=self.endpoint.id.apply(resource_policy), opts=child)

        self.host = pulumi.Output.from_input(api_host)
        self.port, self.scheme = HTTPS, "https"
        self.host_header = api_host
        self.path_prefix = f"/{api.stage}"
        self.headers = {"x-apigw-api-id": api.api_id}
        self.tls = UpstreamTls(verify=True, server_name=api_host, ca_bundle=None)
        self.peers = [UpstreamPeer("Nodes to the execute-api endpoint",
                                   security_group_id=self.security_group.id)]
        self.ready = [self.endpoint, self.policy]
        self.address = f"https://{api_host}/{api.stage}"
        self.register_outputs({"address": self.address, "endpointId": self.endpoint.id,
                               "securityGroupId": self.security_group.id})

    def _tags(self, suffix: str) -> dict[str, str]:
        return layer_tags(LAYER, f"{self._name}-{suffix}")

    def admit(self, name: str, security_group: aws.ec2.SecurityGroup) -> None:
        """Open the endpoint to `security_group` on 443; nothing else gets in."""
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-endpoint-in-{name}", security_group_id=self.security_group.id,
            referenced_security_group_id=security_group.id, ip_protocol="tcp",
            from_port=HTTPS, to_port=HTTPS, description=f"{name} to the execute-api endpoint",
            tags=self._tags(f"endpoint-in-{name}"), opts=pulumi.ResourceOptions(parent=self))

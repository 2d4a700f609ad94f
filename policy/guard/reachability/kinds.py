"""What the reachability model knows about each resource type: the open-world table.

Every resource of a stack falls in exactly one class:

* UNDERSTOOD: the model reads it and judges it exactly (`tokens.py` names them; `model.py` builds
  vertices and edges from them).
* INERT: known to carry no inbound traffic to compute (identity, logging, storage configuration,
  DNS, WAF, scaling, secrets, ...). Ignored.
* EXPOSING: known to put a public address or a listener in front of compute, or to be compute
  carrying traffic, in a way the model does not follow. Fails closed, naming the resource and why.
* anything else: fails closed when it references network placement or public exposure (one of
  NETWORK_PROPS is set), otherwise ignored. Types outside the `aws` provider (random, tls,
  components, providers) are ignored: they create nothing in a VPC.

Adding support for a type means moving it from EXPOSING (or the unknown rest) to UNDERSTOOD and
teaching `model.py` its edges; never moving it to INERT unless it truly carries no traffic.
"""

from __future__ import annotations

from . import tokens as T

UNDERSTOOD = frozenset({
    T.VPC, T.VPC_CIDR_ASSOC, T.SUBNET, T.ROUTE_TABLE, T.DEFAULT_ROUTE_TABLE, T.ROUTE,
    T.ROUTE_TABLE_ASSOC, T.MAIN_ROUTE_TABLE_ASSOC, T.INTERNET_GATEWAY, T.EGRESS_ONLY_IGW,
    T.INTERNET_GATEWAY_ATTACHMENT, T.NAT_GATEWAY, T.PEERING, T.PEERING_ACCEPTER,
    T.TRANSIT_GATEWAY, T.TGW_VPC_ATTACHMENT, T.TGW_ROUTE, T.TGW_ROUTE_TABLE, T.TGW_RT_ASSOC,
    T.TGW_RT_PROPAGATION, T.ENDPOINT_SERVICE, T.ENDPOINT_SERVICE_PRINCIPAL, T.ENDPOINT_CONNECTION_ACCEPTER,
    T.RAM_SHARE, T.RAM_RESOURCE_ASSOC, T.RAM_PRINCIPAL_ASSOC,
    T.NACL, T.DEFAULT_NACL, T.NACL_RULE, T.NACL_ASSOC,
    *T.SECURITY_GROUPS, T.SG_RULE, T.SG_INGRESS_RULE, T.SG_EGRESS_RULE, T.PREFIX_LIST, T.PREFIX_LIST_ENTRY,
    *T.LOAD_BALANCERS, *T.LISTENERS, *T.LISTENER_RULES, *T.TARGET_GROUPS, *T.TG_ATTACHMENTS,
    "aws:lb/listenerCertificate:ListenerCertificate", "aws:alb/listenerCertificate:ListenerCertificate",
    T.ECS_SERVICE, T.ECS_TASK_DEFINITION, T.ECS_CAPACITY_PROVIDER, T.ECS_CLUSTER_CAPACITY_PROVIDERS,
    T.INSTANCE, T.SPOT_INSTANCE, T.NETWORK_INTERFACE, T.ENI_ATTACHMENT, T.ENI_SG_ATTACHMENT,
    T.EIP, T.EIP_ASSOC, T.LAUNCH_TEMPLATE, T.ASG, T.ASG_ATTACHMENT,
    T.LAMBDA, T.LAMBDA_URL, T.RDS_INSTANCE, T.RDS_CLUSTER_INSTANCE, T.DB_SUBNET_GROUP, T.SD_SERVICE,
    T.DISTRIBUTION, T.VPC_ORIGIN, T.CF_FUNCTION,
    T.REST_API, T.REST_STAGE, T.REST_INTEGRATION, T.REST_VPC_LINK, T.REST_DEPLOYMENT,
    T.REST_RESOURCE, T.REST_METHOD,
    # A custom domain is an internet entry of its own to the stages its mappings name, whether or not
    # the API's default endpoint is disabled (apigateway.py `_custom_domain`). A mapping to an API
    # that is not a resource of the stack fails closed (sharing._open_world).
    T.REST_DOMAIN_NAME, T.REST_BASE_PATH_MAPPING,
    T.HTTP_API, T.HTTP_STAGE, T.HTTP_INTEGRATION, T.HTTP_VPC_LINK, T.HTTP_ROUTE,
    # Lambda authorizers run the function on the caller's request (apigateway.py); custom domains
    # of either API version are internet entries to the stages their mappings name
    T.REST_AUTHORIZER, T.HTTP_AUTHORIZER, T.HTTP_DOMAIN_NAME, T.HTTP_API_MAPPING,
    T.WEB_ACL, T.WEB_ACL_ASSOC,
})

INERT = frozenset({
    "aws:ec2/flowLog:FlowLog", "aws:ec2/tag:Tag", "aws:ec2/vpcDhcpOptions:VpcDhcpOptions",
    "aws:ec2/vpcDhcpOptionsAssociation:VpcDhcpOptionsAssociation", "aws:ec2/keyPair:KeyPair",
    "aws:ec2/vpcEndpoint:VpcEndpoint",  # interface/gateway endpoints reach AWS services, not compute
    "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
    "aws:ec2/vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation",
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy",
    "aws:vpc/securityGroupVpcAssociation:SecurityGroupVpcAssociation",
    "aws:ecs/cluster:Cluster", "aws:ecs/accountSettingDefault:AccountSettingDefault",
    "aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy", "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
    "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy",
    "aws:autoscaling/policy:Policy", "aws:autoscaling/schedule:Schedule",
    "aws:autoscaling/lifecycleHook:LifecycleHook", "aws:autoscaling/notification:Notification",
    "aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "aws:cloudwatch/dashboard:Dashboard",
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter", "aws:cloudwatch/logStream:LogStream",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter",
    "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/instanceProfile:InstanceProfile",
    "aws:iam/user:User", "aws:iam/group:Group", "aws:iam/serviceLinkedRole:ServiceLinkedRole",
    "aws:kms/key:Key", "aws:kms/alias:Alias",
    "aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:secretsmanager/secretPolicy:SecretPolicy", "aws:ssm/parameter:Parameter",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2",
    "aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:route53/zone:Zone", "aws:route53/record:Record", "aws:route53/healthCheck:HealthCheck",
    "aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation",
    "aws:wafv2/ipSet:IpSet", "aws:wafv2/regexPatternSet:RegexPatternSet", "aws:wafv2/ruleGroup:RuleGroup",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "aws:wafv2/webAclRule:WebAclRule",
    "aws:wafv2/webAclRuleGroupAssociation:WebAclRuleGroupAssociation",
    "aws:cloudfront/cachePolicy:CachePolicy", "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
    "aws:cloudfront/originAccessControl:OriginAccessControl",
    "aws:cloudfront/originAccessIdentity:OriginAccessIdentity",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
    "aws:servicediscovery/httpNamespace:HttpNamespace",
    "aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription", "aws:sqs/queue:Queue",
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
    "aws:lambda/permission:Permission", "aws:lambda/alias:Alias", "aws:lambda/layerVersion:LayerVersion",
    "aws:apigateway/account:Account", "aws:apigateway/apiKey:ApiKey", "aws:apigateway/usagePlan:UsagePlan",
    "aws:apigateway/methodSettings:MethodSettings", "aws:apigateway/methodResponse:MethodResponse",
    "aws:apigateway/integrationResponse:IntegrationResponse",
    "aws:apigatewayv2/deployment:Deployment",
    "aws:ec2/volumeAttachment:VolumeAttachment", "aws:ebs/volume:Volume",
    "aws:efs/fileSystem:FileSystem", "aws:efs/mountTarget:MountTarget",  # NFS storage, no path to compute
    "aws:efs/accessPoint:AccessPoint", "aws:ssm/association:Association",
    "aws:servicediscovery/instance:Instance",
    # entries that reach nothing without an endpoint group (which fails closed)
    "aws:globalaccelerator/accelerator:Accelerator", "aws:globalaccelerator/listener:Listener",
    # an Aurora cluster has no address of its own: its instances (understood) do
    "aws:rds/cluster:Cluster", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
    "aws:rds/parameterGroup:ParameterGroup",
})

# Known to expose compute or put a listener in front of it in ways the model does not follow.
EXPOSING: dict[str, str] = {
    "aws:elb/loadBalancer:LoadBalancer": "a Classic Load Balancer (listeners and instances the model does not follow)",
    "aws:elasticloadbalancing/loadBalancer:LoadBalancer": "a Classic Load Balancer (listeners and instances the model does not follow)",
    "aws:elb/attachment:Attachment": "a Classic Load Balancer attachment",
    "aws:ecs/taskSet:TaskSet": "an ECS task set (its tasks and target groups are not followed)",
    "aws:ec2/launchConfiguration:LaunchConfiguration": "a launch configuration (its public IP and security groups are not followed)",
    "aws:globalaccelerator/endpointGroup:EndpointGroup": "a Global Accelerator endpoint group (public entry to its endpoints)",
    "aws:globalaccelerator/customRoutingAccelerator:CustomRoutingAccelerator": "a Global Accelerator (a public anycast entry)",
    "aws:apprunner/service:Service": "an App Runner service (public compute)",
    "aws:apprunner/vpcConnector:VpcConnector": "an App Runner VPC connector",
    "aws:apprunner/vpcIngressConnection:VpcIngressConnection": "an App Runner ingress connection",
    "aws:lightsail/instance:Instance": "a Lightsail instance (public compute)",
    "aws:lightsail/lb:Lb": "a Lightsail load balancer (public entry)",
    "aws:lightsail/containerService:ContainerService": "a Lightsail container service (public compute)",
    "aws:lightsail/staticIpAttachment:StaticIpAttachment": "a Lightsail static IP",
    "aws:ec2/instanceNetworkInterfaceAttachment:InstanceNetworkInterfaceAttachment": "a network interface attachment",
    "aws:elasticbeanstalk/environment:Environment": "an Elastic Beanstalk environment (its load balancer and instances are not followed)",
    "aws:ec2/vpnGateway:VpnGateway": "a VPN gateway (a network outside the stack)",
    T.TGW_ATTACHMENT_ACCEPTER: "an accepted Transit Gateway attachment (another account's VPC on the stack's gateway)",
    "aws:ec2/vpnConnection:VpnConnection": "a VPN connection (a network outside the stack)",
    "aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment": "a VPN gateway attachment",
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": "VPN route propagation",
    "aws:ec2/customerGateway:CustomerGateway": "a customer gateway (a network outside the stack)",
    "aws:directconnect/gatewayAssociation:GatewayAssociation": "a Direct Connect association (a network outside the stack)",
    "aws:ec2/carrierGateway:CarrierGateway": "a carrier gateway (an internet-like entry)",
    "aws:ec2/localGatewayRoute:LocalGatewayRoute": "a local gateway route",
    "aws:ec2clientvpn/endpoint:Endpoint": "a Client VPN endpoint (remote users inside the VPC)",
    "aws:ec2clientvpn/networkAssociation:NetworkAssociation": "a Client VPN network association",
    "aws:ec2clientvpn/authorizationRule:AuthorizationRule": "a Client VPN authorization rule",
    "aws:ec2/verifiedAccessEndpoint:VerifiedAccessEndpoint": "a Verified Access endpoint (a public entry)",
    "aws:opensearch/domain:Domain": "an OpenSearch domain",
    "aws:elasticache/cluster:Cluster": "an ElastiCache cluster",
    "aws:mq/broker:Broker": "an MQ broker",
    "aws:eks/cluster:Cluster": "an EKS cluster (its nodes and load balancers are created outside the stack)",
    "aws:eks/nodeGroup:NodeGroup": "an EKS node group",
    "aws:batch/computeEnvironment:ComputeEnvironment": "a Batch compute environment",
    "aws:sagemaker/endpoint:Endpoint": "a SageMaker endpoint",
    "aws:appsync/graphQLApi:GraphQLApi": "an AppSync API (a public entry)",
    "aws:transfer/server:Server": "a Transfer Family server (a public entry)",
    "aws:networkfirewall/firewall:Firewall": "a Network Firewall (routing through it is not followed)",
    "aws:ec2/spotFleetRequest:SpotFleetRequest": "a Spot Fleet (instances the model does not follow)",
    "aws:ec2/fleet:Fleet": "an EC2 Fleet (instances the model does not follow)",
    "aws:emr/cluster:Cluster": "an EMR cluster (instances the model does not follow)",
    "aws:mwaa/environment:Environment": "an MWAA environment (a web server the model does not follow)",
    "aws:ec2/trafficMirrorSession:TrafficMirrorSession": "a traffic mirror session (copies app traffic elsewhere)",
    "aws:vpclattice/service:Service": "a VPC Lattice service",
    "aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation": "a VPC Lattice association",
}

# Properties whose presence means a resource is placed in a network or exposed.
NETWORK_PROPS = (
    "subnetId", "subnetIds", "subnets", "subnetMappings", "vpcSecurityGroupIds", "securityGroups",
    "securityGroupIds", "vpcConfig", "networkConfiguration", "networkInterfaces", "networkInterfaceId",
    "publiclyAccessible", "associatePublicIpAddress", "instanceId", "vpcZoneIdentifiers",
    "targetArn", "targetGroupArn", "targetGroupArns", "loadBalancerArn", "endpointConfigurations",
)


DYNAMIC = ("pulumi-python:dynamic:", "pulumi-nodejs:dynamic:")


def classify(res_type: str, props: dict) -> tuple[str, str]:
    """('understood' | 'inert' | 'exposing' | 'unknown-network' | 'ignored', why)."""
    if res_type in UNDERSTOOD:
        return "understood", ""
    if res_type in INERT:
        return "inert", ""
    if res_type in EXPOSING:
        return "exposing", EXPOSING[res_type]
    if res_type.startswith(DYNAMIC):
        # The CLI plans a dynamic resource with its inputs as its state and runs its `create`, the
        # program's own code, at `pulumi up`: whatever that creates or opens is never a resource the
        # pack sees, so the model cannot rule out a path through it.
        return "exposing", ("a dynamic provider's resource: its create is the program's own code, "
                            "which may create or open anything in the account without the pack seeing it")
    if not res_type.startswith("aws:"):
        return "ignored", ""
    used = [p for p in NETWORK_PROPS if props.get(p) is not None]
    if used:
        return "unknown-network", f"a resource type the model does not know, placed in a network ({', '.join(used)})"
    return "ignored", ""

"""Type tokens the reachability model reads (pulumi-aws v7; legacy `aws:alb/...` aliases included)."""

from guard.types import LISTENER_RULES, LISTENERS, LOAD_BALANCERS, WEB_ACL  # noqa: F401

VPC = "aws:ec2/vpc:Vpc"
VPC_CIDR_ASSOC = "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
DEFAULT_ROUTE_TABLE = "aws:ec2/defaultRouteTable:DefaultRouteTable"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
INTERNET_GATEWAY_ATTACHMENT = "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment"
EGRESS_ONLY_IGW = "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway"
MAIN_ROUTE_TABLE_ASSOC = "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection"
PEERING_ACCEPTER = "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter"
TRANSIT_GATEWAY = "aws:ec2transitgateway/transitGateway:TransitGateway"
TGW_VPC_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
TGW_ROUTE = "aws:ec2transitgateway/route:Route"
TGW_ROUTE_TABLE = "aws:ec2transitgateway/routeTable:RouteTable"
TGW_RT_ASSOC = "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation"
TGW_RT_PROPAGATION = "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"
NACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NACL_ASSOC = "aws:ec2/networkAclAssociation:NetworkAclAssociation"

SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry"

TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
TG_ATTACHMENTS = ("aws:lb/targetGroupAttachment:TargetGroupAttachment",
                  "aws:alb/targetGroupAttachment:TargetGroupAttachment")

ECS_SERVICE = "aws:ecs/service:Service"
ECS_TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_CAPACITY_PROVIDER = "aws:ecs/capacityProvider:CapacityProvider"
ECS_CLUSTER_CAPACITY_PROVIDERS = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
NETWORK_INTERFACE = "aws:ec2/networkInterface:NetworkInterface"
ENI_ATTACHMENT = "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment"
ENI_SG_ATTACHMENT = ("aws:ec2/networkInterfaceSecurityGroupAttachment:"
                     "NetworkInterfaceSecurityGroupAttachment")
EIP = "aws:ec2/eip:Eip"
EIP_ASSOC = "aws:ec2/eipAssociation:EipAssociation"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
ASG_ATTACHMENT = "aws:autoscaling/attachment:Attachment"
LAMBDA = "aws:lambda/function:Function"
LAMBDA_URL = "aws:lambda/functionUrl:FunctionUrl"
LAMBDA_ALIAS = "aws:lambda/alias:Alias"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
SD_SERVICE = "aws:servicediscovery/service:Service"

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"
CF_FUNCTION = "aws:cloudfront/function:Function"

REST_API = "aws:apigateway/restApi:RestApi"
REST_STAGE = "aws:apigateway/stage:Stage"
REST_INTEGRATION = "aws:apigateway/integration:Integration"
REST_VPC_LINK = "aws:apigateway/vpcLink:VpcLink"
REST_DEPLOYMENT = "aws:apigateway/deployment:Deployment"
REST_RESOURCE = "aws:apigateway/resource:Resource"
REST_METHOD = "aws:apigateway/method:Method"
HTTP_API = "aws:apigatewayv2/api:Api"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
HTTP_INTEGRATION = "aws:apigatewayv2/integration:Integration"
HTTP_VPC_LINK = "aws:apigatewayv2/vpcLink:VpcLink"
HTTP_ROUTE = "aws:apigatewayv2/route:Route"

WEB_ACL_ASSOC = "aws:wafv2/webAclAssociation:WebAclAssociation"

# The AWS-managed prefix list of CloudFront's origin-facing addresses.
CLOUDFRONT_PREFIX_LIST_NAME = "com.amazonaws.global.cloudfront.origin-facing"
# Its id as published for us-east-1 (and returned by the offline engine's invoke); policy config
# `cloudfrontPrefixListIds` adds the ids of other regions.
CLOUDFRONT_PREFIX_LIST_IDS = ("pl-3b927c52",)
REST_DOMAIN_NAME = "aws:apigateway/domainName:DomainName"
REST_BASE_PATH_MAPPING = "aws:apigateway/basePathMapping:BasePathMapping"

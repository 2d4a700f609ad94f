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

SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry"

TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
TG_ATTACHMENTS = ("aws:lb/targetGroupAttachment:TargetGroupAttachment",
                  "aws:alb/targetGroupAttachment:TargetGroupAttachment")

ECS_SERVICE = "aws:ecs/service:Service"
INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
NETWORK_INTERFACE = "aws:ec2/networkInterface:NetworkInterface"
EIP = "aws:ec2/eip:Eip"
EIP_ASSOC = "aws:ec2/eipAssociation:EipAssociation"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
ASG_ATTACHMENT = "aws:autoscaling/attachment:Attachment"
LAMBDA = "aws:lambda/function:Function"
LAMBDA_URL = "aws:lambda/functionUrl:FunctionUrl"
RDS_INSTANCE = "aws:rds/instance:Instance"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
SD_SERVICE = "aws:servicediscovery/service:Service"

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"

REST_API = "aws:apigateway/restApi:RestApi"
REST_STAGE = "aws:apigateway/stage:Stage"
REST_INTEGRATION = "aws:apigateway/integration:Integration"
REST_VPC_LINK = "aws:apigateway/vpcLink:VpcLink"
HTTP_API = "aws:apigatewayv2/api:Api"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
HTTP_INTEGRATION = "aws:apigatewayv2/integration:Integration"
HTTP_VPC_LINK = "aws:apigatewayv2/vpcLink:VpcLink"

WEB_ACL_ASSOC = "aws:wafv2/webAclAssociation:WebAclAssociation"

# The AWS-managed prefix list of CloudFront's origin-facing addresses.
CLOUDFRONT_PREFIX_LIST_NAME = "com.amazonaws.global.cloudfront.origin-facing"
# Its id as published for us-east-1 (and returned by the offline engine's invoke); policy config
# `cloudfrontPrefixListIds` adds the ids of other regions.
CLOUDFRONT_PREFIX_LIST_IDS = ("pl-3b927c52",)

"""Entry `alb`: the internet-facing ALB with its listeners and access logs, and the AWS WAF web ACL
associated with it. Also the origin ALB of the `cloudfront` entry (internal or public)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..interfaces import EntryAttachment, NodeTarget
from ..network import Network
from ..tagging import layer_tags
from . import waf
from .node_targets import egress_to_nodes, node_target_group

LAYER = "edge"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# ELB delivers ALB access logs as this service principal, which the bucket policy grants
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html).
# Grants to per-region ELB account ids are what AWS now calls the "legacy bucket policy"
# (https://docs.amazonaws.cn/en_us/aws/latest/userguide/elb.html), so no region map is kept.
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


@dataclass(frozen=True)
class AlbPerimeterArgs:
    certificate_arn: str | None  # None: HTTP only (dev, opted in explicitly)
    deletion_protection: bool
    managed_rule_groups: Sequence[str]
    rate_limit: int
    rate_window_seconds: int
    # "IP" when this ALB is the first hop (the source address is the client and any
    # X-Forwarded-For it receives is client-written, so spoofable); "FORWARDED_IP" only when a
    # trusted proxy such as CloudFront sits in front and appends the client address.
    rate_limit_key: str
    log_retention_days: int
    access_logs: bool = True
    # SizeRestrictions_BODY of the Common rule set: count (the nodes inspect whole bodies) or block.
    body_size_action: str = "count"
    bot_control_inspection_level: str = "COMMON"
    # Set when this ALB is a CloudFront origin (entry cloudfront): then CloudFront's web ACL is
    # the perimeter WAF, and the ALB admits only what CloudFront sends.
    origin: CloudFrontOriginGuard | None = None


@dataclass(frozen=True)
class CloudFrontOriginGuard:
    """How an origin ALB rejects requests that did not come through CloudFront."""

    # vpcOrigin: an internal ALB in the private subnets that only a CloudFront VPC origin reaches.
    internal: bool
    # The com.amazonaws.global.cloudfront.origin-facing managed prefix list: the only source the
    # ALB's security group admits (CloudFront's VPC origins also connect from these addresses).
    prefix_list_id: pulumi.Input[str]
    # publicAlb: the secret origin header CloudFront adds; the listener forwards only requests
    # carrying exactly this value and answers 403 to everything else. A Pulumi secret.
    header_name: str | None = None
    header_value: pulumi.Output[str] | None = None


class AlbPerimeter(pulumi.ComponentResource):
    """An `Entry` (see interfaces.py): internet -> ALB (+ WAF) -> whatever attaches to it."""

    security_group: aws.ec2.SecurityGroup
    load_balancer: aws.lb.LoadBalancer
    web_acl: aws.wafv2.WebAcl | None  # None for a CloudFront origin
    access_log_bucket: aws.s3.Bucket | None

    def __init__(self, name: str, network: Network, args: AlbPerimeterArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:edge:AlbPerimeter", name, None, opts)
        self._name = name
        self._args = args
        self._network = network
        self._attached = False
        child = pulumi.ResourceOptions(parent=self)

        origin = args.origin
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-alb-sg", vpc_id=network.vpc_id,
            description=("Origin ALB: HTTPS from CloudFront's origin-facing addresses only; out only "
                         "to the nodes") if origin else
                        "Edge ALB: HTTPS and the HTTP redirect from the internet; out only to the nodes",
            tags=self._tags("alb-sg"), opts=child)
        if origin is not None:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-in-cloudfront", security_group_id=self.security_group.id,
                prefix_list_id=origin.prefix_list_id, ip_protocol="tcp", from_port=443, to_port=443,
                description="CloudFront origin-facing addresses to the origin ALB on 443",
                tags=self._tags("alb-in-cloudfront"), opts=child)
        ports = [] if origin else [443, 80] if args.certificate_arn else [80]
        for port in ports:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-in-{port}", security_group_id=self.security_group.id,
                cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=port, to_port=port,
                description=f"Internet to the edge ALB on {port}",
                tags=self._tags(f"alb-in-{port}"), opts=child)

        access_logs, alb_opts = None, child
        self.access_log_bucket = None
        if args.access_logs:
            prefix = f"{name}-alb"
            self.access_log_bucket, log_policy = self._access_log_bucket(prefix)
            access_logs = aws.lb.LoadBalancerAccessLogsArgs(  # an S3 bucket's id is its name
                bucket=self.access_log_bucket.id, prefix=prefix, enabled=True)
            # ELB writes a test object when logging is enabled and refuses a bucket it may not write.
            alb_opts = pulumi.ResourceOptions(parent=self, depends_on=[log_policy])

        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application",
            internal=bool(origin and origin.internal), ip_address_type="ipv4",
            subnets=(network.private_subnet_ids if origin and origin.internal
                     else network.public_subnet_ids),
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
            # Behind CloudFront the header's last address is the viewer, written by CloudFront:
            # preserve it, or the nodes would take CloudFront's edge address for the client.
            xff_header_processing_mode="preserve" if origin else "append",
            enable_deletion_protection=args.deletion_protection,
            enable_waf_fail_open=False, idle_timeout=60, access_logs=access_logs,
            tags=self._tags("alb"), opts=alb_opts)

        self.web_acl = None
        if origin is None:
            acl = waf.web_acl(name, "REGIONAL", waf.WafArgs(
                managed_rule_groups=args.managed_rule_groups, rate_limit=args.rate_limit,
                rate_window_seconds=args.rate_window_seconds, rate_limit_key=args.rate_limit_key,
                log_retention_days=args.log_retention_days, body_size_action=args.body_size_action,
                bot_control_inspection_level=args.bot_control_inspection_level),
                self._tags, child,
                "Edge web ACL: AWS managed rules and a per-client rate limit")
            self.web_acl, self.waf_log_group, self.waf_logging = acl.web_acl, acl.log_group, acl.logging
            self.web_acl_association = aws.wafv2.WebAclAssociation(
                f"{name}-web-acl-alb", resource_arn=self.load_balancer.arn,
                web_acl_arn=self.web_acl.arn, opts=child)

        scheme = "https" if args.certificate_arn else "http"
        self.url = pulumi.Output.concat(scheme, "://", self.load_balancer.dns_name)
        self.register_outputs({
            "url": self.url,
            "loadBalancerArn": self.load_balancer.arn,
            "securityGroupId": self.security_group.id,
            "webAclArn": self.web_acl.arn if self.web_acl else None,
            "accessLogBucket": self.access_log_bucket.id if self.access_log_bucket else None,
        })

    def _tags(self, suffix: str) -> dict[str, str]:
        return layer_tags(LAYER, f"{self._name}-{suffix}")

    def _access_log_bucket(self, prefix: str) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        """A private bucket only ELB log delivery may write to, under `prefix`, for this account."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id

        # Deletion protection also keeps the logs: without it (dev) a destroy may empty the bucket.
        bucket = aws.s3.Bucket(f"{name}-alb-logs", force_destroy=not args.deletion_protection,
                               tags=self._tags("alb-logs"), opts=child)
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-alb-logs-public-access", bucket=bucket.id, block_public_acls=True,
            block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
            opts=child)
        # SSE-S3: the only server-side encryption ALB access logs support (not SSE-KMS).
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-alb-logs-encryption", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=(
                    aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256")))],
            opts=child)
        # ACLs off: the bucket owner owns every log object, whoever delivered it.
        aws.s3.BucketOwnershipControls(
            f"{name}-alb-logs-ownership", bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-alb-logs-lifecycle", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),  # every object
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=args.log_retention_days))],
            opts=child)

        def document(arn: str) -> str:
            return json.dumps({
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "ElbLogDelivery", "Effect": "Allow",
                     "Principal": {"Service": ELB_LOG_DELIVERY}, "Action": "s3:PutObject",
                     "Resource": f"{arn}/{prefix}/AWSLogs/{account_id}/*"},
                    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                     "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                ],
            })

        # After the public access block: S3 rejects concurrent changes to one bucket's access settings.
        policy = aws.s3.BucketPolicy(
            f"{name}-alb-logs-policy", bucket=bucket.id, policy=bucket.arn.apply(document),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]))
        return bucket, policy

    def attach(self, target: NodeTarget) -> EntryAttachment:
        """Forward the listeners to `target` and open the ALB's only egress: to its security group."""
        if self._attached:
            raise ValueError(f"{self._name}: the edge ALB already routes to a target")
        self._attached = True
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)

        egress_to_nodes(name, "alb", "Edge ALB", self.security_group.id, target, self._tags, child)
        self.target_group = node_target_group(name, target, self._network.vpc_id, self._tags, child)
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward",
                                                    target_group_arn=self.target_group.arn)]

        if args.origin is not None:
            listeners = self._origin_listeners(forward)
        elif args.certificate_arn:
            self.https_listener = aws.lb.Listener(
                f"{name}-https", load_balancer_arn=self.load_balancer.arn, port=443,
                protocol="HTTPS", ssl_policy=TLS_POLICY, certificate_arn=args.certificate_arn,
                default_actions=forward, tags=self._tags("https"), opts=child)
            self.http_listener = aws.lb.Listener(
                f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=80, protocol="HTTP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(
                    type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"))],
                tags=self._tags("http-redirect"), opts=child)
            listeners = [self.https_listener, self.http_listener]
        else:
            # allowHttpOnly (dev only, validated in settings): plain HTTP straight to the nodes.
            self.https_listener = None
            self.http_listener = aws.lb.Listener(
                f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=80, protocol="HTTP",
                default_actions=forward, tags=self._tags("http"), opts=child)
            listeners = [self.http_listener]

        label = pulumi.Output.all(self.load_balancer.arn_suffix, self.target_group.arn_suffix).apply(
            lambda parts: f"{parts[0]}/{parts[1]}")
        # The nodes trust X-Forwarded-For only from the subnets this ALB's addresses are in.
        subnets = (self._network.private_subnet_cidrs if args.origin and args.origin.internal
                   else self._network.public_subnet_cidrs)
        return EntryAttachment(
            target_group_arn=self.target_group.arn, ready=listeners, request_count_label=label,
            trusted_proxy_cidrs=tuple(subnets))

    def _origin_listeners(self, forward: list) -> list[pulumi.Resource]:
        """HTTPS only (CloudFront's origin protocol policy is https-only). With a secret header the
        default answer is 403 and one rule forwards requests that carry exactly its value."""
        name, args, origin = self._name, self._args, self._args.origin
        child = pulumi.ResourceOptions(parent=self)
        guarded = origin.header_name is not None
        default = [aws.lb.ListenerDefaultActionArgs(
            type="fixed-response", fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                content_type="text/plain", message_body="Forbidden", status_code="403"))] \
            if guarded else forward
        self.https_listener = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=self.load_balancer.arn, port=443,
            protocol="HTTPS", ssl_policy=TLS_POLICY, certificate_arn=args.certificate_arn,
            default_actions=default, tags=self._tags("https"), opts=child)
        self.http_listener = None
        if guarded:
            self.origin_rule = aws.lb.ListenerRule(
                f"{name}-from-cloudfront", listener_arn=self.https_listener.arn, priority=1,
                conditions=[aws.lb.ListenerRuleConditionArgs(
                    http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                        http_header_name=origin.header_name, values=[origin.header_value]))],
                actions=[aws.lb.ListenerRuleActionArgs(
                    type="forward", target_group_arn=self.target_group.arn)],
                tags=self._tags("from-cloudfront"), opts=child)
            return [self.https_listener, self.origin_rule]
        return [self.https_listener]

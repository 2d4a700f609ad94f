"""Edge layer: the internet-facing ALB with its listeners and access logs, and the AWS WAF web ACL
in front of it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import waf
from .interfaces import EntryAttachment, NodeTarget
from .network import Network
from .tagging import layer_tags

LAYER = "edge"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# WAF may redact single headers only; these two carry credentials.
REDACTED_HEADERS = ("authorization", "cookie")
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


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


class AlbPerimeter(pulumi.ComponentResource):
    """An `Entry` (see interfaces.py): internet -> ALB (+ WAF) -> whatever attaches to it."""

    security_group: aws.ec2.SecurityGroup
    load_balancer: aws.lb.LoadBalancer
    web_acl: aws.wafv2.WebAcl
    access_log_bucket: aws.s3.Bucket | None

    def __init__(self, name: str, network: Network, args: AlbPerimeterArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:edge:AlbPerimeter", name, None, opts)
        self._name = name
        self._args = args
        self._network = network
        self._attached = False
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-alb-sg", vpc_id=network.vpc_id,
            description="Edge ALB: HTTPS and the HTTP redirect from the internet; out only to the nodes",
            tags=self._tags("alb-sg"), opts=child)
        ports = [443, 80] if args.certificate_arn else [80]
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
            f"{name}-alb", load_balancer_type="application", internal=False,
            subnets=network.public_subnet_ids, security_groups=[self.security_group.id],
            drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
            xff_header_processing_mode="append", enable_deletion_protection=args.deletion_protection,
            enable_waf_fail_open=False, idle_timeout=60, access_logs=access_logs,
            tags=self._tags("alb"), opts=alb_opts)

        rules = [aws.wafv2.WebAclRuleArgs(
            name="rate-limit-per-client", priority=0,
            action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=args.rate_limit, evaluation_window_sec=args.rate_window_seconds,
                    aggregate_key_type=args.rate_limit_key,
                    forwarded_ip_config=(
                        aws.wafv2.WebAclRuleStatementRateBasedStatementForwardedIpConfigArgs(
                            header_name="X-Forwarded-For", fallback_behavior="MATCH")
                        if args.rate_limit_key == "FORWARDED_IP" else None))),
            visibility_config=_visibility(f"{name}-rate-limit"))]
        for priority, group in enumerate(args.managed_rule_groups, start=1):
            rules.append(aws.wafv2.WebAclRuleArgs(
                name=group, priority=priority,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
                statement=waf.managed_rule_group_statement(
                    group, body_size_action=args.body_size_action),
                visibility_config=_visibility(f"{name}-{group}")))
        self.web_acl = aws.wafv2.WebAcl(
            f"{name}-web-acl", scope="REGIONAL",
            description="Edge web ACL: AWS managed rules and a per-client rate limit",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules, visibility_config=_visibility(f"{name}-web-acl"),
            tags=self._tags("web-acl"), opts=child)
        self.web_acl_association = aws.wafv2.WebAclAssociation(
            f"{name}-web-acl-alb", resource_arn=self.load_balancer.arn,
            web_acl_arn=self.web_acl.arn, opts=child)

        # WAF delivers to CloudWatch Logs only into groups whose name starts with aws-waf-logs-.
        self.waf_log_group = aws.cloudwatch.LogGroup(
            f"{name}-waf-logs",
            name=f"aws-waf-logs-{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            retention_in_days=args.log_retention_days, tags=self._tags("waf-logs"), opts=child)
        waf_log_policy = waf.log_delivery_policy(f"{name}-waf-logs", self.waf_log_group, parent=self)
        self.waf_logging = aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging", resource_arn=self.web_acl.arn,
            log_destination_configs=[self.waf_log_group.arn],
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                        name=header))
                for header in REDACTED_HEADERS],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[waf_log_policy]))

        scheme = "https" if args.certificate_arn else "http"
        self.url = pulumi.Output.concat(scheme, "://", self.load_balancer.dns_name)
        self.register_outputs({
            "url": self.url,
            "loadBalancerArn": self.load_balancer.arn,
            "securityGroupId": self.security_group.id,
            "webAclArn": self.web_acl.arn,
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

        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-out-{target.name}", security_group_id=self.security_group.id,
            referenced_security_group_id=target.security_group.id, ip_protocol="tcp",
            from_port=target.port, to_port=target.port,
            description=f"Edge ALB to {target.name} on {target.port}",
            tags=self._tags(f"alb-out-{target.name}"), opts=child)
        self.target_group = aws.lb.TargetGroup(
            f"{name}-{target.name}-tg", target_type="ip", protocol="HTTP", port=target.port,
            vpc_id=self._network.vpc_id, deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTP", path=target.health_check_path, port="traffic-port",
                matcher="200", interval=15, timeout=5, healthy_threshold=2, unhealthy_threshold=3),
            tags=self._tags(f"{target.name}-tg"), opts=child)
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward",
                                                    target_group_arn=self.target_group.arn)]

        if args.certificate_arn:
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
        return EntryAttachment(
            target_group_arn=self.target_group.arn, ready=listeners, request_count_label=label,
            trusted_proxy_cidrs=tuple(self._network.public_subnet_cidrs))

"""Edge layer: one module per internet entry in front of the Wallarm nodes (see the README,
"Choosing an entry"). Each entry is an `interfaces.Entry`; `build()` picks one from the settings."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ..network import Network
from ..settings import Settings
from . import waf
from .alb import AlbPerimeter, AlbPerimeterArgs
from .apigateway import ApiGatewayPerimeter, ApiGatewayPerimeterArgs
from .cloudfront import CLOUDFRONT_REGION, CloudFrontPerimeter, CloudFrontPerimeterArgs
from .nlb import NlbPerimeter, NlbPerimeterArgs

Perimeter = AlbPerimeter | CloudFrontPerimeter | NlbPerimeter | ApiGatewayPerimeter


def build(name: str, s: Settings, network: Network,
          default_tags: aws.ProviderDefaultTagsArgs, opts: pulumi.ResourceOptions) -> Perimeter:
    """The entry the stack's `entry` setting names, configured from the (validated) settings."""
    e = s.entry
    acl = waf.WafArgs(managed_rule_groups=s.waf_managed_rule_groups, rate_limit=s.waf_rate_limit,
                      rate_window_seconds=s.waf_rate_window_seconds,
                      rate_limit_key=s.waf_rate_limit_key, log_retention_days=s.log_retention_days,
                      body_size_action=s.ops.waf_body_size_action,
                      bot_control_inspection_level=s.waf_bot_control_inspection_level)
    if e.kind == "alb":
        return AlbPerimeter(name, network, AlbPerimeterArgs(
            certificate_arn=s.certificate_arn, deletion_protection=s.deletion_protection,
            managed_rule_groups=s.waf_managed_rule_groups, rate_limit=s.waf_rate_limit,
            rate_window_seconds=s.waf_rate_window_seconds, rate_limit_key=s.waf_rate_limit_key,
            log_retention_days=s.log_retention_days, access_logs=s.alb_access_logs,
            body_size_action=s.ops.waf_body_size_action,
            bot_control_inspection_level=s.waf_bot_control_inspection_level), opts=opts)
    if e.cloudfront_in_front:
        # CloudFront takes web ACLs (and their logs) from us-east-1 only: an explicit provider.
        us_east_1 = aws.Provider(f"aws-{CLOUDFRONT_REGION}", region=CLOUDFRONT_REGION,
                                 default_tags=default_tags)
        return CloudFrontPerimeter(name, network, CloudFrontPerimeterArgs(
            origin_style="nlb" if e.kind == "nlb" else e.cloudfront_origin_style,
            certificate_arn=s.certificate_arn, viewer_certificate_arn=e.cloudfront_certificate_arn,
            aliases=e.cloudfront_aliases, deletion_protection=s.deletion_protection, waf=acl,
            access_logs=s.alb_access_logs, client_ip_preservation=e.nlb_client_ip_preservation,
            app_port=s.app_port), us_east_1=us_east_1, opts=opts)
    if e.kind == "nlb":
        return NlbPerimeter(name, network, NlbPerimeterArgs(
            deletion_protection=s.deletion_protection, internal=False,
            certificate_arn=s.certificate_arn, client_ip_preservation=e.nlb_client_ip_preservation,
            waf_exemption_reason=e.nlb_waf_exemption_reason, app_port=s.app_port), opts=opts)
    if e.kind == "apigateway":
        return ApiGatewayPerimeter(name, network, ApiGatewayPerimeterArgs(
            deletion_protection=s.deletion_protection, throttle_rate_limit=e.api_throttle_rate_limit,
            throttle_burst_limit=e.api_throttle_burst_limit, waf=acl,
            manage_account_log_role=e.api_manage_account_log_role, domain_name=e.api_domain_name,
            certificate_arn=s.certificate_arn, mtls_truststore_uri=e.api_mtls_truststore_uri),
            opts=opts)
    raise ValueError(f"unknown entry {e.kind!r}")  # settings.load() refuses it first


def web_acl_arn(edge: Perimeter) -> pulumi.Output[str] | None:
    acl = getattr(edge, "web_acl", None)
    return acl.arn if acl is not None else None


def regional_web_acl_name(edge: Perimeter) -> pulumi.Output[str] | None:
    """The name of the entry's REGIONAL web ACL (for alarms in the stack's region), else None."""
    acl = getattr(edge, "web_acl", None)
    return acl.name if acl is not None and not isinstance(edge, CloudFrontPerimeter) else None

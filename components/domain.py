"""An optional custom domain for the entry: a name users can reach and a certificate can cover.

A load balancer's own DNS name (`<name>-<id>.<region>.elb.amazonaws.com`) cannot carry a
certificate of yours, so `entryUrl` used to name something no client could validate. This adds an
ACM certificate for `domain_name` (validated through DNS records in the given hosted zone), serves
it on the entry's HTTPS listener beside the listener's default certificate (SNI), and points an
alias A record at the entry.

What it needs from the entry: its DNS name and hosted zone id (an ALB's `dns_name`/`zone_id`, a
CloudFront distribution's `domain_name`/`hosted_zone_id`), and the HTTPS listener to add the
certificate to (None for an HTTP-only dev entry, or an entry that takes certificates otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .tagging import layer_tags

LAYER = "edge"


@dataclass(frozen=True)
class CustomDomainArgs:
    domain_name: str
    hosted_zone_id: str
    entry_dns_name: pulumi.Input[str]
    entry_zone_id: pulumi.Input[str]
    https_listener_arn: pulumi.Input[str] | None


class CustomDomain(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: CustomDomainArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:edge:CustomDomain", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if args.https_listener_arn is not None:
            self.certificate = aws.acm.Certificate(
                f"{name}-certificate", domain_name=args.domain_name, validation_method="DNS",
                key_algorithm="EC_prime256v1", tags=layer_tags(LAYER, f"{name}-certificate"),
                opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["domainName"]))
            # One validation record: the certificate covers exactly one name. ACM fills the options
            # in when it creates the certificate (unknown before; an offline run has none).
            option = self.certificate.domain_validation_options.apply(
                lambda options: options[0] if options else None)
            record = aws.route53.Record(
                f"{name}-validation", zone_id=args.hosted_zone_id,
                name=option.apply(lambda o: o.resource_record_name if o else None),
                type=option.apply(lambda o: o.resource_record_type if o else None),
                records=[option.apply(lambda o: o.resource_record_value if o else None)],
                ttl=300, allow_overwrite=True, opts=child)
            validation = aws.acm.CertificateValidation(
                f"{name}-certificate-validation", certificate_arn=self.certificate.arn,
                validation_record_fqdns=[record.fqdn], opts=child)
            aws.lb.ListenerCertificate(
                f"{name}-listener-certificate", listener_arn=args.https_listener_arn,
                certificate_arn=validation.certificate_arn, opts=child)
            scheme = "https"
        else:
            self.certificate = None
            scheme = "http"

        self.record = aws.route53.Record(
            f"{name}-alias", zone_id=args.hosted_zone_id, name=args.domain_name, type="A",
            aliases=[aws.route53.RecordAliasArgs(
                name=args.entry_dns_name, zone_id=args.entry_zone_id, evaluate_target_health=True)],
            opts=child)
        self.url = pulumi.Output.from_input(f"{scheme}://{args.domain_name}")
        self.register_outputs({"url": self.url,
                               "certificateArn": self.certificate.arn if self.certificate else None})

"""Compliant stacks for each entry form of issue 18, in plain pulumi_aws (no layerguard components),
plus one change selected by `entries:case`.

`entries:baseline` chooses the entry: `cloudfront-header`, `cloudfront-vpc-origin`, `nlb`, `rest-api`,
`private-api`, `brownfield`, `ec2-nodes`, `http-api-cloudmap`. Every baseline is internet -> entry
(+ AWS WAF) -> Wallarm nodes -> app. tests/policy/test_reachability_entries.py lists the verdict each
(baseline, case) must get and the resource that must be named; resource names are its handles.
"""

import base64
import json

import pulumi
import pulumi_aws as aws
import pulumi_random as random

_config = pulumi.Config()
BASELINE = _config.get("baseline") or "cloudfront-header"
CASE = _config.get("case") or "baseline"
BASELINES = ("cloudfront-header", "cloudfront-vpc-origin", "nlb", "rest-api", "private-api", "brownfield",
             "ec2-nodes", "http-api-cloudmap")
if BASELINE not in BASELINES:
    raise ValueError(f"entries:baseline is {BASELINE!r}; allowed: {', '.join(BASELINES)}")
REGION = "eu-west-1"
ACCOUNT = "123456789012"
FOREIGN_ACCOUNT = "210987654321"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"
CERT_USE1 = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/11111111-2222-3333-4444-666666666666"
# Wallarm's NGINX node AMI as published on AWS Marketplace (docs.wallarm.com, "Deploying the NGINX
# Node with AWS AMI"): owner = the AWS Marketplace publishing account, name `wallarm-node-<release>-*`.
WALLARM_AMI_OWNER = "679593333241"
WALLARM_AMI_NAME = "wallarm-node-6.*"


def case(*names: str) -> bool:
    return CASE in names


def tags(layer, **extra):
    return {"layerguard:layer": layer, **extra}


use1 = aws.Provider("use1", region="us-east-1")
cf_list = aws.ec2.get_managed_prefix_list(name="com.amazonaws.global.cloudfront.origin-facing")
visibility = {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": "m"}
rate_rule = {"name": "rate", "priority": 0, "action": {"block": {}}, "visibility_config": visibility,
             "statement": {"rate_based_statement": {"limit": 2000, "aggregate_key_type": "IP"}}}


def web_acl(name, scope, **opts):
    """A web ACL with a rate-based rule, logging to an aws-waf-logs- log group in its region."""
    rules = [] if case("acl-allow-no-rules") else [rate_rule]  # an ACL that allows everything
    acl = aws.wafv2.WebAcl(name, scope=scope, default_action={"allow": {}}, rules=rules,
                           visibility_config=visibility, tags=tags("edge"), **opts)
    logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"aws-waf-logs-{name}", retention_in_days=90,
                                   tags=tags("edge"), **opts)
    aws.wafv2.WebAclLoggingConfiguration(f"{name}-logging", resource_arn=acl.arn,
                                         log_destination_configs=[logs.arn], **opts)
    return acl


_regional_acl = []


def regional_acl():
    """The stack's one REGIONAL web ACL (shared by its associations)."""
    if not _regional_acl:
        _regional_acl.append(web_acl("edge-acl", "REGIONAL"))
    return _regional_acl[0]


_cdn_acl = []


def cloudfront_acl():
    """The stack's one CLOUDFRONT-scope web ACL (shared by its distributions)."""
    if not _cdn_acl:
        _cdn_acl.append(web_acl("cdn-acl", "CLOUDFRONT", opts=pulumi.ResourceOptions(provider=use1)))
    return _cdn_acl[0]


# === network ========================================================================================
BROWNFIELD = BASELINE == "brownfield"
DUAL_STACK = case("ipv6-task-dual-stack", "ipv6-instance-computed-cidr", "safe-ipv6-dual-stack-egress-only",
                  "ipv6-main-table-route", "ipv6-global-unicast-rule", "safe-ipv6-dual-stack-sg-closed",
                  "safe-ipv6-intra-vpc-rule", "ipv6-vpc-block-rule-public")
if BROWNFIELD:
    # An existing VPC and subnets given by literal ids, declared the way layerguard's network does
    # (`declaredNetwork` on a component's outputs, policy/guard/reachability/declared.py).
    EXISTING = {
        "vpcId": "vpc-0b1f2e3d4c5a69788", "cidrBlocks": ["10.40.0.0/16"],
        "subnets": [
            {"id": "subnet-0e1d0000000000001", "cidrBlock": "10.40.0.0/24", "availabilityZone": "eu-west-1a",
             "public": True},
            {"id": "subnet-0e1d0000000000002", "cidrBlock": "10.40.1.0/24", "availabilityZone": "eu-west-1b",
             "public": True},
            {"id": "subnet-0e1d0000000000011", "cidrBlock": "10.40.10.0/24", "availabilityZone": "eu-west-1a",
             "public": False},
            {"id": "subnet-0e1d0000000000012", "cidrBlock": "10.40.11.0/24", "availabilityZone": "eu-west-1b",
             "public": False},
        ]}

    class ExistingNetwork(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("scenarios:network:Existing", name, None)
            self.register_outputs({"vpcId": EXISTING["vpcId"], "declaredNetwork": EXISTING})

    ExistingNetwork("existing-network")
    vpc_id = EXISTING["vpcId"]
    edge_ids = [s["id"] for s in EXISTING["subnets"] if s["public"]]
    node_ids = app_ids = [s["id"] for s in EXISTING["subnets"] if not s["public"]]
    vpc = igw = None
else:
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", assign_generated_ipv6_cidr_block=DUAL_STACK or None,
                      tags=tags("network"))
    vpc_id = vpc.id
    igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags=tags("network"))
    public_rt = aws.ec2.RouteTable("public-rt", vpc_id=vpc.id, tags=tags("network"))
    aws.ec2.Route("public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                  gateway_id=igw.id)

    def subnet(name, cidr, layer, az, public=False):
        s = aws.ec2.Subnet(name, vpc_id=vpc.id, cidr_block=cidr, availability_zone=f"{REGION}{az}",
                           map_public_ip_on_launch=False, tags=tags(layer))
        if public:
            aws.ec2.RouteTableAssociation(f"{name}-rt", subnet_id=s.id, route_table_id=public_rt.id)
        return s

    edge_subnets = [subnet("edge-a", "10.0.0.0/24", "edge", "a", True),
                    subnet("edge-b", "10.0.1.0/24", "edge", "b", True)]
    node_subnets = [subnet("node-a", "10.0.10.0/24", "node", "a"), subnet("node-b", "10.0.11.0/24", "node", "b")]
    app_subnets = [subnet("app-a", "10.0.20.0/24", "app", "a"), subnet("app-b", "10.0.21.0/24", "app", "b")]
    edge_ids = [s.id for s in edge_subnets]
    node_ids = [s.id for s in node_subnets]
    app_ids = [s.id for s in app_subnets]

# === Wallarm nodes ==================================================================================
node_sg = aws.ec2.SecurityGroup("node-sg", vpc_id=vpc_id, description="Wallarm nodes", tags=tags("node"))
# EC2 nodes register by instance (an ASG's target_group_arns, or an instance id attachment)
node_tg = aws.lb.TargetGroup("node-tg", port=80, protocol="HTTP", vpc_id=vpc_id, tags=tags("node"),
                             target_type="instance" if BASELINE == "ec2-nodes" else "ip")
cluster = aws.ecs.Cluster("cluster", tags=tags("network"))
TOKEN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:wallarm-token-AbCdEf"
node_containers = [{
    "name": "wallarm", "image": "wallarm/node:7.1.0", "essential": True,
    "portMappings": [{"containerPort": 80}],
    "environment": [{"name": "WALLARM_MODE", "value": "block"}],
    "secrets": [{"name": "WALLARM_API_TOKEN", "valueFrom": TOKEN}]}]
if case("cloudmap-sidecar-port"):
    node_containers.append({"name": "sidecar", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0",
                            "essential": False, "portMappings": [{"containerPort": 8081}]})
node_task = aws.ecs.TaskDefinition(
    "node-task", family="node", cpu="1024", memory="2048", network_mode="awsvpc",
    requires_compatibilities=["FARGATE"], tags=tags("node"), container_definitions=json.dumps(node_containers))
node_lbs = [{"target_group_arn": node_tg.arn, "container_name": "wallarm", "container_port": 80}]
node_registries = None  # filled by the http-api-cloudmap baseline
app_registries = None   # an app service's Cloud Map registrations (class 8 cases)

# === app ============================================================================================
app_task_sg = aws.ec2.SecurityGroup("app-task-sg", vpc_id=vpc_id, description="app tasks", tags=tags("app"))
app_tg = app_listener = app_task = None
if not BROWNFIELD:
    app_lb_sg = aws.ec2.SecurityGroup("app-lb-sg", vpc_id=vpc_id, description="internal app ALB", tags=tags("app"))
    aws.vpc.SecurityGroupIngressRule("app-lb-from-node", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, referenced_security_group_id=node_sg.id)
    aws.vpc.SecurityGroupIngressRule("app-task-from-lb", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                     from_port=8080, to_port=8080, referenced_security_group_id=app_lb_sg.id)
    app_alb = aws.lb.LoadBalancer("app-alb", internal=True, load_balancer_type="application", subnets=app_ids,
                                  security_groups=[app_lb_sg.id], drop_invalid_header_fields=True, tags=tags("app"))
    app_tg = aws.lb.TargetGroup("app-tg", port=8080, protocol="HTTP", target_type="ip", vpc_id=vpc_id,
                                tags=tags("app"))
    app_listener = aws.lb.Listener("app-http", load_balancer_arn=app_alb.arn, port=80, protocol="HTTP",
                                   default_actions=[{"type": "forward", "target_group_arn": app_tg.arn}])
    app_task = aws.ecs.TaskDefinition(
        "app-task", family="app", cpu="256", memory="512", network_mode="awsvpc",
        requires_compatibilities=["FARGATE"], tags=tags("app"),
        container_definitions=json.dumps([{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27",
                                           "essential": True, "portMappings": [{"containerPort": 8080}]}]))
app_lbs = [{"target_group_arn": app_tg.arn, "container_name": "app", "container_port": 8080}] if app_tg else []


def app_function(resource_name, **kwargs):
    return aws.lambda_.Function(resource_name, role=f"arn:aws:iam::{ACCOUNT}:role/app-fn", runtime="python3.12",
                                handler="index.handler", code=pulumi.AssetArchive({}), tags=tags("app"), **kwargs)


def https_listener(name, lb, actions):
    return aws.lb.Listener(name, load_balancer_arn=lb.arn, port=443, protocol="HTTPS",
                           ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06", certificate_arn=CERT,
                           default_actions=actions)


def distribution(name, origins, acl=True, behaviours=(), default_extra=None, default_origin="origin", **kwargs):
    """A distribution with a CLOUDFRONT-scope web ACL created in us-east-1 through an explicit provider."""
    if acl is True and case("cdn-regional-acl"):
        acl = regional_acl()  # a REGIONAL ACL on a distribution (AWS refuses it)
    elif acl is True and case("cdn-literal-regional-arn"):
        acl = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/edge/0a1b2c3d-0000-1111-2222-333344445555"
    elif acl is True and case("safe-cdn-literal-acl-arn"):
        # an existing CLOUDFRONT ACL of the account's, by literal ARN (us-east-1, global/)
        acl = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/cdn/0a1b2c3d-0000-1111-2222-333344445555"
    behaviour = {"allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                 "cached_methods": ["GET", "HEAD"], "target_origin_id": default_origin,
                 "viewer_protocol_policy": "redirect-to-https",
                 "cache_policy_id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                 "origin_request_policy_id": "216adef6-5c7f-47e4-b989-5492eafa07d3", **(default_extra or {})}
    return aws.cloudfront.Distribution(
        name, enabled=True, origins=origins, tags=tags("edge"),
        web_acl_id=(cloudfront_acl().arn if acl is True else acl.arn if isinstance(acl, aws.wafv2.WebAcl) else acl or None),
        default_cache_behavior=behaviour, ordered_cache_behaviors=list(behaviours) or None,
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate={"cloudfront_default_certificate": True}, **kwargs)


def custom_origin(domain, origin_id="origin", headers=None):
    origin = {"origin_id": origin_id, "domain_name": domain, "custom_origin_config": {
        "http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
        "origin_ssl_protocols": ["TLSv1.2"]}}
    if headers:
        origin["custom_headers"] = [{"name": k, "value": v} for k, v in headers.items()]
    return origin


def behaviour(path, origin_id, **extra):
    return {"path_pattern": path, "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
            "target_origin_id": origin_id, "viewer_protocol_policy": "redirect-to-https",
            "cache_policy_id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", **extra}


def edge_function(name):
    """A Lambda@Edge function: created in us-east-1, published, run by CloudFront at the edge."""
    return aws.lambda_.Function(name, role=f"arn:aws:iam::{ACCOUNT}:role/edge-fn", runtime="nodejs20.x",
                                handler="index.handler", code=pulumi.AssetArchive({}), publish=True,
                                opts=pulumi.ResourceOptions(provider=use1))


def node_ingress(name, sg, port=80):
    aws.vpc.SecurityGroupIngressRule(name, security_group_id=node_sg.id, ip_protocol="tcp", from_port=port,
                                     to_port=port, referenced_security_group_id=sg.id)


def tcp_node_tg(name, **kwargs):
    tg = aws.lb.TargetGroup(name, port=80, protocol="TCP", target_type="ip", vpc_id=vpc_id, tags=tags("node"),
                            **kwargs)
    node_lbs.append({"target_group_arn": tg.arn, "container_name": "wallarm", "container_port": 80})
    return tg


# === entries ========================================================================================
edge_alb = edge_https = secret = None

if BASELINE in ("cloudfront-header", "private-api", "brownfield", "ec2-nodes"):
    # a public ALB; with `cloudfront-header` it is the distribution's origin and admits only the secret
    edge_sg = aws.ec2.SecurityGroup("edge-sg", vpc_id=vpc_id, description="edge ALB", tags=tags("edge"))
    aws.vpc.SecurityGroupIngressRule("edge-https-in", security_group_id=edge_sg.id, ip_protocol="tcp",
                                     from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0")
    edge_alb = aws.lb.LoadBalancer(
        "edge-alb", internal=False, load_balancer_type="application", subnets=edge_ids,
        security_groups=[edge_sg.id], drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
        tags=tags("edge"))
    node_ingress("node-from-edge", edge_sg)

if BASELINE in ("private-api", "brownfield", "ec2-nodes"):
    # (alb-acl-other-region: the ALB's association is made in us-east-1 with a REGIONAL ACL there)
    alb_acl, alb_opts = ((web_acl("use1-acl", "REGIONAL", opts=pulumi.ResourceOptions(provider=use1)),
                          pulumi.ResourceOptions(provider=use1)) if case("alb-acl-other-region")
                         else (regional_acl(), None))
    aws.wafv2.WebAclAssociation("edge-acl-alb", resource_arn=edge_alb.arn, web_acl_arn=alb_acl.arn, opts=alb_opts)
    edge_https = https_listener("edge-https", edge_alb, [{"type": "forward", "target_group_arn": node_tg.arn}])

if BASELINE == "cloudfront-header":
    if case("header-secret-random-pet"):
        # a RandomPet "secret": two dictionary words, guessable by a few million requests straight to the ALB
        secret = random.RandomPet("origin-secret", length=2)
    elif case("header-secret-short"):
        secret = random.RandomPassword("origin-secret", length=4, special=False)  # 62^4: brute-forced in hours
    else:
        secret = random.RandomPassword("origin-secret", length=40, special=False)
    secret_value = secret.id if case("header-secret-random-pet") else secret.result
    if case("header-literal-weak"):
        secret_value = "cloudfront"  # the same literal on both sides, but a word anyone tries
    if case("safe-header-secretsmanager"):
        # the value kept in Secrets Manager (from the random password) read on both sides
        sm = aws.secretsmanager.Secret("origin-secret-sm", tags=tags("edge"))
        secret_value = aws.secretsmanager.SecretVersion("origin-secret-sm-v1", secret_id=sm.id,
                                                        secret_string=secret.result).secret_string
    forbidden = [{"type": "fixed-response", "fixed_response": {"content_type": "text/plain", "status_code": "403"}}]
    default_https = [{"type": "forward", "target_group_arn": node_tg.arn}] if case("header-default-forward") \
        else forbidden
    edge_https = https_listener("edge-https", edge_alb, default_https)
    values = [secret_value]
    if case("header-wildcard-value"):
        values = [secret_value, "*"]  # a wildcard value ORed beside the secret matches every request
    if case("header-or-static-value"):
        # ORed values: AWS matches a header condition when ANY value matches; "healthcheck" is no secret
        values = [secret.result, "healthcheck"]
    if case("safe-header-rotation"):
        # rotation: the next secret is also accepted; both are random and secret, only one is sent
        values = [secret.result, random.RandomPassword("origin-secret-next", length=40, special=False).result]
    verified_target = app_tg if case("header-rule-forwards-app") else node_tg
    # the rule checks the header but forwards straight to the app: CloudFront's WAF, no Wallarm node
    conditions = [{"http_header": {"http_header_name": "X-Origin-Verify", "values": values}}]
    if case("safe-header-and-path"):
        conditions.insert(0, {"path_pattern": {"values": ["/api/*"]}})  # ANDed with the secret
    aws.lb.ListenerRule("edge-verified", listener_arn=edge_https.arn, priority=10,
                        actions=[{"type": "forward", "target_group_arn": verified_target.arn}],
                        conditions=conditions)
    if case("header-path-rule"):
        # a higher-priority rule on a path only: anyone requesting /public/... reaches the nodes, no WAF
        aws.lb.ListenerRule("edge-public-path", listener_arn=edge_https.arn, priority=5,
                            actions=[{"type": "forward", "target_group_arn": node_tg.arn}],
                            conditions=[{"path_pattern": {"values": ["/public/*"]}}])
    if case("safe-listener-not-admitted"):
        # an HTTPS listener on 8443 forwards without a check, but no rule admits 8443 and CloudFront
        # connects on 443 (https-only): nothing outside the stack reaches it
        aws.lb.Listener("edge-ops", load_balancer_arn=edge_alb.arn, port=8443, protocol="HTTPS",
                        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06", certificate_arn=CERT,
                        default_actions=[{"type": "forward", "target_group_arn": node_tg.arn}])
    if case("header-http-listener-forward", "safe-http-listener-redirect"):
        # port 80 open to the world; the bypass variant forwards there without any header check
        aws.vpc.SecurityGroupIngressRule("edge-http-in", security_group_id=edge_sg.id, ip_protocol="tcp",
                                         from_port=80, to_port=80, cidr_ipv4="0.0.0.0/0")
        http_actions = [{"type": "forward", "target_group_arn": node_tg.arn}] if case("header-http-listener-forward") \
            else [{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}]
        aws.lb.Listener("edge-http", load_balancer_arn=edge_alb.arn, port=80, protocol="HTTP",
                        default_actions=http_actions)
    if case("header-second-public-header"):
        # a second rule on a header anyone can send (not a secret): the ALB is reachable without CloudFront
        aws.lb.ListenerRule("edge-internal-rule", listener_arn=edge_https.arn, priority=20,
                            actions=[{"type": "forward", "target_group_arn": node_tg.arn}],
                            conditions=[{"http_header": {"http_header_name": "X-Internal", "values": ["true"]}}])
    if case("header-source-ip-rule"):
        # a rule without the header, by source IP of a public range: reaches the nodes without the WAF
        aws.lb.ListenerRule("edge-office-rule", listener_arn=edge_https.arn, priority=30,
                            actions=[{"type": "forward", "target_group_arn": node_tg.arn}],
                            conditions=[{"source_ip": {"values": ["198.51.100.0/24"]}}])
    # ALB header names are case-insensitive: CloudFront may send the name in any case
    header_name = "x-origin-verify" if case("safe-header-name-case") else "X-Origin-Verify"
    origin_domain = edge_alb.dns_name
    if case("safe-header-route53-origin", "header-leak-route53-external"):
        # the origin by the zone's name (what the ALB's certificate covers), an alias to the ALB
        zone = aws.route53.Zone("zone", name="example.com", tags=tags("edge"))
        aws.route53.Record("origin-record", zone_id=zone.zone_id, name="origin", type="A",
                           aliases=[{"name": edge_alb.dns_name, "zone_id": edge_alb.zone_id,
                                     "evaluate_target_health": True}])
        origin_domain = "origin.example.com"
    origins = [custom_origin(origin_domain, headers={header_name: secret_value})]
    if case("header-leak-route53-external"):
        # a second name of the zone that is a CNAME to a host outside the stack: it gets the secret
        aws.route53.Record("legacy-record", zone_id=zone.zone_id, name="legacy.example.com", type="CNAME", ttl=300,
                           records=["legacy-host.partner-hosting.example"])
        origins.append(custom_origin("legacy.example.com", "legacy", headers={"X-Origin-Verify": secret_value}))
    behaviours = [behaviour("/legacy/*", "legacy")] if case("header-leak-route53-external") else []
    default_extra = {}
    if case("header-leak-second-origin"):
        # the same secret header is sent to a third party's origin: whoever runs it can call the ALB
        origins.append(custom_origin("assets.partner-cdn.example", "partner",
                                     headers={"X-Origin-Verify": secret.result}))
        behaviours.append(behaviour("/assets/*", "partner"))
    if case("header-leak-origin-group"):
        # failover origin group: the secondary is an origin outside the stack and gets the secret too
        origins.append(custom_origin("failover.example.net", "failover", headers={"X-Origin-Verify": secret.result}))
    if case("safe-cdn-second-origin-no-secret"):
        bucket = aws.s3.BucketV2("static", tags=tags("edge"))
        oac = aws.cloudfront.OriginAccessControl("static-oac", origin_access_control_origin_type="s3",
                                                 signing_behavior="always", signing_protocol="sigv4")
        origins.append({"origin_id": "static", "domain_name": bucket.bucket_regional_domain_name,
                        "origin_access_control_id": oac.id})
        behaviours.append(behaviour("/static/*", "static"))
    if case("safe-secret-own-s3"):
        # the secret also goes to the stack's own bucket (S3 ignores custom headers): it leaks nowhere
        bucket = aws.s3.BucketV2("static", tags=tags("edge"))
        oac = aws.cloudfront.OriginAccessControl("static-oac", origin_access_control_origin_type="s3",
                                                 signing_behavior="always", signing_protocol="sigv4")
        origins.append({"origin_id": "static", "domain_name": bucket.bucket_regional_domain_name,
                        "origin_access_control_id": oac.id,
                        "custom_headers": [{"name": "X-Origin-Verify", "value": secret_value}]})
        behaviours.append(behaviour("/static/*", "static"))
    if case("lambda-edge-ordered-origin-response"):
        # Lambda@Edge on one ordered behaviour's origin responses: still app code on the attacker's request
        fn = edge_function("edge-fn")
        behaviours.append(behaviour("/api/*", "origin", lambda_function_associations=[
            {"event_type": "origin-response", "lambda_arn": fn.qualified_arn}]))
    if case("lambda-edge-literal-arn"):
        # a Lambda@Edge version by literal ARN: code the stack does not hold runs on viewer requests
        default_extra["lambda_function_associations"] = [
            {"event_type": "viewer-request", "lambda_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:edge-auth:7"}]
    if case("lambda-edge-viewer-request"):
        # Lambda@Edge on viewer requests: app code run on every attacker request before any node
        fn = edge_function("edge-fn")
        default_extra["lambda_function_associations"] = [
            {"event_type": "viewer-request", "lambda_arn": fn.qualified_arn, "include_body": True}]
    if case("cloudfront-function-behaviour"):
        # a CloudFront Function on one behaviour: code run on attacker input at the edge
        cf_fn = aws.cloudfront.Function("edge-rewrite", runtime="cloudfront-js-2.0", publish=True,
                                        code="function handler(event) { return event.request; }")
        behaviours.append(behaviour("/api/*", "origin", function_associations=[
            {"event_type": "viewer-request", "function_arn": cf_fn.arn}]))
    kwargs = {}
    if case("header-leak-origin-group"):
        kwargs["origin_groups"] = [{"origin_id": "group", "failover_criteria": {"status_codes": [502, 503]},
                                    "members": [{"origin_id": "origin"}, {"origin_id": "failover"}]}]
        default_extra["target_origin_id"] = "group"
        default_extra["allowed_methods"] = ["GET", "HEAD"]
    distribution("edge-cdn", origins, behaviours=behaviours, default_extra=default_extra, **kwargs)
    if case("header-second-distribution-no-waf"):
        # a second distribution of the stack, without WAF, sends the secret to the same ALB: anyone
        # reaches the nodes through it around the web ACL
        distribution("edge-cdn-2", [custom_origin(edge_alb.dns_name, headers={"X-Origin-Verify": secret_value})],
                     acl=False)
    if case("header-leak-other-distribution"):
        # another distribution (with WAF) sends the same secret to a partner's origin: it leaks there
        distribution("edge-cdn-2", [custom_origin("media.partner-cdn.example",
                                                  headers={"X-Origin-Verify": secret_value})])

if BASELINE == "cloudfront-vpc-origin":
    # CloudFront VPC origin -> an internal load balancer in the private subnets -> nodes
    origin_sg = aws.ec2.SecurityGroup("origin-sg", vpc_id=vpc_id, description="VPC origin", tags=tags("edge"))
    aws.vpc.SecurityGroupIngressRule("origin-from-cf", security_group_id=origin_sg.id, ip_protocol="tcp",
                                     from_port=443, to_port=443, prefix_list_id=cf_list.id)
    node_ingress("node-from-origin", origin_sg)
    if case("safe-vpc-origin-nlb"):
        origin_lb = aws.lb.LoadBalancer("origin-lb", internal=True, load_balancer_type="network", subnets=node_ids,
                                        security_groups=[origin_sg.id], tags=tags("edge"))
        aws.lb.Listener("origin-tcp", load_balancer_arn=origin_lb.arn, port=443, protocol="TCP",
                        default_actions=[{"type": "forward", "target_group_arn": tcp_node_tg("node-tcp-tg").arn}])
    else:
        origin_lb = aws.lb.LoadBalancer("origin-lb", internal=True, load_balancer_type="application",
                                        subnets=node_ids, security_groups=[origin_sg.id],
                                        drop_invalid_header_fields=True, tags=tags("edge"))
        https_listener("origin-https", origin_lb, [{"type": "forward", "target_group_arn": node_tg.arn}])
    vo = aws.cloudfront.VpcOrigin("edge-vpc-origin", vpc_origin_endpoint_config={
        "name": "edge-vpc-origin", "arn": origin_lb.arn, "http_port": 80, "https_port": 443,
        "origin_protocol_policy": "https-only", "origin_ssl_protocols": {"items": ["TLSv1.2"], "quantity": 1}},
        tags=tags("edge"))
    regional = case("safe-vpc-origin-regional-acl")
    if regional:
        # the WAF sits on the origin ALB (REGIONAL), none on the distribution
        aws.wafv2.WebAclAssociation("origin-acl", resource_arn=origin_lb.arn, web_acl_arn=regional_acl().arn)
    default_extra = {}
    if case("cloudfront-function-viewer-response"):
        # a CloudFront Function on the default behaviour's viewer responses: it reads the viewer's request too
        cf_fn = aws.cloudfront.Function("edge-headers", runtime="cloudfront-js-2.0", publish=True,
                                        code="function handler(event) { return event.response; }")
        default_extra["function_associations"] = [{"event_type": "viewer-response", "function_arn": cf_fn.arn}]
    if case("lambda-edge-origin-request"):
        fn = edge_function("edge-fn")
        default_extra["lambda_function_associations"] = [
            {"event_type": "origin-request", "lambda_arn": fn.qualified_arn}]
    distribution("edge-cdn", [{"origin_id": "origin", "domain_name": origin_lb.dns_name,
                               "vpc_origin_config": {"vpc_origin_id": vo.id}}], acl=not regional,
                 default_extra=default_extra)
    if case("ram-share-vpc-origin"):
        # the VPC origin shared with another account: its distributions (no WAF of ours) reach the nodes
        share = aws.ram.ResourceShare("vpc-origin-share", name="vpc-origin", allow_external_principals=True,
                                      tags=tags("network"))
        aws.ram.ResourceAssociation("share-vpc-origin", resource_arn=vo.arn, resource_share_arn=share.arn)
        aws.ram.PrincipalAssociation("vpc-origin-principal", principal=FOREIGN_ACCOUNT, resource_share_arn=share.arn)

if BASELINE == "nlb":
    # an internet-facing NLB without WAF, acknowledged by its exemption tag (TCP, not HTTP)
    # an NLB made without security groups passes every client address; its targets see the NLB's
    # own addresses (IP targets over TCP, client IP preservation off), so they admit its subnets
    NLB_NO_SG = case("nlb-no-sg-app-listener", "safe-nlb-no-sg")
    nlb_sg = aws.ec2.SecurityGroup("nlb-sg", vpc_id=vpc_id, description="edge NLB", tags=tags("edge"))
    world_ports = (443, 9443) if case("nlb-tls-listener-range") else (443, 443)
    aws.vpc.SecurityGroupIngressRule("nlb-from-world", security_group_id=nlb_sg.id, ip_protocol="tcp",
                                     from_port=world_ports[0], to_port=world_ports[1], cidr_ipv4="0.0.0.0/0")
    edge_nlb = aws.lb.LoadBalancer(
        "edge-nlb", internal=False, load_balancer_type="network", subnets=edge_ids,
        security_groups=None if NLB_NO_SG else [nlb_sg.id],
        enable_cross_zone_load_balancing=case("safe-nlb-preserve-client-ip") or None,
        tags=tags("edge", **{"layerguard:waf-exemption": "TLS passthrough to the nodes; mutual TLS clients only"}))
    if case("nlb-to-app-alb", "safe-nlb-to-internal-alb-nodes"):
        # the NLB forwards to an ALB target group (target_type "alb", NLB -> ALB); the bypass variant
        # targets the app's internal ALB, the secure one an internal edge ALB (with WAF) in front of the nodes
        if case("nlb-to-app-alb"):
            inner_alb = app_alb
            aws.vpc.SecurityGroupIngressRule("app-lb-from-nlb", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                             from_port=80, to_port=80, referenced_security_group_id=nlb_sg.id)
            inner_port = 80
        else:
            inner_sg = aws.ec2.SecurityGroup("inner-alb-sg", vpc_id=vpc_id, description="inner ALB", tags=tags("edge"))
            aws.vpc.SecurityGroupIngressRule("inner-from-nlb", security_group_id=inner_sg.id, ip_protocol="tcp",
                                             from_port=443, to_port=443, referenced_security_group_id=nlb_sg.id)
            inner_alb = aws.lb.LoadBalancer("inner-alb", internal=True, load_balancer_type="application",
                                            subnets=node_ids, security_groups=[inner_sg.id],
                                            drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
                                            tags=tags("edge"))
            inner_https = https_listener("inner-https", inner_alb, [{"type": "forward", "target_group_arn": node_tg.arn}])
            aws.wafv2.WebAclAssociation("inner-acl", resource_arn=inner_alb.arn, web_acl_arn=regional_acl().arn)
            node_ingress("node-from-inner", inner_sg)
            inner_port = 443
        alb_tg = aws.lb.TargetGroup("alb-tg", port=inner_port, protocol="TCP", target_type="alb", vpc_id=vpc_id,
                                    tags=tags("app" if case("nlb-to-app-alb") else "edge"))
        aws.lb.TargetGroupAttachment("alb-tg-target", target_group_arn=alb_tg.arn, target_id=inner_alb.arn,
                                     port=inner_port, opts=pulumi.ResourceOptions(
                                         depends_on=[app_listener if case("nlb-to-app-alb") else inner_https]))
        edge_target = alb_tg
    else:
        # client IP preservation on (and cross-zone): the nodes still admit only the NLB's group
        edge_target = tcp_node_tg("node-tcp-tg", **({"preserve_client_ip": "true",
                                                     "load_balancing_cross_zone_enabled": "true"}
                                                    if case("safe-nlb-preserve-client-ip") else {}))
    aws.lb.Listener("edge-tcp", load_balancer_arn=edge_nlb.arn, port=443, protocol="TCP",
                    default_actions=[{"type": "forward", "target_group_arn": edge_target.arn}])
    if NLB_NO_SG:
        aws.vpc.SecurityGroupIngressRule("node-from-nlb", security_group_id=node_sg.id, ip_protocol="tcp",
                                         from_port=80, to_port=80, cidr_ipv4="10.0.0.0/23")
    else:
        node_ingress("node-from-nlb", nlb_sg)
    if case("nlb-no-sg-app-listener"):
        # a second listener straight to the app, which admits the NLB's subnets: no group stands in front
        admin_tg = aws.lb.TargetGroup("app-admin-tg", port=8080, protocol="TCP", target_type="ip", vpc_id=vpc_id,
                                      tags=tags("app"))
        app_lbs.append({"target_group_arn": admin_tg.arn, "container_name": "app", "container_port": 8080})
        aws.lb.Listener("edge-admin", load_balancer_arn=edge_nlb.arn, port=8443, protocol="TCP",
                        default_actions=[{"type": "forward", "target_group_arn": admin_tg.arn}])
        aws.vpc.SecurityGroupIngressRule("app-task-from-nlb-subnets", security_group_id=app_task_sg.id,
                                         ip_protocol="tcp", from_port=8080, to_port=8080, cidr_ipv4="10.0.0.0/23")
    if case("nlb-udp-listener-app", "safe-nlb-udp-tcp-only"):
        # a UDP listener straight to the app; the bypass variant admits UDP from the world on it, the
        # secure one only TCP on that port (a UDP datagram is not admitted by a TCP rule)
        udp_tg = aws.lb.TargetGroup("app-udp-tg", port=5353, protocol="UDP", target_type="ip", vpc_id=vpc_id,
                                    tags=tags("app"))
        app_lbs.append({"target_group_arn": udp_tg.arn, "container_name": "app", "container_port": 8080})
        aws.lb.Listener("edge-udp", load_balancer_arn=edge_nlb.arn, port=5353, protocol="UDP",
                        default_actions=[{"type": "forward", "target_group_arn": udp_tg.arn}])
        aws.vpc.SecurityGroupIngressRule("nlb-udp-in", security_group_id=nlb_sg.id,
                                         ip_protocol="udp" if case("nlb-udp-listener-app") else "tcp",
                                         from_port=5353, to_port=5353, cidr_ipv4="0.0.0.0/0")
        aws.vpc.SecurityGroupIngressRule("app-task-udp-from-nlb", security_group_id=app_task_sg.id, ip_protocol="udp",
                                         from_port=5353, to_port=5353, referenced_security_group_id=nlb_sg.id)
    if case("nlb-tls-listener-range"):
        # the world rule widened to 443-9443; a TLS listener on 9443 terminates and forwards to the app
        tls_tg = aws.lb.TargetGroup("app-tls-tg", port=8080, protocol="TCP", target_type="ip", vpc_id=vpc_id,
                                    tags=tags("app"))
        app_lbs.append({"target_group_arn": tls_tg.arn, "container_name": "app", "container_port": 8080})
        aws.lb.Listener("edge-tls-app", load_balancer_arn=edge_nlb.arn, port=9443, protocol="TLS",
                        certificate_arn=CERT, ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                        default_actions=[{"type": "forward", "target_group_arn": tls_tg.arn}])
        aws.vpc.SecurityGroupIngressRule("app-task-tls-from-nlb", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, referenced_security_group_id=nlb_sg.id)
    if case("safe-nlb-private-listener", "nlb-admin-listener-world"):
        # an admin listener straight to the app, admitted only from a private (node) subnet; the
        # bypass variant admits a public range on it
        admin_tg = aws.lb.TargetGroup("app-admin-tg", port=8080, protocol="TCP", target_type="ip", vpc_id=vpc_id,
                                      tags=tags("app"))
        app_lbs.append({"target_group_arn": admin_tg.arn, "container_name": "app", "container_port": 8080})
        aws.lb.Listener("edge-admin", load_balancer_arn=edge_nlb.arn, port=8443, protocol="TCP",
                        default_actions=[{"type": "forward", "target_group_arn": admin_tg.arn}])
        source = "10.0.10.0/24" if case("safe-nlb-private-listener") else "198.51.100.0/24"
        aws.vpc.SecurityGroupIngressRule("nlb-admin-in", security_group_id=nlb_sg.id, ip_protocol="tcp",
                                         from_port=8443, to_port=8443, cidr_ipv4=source)
        aws.vpc.SecurityGroupIngressRule("app-task-from-nlb", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, referenced_security_group_id=nlb_sg.id)

api = stage = None
if BASELINE == "rest-api":
    # REST API (REGIONAL) stage + WAF -> VPC link -> internal NLB -> nodes; a regional custom domain
    link_nlb_sg = aws.ec2.SecurityGroup("link-nlb-sg", vpc_id=vpc_id, description="VPC link NLB", tags=tags("edge"))
    link_nlb = aws.lb.LoadBalancer("link-nlb", internal=True, load_balancer_type="network", subnets=node_ids,
                                   security_groups=[link_nlb_sg.id], tags=tags("edge"),
                                   enforce_security_group_inbound_rules_on_private_link_traffic="off")
    aws.lb.Listener("link-tcp", load_balancer_arn=link_nlb.arn, port=80, protocol="TCP",
                    default_actions=[{"type": "forward", "target_group_arn": tcp_node_tg("node-tcp-tg").arn}])
    node_ingress("node-from-link-nlb", link_nlb_sg)
    link = aws.apigateway.VpcLink("rest-link", target_arn=link_nlb.arn, tags=tags("edge"))
    behind_cf = case("domain-after-cloudfront", "domain-v2-after-cloudfront", "safe-rest-api-key-cloudfront",
                     "domain-edge-after-cloudfront", "safe-domain-stage-waf-behind-cf", "rest-api-cloudfront-endpoint-on")
    rest_type = "EDGE" if case("safe-rest-api-edge-type") else "REGIONAL"
    api = aws.apigateway.RestApi("rest-api", endpoint_configuration={"types": rest_type}, tags=tags("edge"),
                                 disable_execute_api_endpoint=case("domain-after-cloudfront", "domain-v2-after-cloudfront",
                                                                   "domain-edge-after-cloudfront",
                                                                   "safe-domain-stage-waf-behind-cf",
                                                                   "domain-mapping-all-stages") or None)
    key_required = case("safe-rest-api-key-cloudfront", "rest-api-key-no-waf")
    auth = {"authorization": "NONE"}
    if case("rest-api-lambda-authorizer"):
        # a REQUEST authorizer Lambda: app code run on every attacker request, before any node
        authorizer_fn = app_function("authorizer-fn")
        authorizer = aws.apigateway.Authorizer(
            "api-authorizer", rest_api=api.id, type="REQUEST", identity_source="method.request.header.Authorization",
            authorizer_uri=authorizer_fn.invoke_arn)
        auth = {"authorization": "CUSTOM", "authorizer_id": authorizer.id}
    if case("rest-api-authorizer-labelled-edge"):
        # a REQUEST authorizer whose function is labelled `edge`: still customer code on every request
        authorizer_fn = aws.lambda_.Function("authorizer-fn", role=f"arn:aws:iam::{ACCOUNT}:role/app-fn",
                                             runtime="python3.12", handler="index.handler",
                                             code=pulumi.AssetArchive({}), tags=tags("edge"))
        authorizer = aws.apigateway.Authorizer(
            "api-authorizer", rest_api=api.id, type="REQUEST", identity_source="method.request.header.Authorization",
            authorizer_uri=authorizer_fn.invoke_arn)
        auth = {"authorization": "CUSTOM", "authorizer_id": authorizer.id}
    if case("rest-api-token-authorizer-alias"):
        # `type` unset is TOKEN: the function (through an alias) runs on every caller's token
        authorizer_fn = app_function("authorizer-fn", publish=True)
        live = aws.lambda_.Alias("authorizer-live", function_name=authorizer_fn.name,
                                 function_version=authorizer_fn.version)
        authorizer = aws.apigateway.Authorizer("api-authorizer", rest_api=api.id, authorizer_uri=live.invoke_arn)
        auth = {"authorization": "CUSTOM", "authorizer_id": authorizer.id}
    if case("safe-rest-api-cognito-authorizer"):
        pool = aws.cognito.UserPool("users", tags=tags("edge"))
        authorizer = aws.apigateway.Authorizer("api-authorizer", rest_api=api.id, type="COGNITO_USER_POOLS",
                                               provider_arns=[pool.arn])
        auth = {"authorization": "COGNITO_USER_POOLS", "authorizer_id": authorizer.id}
    method = aws.apigateway.Method("root-any", rest_api=api.id, resource_id=api.root_resource_id, http_method="ANY",
                                   api_key_required=key_required or None, **auth)
    integ = aws.apigateway.Integration(
        "nodes-integration", rest_api=api.id, resource_id=api.root_resource_id, http_method=method.http_method,
        type="HTTP_PROXY", integration_http_method="ANY", connection_type="VPC_LINK", connection_id=link.id,
        uri=link_nlb.dns_name.apply(lambda d: f"http://{d}/"))
    deps = [integ]
    if case("integration-literal-function"):
        # an integration to a function named by a literal: it is the stack's app function
        app_function("app-fn", name="app-fn")
        fn_resource = aws.apigateway.Resource("fn-resource", rest_api=api.id, parent_id=api.root_resource_id,
                                              path_part="fn")
        fn_method = aws.apigateway.Method("fn-any", rest_api=api.id, resource_id=fn_resource.id, http_method="ANY",
                                          authorization="NONE")
        deps.append(aws.apigateway.Integration(
            "fn-integration", rest_api=api.id, resource_id=fn_resource.id, http_method=fn_method.http_method,
            type="AWS_PROXY", integration_http_method="POST",
            uri=(f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
                 f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:app-fn/invocations")))
    if case("rest-link-nlb-app-listener"):
        # the VPC link's NLB gets a second listener, on 8080, straight to the app tasks, and an
        # integration through the same link names that port: API -> link -> NLB:8080 -> app
        app_tcp_tg = aws.lb.TargetGroup("app-tcp-tg", port=8080, protocol="TCP", target_type="ip", vpc_id=vpc_id,
                                        tags=tags("app"))
        app_lbs.append({"target_group_arn": app_tcp_tg.arn, "container_name": "app", "container_port": 8080})
        aws.lb.Listener("link-app-listener", load_balancer_arn=link_nlb.arn, port=8080, protocol="TCP",
                        default_actions=[{"type": "forward", "target_group_arn": app_tcp_tg.arn}])
        aws.vpc.SecurityGroupIngressRule("app-task-from-link-nlb", security_group_id=app_task_sg.id,
                                         ip_protocol="tcp", from_port=8080, to_port=8080,
                                         referenced_security_group_id=link_nlb_sg.id)
        aws.vpc.SecurityGroupIngressRule("link-nlb-8080", security_group_id=link_nlb_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, cidr_ipv4="10.0.0.0/16")
        r = aws.apigateway.Resource("internal-resource", rest_api=api.id, parent_id=api.root_resource_id,
                                    path_part="internal")
        m = aws.apigateway.Method("internal-any", rest_api=api.id, resource_id=r.id, http_method="ANY",
                                  authorization="NONE")
        deps.append(aws.apigateway.Integration(
            "internal-integration", rest_api=api.id, resource_id=r.id, http_method=m.http_method,
            type="HTTP_PROXY", integration_http_method="ANY", connection_type="VPC_LINK", connection_id=link.id,
            uri=link_nlb.dns_name.apply(lambda d: f"http://{d}:8080/")))
    if case("rest-link-to-app-nlb"):
        # a second VPC link, to an internal NLB of the app's in front of the app tasks
        app_nlb = aws.lb.LoadBalancer("app-nlb", internal=True, load_balancer_type="network", subnets=app_ids,
                                      tags=tags("app"))
        app_tcp_tg = aws.lb.TargetGroup("app-tcp-tg", port=8080, protocol="TCP", target_type="ip", vpc_id=vpc_id,
                                        tags=tags("app"))
        app_lbs.append({"target_group_arn": app_tcp_tg.arn, "container_name": "app", "container_port": 8080})
        aws.lb.Listener("app-nlb-tcp", load_balancer_arn=app_nlb.arn, port=8080, protocol="TCP",
                        default_actions=[{"type": "forward", "target_group_arn": app_tcp_tg.arn}])
        aws.vpc.SecurityGroupIngressRule("app-task-from-vpc", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, cidr_ipv4="10.0.20.0/23")
        app_link = aws.apigateway.VpcLink("app-link", target_arn=app_nlb.arn, tags=tags("edge"))
        r = aws.apigateway.Resource("direct-resource", rest_api=api.id, parent_id=api.root_resource_id,
                                    path_part="direct")
        m = aws.apigateway.Method("direct-any", rest_api=api.id, resource_id=r.id, http_method="ANY",
                                  authorization="NONE")
        deps.append(aws.apigateway.Integration(
            "direct-integration", rest_api=api.id, resource_id=r.id, http_method=m.http_method,
            type="HTTP_PROXY", integration_http_method="ANY", connection_type="VPC_LINK", connection_id=app_link.id,
            uri=app_nlb.dns_name.apply(lambda d: f"http://{d}:8080/")))
    if case("rest-integration-app-function"):
        # a Lambda proxy integration of the app's function (linked by its invoke ARN) on /fn
        fn = app_function("app-fn")
        r = aws.apigateway.Resource("fn-resource", rest_api=api.id, parent_id=api.root_resource_id, path_part="fn")
        m = aws.apigateway.Method("fn-any", rest_api=api.id, resource_id=r.id, http_method="ANY",
                                  authorization="NONE")
        deps.append(aws.apigateway.Integration(
            "fn-integration", rest_api=api.id, resource_id=r.id, http_method=m.http_method, type="AWS_PROXY",
            integration_http_method="POST", uri=fn.invoke_arn))
    deployment = aws.apigateway.Deployment("rest-deployment", rest_api=api.id,
                                           opts=pulumi.ResourceOptions(depends_on=deps))
    stage = aws.apigateway.Stage("rest-stage", rest_api=api.id, deployment=deployment.id, stage_name="v1",
                                 tags=tags("edge"))
    if case("rest-acl-cloudfront-scope"):
        # the stack's CLOUDFRONT-scope ACL associated with the stage: AWS refuses a global ACL there
        aws.wafv2.WebAclAssociation("rest-acl", resource_arn=stage.arn, web_acl_arn=cloudfront_acl().arn)
    elif case("rest-acl-other-region"):
        # a REGIONAL ACL, but created in us-east-1 (through the CloudFront provider): a web ACL
        # protects resources of its own region only, so AWS refuses the association with the
        # eu-west-1 stage
        use1_acl = web_acl("use1-acl", "REGIONAL", opts=pulumi.ResourceOptions(provider=use1))
        aws.wafv2.WebAclAssociation("rest-acl", resource_arn=stage.arn, web_acl_arn=use1_acl.arn)
    elif case("rest-acl-wrong-resource"):
        # the association names the app's internal ALB instead of the stage
        aws.wafv2.WebAclAssociation("rest-acl", resource_arn=app_alb.arn, web_acl_arn=regional_acl().arn)
    elif case("rest-api-key-no-waf"):
        # API keys instead of WAF: every method requires a key, handed to clients (no CloudFront)
        key = aws.apigateway.ApiKey("client-key", tags=tags("edge"))
        plan = aws.apigateway.UsagePlan("client-plan", api_stages=[{"api_id": api.id, "stage": stage.stage_name}],
                                        throttle_settings={"rate_limit": 100, "burst_limit": 200}, tags=tags("edge"))
        aws.apigateway.UsagePlanKey("client-plan-key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id)
    elif not behind_cf or case("safe-domain-stage-waf-behind-cf"):
        aws.wafv2.WebAclAssociation("rest-acl", resource_arn=stage.arn, web_acl_arn=regional_acl().arn)
    if case("safe-rest-method-settings"):
        # throttling and logging for every method of the stage: no path of its own
        aws.apigateway.MethodSettings("rest-method-settings", rest_api=api.id, stage_name=stage.stage_name,
                                      method_path="*/*", settings={"metrics_enabled": True, "logging_level": "INFO",
                                                                   "throttling_rate_limit": 100,
                                                                   "throttling_burst_limit": 200})
    if case("safe-rest-two-stages-both-waf"):
        stage_v2 = aws.apigateway.Stage("rest-stage-v2", rest_api=api.id, deployment=deployment.id, stage_name="v2",
                                        tags=tags("edge"))
        aws.wafv2.WebAclAssociation("rest-acl-v2", resource_arn=stage_v2.arn, web_acl_arn=regional_acl().arn)
    if case("rest-second-api-same-link"):
        # a second REST API of the stack through the same VPC link to the nodes, its stage without WAF
        api2 = aws.apigateway.RestApi("rest-api-2", endpoint_configuration={"types": "REGIONAL"}, tags=tags("edge"))
        m2 = aws.apigateway.Method("root-any-2", rest_api=api2.id, resource_id=api2.root_resource_id,
                                   http_method="ANY", authorization="NONE")
        i2 = aws.apigateway.Integration(
            "nodes-integration-2", rest_api=api2.id, resource_id=api2.root_resource_id, http_method=m2.http_method,
            type="HTTP_PROXY", integration_http_method="ANY", connection_type="VPC_LINK", connection_id=link.id,
            uri=link_nlb.dns_name.apply(lambda d: f"http://{d}/"))
        d2 = aws.apigateway.Deployment("rest-deployment-2", rest_api=api2.id,
                                       opts=pulumi.ResourceOptions(depends_on=[i2]))
        aws.apigateway.Stage("rest-stage-2", rest_api=api2.id, deployment=d2.id, stage_name="v1", tags=tags("edge"))
    if case("rest-second-stage-no-waf", "domain-mapping-all-stages"):
        # a second stage of the same deployment, never associated with the web ACL: served without WAF
        aws.apigateway.Stage("rest-stage-v2", rest_api=api.id, deployment=deployment.id, stage_name="v2",
                             tags=tags("edge"))
    if case("domain-v2-after-cloudfront"):
        domain = aws.apigatewayv2.DomainName("api-domain", domain_name="api.example.com", domain_name_configuration={
            "certificate_arn": CERT, "endpoint_type": "REGIONAL", "security_policy": "TLS_1_2"}, tags=tags("edge"))
        aws.apigatewayv2.ApiMapping("api-mapping", api_id=api.id, domain_name=domain.id, stage=stage.stage_name)
        domain_name = domain.domain_name
    elif case("domain-edge-after-cloudfront", "safe-domain-edge-optimized"):
        # an edge-optimized domain (AWS's own CloudFront, no web ACL of ours) in front of the stage
        domain = aws.apigateway.DomainName("api-domain", domain_name="api.example.com", certificate_arn=CERT_USE1,
                                           endpoint_configuration={"types": "EDGE"}, security_policy="TLS_1_2",
                                           tags=tags("edge"))
        aws.apigateway.BasePathMapping("api-mapping", rest_api=api.id, stage_name=stage.stage_name,
                                       domain_name=domain.domain_name)
        domain_name = domain.domain_name
    elif case("domain-mapping-all-stages", "domain-mapping-literal-api"):
        # a regional domain whose mapping names no stage (every stage, by path) or an API by literal id
        domain = aws.apigateway.DomainName("api-domain", domain_name="api.example.com", regional_certificate_arn=CERT,
                                           endpoint_configuration={"types": "REGIONAL"}, security_policy="TLS_1_2",
                                           tags=tags("edge"))
        if case("domain-mapping-all-stages"):
            aws.apigateway.BasePathMapping("api-mapping", rest_api=api.id, domain_name=domain.domain_name)
        else:
            # the legacy API (another stack's, no WAF known) on the same domain under /legacy
            aws.apigateway.BasePathMapping("api-mapping", rest_api=api.id, stage_name=stage.stage_name,
                                           domain_name=domain.domain_name)
            aws.apigateway.BasePathMapping("legacy-mapping", rest_api="a1b2c3d4e5", stage_name="prod",
                                           base_path="legacy", domain_name=domain.domain_name)
        domain_name = domain.domain_name
    elif not case("safe-rest-api-key-cloudfront", "rest-api-cloudfront-endpoint-on"):
        domain = aws.apigateway.DomainName("api-domain", domain_name="api.example.com", regional_certificate_arn=CERT,
                                           endpoint_configuration={"types": "REGIONAL"}, security_policy="TLS_1_2",
                                           tags=tags("edge"))
        aws.apigateway.BasePathMapping("api-mapping", rest_api=api.id, stage_name=stage.stage_name,
                                       domain_name=domain.domain_name)
        domain_name = domain.domain_name
    if case("rest-api-cloudfront-endpoint-on"):
        # behind CloudFront through the default execute-api host, the stage's WAF gone, the default
        # endpoint still on (no API key): anyone calls the execute-api host directly
        host = pulumi.Output.concat(api.id, f".execute-api.{REGION}.amazonaws.com")
        distribution("edge-cdn", [{**custom_origin(host), "origin_path": "/v1"}])
    if case("domain-after-cloudfront", "domain-v2-after-cloudfront", "domain-edge-after-cloudfront",
            "safe-domain-stage-waf-behind-cf"):
        # moved behind CloudFront: the stage's WAF went, the default endpoint is off, CloudFront's
        # origin is the custom domain, which still serves the stage to anyone who calls it
        distribution("edge-cdn", [custom_origin(domain_name)])
    if case("safe-rest-api-key-cloudfront"):
        # every method requires an API key that only CloudFront sends (origin custom header x-api-key)
        key_value = random.RandomPassword("api-key-value", length=40, special=False)
        key = aws.apigateway.ApiKey("cdn-key", value=key_value.result, tags=tags("edge"))
        plan = aws.apigateway.UsagePlan("cdn-plan", api_stages=[{"api_id": api.id, "stage": stage.stage_name}],
                                        tags=tags("edge"))
        aws.apigateway.UsagePlanKey("cdn-plan-key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id)
        host = pulumi.Output.concat(api.id, f".execute-api.{REGION}.amazonaws.com")
        distribution("edge-cdn", [{**custom_origin(host, headers={"x-api-key": key_value.result}),
                                   "origin_path": "/v1"}])

if BASELINE == "http-api-cloudmap":
    # CloudFront + WAF -> HTTP API (default endpoint disabled, as the pack accepts it) -> VPC link ->
    # Cloud Map service whose instances ECS registers: the Wallarm container of the node service
    namespace = aws.servicediscovery.PrivateDnsNamespace("nodes-ns", name="nodes.internal", vpc=vpc_id,
                                                         tags=tags("node"))
    sd_service = aws.servicediscovery.Service(
        "nodes-sd", name="wallarm", tags=tags("node"),
        dns_config={"namespace_id": namespace.id, "routing_policy": "MULTIVALUE",
                    "dns_records": [{"type": "SRV", "ttl": 10}]},
        health_check_custom_config={"failure_threshold": 1})
    registry_container = ("sidecar", 8081) if case("cloudmap-sidecar-port") else ("wallarm", 80)
    node_registries = {"registry_arn": sd_service.arn, "container_name": registry_container[0],
                       "container_port": registry_container[1]}
    link_sg = aws.ec2.SecurityGroup("link-sg", vpc_id=vpc_id, description="VPC link", tags=tags("edge"))
    node_ingress("node-from-link", link_sg)
    if case("cloudmap-sidecar-port"):
        node_ingress("node-sidecar-from-link", link_sg, port=8081)
    link = aws.apigatewayv2.VpcLink("link", security_group_ids=[link_sg.id], subnet_ids=node_ids, tags=tags("edge"))
    endpoint_on = case("http-api-endpoint-on", "http-api-stage-waf-attempt")
    http_api = aws.apigatewayv2.Api("http-api", protocol_type="HTTP", disable_execute_api_endpoint=not endpoint_on,
                                    tags=tags("edge"))
    aws.apigatewayv2.Integration("nodes-integration", api_id=http_api.id, integration_type="HTTP_PROXY",
                                 integration_method="ANY", connection_type="VPC_LINK", connection_id=link.id,
                                 integration_uri=sd_service.arn)
    distribution("edge-cdn", [custom_origin(http_api.api_endpoint.apply(lambda e: e.replace("https://", "")))])
    if case("http-api-lambda-authorizer", "safe-http-api-jwt-authorizer"):
        if case("http-api-lambda-authorizer"):
            # a REQUEST authorizer Lambda: app code run on every caller's request before the VPC link
            fn = app_function("authorizer-fn")
            http_auth = aws.apigatewayv2.Authorizer(
                "http-authorizer", api_id=http_api.id, authorizer_type="REQUEST", authorizer_uri=fn.invoke_arn,
                identity_sources=["$request.header.Authorization"], authorizer_payload_format_version="2.0",
                enable_simple_responses=True)
            route_auth = {"authorization_type": "CUSTOM", "authorizer_id": http_auth.id}
        else:
            # a JWT authorizer: API Gateway checks the token itself, no customer code
            pool = aws.cognito.UserPool("users", tags=tags("edge"))
            http_auth = aws.apigatewayv2.Authorizer(
                "http-authorizer", api_id=http_api.id, authorizer_type="JWT",
                identity_sources=["$request.header.Authorization"],
                jwt_configuration={"audiences": ["app"],
                                   "issuer": pool.endpoint.apply(lambda e: f"https://{e}")})
            route_auth = {"authorization_type": "JWT", "authorizer_id": http_auth.id}
        aws.apigatewayv2.Route("http-default-route", api_id=http_api.id, route_key="$default", **route_auth)
    if case("http-api-domain"):
        # a regional custom domain on the HTTP API: it answers anyone, and an HTTP API takes no WAF
        http_stage = aws.apigatewayv2.Stage("http-stage", api_id=http_api.id, name="$default", auto_deploy=True,
                                            tags=tags("edge"))
        http_domain = aws.apigatewayv2.DomainName("http-domain", domain_name="api.example.com",
                                                  domain_name_configuration={"certificate_arn": CERT,
                                                                             "endpoint_type": "REGIONAL",
                                                                             "security_policy": "TLS_1_2"},
                                                  tags=tags("edge"))
        aws.apigatewayv2.ApiMapping("http-mapping", api_id=http_api.id, domain_name=http_domain.id,
                                    stage=http_stage.id)
    if case("cloudmap-instance-app"):
        # an instance registered by hand in the nodes' Cloud Map service: an app task's address
        aws.servicediscovery.Instance("cloudmap-app-instance", instance_id="app-direct", service_id=sd_service.id,
                                      attributes={"AWS_INSTANCE_IPV4": "10.0.20.15", "AWS_INSTANCE_PORT": "8080"})
    if case("cloudmap-app-service-registers"):
        # the app service registers its own tasks in the nodes' Cloud Map service (and admits the
        # VPC link): the link sends part of the traffic straight to the app
        app_registries = {"registry_arn": sd_service.arn, "container_name": "app", "container_port": 8080}
        aws.vpc.SecurityGroupIngressRule("app-task-from-link", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, referenced_security_group_id=link_sg.id)
    if case("cloudmap-integration-app-service"):
        # a second Cloud Map service, the app's own, behind a second integration of the same API
        app_sd = aws.servicediscovery.Service(
            "app-sd", name="app", tags=tags("app"),
            dns_config={"namespace_id": namespace.id, "routing_policy": "MULTIVALUE",
                        "dns_records": [{"type": "SRV", "ttl": 10}]},
            health_check_custom_config={"failure_threshold": 1})
        app_registries = {"registry_arn": app_sd.arn, "container_name": "app", "container_port": 8080}
        aws.vpc.SecurityGroupIngressRule("app-task-from-link", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, referenced_security_group_id=link_sg.id)
        app_integ = aws.apigatewayv2.Integration(
            "app-integration", api_id=http_api.id, integration_type="HTTP_PROXY", integration_method="ANY",
            connection_type="VPC_LINK", connection_id=link.id, integration_uri=app_sd.arn)
        aws.apigatewayv2.Route("app-route", api_id=http_api.id, route_key="ANY /internal/{proxy+}",
                               target=app_integ.id.apply(lambda i: f"integrations/{i}"))
    if case("cloudmap-instance-node-subnet-ip"):
        # an address inside the node subnet, registered by hand: nothing proves a node answers there
        aws.servicediscovery.Instance("cloudmap-node-ip", instance_id="node-extra", service_id=sd_service.id,
                                      attributes={"AWS_INSTANCE_IPV4": "10.0.10.77", "AWS_INSTANCE_PORT": "80"})
    if case("cloudmap-instance-app-output"):
        # a private app instance's address (an output, unknown at the first preview) registered by hand
        box = aws.ec2.Instance("app-box", ami="ami-0123456789abcdef0", instance_type="t3.micro", subnet_id=app_ids[0],
                               vpc_security_group_ids=[app_task_sg.id], tags=tags("app"))
        aws.vpc.SecurityGroupIngressRule("app-box-from-link", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, referenced_security_group_id=link_sg.id)
        aws.servicediscovery.Instance("cloudmap-app-box", instance_id="app-box", service_id=sd_service.id,
                                      attributes={"AWS_INSTANCE_IPV4": box.private_ip, "AWS_INSTANCE_PORT": "8080"})
    if case("http-api-stage-waf-attempt"):
        # the default endpoint on, and a web ACL "associated" with the $default stage: WAF does not
        # support HTTP APIs (AWS refuses the association), so the execute-api host has no WAF
        v2_stage = aws.apigatewayv2.Stage("http-stage", api_id=http_api.id, name="$default", auto_deploy=True,
                                          tags=tags("edge"))
        aws.wafv2.WebAclAssociation("http-acl", resource_arn=v2_stage.arn, web_acl_arn=regional_acl().arn)
    if case("http-api-link-app-listener", "safe-http-link-app-alb-sg-closed"):
        # an integration through the VPC link naming the app's internal ALB listener; the bypass
        # twin lets the link's group into the app ALB, the secure one does not (the SG drops it)
        if case("http-api-link-app-listener"):
            aws.vpc.SecurityGroupIngressRule("app-lb-from-link", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                             from_port=80, to_port=80, referenced_security_group_id=link_sg.id)
        alb_integ = aws.apigatewayv2.Integration(
            "app-alb-integration", api_id=http_api.id, integration_type="HTTP_PROXY", integration_method="ANY",
            connection_type="VPC_LINK", connection_id=link.id, integration_uri=app_listener.arn)
        aws.apigatewayv2.Route("app-alb-route", api_id=http_api.id, route_key="ANY /app/{proxy+}",
                               target=alb_integ.id.apply(lambda i: f"integrations/{i}"))
    if case("http-api-default-route-app-lambda"):
        # the $default route to a Lambda proxy integration of the app's function, through an alias
        fn = app_function("app-fn", publish=True)
        live = aws.lambda_.Alias("app-fn-live", function_name=fn.name, function_version=fn.version)
        fn_integ = aws.apigatewayv2.Integration("fn-integration", api_id=http_api.id, integration_type="AWS_PROXY",
                                                payload_format_version="2.0", integration_uri=live.invoke_arn)
        aws.apigatewayv2.Route("fn-default-route", api_id=http_api.id, route_key="$default",
                               target=fn_integ.id.apply(lambda i: f"integrations/{i}"))
    if case("safe-link-sg-trusted-no-integration"):
        # the app admits the VPC link's group, but no integration sends the link to the app: a VPC link
        # opens connections only to its integrations' targets (here the nodes' Cloud Map service)
        aws.vpc.SecurityGroupIngressRule("app-task-from-link", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, referenced_security_group_id=link_sg.id)
    if case("http-api-literal-function-arn"):
        # a Lambda proxy integration naming the stack's app function by a literal ARN
        app_function("app-fn", name="app-fn")
        fn_integ = aws.apigatewayv2.Integration(
            "fn-integration", api_id=http_api.id, integration_type="AWS_PROXY", payload_format_version="2.0",
            integration_uri=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:app-fn")
        aws.apigatewayv2.Route("fn-route", api_id=http_api.id, route_key="ANY /fn",
                               target=fn_integ.id.apply(lambda i: f"integrations/{i}"))

# === node fleet =====================================================================================
if BASELINE == "ec2-nodes":
    ami = aws.ec2.get_ami(owners=[WALLARM_AMI_OWNER], most_recent=True,
                          filters=[{"name": "name", "values": [WALLARM_AMI_NAME]}])
    # The pack never sees invoke results, so an AMI id alone says nothing about the image: the
    # program declares the lookup it made (owner and name tags, checked against what Wallarm
    # publishes) and the user data runs Wallarm's documented node set-up on that image
    # (docs.wallarm.com/installation/cloud-platforms/cloud-init/); the token is read at boot.
    ami_tags = {"layerguard:node-ami-owner": ami.owner_id, "layerguard:node-ami-name": ami.name}
    if case("ec2-node-own-image"):
        # an image of the stack's own account that merely carries Wallarm's name: not Wallarm's publisher
        ami_tags["layerguard:node-ami-owner"] = ACCOUNT
    boot = (f"#!/bin/bash\nset -euo pipefail\nsystemctl disable --now nginx.service\n"
            f"token=\"$(aws secretsmanager get-secret-value --secret-id {TOKEN} --query SecretString --output text)\"\n"
            f"/opt/wallarm/usr/share/wallarm-common/cloud-init.py -t \"$token\" -H api.wallarm.com -m block\n"
            f"unset token\nsystemctl enable --now nginx.service\n")
    if case("ec2-node-port-mismatch"):
        # the node's vhost listens on 8443: whatever answers on the target group's port 80 is not the node
        boot += ("cat > /etc/nginx/conf.d/node.conf <<'EOF'\nserver {\n    listen 8443;\n    wallarm_mode block;\n"
                 "    location / { proxy_pass http://app.internal:8080; }\n}\nEOF\n")
    boot64 = base64.b64encode(boot.encode()).decode()
    if case("ec2-node-declared-only"):
        boot64 = None  # the AMI tags alone: a claim of the program, nothing shows the node is set up
    if case("safe-ec2-node-instance", "safe-ec2-node-by-private-ip", "ec2-node-public-ip-world"):
        public_node = case("ec2-node-public-ip-world")
        node_box = aws.ec2.Instance("node-instance", ami=ami.id, instance_type="t3.medium",
                                    subnet_id=edge_ids[0] if public_node else node_ids[0],
                                    associate_public_ip_address=public_node or None,
                                    vpc_security_group_ids=[node_sg.id], metadata_options={"http_tokens": "required"},
                                    user_data_base64=boot64, tags=tags("node", **ami_tags))
        if public_node:
            # a node with a public address in a public subnet, admitted from the world: anyone
            # reaches the node (and through it the app) without the edge ALB's WAF
            aws.vpc.SecurityGroupIngressRule("node-from-world", security_group_id=node_sg.id, ip_protocol="tcp",
                                             from_port=80, to_port=80, cidr_ipv4="0.0.0.0/0")
        if case("safe-ec2-node-by-private-ip"):
            # registered by its private IP in an `ip` target group (the ALB forwards there instead)
            ip_tg = aws.lb.TargetGroup("node-ip-tg", port=80, protocol="HTTP", target_type="ip", vpc_id=vpc_id,
                                       tags=tags("node"))
            aws.lb.TargetGroupAttachment("node-ip-attachment", target_group_arn=ip_tg.arn,
                                         target_id=node_box.private_ip, port=80)
            aws.lb.ListenerRule("edge-node-ip", listener_arn=edge_https.arn, priority=10,
                                actions=[{"type": "forward", "target_group_arn": ip_tg.arn}],
                                conditions=[{"path_pattern": {"values": ["/*"]}}])
        else:
            aws.lb.TargetGroupAttachment("node-instance-attachment", target_group_arn=node_tg.arn,
                                         target_id=node_box.id)
    elif case("ec2-node-mixed-override-literal-lt", "ec2-node-mixed-override-plain-lt", "safe-ec2-node-mixed-instances"):
        # a mixed-instances policy over the node template; overrides by instance type only (secure),
        # or one override that boots another launch template: one by literal id (what it boots is
        # not the stack's to read) or one of the stack without Wallarm's image and set-up
        lt = aws.ec2.LaunchTemplate("node-lt", image_id=ami.id, instance_type="t3.medium",
                                    vpc_security_group_ids=[node_sg.id], metadata_options={"http_tokens": "required"},
                                    user_data=boot64, tags=tags("node", **ami_tags))
        overrides = [{"instance_type": "t3.medium"}, {"instance_type": "t3a.medium"}]
        if case("ec2-node-mixed-override-literal-lt"):
            overrides.append({"instance_type": "m5.large",
                              "launch_template_specification": {"launch_template_id": "lt-0f1e2d3c4b5a69788",
                                                                "version": "$Latest"}})
        if case("ec2-node-mixed-override-plain-lt"):
            plain = aws.ec2.LaunchTemplate("plain-lt", image_id="ami-0123456789abcdef0", instance_type="m5.large",
                                           vpc_security_group_ids=[node_sg.id], tags=tags("node"))
            overrides.append({"instance_type": "m5.large",
                              "launch_template_specification": {"launch_template_id": plain.id, "version": "$Latest"}})
        aws.autoscaling.Group("node-asg", min_size=2, max_size=4, vpc_zone_identifiers=node_ids,
                              mixed_instances_policy={"launch_template": {
                                  "launch_template_specification": {"launch_template_id": lt.id, "version": "$Default"},
                                  "overrides": overrides}},
                              target_group_arns=[node_tg.arn],
                              tags=[{"key": "layerguard:layer", "value": "node", "propagate_at_launch": True}])
    else:
        lt = aws.ec2.LaunchTemplate("node-lt", image_id=ami.id, instance_type="t3.medium",
                                    vpc_security_group_ids=[node_sg.id], metadata_options={"http_tokens": "required"},
                                    user_data=boot64, tags=tags("node", **ami_tags))
        aws.autoscaling.Group("node-asg", min_size=2, max_size=4, vpc_zone_identifiers=node_ids,
                              launch_template={"id": lt.id, "version": "$Latest"}, target_group_arns=[node_tg.arn],
                              tags=[{"key": "layerguard:layer", "value": "node", "propagate_at_launch": True}])
else:
    svc_kwargs = {"service_registries": node_registries} if node_registries else {}
    aws.ecs.Service(
        "node-svc", cluster=cluster.arn, task_definition=node_task.arn, desired_count=2, launch_type="FARGATE",
        network_configuration={"subnets": node_ids, "security_groups": [node_sg.id]},
        load_balancers=node_lbs, tags=tags("node"), **svc_kwargs)

# === the app behind the nodes ========================================================================
v6_subnet = None
if DUAL_STACK:
    # a dual-stack app subnet: IPv6 addresses are global, only the route decides
    v6_rt = aws.ec2.RouteTable("v6-rt", vpc_id=vpc.id, tags=tags("network"))
    if case("ipv6-main-table-route"):
        # ::/0 to the internet gateway on the VPC's main table, which the dual-stack subnet uses
        # implicitly (no association of its own)
        aws.ec2.Route("v6-default", route_table_id=vpc.main_route_table_id, destination_ipv6_cidr_block="::/0",
                      gateway_id=igw.id)
    elif case("safe-ipv6-dual-stack-egress-only", "safe-ipv6-intra-vpc-rule"):
        eigw = aws.ec2.EgressOnlyInternetGateway("eigw", vpc_id=vpc.id, tags=tags("network"))
        aws.ec2.Route("v6-default", route_table_id=v6_rt.id, destination_ipv6_cidr_block="::/0",
                      egress_only_gateway_id=eigw.id)
    else:
        aws.ec2.Route("v6-default", route_table_id=v6_rt.id, destination_ipv6_cidr_block="::/0", gateway_id=igw.id)
    v6_subnet = aws.ec2.Subnet("app-v6", vpc_id=vpc.id, cidr_block="10.0.40.0/24", tags=tags("app"),
                               ipv6_cidr_block=vpc.ipv6_cidr_block.apply(lambda c: c.replace("00::/56", "40::/64")),
                               assign_ipv6_address_on_creation=True)
    if not case("ipv6-main-table-route"):
        aws.ec2.RouteTableAssociation("app-v6-rt", subnet_id=v6_subnet.id, route_table_id=v6_rt.id)
    if case("ipv6-global-unicast-rule"):
        # not ::/0 but all of global unicast space (2000::/3): every internet IPv6 source
        aws.ec2.SecurityGroupRule("v6-world", type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                                  from_port=8080, to_port=8080, ipv6_cidr_blocks=["2000::/3"])
    elif case("safe-ipv6-intra-vpc-rule", "ipv6-vpc-block-rule-public"):
        # the app admits the VPC's own IPv6 block (computed: unknown at the first preview); with the
        # subnet routed ::/0 to the internet gateway that block holds public addresses, with only an
        # egress-only gateway it holds none the internet reaches
        aws.vpc.SecurityGroupIngressRule("v6-vpc", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, cidr_ipv6=vpc.ipv6_cidr_block)
    elif not case("safe-ipv6-dual-stack-sg-closed"):
        # the secure twin admits only the app LB (the baseline rule): public IPv6 addresses, nothing admitted
        aws.vpc.SecurityGroupIngressRule("v6-world", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, cidr_ipv6="::/0")

if not BROWNFIELD:
    if DUAL_STACK and not case("ipv6-instance-computed-cidr"):
        aws.ecs.AccountSettingDefault("dual-stack", name="dualStackIPv6", value="enabled")
        app_svc_subnets = [v6_subnet.id]
        app_svc_name = "app-v6-svc"
    else:
        app_svc_subnets, app_svc_name = app_ids, "app-svc"
    aws.ecs.Service(
        app_svc_name, cluster=cluster.arn, task_definition=app_task.arn, desired_count=2, launch_type="FARGATE",
        network_configuration={"subnets": app_svc_subnets, "security_groups": [app_task_sg.id]},
        load_balancers=app_lbs, tags=tags("app"),
        **({"service_registries": app_registries} if app_registries else {}))
    if case("ipv6-instance-computed-cidr"):
        aws.ec2.Instance("app-v6-worker", ami="ami-0123456789abcdef0", instance_type="t3.micro",
                         subnet_id=v6_subnet.id, ipv6_address_count=1, vpc_security_group_ids=[app_task_sg.id],
                         tags=tags("app"))
else:
    # the existing backend's security group, adopted by literal id: the stack adds the one rule
    # admitting the nodes (docs/CONTRACTS.md, "Foreign security groups")
    ADOPTED_SG = "sg-0a0d0e0c0a0b0c0d1"
    aws.vpc.SecurityGroupIngressRule(
        "backend-from-nodes", security_group_id=ADOPTED_SG, ip_protocol="tcp", from_port=8080, to_port=8080,
        referenced_security_group_id=node_sg.id,
        description="Wallarm nodes to the backend; the only rule this stack adds to this group",
        tags=tags("app", **{"layerguard:foreign-security-group": ADOPTED_SG}))
    aws.vpc.SecurityGroupEgressRule("node-to-backend", security_group_id=node_sg.id, ip_protocol="tcp",
                                    from_port=8080, to_port=8080, referenced_security_group_id=ADOPTED_SG)

# === private API backend ============================================================================
if BASELINE == "private-api":
    endpoint_sg = aws.ec2.SecurityGroup("endpoint-sg", vpc_id=vpc_id, description="execute-api endpoint",
                                        tags=tags("app"))
    aws.vpc.SecurityGroupIngressRule("endpoint-from-nodes", security_group_id=endpoint_sg.id, ip_protocol="tcp",
                                     from_port=443, to_port=443, referenced_security_group_id=node_sg.id)
    endpoint_sgs = [endpoint_sg.id] + (["sg-0f00ba40000000001"] if case("papi-endpoint-literal-sg") else [])
    if case("papi-endpoint-sg-vpc-cidr"):
        # the endpoint's group also admits the whole VPC range: the app (and anything else in the
        # VPC) calls the private API without the nodes
        aws.vpc.SecurityGroupIngressRule("endpoint-from-vpc", security_group_id=endpoint_sg.id, ip_protocol="tcp",
                                         from_port=443, to_port=443, cidr_ipv4="10.0.0.0/16")
    endpoint = aws.ec2.VpcEndpoint("api-endpoint", vpc_id=vpc_id, vpc_endpoint_type="Interface",
                                   service_name=f"com.amazonaws.{REGION}.execute-api", subnet_ids=app_ids,
                                   security_group_ids=endpoint_sgs,
                                   private_dns_enabled=not case("safe-papi-private-dns-off"), tags=tags("app"))
    other_endpoint = None
    if case("papi-second-endpoint-other-vpc"):
        # a second VPC of the stack with its own execute-api endpoint, admitted from that VPC's range
        # and allowed by the API's policy: its workloads call the private API without any node
        other_vpc = aws.ec2.Vpc("other-vpc", cidr_block="10.1.0.0/16", tags=tags("network"))
        other_subnet = aws.ec2.Subnet("other-a", vpc_id=other_vpc.id, cidr_block="10.1.0.0/24",
                                      availability_zone=f"{REGION}a", tags=tags("app"))
        other_sg = aws.ec2.SecurityGroup("other-endpoint-sg", vpc_id=other_vpc.id, description="execute-api",
                                         tags=tags("app"))
        aws.vpc.SecurityGroupIngressRule("other-endpoint-in", security_group_id=other_sg.id, ip_protocol="tcp",
                                         from_port=443, to_port=443, cidr_ipv4="10.1.0.0/16")
        other_endpoint = aws.ec2.VpcEndpoint("other-endpoint", vpc_id=other_vpc.id, vpc_endpoint_type="Interface",
                                             service_name=f"com.amazonaws.{REGION}.execute-api",
                                             subnet_ids=[other_subnet.id], security_group_ids=[other_sg.id],
                                             private_dns_enabled=True, tags=tags("app"))
    inline = "" if case("safe-papi-inline-empty-policy") else None
    if case("papi-inline-open-plus-policy"):
        # an inline policy open to every caller on the RestApi, beside the separate (good) RestApiPolicy
        inline = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]})
    private_api = aws.apigateway.RestApi("private-api", endpoint_configuration={"types": "PRIVATE"},
                                         policy=inline, tags=tags("app"))
    m = aws.apigateway.Method("papi-any", rest_api=private_api.id, resource_id=private_api.root_resource_id,
                              http_method="ANY", authorization="NONE")
    i = aws.apigateway.Integration("papi-integration", rest_api=private_api.id,
                                   resource_id=private_api.root_resource_id, http_method=m.http_method, type="MOCK")
    d = aws.apigateway.Deployment("papi-deployment", rest_api=private_api.id,
                                  opts=pulumi.ResourceOptions(depends_on=[i]))
    aws.apigateway.Stage("papi-stage", rest_api=private_api.id, deployment=d.id, stage_name="v1", tags=tags("app"))
    LITERAL_VPCE = "vpce-0c0ffee0000000001"

    def api_policy(vpce):
        allow = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
                 "Condition": {"StringEquals": {"aws:SourceVpce": vpce}}}
        deny = {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}}
        statements = [allow, deny]
        if case("papi-wildcard-action"):
            # a wildcard action that IAM expands to Invoke, unconditioned, and no Deny
            statements = [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Inv*",
                           "Resource": "execute-api:/*"}]
        if case("papi-deny-other-api"):
            # the Deny names another API's ARN: for this API only the unconditioned Allow applies
            unconditioned = {k: v for k, v in allow.items() if k != "Condition"}
            statements = [unconditioned, {**deny, "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5/*"}]
        if case("papi-extra-literal-vpce"):
            # a second endpoint id (another VPC's or account's) allowed: it reaches the API without nodes
            statements = [{**allow, "Condition": {"StringEquals": {"aws:SourceVpce": [vpce, LITERAL_VPCE]}}},
                          {**deny, "Condition": {"StringNotEquals": {"aws:SourceVpce": [vpce, LITERAL_VPCE]}}}]
        if case("safe-papi-wildcard-conditioned"):
            statements = [{**allow, "Action": "execute-api:Inv*"}, deny]
        if case("safe-papi-extra-deny"):
            statements = [allow, deny, {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
                                        "Resource": "execute-api:/*/DELETE/*"}]
        if case("papi-principal-aws-star"):
            # {"AWS": "*"} is every principal (as "*"); the Allow is unconditioned, no Deny
            statements = [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "execute-api:Invoke",
                           "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*/*/*/*"}]
        if case("papi-notresource-allow"):
            # the endpoint's Allow, plus an unconditioned Allow of everything but DELETE (NotResource)
            statements = [allow, {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                                  "NotResource": "execute-api:/*/DELETE/*"}]
        if case("papi-sourcevpc-other-vpc"):
            # a second Allow on aws:SourceVpc of a VPC that is not the stack's, no Deny
            statements = [allow, {**allow, "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-0abcdef0123456789"}}}]
        if case("safe-papi-deny-ifexists"):
            # IfExists on a key every private API call carries (it comes through an endpoint): a plain Deny
            statements = [allow, {**deny, "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": vpce}}}]
        if case("safe-papi-foranyvalue"):
            # set operators on the single-valued key: ForAnyValue:StringEquals holds only for this
            # endpoint, ForAllValues:StringNotEquals for every other one
            statements = [{**allow, "Condition": {"ForAnyValue:StringEquals": {"aws:SourceVpce": [vpce]}}},
                          {**deny, "Condition": {"ForAllValues:StringNotEquals": {"aws:SourceVpce": [vpce]}}}]
        if case("safe-papi-stage-path-only"):
            # the Allow on stage v1 only, the Deny on every path
            statements = [{**allow, "Resource": "execute-api:/v1/*"}, deny]
        if case("papi-principal-account"):
            # the account's principals (IAM-authorized callers) from any endpoint, in any VPC
            statements = [allow, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                  "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]
        if case("papi-notprincipal-allow"):
            # Allow with NotPrincipal: everyone but one role, unconditioned
            statements = [allow, {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ops"},
                                  "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]
        if case("papi-deny-notprincipal"):
            # an open Allow, and a Deny of other endpoints that spares the account's principals
            statements = [{k: v for k, v in allow.items() if k != "Condition"},
                          {**{k: v for k, v in deny.items() if k != "Principal"},
                           "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]
        if case("papi-allow-notequals"):
            # the Allow conditioned on StringNotEqualsIfExists one bad endpoint: every other one passes
            statements = [{**allow, "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": LITERAL_VPCE}}}]
        if case("papi-stringlike-wildcard"):
            # StringLike vpce-*: every endpoint of every account
            statements = [{**allow, "Condition": {"StringLike": {"aws:SourceVpce": ["vpce-*", vpce]}}}]
        if case("papi-sourceip-only"):
            # a condition on aws:SourceIp (private ranges): not what limits the endpoint, no Deny
            statements = [{**allow, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]
        if case("safe-papi-allow-other-api"):
            # an unconditioned Allow naming another API's ARN does not apply to this one
            statements = [allow, deny, {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                                        "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5/*"}]
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    policy_doc = endpoint.id.apply(api_policy)
    if case("safe-papi-sourcevpc-own-vpc"):
        # limited to the stack's own VPC (aws:SourceVpc from the VPC resource), which holds only its endpoint
        policy_doc = vpc.id.apply(lambda v: json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
             "Condition": {"StringEquals": {"aws:SourceVpc": v}}},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
             "Condition": {"StringNotEquals": {"aws:SourceVpc": v}}}]}))
    if other_endpoint is not None:
        policy_doc = pulumi.Output.all(endpoint.id, other_endpoint.id).apply(lambda ids: api_policy(list(ids)))
    aws.apigateway.RestApiPolicy("private-api-policy", rest_api_id=private_api.id, policy=policy_doc)

# === changes on the shared parts ====================================================================
if case("ram-share-app-subnet"):
    # app subnets shared with another account: its instances launch inside the app subnets and
    # reach the app there, beside the intra-app rule that trusts that range
    aws.ec2.SecurityGroupRule("intra-app", type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                              from_port=8080, to_port=8080, cidr_blocks=["10.0.20.0/23"])
    share = aws.ram.ResourceShare("subnet-share", name="app-subnets", allow_external_principals=True,
                                  tags=tags("network"))
    aws.ram.ResourceAssociation("share-subnet", resource_arn=app_subnets[0].arn, resource_share_arn=share.arn)
    aws.ram.PrincipalAssociation("subnet-principal", principal=FOREIGN_ACCOUNT, resource_share_arn=share.arn)
if case("tgw-auto-accept-shared", "safe-tgw-not-shared"):
    # a Transit Gateway that accepts every attachment automatically, shared with another account:
    # any VPC of that account attaches and is routed to the app range the app trusts
    aws.ec2.SecurityGroupRule("corp-rule", type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                              from_port=8080, to_port=8080, cidr_blocks=["10.1.0.0/16"])
    shared = case("tgw-auto-accept-shared")
    tgw = aws.ec2transitgateway.TransitGateway("tgw", auto_accept_shared_attachments="enable" if shared else "disable",
                                               tags=tags("network"))
    aws.ec2transitgateway.VpcAttachment("tgw-app", transit_gateway_id=tgw.id, vpc_id=vpc.id, subnet_ids=app_ids,
                                        tags=tags("network"))
    corp = aws.ec2.Vpc("corp-vpc", cidr_block="10.1.0.0/16", tags=tags("network"))
    corp_subnet = aws.ec2.Subnet("corp-a", vpc_id=corp.id, cidr_block="10.1.0.0/24", tags=tags("network"))
    aws.ec2transitgateway.VpcAttachment("tgw-corp", transit_gateway_id=tgw.id, vpc_id=corp.id,
                                        subnet_ids=[corp_subnet.id], tags=tags("network"))
    aws.ec2.Route("tgw-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.1.0.0/16",
                  transit_gateway_id=tgw.id)
    if shared:
        share = aws.ram.ResourceShare("tgw-share", name="tgw", allow_external_principals=True, tags=tags("network"))
        aws.ram.ResourceAssociation("tgw-share-assoc", resource_arn=tgw.arn, resource_share_arn=share.arn)
        aws.ram.PrincipalAssociation("tgw-principal", principal=FOREIGN_ACCOUNT, resource_share_arn=share.arn)
if case("endpoint-service-star", "endpoint-service-allowed-principle", "safe-endpoint-service-named",
        "endpoint-service-accepts-foreign", "safe-endpoint-service-acceptance"):
    # PrivateLink in front of the app: an endpoint service anyone (`*`) may connect to, no acceptance
    svc_nlb = aws.lb.LoadBalancer("app-svc-nlb", internal=True, load_balancer_type="network", subnets=app_ids,
                                  tags=tags("app"))
    svc_tg = aws.lb.TargetGroup("app-svc-tg", port=8080, protocol="TCP", target_type="ip", vpc_id=vpc_id,
                                tags=tags("app"))
    aws.lb.Listener("app-svc-tcp", load_balancer_arn=svc_nlb.arn, port=8080, protocol="TCP",
                    default_actions=[{"type": "forward", "target_group_arn": svc_tg.arn}])
    aws.ecs.Service("app-link-svc", cluster=cluster.arn, task_definition=app_task.arn, desired_count=1,
                    launch_type="FARGATE", network_configuration={"subnets": app_ids, "security_groups": [app_task_sg.id]},
                    load_balancers=[{"target_group_arn": svc_tg.arn, "container_name": "app", "container_port": 8080}],
                    tags=tags("app"))
    aws.ec2.SecurityGroupRule("app-from-nlb-subnets", type="ingress", security_group_id=app_task_sg.id,
                              protocol="tcp", from_port=8080, to_port=8080, cidr_blocks=["10.0.20.0/23"])
    star = case("endpoint-service-star")
    # one named partner account, every connection to be accepted: only what the stack accepts connects
    named = case("endpoint-service-accepts-foreign", "safe-endpoint-service-acceptance")
    principals = ["*"] if star else [f"arn:aws:iam::{FOREIGN_ACCOUNT}:root"] if named else None
    ep_service = aws.ec2.VpcEndpointService(
        "app-endpoint-service", acceptance_required=named, network_load_balancer_arns=[svc_nlb.arn],
        allowed_principals=principals, tags=tags("app"))
    if case("endpoint-service-accepts-foreign"):
        # ... and the stack accepts the partner's endpoint (a literal id: another account's VPC)
        aws.ec2.VpcEndpointConnectionAccepter("svc-accept-partner", vpc_endpoint_service_id=ep_service.id,
                                              vpc_endpoint_id="vpce-0a1b2c3d4e5f60718")
    if case("endpoint-service-allowed-principle"):
        aws.ec2.VpcEndpointServiceAllowedPrinciple("svc-principal-star", vpc_endpoint_service_id=ep_service.id,
                                                   principal_arn="*")
    if case("safe-endpoint-service-named"):
        # the stack's own interface endpoint is the only consumer: no principal of another account
        consumer = aws.ec2.SecurityGroup("consumer-sg", vpc_id=vpc_id, description="consumer", tags=tags("node"))
        aws.ec2.VpcEndpoint("app-consumer", vpc_id=vpc_id, vpc_endpoint_type="Interface",
                            service_name=ep_service.service_name, subnet_ids=node_ids,
                            security_group_ids=[consumer.id], tags=tags("node"))
if case("peering-accepter-foreign"):
    # the stack accepts a peering a foreign account requested, routes its range, and the app LB admits it
    accepted = aws.ec2.VpcPeeringConnectionAccepter("peer-accept", vpc_peering_connection_id="pcx-0f0e0d0c0b0a09080",
                                                    auto_accept=True, tags=tags("network"))
    app_rt = aws.ec2.RouteTable("app-rt", vpc_id=vpc.id, tags=tags("network"))
    for n, s in enumerate(app_subnets):
        aws.ec2.RouteTableAssociation(f"app-rt-{n}", subnet_id=s.id, route_table_id=app_rt.id)
    aws.ec2.Route("peer-route", route_table_id=app_rt.id, destination_cidr_block="172.16.0.0/12",
                  vpc_peering_connection_id=accepted.id)
    aws.vpc.SecurityGroupIngressRule("partner-rule", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, cidr_ipv4="172.16.0.0/12")
if case("ram-share-node-subnet-org", "safe-ram-share-node-subnet-sg-refs"):
    # the node subnets shared with the organization: its accounts place resources in them (never in
    # the stack's security groups, which stay the owner's)
    if case("ram-share-node-subnet-org"):
        # ... and the app LB trusts the node subnets' range, which their resources now share
        aws.vpc.SecurityGroupIngressRule("app-lb-from-node-range", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                         from_port=80, to_port=80, cidr_ipv4="10.0.10.0/23")
    share = aws.ram.ResourceShare("node-subnet-share", name="node-subnets", allow_external_principals=False,
                                  tags=tags("network"))
    for n, s in enumerate(node_subnets):
        aws.ram.ResourceAssociation(f"share-node-subnet-{n}", resource_arn=s.arn, resource_share_arn=share.arn)
    aws.ram.PrincipalAssociation("node-subnet-org", resource_share_arn=share.arn,
                                 principal=f"arn:aws:organizations::{ACCOUNT}:organization/o-a1b2c3d4e5")
if case("safe-ram-share-prefix-list"):
    # a prefix list of the node ranges, trusted by the app LB and shared with another account: a
    # consumer may reference it, only its owner (the stack) may change its entries
    nodes_pl = aws.ec2.ManagedPrefixList("node-ranges", name="node-ranges", address_family="IPv4", max_entries=4,
                                         entries=[{"cidr": "10.0.10.0/24"}, {"cidr": "10.0.11.0/24"}],
                                         tags=tags("network"))
    aws.vpc.SecurityGroupIngressRule("app-lb-from-node-list", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, prefix_list_id=nodes_pl.id)
    share = aws.ram.ResourceShare("pl-share", name="node-ranges", allow_external_principals=True, tags=tags("network"))
    aws.ram.ResourceAssociation("share-prefix-list", resource_arn=nodes_pl.arn, resource_share_arn=share.arn)
    aws.ram.PrincipalAssociation("pl-principal", principal=FOREIGN_ACCOUNT, resource_share_arn=share.arn)
if case("tgw-accepter-foreign-attachment"):
    # a Transit Gateway of the stack (not shared, no auto-accept); the stack accepts another account's
    # attachment request and routes that account's range, which the app trusts
    aws.ec2.SecurityGroupRule("partner-range", type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                              from_port=8080, to_port=8080, cidr_blocks=["10.1.0.0/16"])
    tgw = aws.ec2transitgateway.TransitGateway("tgw", auto_accept_shared_attachments="disable", tags=tags("network"))
    aws.ec2transitgateway.VpcAttachment("tgw-app", transit_gateway_id=tgw.id, vpc_id=vpc.id, subnet_ids=app_ids,
                                        tags=tags("network"))
    aws.ec2transitgateway.VpcAttachmentAccepter("tgw-accept", transit_gateway_attachment_id="tgw-attach-0a1b2c3d4e5f60718",
                                                tags=tags("network"))
    aws.ec2.Route("tgw-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.1.0.0/16",
                  transit_gateway_id=tgw.id)
if case("safe-tgw-shared-no-auto-accept"):
    # a Transit Gateway shared with another account that accepts nothing by itself: that account's
    # attachment requests stay pending (the stack accepts none), so no VPC of it is routed
    aws.ec2.SecurityGroupRule("corp-rule", type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                              from_port=8080, to_port=8080, cidr_blocks=["10.1.0.0/16"])
    tgw = aws.ec2transitgateway.TransitGateway("tgw", auto_accept_shared_attachments="disable", tags=tags("network"))
    aws.ec2transitgateway.VpcAttachment("tgw-app", transit_gateway_id=tgw.id, vpc_id=vpc.id, subnet_ids=app_ids,
                                        tags=tags("network"))
    aws.ec2.Route("tgw-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.1.0.0/16",
                  transit_gateway_id=tgw.id)
    share = aws.ram.ResourceShare("tgw-share", name="tgw", allow_external_principals=True, tags=tags("network"))
    aws.ram.ResourceAssociation("tgw-share-assoc", resource_arn=tgw.arn, resource_share_arn=share.arn)
    aws.ram.PrincipalAssociation("tgw-principal", principal=FOREIGN_ACCOUNT, resource_share_arn=share.arn)
if case("tgw-custom-rt-partner-attachment", "safe-tgw-custom-rt-own-attachments"):
    # hub and spoke with a route table of its own (default association and propagation off): the
    # stack associates and propagates attachments by hand. The bypass twin also wires in a partner's
    # attachment by its id (accepted elsewhere): that VPC gets a route to the app, the app a route back.
    aws.ec2.SecurityGroupRule("corp-rule", type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                              from_port=8080, to_port=8080, cidr_blocks=["10.1.0.0/16"])
    tgw = aws.ec2transitgateway.TransitGateway("tgw", default_route_table_association="disable",
                                               default_route_table_propagation="disable", tags=tags("network"))
    spokes = aws.ec2transitgateway.RouteTable("tgw-spokes", transit_gateway_id=tgw.id, tags=tags("network"))
    app_att = aws.ec2transitgateway.VpcAttachment("tgw-app", transit_gateway_id=tgw.id, vpc_id=vpc.id,
                                                  subnet_ids=app_ids, tags=tags("network"),
                                                  transit_gateway_default_route_table_association=False,
                                                  transit_gateway_default_route_table_propagation=False)
    attachments = {"app": app_att.id}
    if case("tgw-custom-rt-partner-attachment"):
        attachments["partner"] = "tgw-attach-0f1e2d3c4b5a69788"
    else:
        corp = aws.ec2.Vpc("corp-vpc", cidr_block="10.1.0.0/16", tags=tags("network"))
        corp_subnet = aws.ec2.Subnet("corp-a", vpc_id=corp.id, cidr_block="10.1.0.0/24", tags=tags("network"))
        attachments["corp"] = aws.ec2transitgateway.VpcAttachment(
            "tgw-corp", transit_gateway_id=tgw.id, vpc_id=corp.id, subnet_ids=[corp_subnet.id], tags=tags("network"),
            transit_gateway_default_route_table_association=False,
            transit_gateway_default_route_table_propagation=False).id
    for key, att in attachments.items():
        aws.ec2transitgateway.RouteTableAssociation(f"tgw-{key}-assoc", transit_gateway_attachment_id=att,
                                                    transit_gateway_route_table_id=spokes.id)
        aws.ec2transitgateway.RouteTablePropagation(f"tgw-{key}-prop", transit_gateway_attachment_id=att,
                                                    transit_gateway_route_table_id=spokes.id)
    aws.ec2.Route("tgw-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.1.0.0/16",
                  transit_gateway_id=tgw.id)
if case("tgw-peering-foreign"):
    # the stack's Transit Gateway peered with another account's gateway, a static route of the peer's
    # range to that peering, the app VPC routing the range to the gateway, the app trusting it
    aws.ec2.SecurityGroupRule("partner-range", type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                              from_port=8080, to_port=8080, cidr_blocks=["10.1.0.0/16"])
    tgw = aws.ec2transitgateway.TransitGateway("tgw", tags=tags("network"))
    aws.ec2transitgateway.VpcAttachment("tgw-app", transit_gateway_id=tgw.id, vpc_id=vpc.id, subnet_ids=app_ids,
                                        tags=tags("network"))
    tgw_peer = aws.ec2transitgateway.PeeringAttachment(
        "tgw-peer", transit_gateway_id=tgw.id, peer_account_id=FOREIGN_ACCOUNT, peer_region="us-east-1",
        peer_transit_gateway_id="tgw-0f1e2d3c4b5a69788", tags=tags("network"))
    aws.ec2transitgateway.Route("tgw-peer-route", destination_cidr_block="10.1.0.0/16",
                                transit_gateway_attachment_id=tgw_peer.id,
                                transit_gateway_route_table_id=tgw.association_default_route_table_id)
    aws.ec2.Route("tgw-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.1.0.0/16",
                  transit_gateway_id=tgw.id)
if case("tgw-attached-public-vpc", "safe-tgw-attached-no-route-back"):
    # a second VPC of the stack with a public subnet, attached to the stack's Transit Gateway; the app
    # VPC routes its range to the gateway and the app trusts it. The public subnet reaches the app only
    # when its own table sends the app range to the gateway (the secure twin has no such route).
    hub_vpc = aws.ec2.Vpc("hub-vpc", cidr_block="10.3.0.0/16", tags=tags("network"))
    hub_igw = aws.ec2.InternetGateway("hub-igw", vpc_id=hub_vpc.id, tags=tags("network"))
    hub_rt = aws.ec2.RouteTable("hub-rt", vpc_id=hub_vpc.id, tags=tags("network"))
    aws.ec2.Route("hub-default", route_table_id=hub_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=hub_igw.id)
    hub_pub = aws.ec2.Subnet("hub-public", vpc_id=hub_vpc.id, cidr_block="10.3.0.0/24", tags=tags("network"))
    aws.ec2.RouteTableAssociation("hub-public-rt", subnet_id=hub_pub.id, route_table_id=hub_rt.id)
    tgw = aws.ec2transitgateway.TransitGateway("tgw", tags=tags("network"))
    aws.ec2transitgateway.VpcAttachment("tgw-app", transit_gateway_id=tgw.id, vpc_id=vpc.id, subnet_ids=app_ids,
                                        tags=tags("network"))
    aws.ec2transitgateway.VpcAttachment("tgw-hub", transit_gateway_id=tgw.id, vpc_id=hub_vpc.id,
                                        subnet_ids=[hub_pub.id], tags=tags("network"))
    aws.ec2.Route("to-hub", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.3.0.0/16",
                  transit_gateway_id=tgw.id)
    aws.vpc.SecurityGroupIngressRule("app-lb-from-hub", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, cidr_ipv4="10.3.0.0/16")
    if case("tgw-attached-public-vpc"):
        aws.ec2.Route("hub-back", route_table_id=hub_rt.id, destination_cidr_block="10.0.0.0/8",
                      transit_gateway_id=tgw.id)
if case("peering-in-stack-public-peer", "safe-peering-no-route-back"):
    # a second VPC of the stack with a public subnet, peered with the app VPC; the app VPC routes the
    # peer range to the peering and the app trusts it. The peer answers only when its own route
    # table sends the app range back through the peering (the secure twin has no such route).
    peer_vpc = aws.ec2.Vpc("peer-vpc", cidr_block="10.2.0.0/16", tags=tags("network"))
    peer_igw = aws.ec2.InternetGateway("peer-igw", vpc_id=peer_vpc.id, tags=tags("network"))
    peer_rt = aws.ec2.RouteTable("peer-rt", vpc_id=peer_vpc.id, tags=tags("network"))
    aws.ec2.Route("peer-default", route_table_id=peer_rt.id, destination_cidr_block="0.0.0.0/0",
                  gateway_id=peer_igw.id)
    peer_pub = aws.ec2.Subnet("peer-public", vpc_id=peer_vpc.id, cidr_block="10.2.0.0/24", tags=tags("network"))
    aws.ec2.RouteTableAssociation("peer-public-rt", subnet_id=peer_pub.id, route_table_id=peer_rt.id)
    pcx = aws.ec2.VpcPeeringConnection("peering", vpc_id=vpc.id, peer_vpc_id=peer_vpc.id, auto_accept=True,
                                       tags=tags("network"))
    aws.ec2.Route("to-peer", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.2.0.0/16",
                  vpc_peering_connection_id=pcx.id)
    aws.vpc.SecurityGroupIngressRule("app-lb-from-peer", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, cidr_ipv4="10.2.0.0/16")
    if case("peering-in-stack-public-peer"):
        aws.ec2.Route("peer-back", route_table_id=peer_rt.id, destination_cidr_block="10.0.0.0/16",
                      vpc_peering_connection_id=pcx.id)
if case("alb-lambda-target-literal-arn", "alb-lambda-target-foreign-arn"):
    # a Lambda target group of the edge ALB whose target is the stack's app function, named by a
    # literal ARN; the rule checks CloudFront's secret, so the WAF is crossed, the nodes are not.
    # The foreign twin names a function the stack does not declare (it could run anything).
    app_function("app-fn", name="app-fn" if case("alb-lambda-target-literal-arn") else "app-fn-v2")
    fn_tg = aws.lb.TargetGroup("fn-tg", target_type="lambda", tags=tags("app"))
    aws.lambda_.Permission("fn-from-alb", action="lambda:InvokeFunction", function="app-fn",
                           principal="elasticloadbalancing.amazonaws.com", source_arn=fn_tg.arn)
    aws.lb.TargetGroupAttachment("fn-target", target_group_arn=fn_tg.arn,
                                 target_id=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:app-fn")
    aws.lb.ListenerRule("edge-fn-rule", listener_arn=edge_https.arn, priority=15,
                        actions=[{"type": "forward", "target_group_arn": fn_tg.arn}],
                        conditions=[{"http_header": {"http_header_name": "X-Origin-Verify", "values": [secret.result]}},
                                    {"path_pattern": {"values": ["/fn/*"]}}])
if case("literal-sg-reference"):
    # the app LB trusts a security group by literal id: its members are not the stack's to know
    aws.vpc.SecurityGroupIngressRule("app-lb-from-literal-sg", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, referenced_security_group_id="sg-0f1e2d3c4b5a69788")
if case("ip-target-app-instance-ip"):
    # the node target group gets a literal address: it is the fixed private IP of an app instance
    aws.ec2.Instance("app-fixed-ip", ami="ami-0123456789abcdef0", instance_type="t3.micro", subnet_id=app_ids[0],
                     private_ip="10.0.20.50", vpc_security_group_ids=[app_task_sg.id], tags=tags("app"))
    aws.vpc.SecurityGroupIngressRule("app-from-edge-lb", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, referenced_security_group_id=edge_sg.id)
    aws.lb.TargetGroupAttachment("ip-app-target", target_group_arn=node_tg.arn, target_id="10.0.20.50", port=80)
if case("imported-sg-get-world"):
    # an existing app group read with `.get()` (not part of the stack): the stack opens it to the world
    # and places an app instance in it
    existing = aws.ec2.SecurityGroup.get("existing-app-sg", "sg-0e1d2c3b4a5968778")
    aws.vpc.SecurityGroupIngressRule("existing-world", security_group_id=existing.id, ip_protocol="tcp",
                                     from_port=8080, to_port=8080, cidr_ipv4="0.0.0.0/0")
    aws.ec2.Instance("app-worker", ami="ami-0123456789abcdef0", instance_type="t3.micro", subnet_id=app_ids[0],
                     vpc_security_group_ids=[existing.id], tags=tags("app"))
if case("literal-ip-target-node-subnet"):
    # an address inside the node subnet registered in the node target group: nothing proves a node runs there
    aws.lb.TargetGroupAttachment("ip-target", target_group_arn=node_tg.arn, target_id="10.0.10.50", port=80)
if case("imported-sg-outside-members", "safe-imported-sg-nodes-only"):
    # an adopted app group (imported) with one member in the stack (private) and its other members
    # outside; it admits the world: the in-stack member is private, the outside ones may not be
    adopted = aws.ec2.SecurityGroup("adopted-app-sg", vpc_id=vpc_id, description="adopted backend", tags=tags("app"),
                                    opts=pulumi.ResourceOptions(import_="sg-0abc0123456789def"))
    aws.vpc.SecurityGroupIngressRule("adopted-from-nodes", security_group_id=adopted.id, ip_protocol="tcp",
                                     from_port=8080, to_port=8080, referenced_security_group_id=node_sg.id)
    if case("imported-sg-outside-members"):
        # the secure twin keeps only the nodes' rule: whoever its outside members are, only nodes reach them
        aws.vpc.SecurityGroupIngressRule("adopted-world", security_group_id=adopted.id, ip_protocol="tcp",
                                         from_port=8080, to_port=8080, cidr_ipv4="0.0.0.0/0")
    aws.ec2.Instance("app-worker", ami="ami-0123456789abcdef0", instance_type="t3.micro", subnet_id=app_ids[0],
                     vpc_security_group_ids=[adopted.id], tags=tags("app"))
# === existing VPCs (brownfield): subnets, tables and groups the stack does not own ================
if case("brownfield-backend-rule-public-range"):
    # the adopted backend group (literal id) also admits the existing VPC's public subnets, which hold
    # whatever else the VPC's owners put there (internet-facing by their route)
    aws.vpc.SecurityGroupIngressRule("backend-from-public", security_group_id=ADOPTED_SG, ip_protocol="tcp",
                                     from_port=8080, to_port=8080, cidr_ipv4="10.40.0.0/23",
                                     tags=tags("app", **{"layerguard:foreign-security-group": ADOPTED_SG}))
if case("brownfield-worker-unknown-subnet", "safe-brownfield-public-ip-private-subnet", "brownfield-igw-route-added",
        "safe-brownfield-nat-route-added", "brownfield-main-table-igw", "safe-brownfield-main-table-nat"):
    # an app worker of the stack, admitted from a public range on 8080, with a public address requested:
    # what decides is its subnet's route table
    worker_sg = aws.ec2.SecurityGroup("worker-sg", vpc_id=vpc_id, description="worker", tags=tags("app"))
    # (an office's public range: no address of the VPC, so only the subnet's route decides)
    aws.vpc.SecurityGroupIngressRule("worker-office", security_group_id=worker_sg.id, ip_protocol="tcp",
                                     from_port=8080, to_port=8080, cidr_ipv4="198.51.100.0/24")
    # a literal subnet id the declared network does not list: its route table is unknown
    worker_subnet = "subnet-0e1d00000000000ff" if case("brownfield-worker-unknown-subnet") else app_ids[0]
    aws.ec2.Instance("legacy-worker", ami="ami-0123456789abcdef0", instance_type="t3.micro", subnet_id=worker_subnet,
                     associate_public_ip_address=True, vpc_security_group_ids=[worker_sg.id], tags=tags("app"))
    if case("brownfield-igw-route-added", "safe-brownfield-nat-route-added"):
        # the stack gives the declared private subnet a table of its own, default route to the VPC's
        # internet gateway (public: the worker's public IP answers) or to a NAT gateway (still private)
        legacy_rt = aws.ec2.RouteTable("legacy-rt", vpc_id=vpc_id, tags=tags("network"))
        aws.ec2.RouteTableAssociation("legacy-rt-assoc", subnet_id=worker_subnet, route_table_id=legacy_rt.id)
        target = {"gateway_id": "igw-0e1d2c3b4a5968778"} if case("brownfield-igw-route-added") \
            else {"nat_gateway_id": "nat-0e1d2c3b4a5968778"}
        aws.ec2.Route("legacy-default", route_table_id=legacy_rt.id, destination_cidr_block="0.0.0.0/0", **target)
    if case("brownfield-main-table-igw", "safe-brownfield-main-table-nat"):
        # the existing VPC's main table adopted and given a default route to the internet gateway:
        # every subnet without an association of its own (which ones the stack cannot see) turns
        # public; the secure twin routes it to a NAT gateway, which admits nothing inbound
        target = {"gateway_id": "igw-0e1d2c3b4a5968778"} if case("brownfield-main-table-igw") \
            else {"nat_gateway_id": "nat-0e1d2c3b4a5968778"}
        aws.ec2.DefaultRouteTable("existing-main-rt", default_route_table_id="rtb-0e1d2c3b4a5968778",
                                  routes=[{"cidr_block": "0.0.0.0/0", **target}], tags=tags("network"))
if case("brownfield-default-sg-world", "safe-brownfield-default-sg-locked"):
    # the existing VPC's default group adopted and opened to the world: its members (whatever was
    # launched without a group, the backend maybe) are not the stack's to know; the secure twin
    # adopts it to empty it (no rules at all, the CIS recommendation)
    aws.ec2.DefaultSecurityGroup("existing-default-sg", vpc_id=vpc_id, tags=tags("network"),
                                 ingress=[{"protocol": "tcp", "from_port": 8080, "to_port": 8080,
                                           "cidr_blocks": ["0.0.0.0/0"]}] if case("brownfield-default-sg-world") else [],
                                 egress=[])

# === adopted ALBs and existing backends ============================================================
if case("adopted-alb-literal-listener-app"):
    # an existing ALB named by its literal ARN (as one read with `.get()`, which AnalyzeStack never
    # sees): the stack adds a listener to it forwarding to the app; who enters it is unknown
    aws.lb.Listener("legacy-listener", port=8443, protocol="HTTPS",
                    load_balancer_arn=f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/legacy/0123456789abcdef",
                    ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06", certificate_arn=CERT,
                    default_actions=[{"type": "forward", "target_group_arn": app_tg.arn}])
if case("adopted-alb-import-rule-app", "safe-adopted-alb-import-nodes"):
    # an existing internet-facing ALB adopted with `import_`, a group open to the world on 443; the
    # stack adds a listener (403 by default) and a rule forwarding /api/* to the app (bypass) or to the
    # nodes, with the regional web ACL associated (secure)
    # (the secure twin gives the adopted ALB a group of its own: an imported group keeps members
    # outside the stack, which the nodes would trust)
    legacy_sg = aws.ec2.SecurityGroup("legacy-sg", vpc_id=vpc_id, description="legacy ALB", tags=tags("edge"),
                                      opts=pulumi.ResourceOptions(import_="sg-0e1d2c3b4a5968700")
                                      if case("adopted-alb-import-rule-app") else None)
    aws.vpc.SecurityGroupIngressRule("legacy-https-in", security_group_id=legacy_sg.id, ip_protocol="tcp",
                                     from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0")
    legacy = aws.lb.LoadBalancer("legacy-alb", internal=False, load_balancer_type="application", subnets=edge_ids,
                                 security_groups=[legacy_sg.id], drop_invalid_header_fields=True,
                                 desync_mitigation_mode="strictest", tags=tags("edge"),
                                 opts=pulumi.ResourceOptions(import_=f"arn:aws:elasticloadbalancing:{REGION}:"
                                                             f"{ACCOUNT}:loadbalancer/app/legacy/0123456789abcdef"))
    legacy_https = https_listener("legacy-https", legacy, [
        {"type": "fixed-response", "fixed_response": {"content_type": "text/plain", "status_code": "403"}}])
    to_app = case("adopted-alb-import-rule-app")
    if to_app:
        aws.vpc.SecurityGroupIngressRule("app-lb-from-legacy", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                         from_port=80, to_port=80, referenced_security_group_id=legacy_sg.id)
    else:
        aws.wafv2.WebAclAssociation("legacy-acl", resource_arn=legacy.arn, web_acl_arn=regional_acl().arn)
        node_ingress("node-from-legacy", legacy_sg)
    aws.lb.ListenerRule("legacy-rule", listener_arn=legacy_https.arn, priority=10,
                        actions=[{"type": "forward", "target_group_arn": (app_tg if to_app else node_tg).arn}],
                        conditions=[{"path_pattern": {"values": ["/api/*"]}}])
if case("existing-tg-arn-rule"):
    # the secret-header rule's twin forwarding /legacy/* to an existing target group by literal ARN:
    # whatever is registered there (an existing backend) is reached past CloudFront's WAF, not a node
    aws.lb.ListenerRule("edge-legacy-tg-rule", listener_arn=edge_https.arn, priority=12,
                        actions=[{"type": "forward", "target_group_arn": f"arn:aws:elasticloadbalancing:{REGION}:"
                                  f"{ACCOUNT}:targetgroup/kong/0123456789abcdef"}],
                        conditions=[{"http_header": {"http_header_name": "X-Origin-Verify", "values": [secret.result]}},
                                    {"path_pattern": {"values": ["/legacy/*"]}}])
if case("existing-backend-literal-ip-rule"):
    # an existing backend (Kong) outside the stack's subnets registered by literal address in an app
    # target group, forwarded to by a rule that checks CloudFront's secret: the nodes are skipped
    kong_tg = aws.lb.TargetGroup("kong-tg", port=8000, protocol="HTTP", target_type="ip", vpc_id=vpc_id,
                                 tags=tags("app"))
    aws.lb.TargetGroupAttachment("kong-target", target_group_arn=kong_tg.arn, target_id="10.50.0.10", port=8000,
                                 availability_zone="all")
    aws.lb.ListenerRule("edge-kong-rule", listener_arn=edge_https.arn, priority=12,
                        actions=[{"type": "forward", "target_group_arn": kong_tg.arn}],
                        conditions=[{"http_header": {"http_header_name": "X-Origin-Verify", "values": [secret.result]}},
                                    {"path_pattern": {"values": ["/kong/*"]}}])
if edge_alb is not None:
    pulumi.export("edgeDns", edge_alb.dns_name)

"""A compliant edge + node + app slice written with plain pulumi_aws resources (no components).

`policytests:case` is a comma-separated list of changes to the baseline (each change touches its
own resources, so several can share one preview); tests/policy/test_hygiene.py lists which policy
and resource each change must (or must not) trip.
"""

import json

import pulumi
import pulumi_aws as aws

CHANGES = set((pulumi.Config().get("case") or "baseline").split(","))


def case(*names: str) -> bool:
    return bool(CHANGES.intersection(names))


def pick(table: dict, default):
    """The value of the (single) selected change found in `table`, else `default`."""
    chosen = [table[c] for c in CHANGES if c in table]
    return chosen[0] if chosen else default


def tags(layer):
    return {"layerguard:layer": layer} if layer else None


# The environment a stack declares (docs/CONTRACTS.md, "Production"): the layerguard:environment
# default tag of the provider the edge ALB and the node task use; None: nothing declared.
DECLARED = pick({"declare-prod": "prod", "declare-dev": "dev", "declare-blank": ""}, None)
declared_opts = None
if DECLARED is not None:
    declared_opts = pulumi.ResourceOptions(provider=aws.Provider(
        "declared", region="eu-west-1", default_tags={"tags": {"layerguard:environment": DECLARED}}))


SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]


class DeclaredNetwork(pulumi.ComponentResource):
    """The existing VPC these literal ids name, declared for the policy pack (docs/CONTRACTS.md,
    "Declared networks"): private subnets, so the reachability policies judge the stack instead of
    failing closed on ids it does not own."""

    def __init__(self, name: str) -> None:
        super().__init__("policytests:network:Declared", name)
        self.register_outputs({"declaredNetwork": {
            "vpcId": "vpc-0a1b2c3d4e5f60000", "cidrBlocks": ["10.9.0.0/16"],
            "subnets": [{"id": s, "cidrBlock": f"10.9.{i}.0/24", "availabilityZone": f"eu-west-1{'ab'[i]}",
                         "public": False} for i, s in enumerate(SUBNETS)]}})


DeclaredNetwork("network")
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
TOKEN_PARAM = "arn:aws:ssm:eu-west-1:123456789012:parameter/layerguard/wallarm-token"

# --- edge: ALB, listeners, WAF -------------------------------------------------------------------
sg = aws.ec2.SecurityGroup("edge-sg", vpc_id="vpc-0a1b2c3d4e5f60000", tags=tags("edge"))
alb = aws.lb.LoadBalancer(
    "edge-alb",
    internal=case("alb-internal-http-forward", "alb-internal-http-forward-strict"),
    load_balancer_type="application",
    subnets=SUBNETS,
    security_groups=[sg.id],
    drop_invalid_header_fields=not case("alb-keeps-invalid-headers"),
    desync_mitigation_mode="monitor" if case("alb-desync-monitor") else (
        None if case("alb-desync-default") else "strictest"),
    enable_deletion_protection=not case("alb-no-deletion-protection"),
    tags=tags("edge"),
    opts=declared_opts,
)
nlb = aws.lb.LoadBalancer(
    "edge-nlb", load_balancer_type="network", subnets=SUBNETS, enable_deletion_protection=True,
    tags=tags("edge")) if case("nlb-present") else None
tg = aws.lb.TargetGroup("node-tg", port=80, protocol="HTTP", target_type="ip",
                        vpc_id="vpc-0a1b2c3d4e5f60000", tags=tags("node"))

if case("listener-ssl-unknown"):
    ssl_policy = tg.arn.apply(lambda _: "ELBSecurityPolicy-TLS13-1-2-2021-06")
elif case("listener-no-ssl-policy"):
    ssl_policy = None
else:
    ssl_policy = pick({"listener-old-ssl-policy": "ELBSecurityPolicy-2016-08",
                       "listener-tls13-1-0": "ELBSecurityPolicy-TLS13-1-0-2021-06",
                       "listener-tls13-1-3": "ELBSecurityPolicy-TLS13-1-3-2021-06"},
                      "ELBSecurityPolicy-TLS13-1-2-2021-06")
https = aws.lb.Listener(
    "edge-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS", ssl_policy=ssl_policy,
    certificate_arn=CERT, default_actions=[{"type": "forward", "target_group_arn": tg.arn}])

redirect = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}
forward = {"type": "forward", "target_group_arn": tg.arn}
http_forwards = case("http-forward", "alb-internal-http-forward", "alb-internal-http-forward-strict")
http = aws.lb.Listener(
    "edge-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
    default_actions=[forward if http_forwards else redirect])
if case("http-rule-forward", "http-rule-fixed-response"):
    action = forward if case("http-rule-forward") else {
        "type": "fixed-response", "fixed_response": {"content_type": "text/plain", "status_code": "403"}}
    aws.lb.ListenerRule("edge-http-rule", listener_arn=http.arn, priority=10, actions=[action],
                        conditions=[{"path_pattern": {"values": ["/api/*"]}}])
if case("https-rule-forward"):
    aws.lb.ListenerRule("edge-https-rule", listener_arn=https.arn, priority=10, actions=[forward],
                        conditions=[{"path_pattern": {"values": ["/api/*"]}}])

visibility = {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": "m"}
rate_rule = {
    "name": "rate-limit", "priority": 0,
    "action": {"count": {}} if case("waf-rate-count-only") else {"block": {}},
    "statement": {"rate_based_statement": {"limit": 2000, "aggregate_key_type": "IP",
                                           "evaluation_window_sec": 300}},
    "visibility_config": visibility,
}
managed_rule = {
    "name": "common", "priority": 1, "override_action": {"none": {}},
    "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": "AWSManagedRulesCommonRuleSet"}},
    "visibility_config": visibility,
}
inline_rate = not case("waf-no-rate-rule", "waf-rate-standalone", "waf-rulejson-garbage")
acl = aws.wafv2.WebAcl(
    "edge-acl", scope="REGIONAL", default_action={"allow": {}},
    rules=[rate_rule, managed_rule] if inline_rate else [managed_rule],
    rule_json="{not json" if case("waf-rulejson-garbage") else None,
    visibility_config=visibility, tags=tags("edge"))
if case("waf-rate-standalone"):
    aws.wafv2.WebAclRule("edge-acl-rate", web_acl_arn=acl.arn, priority=0, name="rate-limit",
                         action={"block": {}}, visibility_config=visibility,
                         statement={"rate_based_statement": {"limit": 2000, "aggregate_key_type": "IP"}})
aws.wafv2.WebAclAssociation("edge-acl-alb", resource_arn=alb.arn, web_acl_arn=acl.arn)

if not case("waf-no-logging"):
    if case("waf-log-bad-name"):
        destination = aws.cloudwatch.LogGroup("edge-waf-logs", name="edge-waf-logs", retention_in_days=90)
    elif case("waf-log-autonamed"):
        destination = aws.cloudwatch.LogGroup("aws-waf-logs-edge", retention_in_days=90)
    elif case("waf-log-s3"):
        destination = aws.s3.Bucket("waf-log-bucket", bucket="aws-waf-logs-layerguard-edge")
    else:
        destination = aws.cloudwatch.LogGroup("edge-waf-logs", name="aws-waf-logs-layerguard-edge",
                                              retention_in_days=90)
    aws.wafv2.WebAclLoggingConfiguration("edge-acl-logging", resource_arn=acl.arn,
                                         log_destination_configs=[destination.arn])

if case("waf-cloudfront-log-region", "waf-cloudfront-log-use1"):
    # A CloudFront-scope ACL lives in us-east-1 and must log there too.
    use1 = aws.Provider("use1", region="us-east-1")
    cf_acl = aws.wafv2.WebAcl("cf-acl", scope="CLOUDFRONT", default_action={"allow": {}},
                              rules=[rate_rule], visibility_config=visibility, tags=tags("edge"),
                              opts=pulumi.ResourceOptions(provider=use1))
    in_use1 = pulumi.ResourceOptions(provider=use1) if case("waf-cloudfront-log-use1") else None
    cf_logs = aws.cloudwatch.LogGroup("cf-waf-logs", name="aws-waf-logs-layerguard-cf", opts=in_use1)
    aws.wafv2.WebAclLoggingConfiguration("cf-acl-logging", resource_arn=cf_acl.arn,
                                         log_destination_configs=[cf_logs.arn],
                                         opts=pulumi.ResourceOptions(provider=use1))

# --- node and app: ECS ------------------------------------------------------------------------
cluster = aws.ecs.Cluster("cluster", tags=tags("node"))
node_env = [{"name": "WALLARM_API_HOST", "value": "us1.api.wallarm.com"},
            {"name": "WALLARM_FALLBACK", "value": "false"},
            *([] if case("node-register-error-ignored") else
              [{"name": "WALLARM_IGNORE_REGISTER_ERROR", "value": "false"}]),
            {"name": "WALLARM_MODE", "value": pick({"wallarm-mode-monitoring": "monitoring",
                                                 "wallarm-mode-bogus": "blocking"}, "block")}]
node_secrets = [{"name": "WALLARM_API_TOKEN", "valueFrom": TOKEN_PARAM}]
if case("token-in-env"):
    node_env.append({"name": "WALLARM_API_TOKEN", "value": "plaintext-token-0123456789"})
    node_secrets = []
if case("token-missing"):
    node_secrets = []
NODE_IMAGE = pick({"node-image-6x": "wallarm/node:6.13.2",
                   "node-image-old-minor": "wallarm/node:7.0.3",
                   "node-image-untagged": "wallarm/node",
                   "node-image-digest-only": "wallarm/node@sha256:" + "0" * 64,
                   "node-image-tag-digest": "wallarm/node:7.1.0-1@sha256:" + "0" * 64},
                  "wallarm/node:7.1.0")
node_container = {"name": "wallarm", "image": NODE_IMAGE, "essential": True,
                  "portMappings": [{"containerPort": 80}], "environment": node_env,
                  "secrets": node_secrets}
VHOST = """server {
    listen 80 default_server;
    wallarm_mode %(server)s;
    wallarm_mode_allow_override strict;
    wallarm_fallback off;
    location = /healthz { wallarm_mode off; return 200 "ok\\n"; }
    location /api { %(api)s proxy_pass http://app.internal:8080; }
    location / { proxy_pass http://app.internal:8080; }
}
"""
node_containers = [node_container]
# Every node ships its vhost: without one, wallarm_mode_allow_override is `on` (the Cloud may weaken
# the mode), which production stacks refuse (LG-WLM-002).
vhost = VHOST % {"server": "off" if case("vhost-server-off") else "block",
                 "api": "wallarm_mode off;" if case("vhost-location-off-proxy") else ""}
node_containers.insert(0, {"name": "nginx-vhost", "image": "public.ecr.aws/docker/library/busybox:1.36",
                           "essential": False, "command": ["sh", "-c", "printf %s \"$NODE_VHOST\" > /conf/default.conf"],
                           "environment": [{"name": "NODE_VHOST", "value": vhost}]})
if case("taskdef-unknown"):
    # The JSON embeds a computed value, so it is unknown as a whole at preview.
    node_defs = tg.arn.apply(lambda arn: json.dumps([dict(node_container, dockerLabels={"tg": arn})]))
elif case("token-secret-in-stack"):
    # The most natural way to write it: the token's secret is created in the same stack and its
    # ARN flows into the task definition, so the JSON is unknown at preview as a whole; `pulumi
    # up` analyses the task definition with the ARN known, before creating it.
    token_secret = aws.secretsmanager.Secret("node-token", name="layerguard/wallarm-token",
                                             tags=tags("node"))

    def with_secret(arn: str) -> str:
        own = [dict(s, valueFrom=arn) if s["name"] == "WALLARM_API_TOKEN" else s for s in node_secrets]
        return json.dumps([dict(c, secrets=own) if c is node_container else c for c in node_containers])
    node_defs = token_secret.arn.apply(with_secret)
else:
    node_defs = json.dumps(node_containers)
node_task = aws.ecs.TaskDefinition(
    "node-task", family="layerguard-node", cpu="1024", memory="2048", network_mode="awsvpc",
    requires_compatibilities=["FARGATE"], container_definitions=node_defs, tags=tags("node"),
    opts=declared_opts)
aws.ecs.Service(
    "node-svc", cluster=cluster.arn, task_definition=node_task.arn, desired_count=2,
    launch_type="FARGATE",
    network_configuration={"subnets": SUBNETS, "security_groups": [sg.id],
                           "assign_public_ip": case("node-public-ip")},
    load_balancers=[{"target_group_arn": tg.arn, "container_name": "wallarm", "container_port": 80}],
    tags=tags("node"))

app_container = {"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": True,
                 "portMappings": [{"containerPort": 8080}]}
app_task = aws.ecs.TaskDefinition(
    "app-task", family="layerguard-app", cpu="256", memory="512", network_mode="awsvpc",
    requires_compatibilities=["FARGATE"], container_definitions=json.dumps([app_container]),
    tags=tags("app"))
aws.ecs.Service(
    "app-svc", cluster=cluster.arn, task_definition=app_task.arn, desired_count=2,
    launch_type="FARGATE",
    network_configuration={"subnets": SUBNETS, "assign_public_ip": case("app-public-ip", "untagged-public-ip")},
    tags=None if case("untagged-public-ip") else tags("app"))
if case("edge-public-ip-default-tags"):
    # Labelled the way AWS applies tags: by the provider's default_tags (key and value in another
    # case), not by the resource's own tags.
    tagged = aws.Provider("edge-tagged", region="eu-west-1",
                          default_tags={"tags": {"LayerGuard:Layer": "Edge"}})
    aws.ecs.Service(
        "edge-dt-svc", cluster=cluster.arn, task_definition=app_task.arn, desired_count=1,
        launch_type="FARGATE", network_configuration={"subnets": SUBNETS, "assign_public_ip": True},
        opts=pulumi.ResourceOptions(provider=tagged))
if case("edge-public-ip"):
    aws.ecs.Service(
        "edge-svc", cluster=cluster.arn, task_definition=app_task.arn, desired_count=1,
        launch_type="FARGATE", network_configuration={"subnets": SUBNETS, "assign_public_ip": True},
        tags=tags("edge"))

if case("private-api-open-inline", "private-api-literal-endpoint"):
    # LG-APIGW-002 on a private API's inline policy written as a literal (decided at preview): open
    # to any VPC endpoint, or limited to an existing endpoint's id
    limited = case("private-api-literal-endpoint")
    statement = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:*", "Resource": "execute-api:/*",
                 **({"Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}}} if limited else {})}
    aws.apigateway.RestApi("private-api", endpoint_configuration={"types": "PRIVATE"}, tags=tags("app"),
                           policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))

pulumi.export("albDns", alb.dns_name)

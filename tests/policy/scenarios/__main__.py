"""A compliant internet -> WAF + ALB -> Wallarm nodes -> internal app stack in plain pulumi_aws
(no layerguard components), plus one change selected by `scenarios:case`.

Bypass cases open a path around the nodes or an unprotected entry; safe cases rewire the stack in a
different but legitimate way. tests/policy/test_reachability.py lists the verdict each case must
get and the resource that must be named. Resource names are the test's handles: keep them stable.
"""

import json

import pulumi
import pulumi_aws as aws

CASE = pulumi.Config().get("case") or "baseline"
REGION = "eu-west-1"


def case(*names: str) -> bool:
    return CASE in names


def tags(layer):
    return {"layerguard:layer": layer}


use1 = aws.Provider("use1", region="us-east-1")
cf_list = aws.ec2.get_managed_prefix_list(name="com.amazonaws.global.cloudfront.origin-facing")

# --- network -------------------------------------------------------------------------------------
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags=tags("network"))
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


edge_subnets = [subnet("edge-a", "10.0.0.0/24", "edge", "a", True), subnet("edge-b", "10.0.1.0/24", "edge", "b", True)]
node_subnets = [subnet("node-a", "10.0.10.0/24", "node", "a"), subnet("node-b", "10.0.11.0/24", "node", "b")]
app_subnets = [subnet("app-a", "10.0.20.0/24", "app", "a"), subnet("app-b", "10.0.21.0/24", "app", "b")]
ids = lambda subnets: [s.id for s in subnets]  # noqa: E731

# --- edge: internet-facing ALB with a regional web ACL -------------------------------------------
edge_sg = aws.ec2.SecurityGroup("edge-sg", vpc_id=vpc.id, description="edge ALB", tags=tags("edge"))
CF_ONLY = ("cloudfront-prefix-list-only-alb", "safe-redirect-listener-origin")
HEADER = ("safe-cloudfront-secret-header", "cloudfront-header-wildcard", "cloudfront-header-wrong-value",
          "safe-redirect-listener-origin", "safe-secret-header-random")
if case(*CF_ONLY):
    cf_list_early = aws.ec2.get_managed_prefix_list(name="com.amazonaws.global.cloudfront.origin-facing")
    for port in (443, 80):
        aws.vpc.SecurityGroupIngressRule(f"edge-cf-in-{port}", security_group_id=edge_sg.id, ip_protocol="tcp",
                                         from_port=port, to_port=port, prefix_list_id=cf_list_early.id)
else:
    aws.vpc.SecurityGroupIngressRule("edge-https-in", security_group_id=edge_sg.id, ip_protocol="tcp",
                                     from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0")
node_sg = aws.ec2.SecurityGroup("node-sg", vpc_id=vpc.id, description="Wallarm nodes", tags=tags("node"))
app_lb_sg = aws.ec2.SecurityGroup("app-lb-sg", vpc_id=vpc.id, description="internal app ALB", tags=tags("app"))
app_task_sg = aws.ec2.SecurityGroup("app-task-sg", vpc_id=vpc.id, description="app tasks", tags=tags("app"))

edge_alb_sgs = [edge_sg.id] + ([node_sg.id] if case("edge-alb-in-node-sg") else [])
edge_alb = aws.lb.LoadBalancer(
    "edge-alb", internal=False, load_balancer_type="application", subnets=ids(edge_subnets),
    security_groups=edge_alb_sgs, drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
    tags=tags("edge"))
visibility = {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": "m"}
rate_rule = {"name": "rate", "priority": 0, "action": {"block": {}}, "visibility_config": visibility,
             "statement": {"rate_based_statement": {"limit": 2000, "aggregate_key_type": "IP"}}}
def web_acl(name, scope, **opts):
    """A web ACL with a rate-based rule, logging to an aws-waf-logs- log group in its region."""
    acl = aws.wafv2.WebAcl(name, scope=scope, default_action={"allow": {}}, rules=[rate_rule],
                           visibility_config=visibility, tags=tags("edge"), **opts)
    log_opts = {k: v for k, v in opts.items() if k in ("region", "opts")}
    logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"aws-waf-logs-{name}", retention_in_days=90,
                                   tags=tags("edge"), **log_opts)
    aws.wafv2.WebAclLoggingConfiguration(f"{name}-logging", resource_arn=acl.arn,
                                         log_destination_configs=[logs.arn], **log_opts)
    return acl


edge_acl = web_acl("edge-acl", "REGIONAL")
if not case("edge-alb-no-waf", "cloudfront-origin-open", "cloudfront-no-waf", *CF_ONLY, *HEADER):
    aws.wafv2.WebAclAssociation("edge-acl-alb", resource_arn=edge_alb.arn, web_acl_arn=edge_acl.arn)

# --- node fleet ------------------------------------------------------------------------------------
aws.vpc.SecurityGroupIngressRule("node-from-edge", security_group_id=node_sg.id, ip_protocol="tcp",
                                 from_port=80, to_port=80, referenced_security_group_id=edge_sg.id)
node_tg = aws.lb.TargetGroup("node-tg", port=80, protocol="HTTP", target_type="ip", vpc_id=vpc.id,
                             tags=tags("node"))
node_tg_green = aws.lb.TargetGroup("node-tg-green", port=80, protocol="HTTP", target_type="ip",
                                   vpc_id=vpc.id, tags=tags("node"))
cluster = aws.ecs.Cluster("cluster", tags=tags("network"))
NODE_IMAGE = {
    "node-wrong-image": "public.ecr.aws/nginx/nginx:1.27",
    "node-unsupported-major": "wallarm/node:4.10.0",
    "node-latest-tag": "wallarm/node:latest",
    "node-lookalike-repo": "ghcr.io/attacker/wallarm/node:7.1.0",
    "safe-node-ecr-pull-through": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/wallarm/node:7.1.0",
    "safe-node-6x": "wallarm/node:6.13.2",  # the supported 6.x minor (LG-WLM-003)
}.get(CASE, "wallarm/node:7.1.0")
node_containers = [{
    "name": "wallarm", "image": NODE_IMAGE, "essential": True,
    "portMappings": [{"containerPort": 80}],
    "environment": [{"name": "WALLARM_MODE", "value": "block"}],
    "secrets": [{"name": "WALLARM_API_TOKEN",
                 "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wallarm-token-AbCdEf"}]}]
if case("node-sidecar-target", "safe-node-with-sidecar"):
    node_containers.append({"name": "sidecar", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0",
                            "essential": False, "portMappings": [{"containerPort": 8081}]})
node_task = aws.ecs.TaskDefinition(
    "node-task", family="node", cpu="1024", memory="2048", network_mode="awsvpc",
    requires_compatibilities=["FARGATE"], tags=tags("node"), container_definitions=json.dumps(node_containers))
node_target = ("sidecar", 8081) if case("node-sidecar-target") else ("wallarm", 80)
node_lbs = [{"target_group_arn": node_tg.arn, "container_name": node_target[0], "container_port": node_target[1]}]
if case("safe-weighted-nodes"):
    node_lbs.append({"target_group_arn": node_tg_green.arn, "container_name": "wallarm", "container_port": 80})
aws.ecs.Service(
    "node-svc", cluster=cluster.arn, task_definition=node_task.arn, desired_count=2, launch_type="FARGATE",
    network_configuration={"subnets": ids(node_subnets), "security_groups": [node_sg.id],
                           "assign_public_ip": case("node-public-ip")},
    load_balancers=node_lbs, tags=tags("node"))

# --- app: internal ALB and service, reachable from the nodes only ---------------------------------
aws.vpc.SecurityGroupIngressRule("app-lb-from-node", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                 from_port=80, to_port=80, referenced_security_group_id=node_sg.id)
aws.vpc.SecurityGroupIngressRule("app-task-from-lb", security_group_id=app_task_sg.id, ip_protocol="tcp",
                                 from_port=8080, to_port=8080, referenced_security_group_id=app_lb_sg.id)
app_alb = aws.lb.LoadBalancer(
    "app-alb", internal=not case("app-lb-internet-facing"), load_balancer_type="application",
    subnets=ids(app_subnets), security_groups=[app_lb_sg.id], drop_invalid_header_fields=True,
    tags=tags("app"))
app_tg = aws.lb.TargetGroup("app-tg", port=8080, protocol="HTTP", target_type="ip", vpc_id=vpc.id,
                            tags=tags("app"))
app_listener = aws.lb.Listener("app-http", load_balancer_arn=app_alb.arn, port=80, protocol="HTTP",
                               default_actions=[{"type": "forward", "target_group_arn": app_tg.arn}])
app_task = aws.ecs.TaskDefinition(
    "app-task", family="app", cpu="256", memory="512", network_mode="awsvpc",
    requires_compatibilities=["FARGATE"], tags=tags("app"),
    container_definitions=json.dumps([{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27",
                                       "essential": True, "portMappings": [{"containerPort": 8080}]}]))
app_lbs = [{"target_group_arn": app_tg.arn, "container_name": "app", "container_port": 8080}]
if case("app-svc-in-node-tg"):
    app_lbs.append({"target_group_arn": node_tg.arn, "container_name": "app", "container_port": 8080})
aws.ecs.Service(
    "app-svc", cluster=cluster.arn, task_definition=app_task.arn, desired_count=2, launch_type="FARGATE",
    network_configuration={"subnets": ids(app_subnets), "security_groups": [app_task_sg.id],
                           "assign_public_ip": case("app-task-public-ip")},
    load_balancers=app_lbs, tags=tags("app"))

# --- the edge listener: forwards to the nodes -------------------------------------------------------
if case("edge-listener-to-app-tg"):
    https_actions = [{"type": "forward", "target_group_arn": app_tg.arn}]
elif case("edge-weighted-app-tg"):
    https_actions = [{"type": "forward", "forward": {"target_groups": [
        {"arn": node_tg.arn, "weight": 90}, {"arn": app_tg.arn, "weight": 10}]}}]
elif case("safe-weighted-nodes"):
    https_actions = [{"type": "forward", "forward": {"target_groups": [
        {"arn": node_tg.arn, "weight": 90}, {"arn": node_tg_green.arn, "weight": 10}]}}]
elif case(*HEADER):
    https_actions = [{"type": "fixed-response",
                      "fixed_response": {"content_type": "text/plain", "status_code": "403"}}]
else:
    https_actions = [{"type": "forward", "target_group_arn": node_tg.arn}]
edge_https = aws.lb.Listener(
    "edge-https", load_balancer_arn=edge_alb.arn, port=443, protocol="HTTPS",
    ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
    certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
    default_actions=https_actions)
if case("edge-rule-to-app-tg"):
    aws.lb.ListenerRule("edge-admin-rule", listener_arn=edge_https.arn, priority=10,
                        actions=[{"type": "forward", "target_group_arn": app_tg.arn}],
                        conditions=[{"path_pattern": {"values": ["/admin/*"]}}])


# --- one change per case ------------------------------------------------------------------------------
def cloudfront(name, origin_domain=None, vpc_origin=None, acl="us-east-1", header=False):
    """A distribution with a CLOUDFRONT web ACL (in us-east-1 unless `acl` says otherwise)."""
    web_acl_id = None
    if acl == "us-east-1":
        web_acl_id = web_acl(f"{name}-acl", "CLOUDFRONT", opts=pulumi.ResourceOptions(provider=use1)).arn
    elif acl == "region-input":
        web_acl_id = web_acl(f"{name}-acl", "CLOUDFRONT", region="us-east-1").arn
    elif acl == "default-region":
        web_acl_id = web_acl(f"{name}-acl", "CLOUDFRONT").arn
    origin = {"origin_id": "origin"}
    if vpc_origin is not None:
        origin.update(domain_name=vpc_origin[1], vpc_origin_config={"vpc_origin_id": vpc_origin[0].id})
    else:
        origin.update(domain_name=origin_domain, custom_origin_config={
            "http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
            "origin_ssl_protocols": ["TLSv1.2"]})
        if header:
            value = header if not isinstance(header, bool) else "s3cr3t-from-secrets-manager"
            origin["custom_headers"] = [{"name": "X-Origin-Verify", "value": value}]
    return aws.cloudfront.Distribution(
        name, enabled=True, origins=[origin], web_acl_id=web_acl_id, tags=tags("edge"),
        default_cache_behavior={"allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                                "target_origin_id": "origin", "viewer_protocol_policy": "redirect-to-https",
                                "cache_policy_id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate={"cloudfront_default_certificate": True})


def vpc_origin(name, lb):
    return aws.cloudfront.VpcOrigin(name, vpc_origin_endpoint_config={
        "name": name, "arn": lb.arn, "http_port": 80, "https_port": 443,
        "origin_protocol_policy": "https-only",
        "origin_ssl_protocols": {"items": ["TLSv1.2"], "quantity": 1}}, tags=tags("edge"))


def edge_nlb(name, internal, sg_rule=None, from_sg=None):
    """An edge NLB (with a security group) forwarding to the node target group on a second listener
    target group (NLB target groups are TCP)."""
    sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=vpc.id, description=name, tags=tags("edge"))
    if sg_rule == "cloudfront":
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-cf", security_group_id=sg.id, ip_protocol="tcp",
                                         from_port=443, to_port=443, prefix_list_id=cf_list.id)
    elif sg_rule == "world":
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-world", security_group_id=sg.id, ip_protocol="tcp",
                                         from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0")
    elif sg_rule == "public-subnet":
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-vpc", security_group_id=sg.id, ip_protocol="tcp",
                                         from_port=443, to_port=443, cidr_ipv4="10.0.0.0/24")
    if from_sg is not None:
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-link", security_group_id=sg.id, ip_protocol="tcp",
                                         from_port=443, to_port=443, referenced_security_group_id=from_sg.id)
    lb = aws.lb.LoadBalancer(
        name, internal=internal, load_balancer_type="network", security_groups=[sg.id], tags=tags("edge"),
        subnets=ids(edge_subnets if not internal else node_subnets),
        # REST API VPC links (PrivateLink) are not filtered by the NLB's security group
        enforce_security_group_inbound_rules_on_private_link_traffic="off" if sg_rule == "private-link" else None)
    tg = aws.lb.TargetGroup(f"{name}-tg", port=80, protocol="TCP", target_type="ip", vpc_id=vpc.id,
                            tags=tags("node"))
    aws.lb.Listener(f"{name}-tcp", load_balancer_arn=lb.arn, port=443, protocol="TCP",
                    default_actions=[{"type": "forward", "target_group_arn": tg.arn}])
    aws.ecs.Service(
        f"{name}-nodes", cluster=cluster.arn, task_definition=node_task.arn, desired_count=2,
        launch_type="FARGATE",
        network_configuration={"subnets": ids(node_subnets), "security_groups": [node_sg.id]},
        load_balancers=[{"target_group_arn": tg.arn, "container_name": "wallarm", "container_port": 80}],
        tags=tags("node"))
    aws.vpc.SecurityGroupIngressRule(f"{name}-to-nodes", security_group_id=node_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, referenced_security_group_id=sg.id)
    return lb


def app_instance(name, **kwargs):
    kwargs.setdefault("subnet_id", app_subnets[0].id)
    kwargs.setdefault("vpc_security_group_ids", [app_task_sg.id])
    return aws.ec2.Instance(name, ami="ami-0123456789abcdef0", instance_type="t3.micro",
                            tags=kwargs.pop("tags", tags("app")), **kwargs)


def rule(name, sg, **kwargs):
    return aws.vpc.SecurityGroupIngressRule(name, security_group_id=sg.id, ip_protocol="tcp",
                                            from_port=8080, to_port=8080, **kwargs)


# -- bypasses: security groups
if case("app-sg-open-world"):
    rule("bypass-rule", app_task_sg, cidr_ipv4="0.0.0.0/0")
if case("app-sg-ipv6-world"):
    rule("bypass-rule", app_task_sg, cidr_ipv6="::/0")
if case("app-sg-vpc-cidr"):
    aws.ec2.SecurityGroupRule("bypass-rule", type="ingress", security_group_id=app_lb_sg.id, protocol="tcp",
                              from_port=80, to_port=80, cidr_blocks=["10.0.0.0/16"])
if case("app-sg-public-subnet-cidr"):
    aws.ec2.SecurityGroupRule("bypass-rule", type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                              from_port=8080, to_port=8080, cidr_blocks=[edge_subnets[0].cidr_block])
if case("app-sg-peer-cidr"):
    rule("bypass-rule", app_task_sg, cidr_ipv4="192.168.0.0/16")
if case("app-sg-edge-sg-ref"):
    rule("bypass-rule", app_lb_sg, referenced_security_group_id=edge_sg.id)
if case("app-sg-cloudfront-list"):
    rule("bypass-rule", app_lb_sg, prefix_list_id=cf_list.id)
if case("app-sg-inline-world"):
    open_sg = aws.ec2.SecurityGroup("bypass-sg", vpc_id=vpc.id, description="inline", tags=tags("app"),
                                    ingress=[{"protocol": "tcp", "from_port": 8080, "to_port": 8080,
                                              "cidr_blocks": ["0.0.0.0/0"]}])
    app_instance("app-worker", vpc_security_group_ids=[open_sg.id])
if case("app-sg-memberless-world", "safe-app-sg-memberless-nodes"):
    # an app group whose members live outside the stack (an adopted backend's, imported)
    outside_sg = aws.ec2.SecurityGroup("backend-outside-sg", vpc_id=vpc.id, description="adopted backend",
                                       tags=tags("app"), opts=pulumi.ResourceOptions(import_="sg-0abc0123456789def"))
    rule("backend-from-nodes", outside_sg, referenced_security_group_id=node_sg.id)
    if case("app-sg-memberless-world"):
        rule("bypass-rule", outside_sg, cidr_ipv4="0.0.0.0/0")
if case("unclassified-public-instance"):
    # SSH from an office range makes the untagged box reachable: it may be app, and it pivots
    bastion_sg = aws.ec2.SecurityGroup("bastion-sg", vpc_id=vpc.id, description="bastion",
                                       tags={"Name": "bastion"},
                                       ingress=[{"protocol": "tcp", "from_port": 22, "to_port": 22,
                                                 "cidr_blocks": ["203.0.113.0/24"]}])
    aws.ec2.Instance("bastion", ami="ami-0123456789abcdef0", instance_type="t3.micro",
                     subnet_id=edge_subnets[0].id, associate_public_ip_address=True,
                     vpc_security_group_ids=[bastion_sg.id], tags={"Name": "bastion"})
    rule("bypass-rule", app_task_sg, referenced_security_group_id=bastion_sg.id)
# -- bypasses: load balancing
if case("tg-attachment-app-instance"):
    worker = app_instance("app-worker")
    aws.lb.TargetGroupAttachment("bypass-attachment", target_group_arn=node_tg.arn, target_id=worker.id)
if case("app-asg-in-node-tg"):
    lt = aws.ec2.LaunchTemplate("app-lt", image_id="ami-0123456789abcdef0", instance_type="t3.micro",
                                vpc_security_group_ids=[app_task_sg.id], tags=tags("app"))
    aws.autoscaling.Group("app-asg", min_size=1, max_size=2, vpc_zone_identifiers=ids(app_subnets),
                          launch_template={"id": lt.id, "version": "$Latest"},
                          target_group_arns=[node_tg.arn],
                          tags=[{"key": "layerguard:layer", "value": "app", "propagate_at_launch": True}])
# -- bypasses: public addresses
if case("app-instance-public-ip"):
    app_instance("app-worker", subnet_id=edge_subnets[0].id, associate_public_ip_address=True)
if case("app-instance-eip"):
    worker = app_instance("app-worker")
    aws.ec2.Eip("bypass-eip", instance=worker.id, domain="vpc", tags=tags("app"))
if case("app-instance-mapped-subnet"):
    mapped = aws.ec2.Subnet("mapped", vpc_id=vpc.id, cidr_block="10.0.30.0/24", map_public_ip_on_launch=True,
                            tags=tags("app"))
    app_instance("app-worker", subnet_id=mapped.id)
if case("app-rds-public"):
    group = aws.rds.SubnetGroup("app-db-subnets", subnet_ids=ids(app_subnets), tags=tags("app"))
    aws.rds.Instance("app-db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                     username="app", manage_master_user_password=True, db_subnet_group_name=group.name,
                     vpc_security_group_ids=[app_task_sg.id], publicly_accessible=True,
                     skip_final_snapshot=True, tags=tags("app"))
if case("app-lambda-url"):
    fn = aws.lambda_.Function("app-fn", role="arn:aws:iam::123456789012:role/app-fn", runtime="python3.12",
                              handler="index.handler", code=pulumi.AssetArchive({}), tags=tags("app"),
                              vpc_config={"subnet_ids": ids(app_subnets), "security_group_ids": [app_task_sg.id]})
    aws.lambda_.FunctionUrl("bypass-url", function_name=fn.name, authorization_type="NONE")
# -- bypasses: CloudFront and API Gateway
if case("cloudfront-origin-app-lb"):
    cloudfront("bypass-cdn", origin_domain=app_alb.dns_name)
if case("cloudfront-vpc-origin-app-lb"):
    cloudfront("app-cdn", vpc_origin=(vpc_origin("bypass-vpc-origin", app_alb), app_alb.dns_name))
if case("http-api-vpc-link-app"):
    link_sg = aws.ec2.SecurityGroup("link-sg", vpc_id=vpc.id, description="vpc link", tags=tags("edge"))
    link = aws.apigatewayv2.VpcLink("link", security_group_ids=[link_sg.id], subnet_ids=ids(node_subnets),
                                    tags=tags("edge"))
    api = aws.apigatewayv2.Api("http-api", protocol_type="HTTP", tags=tags("edge"))
    aws.apigatewayv2.Integration("bypass-integration", api_id=api.id, integration_type="HTTP_PROXY",
                                 integration_method="ANY", connection_type="VPC_LINK", connection_id=link.id,
                                 integration_uri=app_listener.arn)
if case("rest-api-vpc-link-app"):
    app_nlb_sg = aws.ec2.SecurityGroup("app-nlb-sg", vpc_id=vpc.id, description="app nlb", tags=tags("app"))
    app_nlb = aws.lb.LoadBalancer("app-nlb", internal=True, load_balancer_type="network",
                                  subnets=ids(app_subnets), security_groups=[app_nlb_sg.id], tags=tags("app"))
    link = aws.apigateway.VpcLink("rest-link", target_arn=app_nlb.arn, tags=tags("edge"))
    api = aws.apigateway.RestApi("rest-api", endpoint_configuration={"types": "REGIONAL"}, tags=tags("edge"))
    aws.apigateway.Integration("bypass-integration", rest_api=api.id, resource_id=api.root_resource_id,
                               http_method="ANY", type="HTTP_PROXY", integration_http_method="ANY",
                               connection_type="VPC_LINK", connection_id=link.id,
                               uri=app_nlb.dns_name.apply(lambda d: f"http://{d}/"))
if case("edge-alb-in-node-sg"):
    pass  # the edge ALB joined the node security group above
# -- perimeter: entries without WAF
if case("edge-nlb-no-cloudfront"):
    edge_nlb("edge-nlb", internal=False, sg_rule="world")
if case("http-api-to-nodes"):
    link_sg = aws.ec2.SecurityGroup("link-sg", vpc_id=vpc.id, description="vpc link", tags=tags("edge"))
    nlb = edge_nlb("edge-nlb", internal=True, from_sg=link_sg)
    link = aws.apigatewayv2.VpcLink("link", security_group_ids=[link_sg.id], subnet_ids=ids(edge_subnets),
                                    tags=tags("edge"))
    api = aws.apigatewayv2.Api("http-api", protocol_type="HTTP", tags=tags("edge"))
    aws.apigatewayv2.Integration("nodes-integration", api_id=api.id, integration_type="HTTP_PROXY",
                                 integration_method="ANY", connection_type="VPC_LINK", connection_id=link.id,
                                 integration_uri=nlb.arn)
if case("rest-api-stage-no-waf", "safe-rest-api-waf"):
    nlb = edge_nlb("edge-nlb", internal=True, sg_rule="private-link")
    link = aws.apigateway.VpcLink("rest-link", target_arn=nlb.arn, tags=tags("edge"))
    api = aws.apigateway.RestApi("rest-api", endpoint_configuration={"types": "REGIONAL"}, tags=tags("edge"))
    integ = aws.apigateway.Integration(
        "nodes-integration", rest_api=api.id, resource_id=api.root_resource_id, http_method="ANY",
        type="HTTP_PROXY", integration_http_method="ANY", connection_type="VPC_LINK", connection_id=link.id,
        uri=nlb.dns_name.apply(lambda d: f"http://{d}/"))
    deployment = aws.apigateway.Deployment("rest-deployment", rest_api=api.id,
                                           opts=pulumi.ResourceOptions(depends_on=[integ]))
    stage = aws.apigateway.Stage("rest-stage", rest_api=api.id, deployment=deployment.id, stage_name="v1",
                                 tags=tags("edge"))
    if case("safe-rest-api-waf"):
        aws.wafv2.WebAclAssociation("rest-acl", resource_arn=stage.arn, web_acl_arn=edge_acl.arn)
if case("nlb-admits-public-subnet"):
    edge_nlb("edge-nlb", internal=True, sg_rule="public-subnet")
if case("node-sg-open-world"):
    aws.vpc.SecurityGroupIngressRule("open-node-rule", security_group_id=node_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, cidr_ipv4="0.0.0.0/0")
if case("cloudfront-acl-default-region"):
    cloudfront("edge-cdn", origin_domain=edge_alb.dns_name, acl="default-region")
if case("cloudfront-no-waf"):
    cloudfront("edge-cdn", origin_domain=edge_alb.dns_name, acl=None)
if case("cloudfront-origin-open"):
    cloudfront("edge-cdn", origin_domain=edge_alb.dns_name)
# -- safe variations
if case("safe-sg-rule-reference"):
    aws.ec2.SecurityGroupRule("extra-rule", type="ingress", security_group_id=app_lb_sg.id, protocol="tcp",
                              from_port=443, to_port=443, source_security_group_id=node_sg.id)
if case("safe-node-subnet-cidr"):
    aws.ec2.SecurityGroupRule("extra-rule", type="ingress", security_group_id=app_lb_sg.id, protocol="tcp",
                              from_port=80, to_port=80, cidr_blocks=["10.0.10.0/24", "10.0.11.0/24"])
if case("safe-node-subnet-outputs"):
    aws.ec2.SecurityGroup("extra-sg", vpc_id=vpc.id, description="app admin", tags=tags("app"), ingress=[{
        "protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": [s.cidr_block for s in node_subnets]}])
    app_instance("app-worker", vpc_security_group_ids=[app_task_sg.id])
if case("safe-cloudfront-nlb"):
    nlb = edge_nlb("edge-nlb", internal=False, sg_rule="cloudfront")
    cloudfront("edge-cdn", origin_domain=nlb.dns_name)
if case("safe-cloudfront-vpc-origin"):
    nlb = edge_nlb("edge-nlb", internal=True, sg_rule="cloudfront")
    cloudfront("edge-cdn", vpc_origin=(vpc_origin("edge-vpc-origin", nlb), nlb.dns_name), acl="region-input")
if case("safe-cloudfront-secret-header"):
    aws.lb.ListenerRule("edge-verified", listener_arn=edge_https.arn, priority=1,
                        actions=[{"type": "forward", "target_group_arn": node_tg.arn}],
                        conditions=[{"http_header": {"http_header_name": "X-Origin-Verify",
                                                     "values": ["s3cr3t-from-secrets-manager"]}}])
    cloudfront("edge-cdn", origin_domain=edge_alb.dns_name, header=True)
if case("safe-app-listener-rules"):
    api_tg = aws.lb.TargetGroup("app-api-tg", port=8080, protocol="HTTP", target_type="ip", vpc_id=vpc.id,
                                tags=tags("app"))
    aws.lb.ListenerRule("app-api-rule", listener_arn=app_listener.arn, priority=10,
                        actions=[{"type": "forward", "forward": {"target_groups": [
                            {"arn": api_tg.arn, "weight": 50}, {"arn": app_tg.arn, "weight": 50}]}}],
                        conditions=[{"path_pattern": {"values": ["/api/*"]}}])
    aws.ecs.Service(
        "app-api-svc", cluster=cluster.arn, task_definition=app_task.arn, desired_count=2, launch_type="FARGATE",
        network_configuration={"subnets": ids(app_subnets), "security_groups": [app_task_sg.id]},
        load_balancers=[{"target_group_arn": api_tg.arn, "container_name": "app", "container_port": 8080}],
        tags=tags("app"))
if case("safe-isolated-bastion"):
    bastion_sg = aws.ec2.SecurityGroup("bastion-sg", vpc_id=vpc.id, description="bastion", tags=tags("network"),
                                       ingress=[{"protocol": "tcp", "from_port": 22, "to_port": 22,
                                                 "cidr_blocks": ["203.0.113.0/24"]}])
    aws.ec2.Instance("bastion", ami="ami-0123456789abcdef0", instance_type="t3.micro",
                     subnet_id=edge_subnets[0].id, associate_public_ip_address=True,
                     vpc_security_group_ids=[bastion_sg.id], tags=tags("network"))

# === issue 9: causes the model must understand ===================================================
PARTNER = "198.51.100.0/24"  # a public range (a partner's): internet addresses, not the edge subnets


def open_sg(name, port, cidr=PARTNER, layer="app", protocol="tcp"):
    """A security group admitting `cidr` on one port (inline rules)."""
    family = "ipv6_cidr_blocks" if ":" in cidr else "cidr_blocks"
    return aws.ec2.SecurityGroup(name, vpc_id=vpc.id, description=name, tags=tags(layer), ingress=[{
        "protocol": protocol, "from_port": port, "to_port": port, family: [cidr]}])


def intra_app_rule(name="intra-app"):
    """App tasks admit the app subnets (health checks between app tasks): safe while they are private."""
    return aws.ec2.SecurityGroupRule(name, type="ingress", security_group_id=app_task_sg.id, protocol="tcp",
                                     from_port=8080, to_port=8080, cidr_blocks=["10.0.20.0/23"])


# -- 1. open world: what the model does not understand fails closed, naming it
if case("classic-elb-app"):
    worker = app_instance("app-worker")
    aws.elb.LoadBalancer("bypass-elb", subnets=ids(edge_subnets), security_groups=[edge_sg.id],
                         instances=[worker.id], listeners=[{"instance_port": 8080, "instance_protocol": "http",
                                                            "lb_port": 80, "lb_protocol": "http"}], tags=tags("edge"))
if case("rds-cluster-instance-public"):
    db_group = aws.rds.SubnetGroup("app-db-subnets", subnet_ids=ids(edge_subnets), tags=tags("app"))
    db_cluster = aws.rds.Cluster("app-db-cluster", engine="aurora-postgresql", master_username="app",
                                 manage_master_user_password=True, db_subnet_group_name=db_group.name,
                                 vpc_security_group_ids=[open_sg("db-sg", 5432).id], skip_final_snapshot=True,
                                 tags=tags("app"))
    aws.rds.ClusterInstance("bypass-db-instance", cluster_identifier=db_cluster.id, instance_class="db.t4g.medium",
                            engine="aurora-postgresql", publicly_accessible=True, db_subnet_group_name=db_group.name,
                            tags=tags("app"))
if case("http-api-quick-create"):
    aws.apigatewayv2.Api("bypass-api", protocol_type="HTTP", target="http://app.internal.example:8080",
                         tags=tags("edge"))
if case("rest-api-openapi-body"):
    aws.apigateway.RestApi("bypass-api", endpoint_configuration={"types": "REGIONAL"}, tags=tags("edge"),
                           body=json.dumps({"openapi": "3.0.1", "info": {"title": "app", "version": "1"},
                                            "paths": {"/{proxy+}": {"x-amazon-apigateway-any-method": {
                                                "x-amazon-apigateway-integration": {
                                                    "type": "http_proxy", "httpMethod": "ANY",
                                                    "uri": "http://10.0.20.10:8080/{proxy}"}}}}}))
if case("ecs-task-set"):
    aws.ecs.TaskSet("bypass-task-set", service="app-svc", cluster=cluster.id, task_definition=app_task.arn,
                    launch_type="FARGATE", load_balancers=[{"target_group_arn": node_tg.arn,
                                                            "container_name": "app", "container_port": 8080}],
                    network_configuration={"subnets": ids(app_subnets), "security_groups": [app_task_sg.id]})
if case("launch-configuration-public"):
    lc = aws.ec2.LaunchConfiguration("bypass-lc", image_id="ami-0123456789abcdef0", instance_type="t3.micro",
                                     associate_public_ip_address=True, security_groups=[app_task_sg.id])
    aws.autoscaling.Group("app-asg", min_size=1, max_size=2, vpc_zone_identifiers=ids(edge_subnets),
                          launch_configuration=lc.name,
                          tags=[{"key": "layerguard:layer", "value": "app", "propagate_at_launch": True}])
if case("default-sg-open"):
    aws.ec2.DefaultSecurityGroup("bypass-default-sg", vpc_id=vpc.id, tags=tags("network"), ingress=[{
        "protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}])
    app_instance("app-worker", vpc_security_group_ids=None)  # no group: the VPC's default group applies
if case("main-route-table-public", "safe-main-route-table-private"):
    intra_app_rule()
    private_rt = aws.ec2.RouteTable("private-rt", vpc_id=vpc.id, tags=tags("network"))
    aws.ec2.MainRouteTableAssociation(
        "bypass-main-rt" if case("main-route-table-public") else "main-rt", vpc_id=vpc.id,
        route_table_id=public_rt.id if case("main-route-table-public") else private_rt.id)
if case("default-route-table-igw"):
    intra_app_rule()
    # the VPC's default route table is its main route table (the same id)
    aws.ec2.DefaultRouteTable("bypass-default-rt", default_route_table_id=vpc.main_route_table_id,
                              routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}], tags=tags("network"))
if case("route-on-main-table"):
    intra_app_rule()
    aws.ec2.Route("bypass-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="0.0.0.0/0",
                  gateway_id=igw.id)
if case("foreign-subnet-literal"):
    app_instance("app-worker", subnet_id="subnet-0123456789abcdef0")
if case("foreign-sg-literal"):
    app_instance("app-worker", vpc_security_group_ids=[app_task_sg.id, "sg-0123456789abcdef0"])
if case("eni-sg-attachment", "safe-eni-sg-attachment"):
    app_eni = aws.ec2.NetworkInterface("app-eni", subnet_id=app_subnets[0].id, security_groups=[app_task_sg.id],
                                       tags=tags("app"))
    attached = open_sg("open-sg", 8080, cidr="0.0.0.0/0", layer="edge") if case("eni-sg-attachment") else app_lb_sg
    aws.ec2.NetworkInterfaceSecurityGroupAttachment(
        "bypass-sg-attachment" if case("eni-sg-attachment") else "sg-attachment",
        security_group_id=attached.id, network_interface_id=app_eni.id)
if case("app-eni-carrier"):
    worker = app_instance("app-worker")
    eni = aws.ec2.NetworkInterface("extra-eni", subnet_id=edge_subnets[0].id,
                                   security_groups=[open_sg("eni-sg", 8080, layer="edge").id], tags=tags("edge"))
    aws.ec2.NetworkInterfaceAttachment("extra-eni-attach", instance_id=worker.id, network_interface_id=eni.id,
                                       device_index=1)
    aws.ec2.Eip("bypass-eip", network_interface=eni.id, domain="vpc", tags=tags("edge"))
if case("global-accelerator"):
    accel = aws.globalaccelerator.Accelerator("accel", ip_address_type="IPV4", enabled=True, tags=tags("edge"))
    ga_listener = aws.globalaccelerator.Listener("accel-listener", accelerator_arn=accel.id, protocol="TCP",
                                                 port_ranges=[{"from_port": 80, "to_port": 80}])
    aws.globalaccelerator.EndpointGroup("bypass-endpoint-group", listener_arn=ga_listener.id,
                                        endpoint_configurations=[{"endpoint_id": app_alb.arn, "weight": 100}])
if case("apprunner-service"):
    aws.apprunner.Service("bypass-apprunner", service_name="app", source_configuration={
        "image_repository": {"image_identifier": "public.ecr.aws/nginx/nginx:1.27", "image_repository_type": "ECR_PUBLIC",
                             "image_configuration": {"port": "8080"}}, "auto_deployments_enabled": False})
if case("lightsail-instance"):
    aws.lightsail.Instance("bypass-lightsail", availability_zone="eu-west-1a", blueprint_id="ubuntu_22_04",
                           bundle_id="nano_3_0")

# -- 2. a layer is only a label: nodes must be proven, what carries app traffic is app
if case("node-instance-labelled"):
    box = aws.ec2.Instance("node-box", ami="ami-0123456789abcdef0", instance_type="t3.micro",
                           subnet_id=node_subnets[0].id, vpc_security_group_ids=[node_sg.id], tags=tags("node"))
    aws.lb.TargetGroupAttachment("node-box-attachment", target_group_arn=node_tg.arn, target_id=box.id)
if case("app-capacity-host", "safe-app-on-ec2-capacity"):
    public = case("app-capacity-host")
    hosts_sg = open_sg("hosts-sg", 8080, layer="edge") if public else app_task_sg
    lt = aws.ec2.LaunchTemplate("app-hosts-lt", image_id="ami-0123456789abcdef0", instance_type="t3.small",
                                network_interfaces=[{"associate_public_ip_address": public,
                                                     "security_groups": [hosts_sg.id]}], tags=tags("edge"))
    hosts = aws.autoscaling.Group("hosts", min_size=1, max_size=2,
                                  vpc_zone_identifiers=ids(edge_subnets if public else app_subnets),
                                  launch_template={"id": lt.id, "version": "$Latest"},
                                  tags=[{"key": "layerguard:layer", "value": "edge", "propagate_at_launch": True}])
    cp = aws.ecs.CapacityProvider("hosts-cp", auto_scaling_group_provider={"auto_scaling_group_arn": hosts.arn},
                                  tags=tags("edge"))
    aws.ecs.ClusterCapacityProviders("cluster-cps", cluster_name=cluster.name, capacity_providers=[cp.name])
    ec2_task = aws.ecs.TaskDefinition(
        "app-ec2-task", family="app-ec2", network_mode="bridge", requires_compatibilities=["EC2"], tags=tags("app"),
        container_definitions=json.dumps([{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "memory": 256,
                                           "essential": True, "portMappings": [{"containerPort": 8080, "hostPort": 8080}]}]))
    aws.ecs.Service("app-ec2-svc", cluster=cluster.arn, task_definition=ec2_task.arn, desired_count=1,
                    capacity_provider_strategies=[{"capacity_provider": cp.name, "weight": 1}], tags=tags("app"))
if case("unclassified-compute-public"):
    aws.ec2.Instance("mystery-box", ami="ami-0123456789abcdef0", instance_type="t3.micro",
                     subnet_id=edge_subnets[0].id, associate_public_ip_address=True,
                     vpc_security_group_ids=[open_sg("mystery-sg", 8080, layer="network").id], tags={"Name": "box"})

# -- 3. ports, protocols, routes, NACLs
if case("app-sg-edge-sg-ref-port"):
    aws.vpc.SecurityGroupIngressRule("bypass-rule", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                     from_port=80, to_port=80, referenced_security_group_id=edge_sg.id)
if case("app-sg-all-protocols"):
    aws.vpc.SecurityGroupIngressRule("bypass-rule", security_group_id=app_task_sg.id, ip_protocol="-1",
                                     cidr_ipv4="10.0.0.0/24")
if case("app-task-public-ip-open"):
    aws.ecs.Service(
        "app-public-svc", cluster=cluster.arn, task_definition=app_task.arn, desired_count=1, launch_type="FARGATE",
        network_configuration={"subnets": ids(edge_subnets), "assign_public_ip": True,
                               "security_groups": [open_sg("app-public-sg", 8080).id]}, tags=tags("app"))
if case("app-lb-internet-facing-open"):
    public_alb = aws.lb.LoadBalancer("app-public-alb", internal=False, load_balancer_type="application",
                                     subnets=ids(edge_subnets), security_groups=[open_sg("app-public-sg", 443).id],
                                     drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
                                     tags=tags("app"))
    aws.lb.Listener("app-public-https", load_balancer_arn=public_alb.arn, port=443, protocol="HTTPS",
                    ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                    certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
                    default_actions=[{"type": "forward", "target_group_arn": app_tg.arn}])
if case("app-rds-public-subnet"):
    group = aws.rds.SubnetGroup("app-db-subnets", subnet_ids=ids(edge_subnets), tags=tags("app"))
    aws.rds.Instance("app-db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                     username="app", manage_master_user_password=True, db_subnet_group_name=group.name,
                     vpc_security_group_ids=[open_sg("db-sg", 5432).id], publicly_accessible=True,
                     skip_final_snapshot=True, tags=tags("app"))
if case("nacl-allow-before-deny", "safe-nacl-blocks-edge"):
    rule("bypass-rule" if case("nacl-allow-before-deny") else "open-rule", app_task_sg, cidr_ipv4="0.0.0.0/0")
    allow_first = case("nacl-allow-before-deny")
    aws.ec2.NetworkAcl("app-nacl", vpc_id=vpc.id, subnet_ids=ids(app_subnets), tags=tags("network"), ingress=[
        {"rule_no": 100, "protocol": "tcp", "action": "allow" if allow_first else "deny", "cidr_block": "10.0.0.0/23",
         "from_port": 0, "to_port": 65535},
        {"rule_no": 200, "protocol": "tcp", "action": "deny" if allow_first else "allow", "cidr_block": "10.0.0.0/23",
         "from_port": 0, "to_port": 65535},
        {"rule_no": 300, "protocol": "-1", "action": "allow", "cidr_block": "10.0.10.0/23", "from_port": 0, "to_port": 0},
        {"rule_no": 310, "protocol": "-1", "action": "allow", "cidr_block": "10.0.20.0/23", "from_port": 0, "to_port": 0}],
        egress=[{"rule_no": 100, "protocol": "-1", "action": "allow", "cidr_block": "0.0.0.0/0", "from_port": 0, "to_port": 0}])
if case("peering-foreign"):
    rule("bypass-rule", app_task_sg, cidr_ipv4="192.168.0.0/16")
    pcx = aws.ec2.VpcPeeringConnection("peer", vpc_id=vpc.id, peer_vpc_id="vpc-0fedcba9876543210",
                                       peer_owner_id="210987654321", tags=tags("network"))
    aws.ec2.Route("peer-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="192.168.0.0/16",
                  vpc_peering_connection_id=pcx.id)


def corp_vpc():
    """A second, private VPC (no internet gateway) with one subnet."""
    corp = aws.ec2.Vpc("corp-vpc", cidr_block="10.1.0.0/16", tags=tags("network"))
    corp_subnet = aws.ec2.Subnet("corp-a", vpc_id=corp.id, cidr_block="10.1.0.0/24", tags=tags("network"))
    return corp, corp_subnet


if case("tgw-foreign-attachment", "safe-tgw-private-vpc"):
    rule("bypass-rule" if case("tgw-foreign-attachment") else "corp-rule", app_task_sg, cidr_ipv4="10.1.0.0/16")
    tgw = aws.ec2transitgateway.TransitGateway("tgw", tags=tags("network"))
    aws.ec2transitgateway.VpcAttachment("tgw-app", transit_gateway_id=tgw.id, vpc_id=vpc.id,
                                        subnet_ids=ids(app_subnets), tags=tags("network"))
    if case("tgw-foreign-attachment"):
        aws.ec2transitgateway.VpcAttachment("tgw-foreign", transit_gateway_id=tgw.id, vpc_id="vpc-0fedcba9876543210",
                                            subnet_ids=["subnet-0fedcba9876543210"], tags=tags("network"))
    else:
        corp, corp_subnet = corp_vpc()
        aws.ec2transitgateway.VpcAttachment("tgw-corp", transit_gateway_id=tgw.id, vpc_id=corp.id,
                                            subnet_ids=[corp_subnet.id], tags=tags("network"))
    aws.ec2.Route("tgw-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.1.0.0/16",
                  transit_gateway_id=tgw.id)
if case("safe-peering-private-vpc"):
    rule("corp-rule", app_task_sg, cidr_ipv4="10.1.0.0/16")
    corp, _corp_subnet = corp_vpc()
    pcx = aws.ec2.VpcPeeringConnection("peer", vpc_id=vpc.id, peer_vpc_id=corp.id, auto_accept=True,
                                       tags=tags("network"))
    aws.ec2.Route("peer-route", route_table_id=vpc.main_route_table_id, destination_cidr_block="10.1.0.0/16",
                  vpc_peering_connection_id=pcx.id)

# -- perimeter rules
if case("http-api-behind-cf-execute-api", "safe-http-api-behind-cf"):
    link_sg = aws.ec2.SecurityGroup("link-sg", vpc_id=vpc.id, description="vpc link", tags=tags("edge"))
    nlb = edge_nlb("edge-nlb", internal=True, from_sg=link_sg)
    link = aws.apigatewayv2.VpcLink("link", security_group_ids=[link_sg.id], subnet_ids=ids(edge_subnets),
                                    tags=tags("edge"))
    api = aws.apigatewayv2.Api("http-api", protocol_type="HTTP", tags=tags("edge"),
                               disable_execute_api_endpoint=case("safe-http-api-behind-cf"))
    aws.apigatewayv2.Integration("nodes-integration", api_id=api.id, integration_type="HTTP_PROXY",
                                 integration_method="ANY", connection_type="VPC_LINK", connection_id=link.id,
                                 integration_uri=nlb.arn)
    cloudfront("edge-cdn", origin_domain=api.api_endpoint)
if case("cloudfront-header-wildcard", "cloudfront-header-wrong-value", "safe-redirect-listener-origin"):
    value = {"cloudfront-header-wildcard": "*", "cloudfront-header-wrong-value": "another-value"}.get(
        CASE, "s3cr3t-from-secrets-manager")
    aws.lb.ListenerRule("edge-verified", listener_arn=edge_https.arn, priority=1,
                        actions=[{"type": "forward", "target_group_arn": node_tg.arn}],
                        conditions=[{"http_header": {"http_header_name": "X-Origin-Verify", "values": [value]}}])
    cloudfront("edge-cdn", origin_domain=edge_alb.dns_name, header=True)
    if case("safe-redirect-listener-origin"):
        aws.lb.Listener("edge-http", load_balancer_arn=edge_alb.arn, port=80, protocol="HTTP", default_actions=[{
            "type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}])
if case("cloudfront-prefix-list-only-alb"):
    cloudfront("edge-cdn", origin_domain=edge_alb.dns_name)
if case("safe-secret-header-random"):
    import pulumi_random as random
    secret = random.RandomPassword("origin-secret", length=32, special=False)
    aws.lb.ListenerRule("edge-verified", listener_arn=edge_https.arn, priority=1,
                        actions=[{"type": "forward", "target_group_arn": node_tg.arn}],
                        conditions=[{"http_header": {"http_header_name": "X-Origin-Verify",
                                                     "values": [secret.result]}}])
    cloudfront("edge-cdn", origin_domain=edge_alb.dns_name, header=secret.result)
if case("safe-origin-own-waf"):
    cloudfront("edge-cdn", origin_domain=edge_alb.dns_name)

# -- safe variations of the three causes
if case("safe-icmp-world"):
    aws.vpc.SecurityGroupIngressRule("pmtu", security_group_id=app_task_sg.id, ip_protocol="icmp", from_port=3,
                                     to_port=4, cidr_ipv4="0.0.0.0/0")
if case("safe-port-not-listening"):
    aws.vpc.SecurityGroupIngressRule("admin-rule", security_group_id=app_lb_sg.id, ip_protocol="tcp",
                                     from_port=8443, to_port=8443, referenced_security_group_id=edge_sg.id)
if case("safe-private-subnet-public-ip"):
    app_instance("app-worker", associate_public_ip_address=True,
                 vpc_security_group_ids=[open_sg("worker-sg", 8080).id])
if case("safe-lambda-url-iam"):
    fn = aws.lambda_.Function("app-fn", role="arn:aws:iam::123456789012:role/app-fn", runtime="python3.12",
                              handler="index.handler", code=pulumi.AssetArchive({}), tags=tags("app"),
                              vpc_config={"subnet_ids": ids(app_subnets), "security_group_ids": [app_task_sg.id]})
    aws.lambda_.FunctionUrl("app-url", function_name=fn.name, authorization_type="AWS_IAM")
if case("safe-internal-nlb-no-sg"):
    app_nlb = aws.lb.LoadBalancer("app-nlb", internal=True, load_balancer_type="network",
                                  subnets=ids(app_subnets), tags=tags("app"))
    app_tcp_tg = aws.lb.TargetGroup("app-tcp-tg", port=8080, protocol="TCP", target_type="ip", vpc_id=vpc.id,
                                    tags=tags("app"))
    aws.lb.Listener("app-tcp", load_balancer_arn=app_nlb.arn, port=8080, protocol="TCP",
                    default_actions=[{"type": "forward", "target_group_arn": app_tcp_tg.arn}])
if case("safe-intra-app-cidr"):
    intra_app_rule()

if case("app-instance-ipv6", "safe-ipv6-egress-only"):
    # IPv6 addresses are global: only the route decides (an egress-only gateway is not inbound)
    v6_rt = aws.ec2.RouteTable("v6-rt", vpc_id=vpc.id, tags=tags("network"))
    if case("app-instance-ipv6"):
        aws.ec2.Route("v6-default", route_table_id=v6_rt.id, destination_ipv6_cidr_block="::/0", gateway_id=igw.id)
    else:
        eigw = aws.ec2.EgressOnlyInternetGateway("eigw", vpc_id=vpc.id, tags=tags("network"))
        aws.ec2.Route("v6-default", route_table_id=v6_rt.id, destination_ipv6_cidr_block="::/0",
                      egress_only_gateway_id=eigw.id)
    v6_subnet = aws.ec2.Subnet("app-v6", vpc_id=vpc.id, cidr_block="10.0.40.0/24",
                               ipv6_cidr_block="2600:1f18:abcd:40::/64", tags=tags("app"))
    aws.ec2.RouteTableAssociation("app-v6-rt", subnet_id=v6_subnet.id, route_table_id=v6_rt.id)
    app_instance("app-v6-worker", subnet_id=v6_subnet.id, ipv6_address_count=1,
                 vpc_security_group_ids=[open_sg("v6-sg", 8080, cidr="::/0", layer="app").id])

# -- the region's default VPC: no subnet, no vpc_id (AWS places them there; it is public and outside the stack)
DEFAULT_VPC_CASES = ("default-vpc-instance-open", "default-vpc-sg-no-vpc", "default-vpc-no-sg", "default-vpc-asg-open",
                     "safe-default-vpc-closed")
if case("default-vpc-cache"):
    # no subnet group: the default VPC's default subnets, a type the model does not follow (fail closed)
    aws.elasticache.ReplicationGroup("app-cache", description="app cache", node_type="cache.t4g.micro",
                                     num_cache_clusters=1, engine="redis", tags=tags("app"))


def box(name, **kwargs):
    """An app instance with no subnet: AWS launches it in a default subnet of the default VPC."""
    return aws.ec2.Instance(name, ami="ami-0123456789abcdef0", instance_type="t3.micro", tags=tags("app"), **kwargs)


if case(*DEFAULT_VPC_CASES):
    # no vpc_id: the group is the default VPC's
    dv_sg = aws.ec2.SecurityGroup("dv-sg", description="default VPC group", tags=tags("app"),
                                  ingress=[{"protocol": "tcp", "from_port": 8080, "to_port": 8080,
                                            "cidr_blocks": ["172.31.0.0/16"]}] if case("default-vpc-sg-no-vpc") else None)
if case("default-vpc-instance-open"):
    rule("bypass-rule", dv_sg, cidr_ipv4="0.0.0.0/0")
if case("default-vpc-asg-open"):
    rule("bypass-rule", dv_sg, cidr_ipv4=PARTNER)  # a partner's range: the group's public address admits it
if case("default-vpc-instance-open"):
    box("app-default-box", vpc_security_group_ids=[dv_sg.id])
if case("default-vpc-sg-no-vpc"):
    # no public address, but the default VPC's own space (and what it routes) is outside the stack
    box("app-default-box", vpc_security_group_ids=[dv_sg.id], associate_public_ip_address=False)
if case("default-vpc-no-sg"):
    box("app-default-box")  # no group either: the default VPC's default group, whose rules are not the stack's
if case("default-vpc-asg-open"):
    dv_lt = aws.ec2.LaunchTemplate("app-default-lt", image_id="ami-0123456789abcdef0", instance_type="t3.micro",
                                   vpc_security_group_ids=[dv_sg.id], tags=tags("app"))
    aws.autoscaling.Group("app-default-asg", min_size=1, max_size=2, availability_zones=[f"{REGION}a"],
                          launch_template={"id": dv_lt.id, "version": "$Latest"},
                          tags=[{"key": "layerguard:layer", "value": "app", "propagate_at_launch": True}])
if case("safe-default-vpc-closed"):
    # public, in the default VPC, but its group admits only ICMP from anywhere and its own members
    aws.vpc.SecurityGroupIngressRule("dv-icmp", security_group_id=dv_sg.id, ip_protocol="icmp", from_port=-1,
                                     to_port=-1, cidr_ipv4="0.0.0.0/0")
    aws.vpc.SecurityGroupIngressRule("dv-self", security_group_id=dv_sg.id, ip_protocol="tcp", from_port=8080,
                                     to_port=8080, referenced_security_group_id=dv_sg.id)
    box("app-default-box", vpc_security_group_ids=[dv_sg.id])

pulumi.export("edgeDns", edge_alb.dns_name)

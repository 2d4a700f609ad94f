"""The ECS task definitions and services, in update mode (every ARN and name known)."""

from __future__ import annotations

import ipaddress
import json

import botocore.session
from _program import TASK, of_type, ok, one_dep
from botocore.validate import ParamValidator

_ECS = botocore.session.get_session().get_service_model("ecs")
REGISTER = _ECS.operation_model("RegisterTaskDefinition").input_shape
API_HOSTS = {"us": "us1.api.wallarm.com", "eu": "api.wallarm.com"}


def register_params(task) -> dict:
    """The RegisterTaskDefinition request the provider would send for this resource."""
    i = task.inputs
    params = {
        "family": i["family"],
        "containerDefinitions": json.loads(i["containerDefinitions"]),
        "cpu": i["cpu"], "memory": i["memory"], "networkMode": i["networkMode"],
        "requiresCompatibilities": i["requiresCompatibilities"],
        "executionRoleArn": i["executionRoleArn"], "taskRoleArn": i["taskRoleArn"],
        "runtimePlatform": {"operatingSystemFamily": i["runtimePlatform"]["operatingSystemFamily"],
                            "cpuArchitecture": i["runtimePlatform"]["cpuArchitecture"]},
    }
    if i.get("volumes"):
        params["volumes"] = [{"name": v["name"]} for v in i["volumes"]]
    return params


def containers(result, name: str) -> dict:
    task = next(t for t in of_type(result, TASK) if t.name == name)
    return {c["name"]: c for c in json.loads(task.inputs["containerDefinitions"])}


def test_task_definitions_validate_against_register_task_definition(update_run):
    _stack, result = update_run
    tasks = of_type(result, TASK)
    assert {t.name for t in tasks} == {"node-task", "app-task"}
    for task in tasks:
        report = ParamValidator().validate(register_params(task), REGISTER)
        assert not report.has_errors(), f"{task.urn}:\n{report.generate_report()}"


def test_the_validator_rejects_a_broken_definition(update_run):
    """Guards the test above against passing vacuously."""
    _stack, result = update_run
    task = next(t for t in of_type(result, TASK) if t.name == "node-task")
    params = register_params(task)
    params["containerDefinitions"][1]["portMappings"] = [{"containerPort": "eighty"}]
    assert ParamValidator().validate(params, REGISTER).has_errors()


def test_node_container(update_run):
    stack, result = update_run
    by_name = {r.name: r for r in result.resources}
    nodes = containers(result, "node-task")
    node, init = nodes["wallarm-node"], nodes["nginx-vhost"]
    # Pulled through the stack's ECR pull-through cache rule for Docker Hub, never anonymously.
    prefix = by_name["node-image-cache"].inputs["ecrRepositoryPrefix"]
    assert prefix == f"layerguard-{stack}-hub"
    assert node["image"] == f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{prefix}/wallarm/node:7.1.0"
    assert node["essential"] is True
    env = {e["name"]: e["value"] for e in node["environment"]}
    assert env["WALLARM_API_HOST"] == API_HOSTS["eu"]
    assert env["WALLARM_MODE"] in ("monitoring", "safe_blocking", "block")
    assert int(env["WALLARM_APPLICATION"]) == -1
    assert float(env["SLAB_ALLOC_ARENA"]) * 1024 + 512 <= int(by_name["node-task"].inputs["memory"])
    assert "NGINX_BACKEND" not in env, "NGINX_BACKEND would overwrite the custom vhost"
    # dev fails open (its stack file says so); staging and prod fail closed, the default.
    assert env["WALLARM_FALLBACK"] == ("true" if stack == "dev" else "false")
    # What the 7.1.0 image's init really gates NGINX on (components/node_fleet.py, issue 20).
    assert env["WALLARM_IGNORE_REGISTER_ERROR"] == ("true" if stack == "dev" else "false")
    assert not any("TOKEN" in name for name in env), "the token must not be in the environment"
    (secret,) = node["secrets"]
    stack_arn = {"dev": "dev", "staging": "staging", "prod": "prod"}[stack]
    assert secret["name"] == "WALLARM_API_TOKEN"
    assert secret["valueFrom"].startswith(
        f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:layerguard/{stack_arn}/")
    assert node["dependsOn"] == [{"containerName": "nginx-vhost", "condition": "SUCCESS"}]
    assert node["logConfiguration"]["logDriver"] == "awslogs"
    mount = {m["containerPath"]: m["sourceVolume"] for m in node["mountPoints"]}
    init_mount = {m["containerPath"]: m["sourceVolume"] for m in init["mountPoints"]}
    assert mount["/etc/nginx/http.d"] == init_mount["/conf"]
    assert init["essential"] is False and "/conf/default.conf" in init["command"][0]
    assert not by_name["node-task"].inputs["volumes"][0].get("hostPath"), "no host mounts on Fargate"


def test_node_vhost(update_run):
    stack, result = update_run
    by_name = {r.name: r for r in result.resources}
    init = containers(result, "node-task")["nginx-vhost"]
    vhost = {e["name"]: e["value"] for e in init["environment"]}["NODE_VHOST"]
    assert "location = /healthz {" in vhost and "wallarm_mode off;" in vhost
    server_level = vhost.split("location")[0]
    assert "wallarm_mode_allow_override strict;" in server_level
    assert "client_max_body_size 16m;" in server_level
    fail_closed = stack != "dev"
    assert f"wallarm_fallback {'off' if fail_closed else 'on'};" in server_level
    health = vhost.split("location = /healthz {")[1].split("}")[0]
    assert ("proxy_pass http://127.0.0.1:9446/ready;" in health) == fail_closed, health
    assert "resolver 169.254.169.253" in vhost
    assert "proxy_pass $layerguard_upstream;" in vhost, "a variable makes NGINX re-resolve"
    # The upstream name is the app's private DNS record, an alias of the internal ALB.
    upstream = f"app.{stack}.layerguard.internal"
    assert f'"http://{upstream}:8080"' in vhost
    record = by_name["app-dns"]
    assert record.inputs["name"] == upstream
    assert by_name[result.by_urn()[one_dep(record, "aliases")].name].inputs["internal"] is True
    # Real client IP: only the public (edge ALB) subnets are trusted for X-Forwarded-For.
    trusted = {line.split()[1].rstrip(";") for line in vhost.splitlines()
               if line.strip().startswith("set_real_ip_from")}
    public = {s.inputs["cidrBlock"] for s in of_type(result, "aws:ec2/subnet:Subnet")
              if s.name.startswith("network-public-")}
    assert trusted == public and all(ipaddress.ip_network(c) for c in trusted)
    assert "real_ip_header X-Forwarded-For;" in vhost
    health = by_name["edge-node-tg"].inputs["healthCheck"]
    assert health["path"] == "/healthz" and health["matcher"] == "200"
    assert by_name["edge-node-tg"].inputs["targetType"] == "ip"


def test_node_service_and_scaling(update_run):
    stack, result = update_run
    by_name = {r.name: r for r in result.resources}
    service = by_name["node-service"].inputs
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["healthCheckGracePeriodSeconds"] >= 60
    assert service["launchType"] == "FARGATE"
    assert service["waitForSteadyState"] is (stack != "dev"), "dev does not wait; the default does"
    target = by_name["node-scaling"].inputs
    assert target["scalableDimension"] == "ecs:service:DesiredCount"
    assert 1 <= target["minCapacity"] <= target["maxCapacity"]
    cluster = result.by_urn()[one_dep(by_name["node-service"], "cluster")]
    assert target["resourceId"] == f"service/{cluster.outputs['name']}/{result.outputs['nodeServiceName']}"
    metrics = {}
    for name in ("node-scale-on-cpu", "node-scale-on-requests"):
        spec = by_name[name].inputs["targetTrackingScalingPolicyConfiguration"]
        metric = spec["predefinedMetricSpecification"]
        metrics[metric["predefinedMetricType"]] = metric.get("resourceLabel")
    assert set(metrics) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    label = metrics["ALBRequestCountPerTarget"]
    assert label.startswith("app/edge-alb") and "/targetgroup/edge-node-tg" in label


def test_pull_through_cache_rule(update_run):
    _stack, result = update_run
    (rule,) = of_type(result, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert rule.name == "node-image-cache"
    assert rule.inputs["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rule.inputs["credentialArn"].startswith(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/")
    service = next(r for r in of_type(result, "aws:ecs/service:Service") if r.name == "node-service")
    assert rule.urn in service.dependencies, "tasks must not start before the rule exists"


def test_direct_docker_hub_pull_when_pull_through_is_off():
    result = ok("staging", "update", config={"layerguard:nodeImagePullThrough": "false",
                                             "layerguard:dockerHubCredentialArn": ""})
    assert not of_type(result, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert containers(result, "node-task")["wallarm-node"]["image"] == "wallarm/node:7.1.0"
    policy = next(r for r in result.resources if r.name == "node-execution-policy")
    assert "ecr:" not in policy.inputs["policy"]


def test_app_container():
    result = ok("dev", "update")
    app = containers(result, "app-task")["app"]
    assert app["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
    assert {"name": "PORT", "value": "8080"} in app["environment"]
    assert not app.get("secrets")

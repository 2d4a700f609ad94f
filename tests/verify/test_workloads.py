"""Faults an operator can make after the deploy without touching a security group rule (issue 20,
item 10), each injected with boto3 into a moto account (server mode, loopback) seeded from the dev
stack, each caught by `verify` with exit 1, the right check and the offending resource.

What moto cannot emulate is tested by other means, said in the test's docstring:
  * ECS running counts: moto reports `MOTO_ECS_SERVICE_RUNNING` tasks for a service it creates
    and sets the running count to the desired count on every update, so "desired 2, running 0"
    cannot happen there; that path is fed a DescribeServices response of the documented shape
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html) through
    the same code.
  * Emptying a web ACL: moto's UpdateWebACL keeps the old rules when `Rules` is empty; the rules
    are replaced by another in moto, and the empty list is a recorded GetWebACL response.
  * Target health: moto answers every registered target `healthy`; verify reads registrations
    (DescribeTargetHealth lists every registered target whatever its state), so no health state
    is needed for the faults here.
"""

from __future__ import annotations

import json

import boto3
import pytest

from layerguard.cli import main

REGION = "eu-west-1"


def run(account, tmp_path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = main(["verify", "--state", str(account["path"]), "--endpoint-url", account["endpoint"],
                 "--json", str(out), *extra])
    return code, json.loads(out.read_text()) if out.exists() else {}


def found(report: dict, check: str) -> list[dict]:
    return [f for f in report["findings"] if f["check"] == check]


def aws(account, service: str):
    return boto3.client(service, region_name=REGION, endpoint_url=account["endpoint"])


# --- route tables ---------------------------------------------------------------------------------


def test_app_subnet_moved_to_a_new_public_table(account, tmp_path):
    ec2 = aws(account, "ec2")
    by_name = account["by_name"]
    subnet = by_name["network-private-0"]
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=by_name["network-igw"])
    ec2.replace_route_table_association(AssociationId=by_name["network-private-rta-0"], RouteTableId=table)
    code, report = run(account, tmp_path)
    assert code == 1
    drift = [f for f in found(report, "route-drift") if f["resource"] == f"{subnet} (network-private-0)"]
    assert drift, report["findings"]
    assert table in drift[0]["evidence"] and "the subnet is public" in drift[0]["evidence"]


def test_main_table_given_an_igw_route_and_the_explicit_association_removed(account, tmp_path):
    ec2 = aws(account, "ec2")
    by_name = account["by_name"]
    subnet = by_name["network-private-0"]
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    main_table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                    {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]
    ec2.create_route(RouteTableId=main_table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0",
                     GatewayId=by_name["network-igw"])
    ec2.disassociate_route_table(AssociationId=by_name["network-private-rta-0"])
    code, report = run(account, tmp_path)
    assert code == 1
    drift = [f for f in found(report, "route-drift") if f["resource"] == f"{subnet} (network-private-0)"]
    assert drift, report["findings"]
    assert "main table" in drift[0]["evidence"] and "the subnet is public" in drift[0]["evidence"]


def test_main_table_route_alone_is_not_a_finding(account, tmp_path):
    """Every subnet of the dev stack has an explicit association: an IGW route in the main table
    serves none of them, so it is not reported (the check reads the table that applies)."""
    ec2 = aws(account, "ec2")
    by_name = account["by_name"]
    vpc = ec2.describe_subnets(SubnetIds=[by_name["network-private-0"]])["Subnets"][0]["VpcId"]
    main_table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                    {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]
    ec2.create_route(RouteTableId=main_table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0",
                     GatewayId=by_name["network-igw"])
    code, report = run(account, tmp_path)
    assert report["findings"] == [] and code == 0


# --- ECS ------------------------------------------------------------------------------------------


def test_node_service_scaled_to_zero(account, tmp_path):
    cluster, service = account["services"]["node-service"]
    aws(account, "ecs").update_service(cluster=cluster, service=service, desiredCount=0)
    code, report = run(account, tmp_path)
    assert code == 1
    drift = found(report, "ecs-drift")
    assert [f["resource"] for f in drift] == [f"{service} (node-service)"]
    assert "desiredCount is 0" in drift[0]["evidence"]


def _new_revision(account, mode: str) -> str:
    ecs = aws(account, "ecs")
    cluster, service = account["services"]["node-service"]
    current = ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"]
    td = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
    defs = td["containerDefinitions"]
    for c in defs:
        for env in c.get("environment") or []:
            if env["name"] == "WALLARM_MODE":
                env["value"] = mode
            elif "wallarm_mode " in env.get("value", ""):
                env["value"] = "\n".join(
                    f"{line.split('wallarm_mode')[0]}wallarm_mode {mode};" if line.strip().startswith("wallarm_mode ")
                    else line for line in env["value"].splitlines())
    arn = ecs.register_task_definition(family=td["family"], containerDefinitions=defs, networkMode="awsvpc",
                                       requiresCompatibilities=["FARGATE"], cpu=td.get("cpu", "512"),
                                       memory=td.get("memory", "1024"))["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=service, taskDefinition=arn)
    return arn


def test_node_service_moved_to_a_revision_in_off_mode(account, tmp_path):
    """The running revision reaches the pack in place of the declared one: `enforce-wallarm-mode`
    (which allows monitoring, safe_blocking and block for a dev stack) refuses `off`."""
    arn = _new_revision(account, "off")
    code, report = run(account, tmp_path)
    assert code == 1
    _cluster, service = account["services"]["node-service"]
    drift = found(report, "ecs-drift")
    assert [f["resource"] for f in drift] == [f"{service} (node-service)"]
    assert arn in drift[0]["evidence"] and "off" in drift[0]["evidence"]
    pack = [f for f in found(report, "reachability") if f["evidence"].startswith("enforce-wallarm-mode")]
    assert {f["resource"].rsplit("::", 1)[-1] for f in pack} == {"node-task"}, report["findings"]


@pytest.fixture(scope="module")
def block_export():
    """The dev stack with its nodes in block mode (what a production stack declares)."""
    from conftest import REPO

    from layerguard.engine import preview
    from layerguard.verify import from_preview
    result = preview(REPO, "dev", "update", policy_pack=None,
                     config={"layerguard:certificateArn": "", "layerguard:allowHttpOnly": "true",
                             "layerguard:wallarmMode": "block"})
    assert result.exit_code == 0, result.error
    return from_preview(result)


@pytest.fixture
def block_account(moto_url, block_export, tmp_path):
    import urllib.request

    from _seed import seed
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    state, live = seed(block_export, moto_url)
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    live.update(state=state, path=path, endpoint=moto_url)
    return live


def test_node_service_moved_from_block_to_a_monitoring_revision(block_account, tmp_path):
    code, report = run(block_account, tmp_path)
    assert report["findings"] == [] and code == 0  # the baseline: block mode, as declared
    arn = _new_revision(block_account, "monitoring")
    code, report = run(block_account, tmp_path)
    assert code == 1
    _cluster, service = block_account["services"]["node-service"]
    drift = found(report, "ecs-drift")
    assert [f["resource"] for f in drift] == [f"{service} (node-service)"]
    assert arn in drift[0]["evidence"] and "Wallarm mode is monitoring" in drift[0]["evidence"]
    assert "block" in drift[0]["evidence"]


class _RecordedEcs:
    """An ECS client answering DescribeServices with a recorded response of the documented shape:
    the service asks for 2 tasks and runs none (tasks failing their health checks)."""

    def __init__(self, service: dict) -> None:
        self.service = service

    def describe_services(self, cluster, services):
        return {"services": [self.service], "failures": []}


class _Account:
    def __init__(self, ecs) -> None:
        self._ecs = ecs

    def client(self, service: str, region: str | None = None):
        assert service == "ecs"
        return self._ecs


def test_node_service_running_none_of_its_desired_tasks(dev_export):
    """moto cannot report a running count below the desired count after an update (see the module
    docstring), so the DescribeServices answer is recorded, in AWS's documented shape."""
    from layerguard.verify import findings, state, workloads
    st = state.parse(dev_export)
    svc = next(r for r in st.of(workloads.SERVICE) if r.layer == "node")
    recorded = {"serviceArn": f"arn:aws:ecs:{REGION}:123456789012:service/c/{svc.get('name')}",
                "serviceName": svc.get("name"), "clusterArn": svc.get("cluster"), "status": "ACTIVE",
                "desiredCount": 2, "runningCount": 0, "pendingCount": 2, "launchType": "FARGATE",
                "taskDefinition": svc.get("taskDefinition"),
                "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": svc.get("taskDefinition"),
                                 "desiredCount": 2, "pendingCount": 2, "runningCount": 0, "failedTasks": 6,
                                 "rolloutState": "IN_PROGRESS"}]}
    report = findings.Report(stack="dev", region=REGION)
    workloads.check_services(_Account(_RecordedEcs(recorded)), st, report, workloads.Overlay())
    assert [(f.check, f.resource) for f in report.findings] == [("ecs-drift", f"{svc.get('name')} (node-service)")]
    assert "runningCount is 0 of 2" in report.findings[0].evidence
    recorded.update(runningCount=2, pendingCount=0)
    report = findings.Report(stack="dev", region=REGION)
    workloads.check_services(_Account(_RecordedEcs(recorded)), st, report, workloads.Overlay())
    assert report.findings == []


# --- listeners, rules, targets --------------------------------------------------------------------


def test_listener_default_action_forwarded_to_the_app(account, tmp_path):
    listener, app_tg = account["by_name"]["edge-http"], account["by_name"]["app-tg"]
    aws(account, "elbv2").modify_listener(ListenerArn=listener,
                                          DefaultActions=[{"Type": "forward", "TargetGroupArn": app_tg}])
    code, report = run(account, tmp_path)
    assert code == 1
    drift = found(report, "listener-drift")
    assert [f["resource"] for f in drift] == [f"{listener} (edge-http)"]
    assert app_tg in drift[0]["evidence"] and "app layer" in drift[0]["evidence"]
    assert any(f["evidence"].startswith("disallow-node-bypass") for f in found(report, "reachability")), \
        report["findings"]


def test_listener_rule_forwarding_to_the_app(account, tmp_path):
    listener, app_tg = account["by_name"]["edge-http"], account["by_name"]["app-tg"]
    aws(account, "elbv2").create_rule(ListenerArn=listener, Priority=5,
                                      Conditions=[{"Field": "path-pattern", "Values": ["/admin/*"]}],
                                      Actions=[{"Type": "forward", "TargetGroupArn": app_tg}])
    code, report = run(account, tmp_path)
    assert code == 1
    drift = found(report, "listener-drift")
    assert [f["resource"] for f in drift] == [f"{listener} (edge-http)"]
    assert "priority 5" in drift[0]["evidence"] and app_tg in drift[0]["evidence"]


def test_app_address_registered_in_the_node_target_group(account, tmp_path):
    ec2, elb = aws(account, "ec2"), aws(account, "elbv2")
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[account["app_eni"]])["NetworkInterfaces"][0]
    elb.register_targets(TargetGroupArn=account["by_name"]["edge-node-tg"],
                         Targets=[{"Id": eni["PrivateIpAddress"], "Port": 8080}])
    code, report = run(account, tmp_path)
    assert code == 1
    drift = found(report, "target-drift")
    assert [f["resource"] for f in drift] == [f"{account['app_eni']} (a target of edge-node-tg)"]
    assert eni["PrivateIpAddress"] in drift[0]["evidence"] and "app layer" in drift[0]["evidence"]


def test_node_security_group_attached_to_an_app_interface(account, tmp_path):
    by_name = account["by_name"]
    aws(account, "ec2").modify_network_interface_attribute(
        NetworkInterfaceId=account["app_eni"], Groups=[by_name["app-task-sg"], by_name["node-sg"]])
    code, report = run(account, tmp_path)
    assert code == 1
    drift = found(report, "target-drift")
    assert [f["resource"] for f in drift] == [f"{account['app_eni']} (a target of app-tg)"]
    assert by_name["node-sg"] in drift[0]["evidence"]


# --- WAF ------------------------------------------------------------------------------------------


def test_web_acl_rules_replaced(account, tmp_path):
    """Every declared rule removed. moto ignores `Rules=[]` in UpdateWebACL (it keeps the old
    rules when the list is empty), so the rules are replaced by one counting rule here; the
    literally empty list is `test_web_acl_rules_emptied_recorded`."""
    waf = aws(account, "wafv2")
    acl_id = account["by_name"]["edge-web-acl"]
    summary = next(a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Id"] == acl_id)
    current = waf.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=acl_id)
    assert current["WebACL"]["Rules"], "the seed creates the declared rules"
    visibility = current["WebACL"]["VisibilityConfig"]
    waf.update_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=acl_id, DefaultAction={"Allow": {}},
                       Rules=[{"Name": "count-only", "Priority": 0, "Action": {"Count": {}},
                               "Statement": {"RateBasedStatement": {"Limit": 100000, "AggregateKeyType": "IP"}},
                               "VisibilityConfig": {**visibility, "MetricName": "count-only"}}],
                       VisibilityConfig=visibility, LockToken=current["LockToken"])
    code, report = run(account, tmp_path)
    assert code == 1
    rules = found(report, "waf-rules")
    assert [f["resource"].rsplit(" ", 1)[-1] for f in rules] == ["(edge-web-acl)"]
    assert "rate-limit-per-client" in rules[0]["evidence"]


class _RecordedWaf:
    """GetWebACL answered with a recorded response of the documented shape
    (https://docs.aws.amazon.com/waf/latest/APIReference/API_GetWebACL.html): no rules at all."""

    def __init__(self, acl_id: str, name: str) -> None:
        self.answer = {"WebACL": {"Name": name, "Id": acl_id, "ARN": f"arn:aws:wafv2:{REGION}:123456789012:regional/webacl/{name}/{acl_id}",
                                  "DefaultAction": {"Allow": {}}, "Rules": [], "Capacity": 0,
                                  "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                                       "MetricName": "edge"}},
                       "LockToken": "00000000-0000-0000-0000-000000000000"}

    def get_web_acl(self, Name, Scope, Id):
        return self.answer


def test_web_acl_rules_emptied_recorded(dev_export):
    from layerguard.verify import findings, state, workloads
    st = state.parse(dev_export)
    acl = st.of(workloads.WEB_ACL)[0]

    class Account:
        def client(self, service, region=None):
            assert service == "wafv2"
            return _RecordedWaf(acl.id, acl.get("name"))

    report = findings.Report(stack="dev", region=REGION)
    workloads.check_web_acls(Account(), st, report)
    assert [(f.check, f.resource.rsplit(" ", 1)[-1]) for f in report.findings] == [("waf-rules", "(edge-web-acl)")]
    assert "0 rule(s) live" in report.findings[0].evidence

"""`verify` against moto in server mode, seeded from the dev stack's update-mode preview: clean,
then one injected fault per test, each reported with the right check and resource."""

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


def findings(report: dict, check: str) -> list[dict]:
    return [f for f in report["findings"] if f["check"] == check]


def ec2(account):
    return boto3.client("ec2", region_name=REGION, endpoint_url=account["endpoint"])


def test_clean_account_passes(account, tmp_path, capsys):
    code, report = run(account, tmp_path)
    assert report["findings"] == [], report["findings"]
    assert code == 0
    assert report["checks"] == ["security-groups", "route-tables", "perimeter", "workloads", "reachability"]
    assert "no findings" in capsys.readouterr().out


def test_world_rule_added_by_hand_on_the_app_group(account, tmp_path, capsys):
    sg = account["by_name"]["app-task-sg"]
    ec2(account).authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    code, report = run(account, tmp_path)
    assert code == 1
    world = findings(report, "sg-world-open")
    assert [f["resource"] for f in world] == [f"{sg} (app-task-sg)"]
    assert "0.0.0.0/0" in world[0]["evidence"] and "port 8080" in world[0]["evidence"]
    assert [f["resource"] for f in findings(report, "sg-drift")] == [f"{sg} (app-task-sg)"]
    printed = capsys.readouterr().out
    assert f"[sg-world-open] {sg} (app-task-sg)" in printed and "finding(s)" in printed


def test_ipv6_world_rule_on_the_node_group(account, tmp_path):
    sg = account["by_name"]["node-sg"]
    ec2(account).authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    code, report = run(account, tmp_path)
    assert code == 1
    assert [f["resource"] for f in findings(report, "sg-world-open")] == [f"{sg} (node-sg)"]


def test_web_acl_disassociated(account, tmp_path):
    lb = account["by_name"]["edge-alb"]
    boto3.client("wafv2", region_name=REGION, endpoint_url=account["endpoint"]).disassociate_web_acl(ResourceArn=lb)
    code, report = run(account, tmp_path)
    assert code == 1
    assert [f["resource"] for f in findings(report, "waf-missing")] == [f"{lb} (edge-alb)"]
    assert [f["check"] for f in report["findings"]] == ["waf-missing"]


def test_rule_not_in_the_state(account, tmp_path):
    """A private-range rule nobody declared: not open to the world, but drift all the same."""
    sg = account["by_name"]["app-alb-sg"]
    ec2(account).authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.20.0.0/19"}]}])
    code, report = run(account, tmp_path)
    assert code == 1
    drift = findings(report, "sg-drift")
    assert [f["resource"] for f in drift] == [f"{sg} (app-alb-sg)"] and "10.20.0.0/19" in drift[0]["evidence"]
    assert not findings(report, "sg-world-open")


def test_drift_from_the_public_subnets_is_a_bypass_in_the_packs_model(account, tmp_path):
    """The edge ALB's public subnets may reach the app ALB: the pack's own model, fed the live
    rule, reports the path around the nodes."""
    sg = account["by_name"]["app-alb-sg"]
    ec2(account).authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
         "UserIdGroupPairs": [{"GroupId": account["by_name"]["edge-alb-sg"]}]}])
    code, report = run(account, tmp_path)
    assert code == 1
    reach = findings(report, "reachability")
    assert reach, report["findings"]
    assert any("disallow-node-bypass" in f["evidence"] for f in reach)


def test_existing_backends_group_opened(account, tmp_path):
    """An existing backend registered in the app's target group, its group unknown to the state."""
    client = ec2(account)
    vpc = account["by_name"]["network-vpc"]
    subnet = account["by_name"]["network-private-1"]
    backend_sg = client.create_security_group(GroupName="legacy-backend", Description="existing backend",
                                              VpcId=vpc)["GroupId"]
    client.authorize_security_group_ingress(GroupId=backend_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
         "UserIdGroupPairs": [{"GroupId": account["by_name"]["app-alb-sg"]}]}])
    eni = client.create_network_interface(SubnetId=subnet, Groups=[backend_sg])["NetworkInterface"]
    boto3.client("elbv2", region_name=REGION, endpoint_url=account["endpoint"]).register_targets(
        TargetGroupArn=account["by_name"]["app-tg"], Targets=[{"Id": eni["PrivateIpAddress"], "Port": 8080}])
    code, report = run(account, tmp_path)
    assert (code, report["findings"]) == (0, []), "a backend group that admits only the app ALB is fine"

    client.authorize_security_group_ingress(GroupId=backend_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    code, report = run(account, tmp_path)
    assert code == 1
    world = findings(report, "sg-world-open")
    assert [f["resource"] for f in world] == [backend_sg]
    assert "backend" in world[0]["evidence"] and "port 22" in world[0]["evidence"]


def test_private_subnet_routed_to_the_internet_gateway_by_hand(account, tmp_path):
    table = account["by_name"]["network-private-rt-0"]
    ec2(account).create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0",
                              GatewayId=account["by_name"]["network-igw"])
    code, report = run(account, tmp_path)
    assert code == 1
    drift = findings(report, "route-drift")
    assert [f["resource"] for f in drift] == [f"{table} (network-private-rt-0)"]
    assert account["by_name"]["network-igw"] in drift[0]["evidence"]


def test_load_balancer_attribute_changed(account, tmp_path):
    lb = account["by_name"]["edge-alb"]
    boto3.client("elbv2", region_name=REGION, endpoint_url=account["endpoint"]).modify_load_balancer_attributes(
        LoadBalancerArn=lb, Attributes=[{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "false"}])
    code, report = run(account, tmp_path)
    assert code == 1
    attr = findings(report, "lb-attribute")
    assert [f["resource"] for f in attr] == [f"{lb} (edge-alb)"]
    assert "drop_invalid_header_fields" in attr[0]["evidence"]


@pytest.mark.parametrize("content", ["not json", json.dumps({"version": 1, "deployment": {}})])
def test_unreadable_state_exits_2(tmp_path, capsys, content):
    path = tmp_path / "state.json"
    path.write_text(content)
    assert main(["verify", "--state", str(path), "--region", REGION]) == 2
    assert str(path) in capsys.readouterr().err


def test_missing_state_file_exits_2(tmp_path, capsys):
    assert main(["verify", "--state", str(tmp_path / "absent.json"), "--region", REGION]) == 2
    assert "cannot read the state file" in capsys.readouterr().err


def test_missing_credentials_exit_2(account, tmp_path, monkeypatch, capsys):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    code = main(["verify", "--state", str(account["path"]), "--endpoint-url", account["endpoint"]])
    assert code == 2
    assert "no AWS credentials" in capsys.readouterr().err


def _distribution(endpoint: str, web_acl: str = "", headers: bool = False) -> dict:
    origin = {"Id": "node", "DomainName": "origin.example.test",
              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}
    if headers:
        origin["CustomHeaders"] = {"Quantity": 1, "Items": [{"HeaderName": "X-CloudFront-Secret", "HeaderValue": "v"}]}
    config = {"CallerReference": f"verify-{web_acl}-{headers}", "Comment": "", "Enabled": True, "WebACLId": web_acl,
              "Origins": {"Quantity": 1, "Items": [origin]},
              "DefaultCacheBehavior": {"TargetOriginId": "node", "ViewerProtocolPolicy": "redirect-to-https",
                                       "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"}}
    cloudfront = boto3.client("cloudfront", region_name="us-east-1", endpoint_url=endpoint)
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]


@pytest.mark.parametrize("protected", [True, False])
def test_cloudfront_entry(account, tmp_path, protected):
    """A hand-written distribution in the state: its web ACL and origin protection, read live."""
    acl = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cf/1" if protected else ""
    dist = _distribution(account["endpoint"], acl, headers=protected)
    state = account["state"]
    state["deployment"]["resources"].append({
        "urn": "urn:pulumi:dev::layerguard::aws:cloudfront/distribution:Distribution::cdn", "custom": True,
        "type": "aws:cloudfront/distribution:Distribution", "id": dist["Id"],
        "outputs": {"domainName": dist["DomainName"], "webAclId": acl, "tags": {"layerguard:layer": "edge"}}})
    account["path"].write_text(json.dumps(state))
    code, report = run(account, tmp_path, "--no-policy-pack")
    if protected:
        assert (code, report["findings"]) == (0, [])
    else:
        assert code == 1
        assert sorted(f["check"] for f in report["findings"]) == ["cloudfront-origin-unprotected", "waf-missing"]
        assert {f["resource"] for f in report["findings"]} == {f"{dist['Id']} (cdn)"}


@pytest.mark.parametrize("associated", [True, False])
def test_rest_api_stage_entry(account, tmp_path, associated):
    """A hand-written REST API stage in the state: its web ACL read with GetWebACLForResource."""
    endpoint = account["endpoint"]
    apigw = boto3.client("apigateway", region_name=REGION, endpoint_url=endpoint)
    api = apigw.create_rest_api(name="orders")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="prod")
    stage_arn = f"arn:aws:apigateway:{REGION}::/restapis/{api}/stages/prod"
    if associated:
        acl = account["by_name"]["edge-web-acl"]
        waf = boto3.client("wafv2", region_name=REGION, endpoint_url=endpoint)
        arn = next(a["ARN"] for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Id"] == acl)
        waf.associate_web_acl(WebACLArn=arn, ResourceArn=stage_arn)
    state = account["state"]
    state["deployment"]["resources"].append({
        "urn": "urn:pulumi:dev::layerguard::aws:apigateway/stage:Stage::orders-prod", "custom": True,
        "type": "aws:apigateway/stage:Stage", "id": f"ags-{api}-prod",
        "outputs": {"restApi": api, "stageName": "prod", "tags": {"layerguard:layer": "edge"},
                    "invokeUrl": f"https://{api}.execute-api.{REGION}.amazonaws.com/prod"}})
    account["path"].write_text(json.dumps(state))
    code, report = run(account, tmp_path, "--no-policy-pack")
    if associated:
        assert (code, report["findings"]) == (0, [])
    else:
        assert code == 1
        assert [(f["check"], f["resource"]) for f in report["findings"]] == [("waf-missing", f"{stage_arn} (orders-prod)")]


def test_unknown_profile_exits_2(account, capsys):
    code = main(["verify", "--state", str(account["path"]), "--endpoint-url", account["endpoint"], "--profile", "nope"])
    assert code == 2
    assert "AWS profile 'nope' is not configured" in capsys.readouterr().err

"""The EC2 node fleet (`nodeFleet: ec2`, issue 18): the real program under the offline engine, from
examples/ec2-fleet.yaml, in both modes. Resources are linked by property dependencies, never ids."""

from __future__ import annotations

import base64
import datetime
import json
import re
from pathlib import Path

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import yaml
from _program import (
    EGRESS,
    INGRESS,
    MODES,
    REPO,
    SECRET_SIG,
    SG,
    container_env,
    dep,
    named,
    of_type,
    one_dep,
    run,
    walk_plain,
)

from components import node_token_fetch
from components.nginx_conf import HEALTH_PATH
from layerguard import cloud

EXAMPLE = REPO / "examples" / "ec2-fleet.yaml"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
TG = "aws:lb/targetGroup:TargetGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:layerguard/dev/wallarm-node-token-MnOpQr"
TOKEN_VALUE = "wallarm-node-token-value-that-must-stay-secret-0123456789"
LAYER_TAG = "layerguard:layer"


def example_config() -> dict[str, str]:
    return {k: str(v) for k, v in yaml.safe_load(EXAMPLE.read_text())["config"].items()}


def ec2(mode: str = "preview", **kwargs):
    result = run("dev", mode, config_file=EXAMPLE, **kwargs)
    assert result.error is None and result.resources, f"ec2-fleet/{mode}: {result.error}"
    return result


def user_data(result) -> str:
    return base64.b64decode(named(result, "node-template").inputs["userData"]).decode()


def heredoc(script: str, delimiter: str) -> str:
    match = re.search(rf"<<'{delimiter}'\n(.*?)\n{delimiter}\n", script, re.S)
    assert match, f"no {delimiter} block in the user data"
    return match.group(1)


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


# -- the launch template and the Auto Scaling group ---------------------------------------------

def test_launch_template_is_locked_down(mode):
    result = ec2(mode)
    (lt,) = of_type(result, LT)
    i = lt.inputs
    assert i["metadataOptions"]["httpTokens"] == "required", lt.urn
    assert i["metadataOptions"]["httpPutResponseHopLimit"] == 1, lt.urn
    assert "keyName" not in i, f"{lt.urn}: a key pair opens SSH"
    assert "vpcSecurityGroupIds" not in i and "securityGroupNames" not in i, lt.urn
    (nic,) = i["networkInterfaces"]
    assert nic["associatePublicIpAddress"] == "false", lt.urn
    assert one_dep(lt, "networkInterfaces") == named(result, "node-sg").urn
    (disk,) = i["blockDeviceMappings"]
    assert disk["ebs"]["encrypted"] == "true" and disk["ebs"]["volumeType"] == "gp3", lt.urn
    assert disk["ebs"]["volumeSize"] == 20, lt.urn
    assert disk["deviceName"] == "/dev/xvda", f"{lt.urn}: the AMI's root device"
    assert one_dep(lt, "iamInstanceProfile") == named(result, "node-instance-profile").urn
    kinds = {spec["resourceType"]: spec["tags"] for spec in i["tagSpecifications"]}
    assert set(kinds) == {"instance", "volume", "network-interface"}, lt.urn
    assert all(tags[LAYER_TAG] == "node" for tags in kinds.values()), kinds
    assert i["tags"][LAYER_TAG] == "node"


def test_image_is_wallarms_ami_looked_up_by_owner_and_name(mode):
    result = ec2(mode)
    lt = named(result, "node-template")
    # The answer DescribeImages gives (offline) for the lookup the program must make: AWS
    # Marketplace's account, Wallarm's name for release 7.1 builds, x86_64 HVM.
    expected = cloud.invoke("aws:ec2/getAmi:getAmi", {
        "owners": ["679593333241"], "mostRecent": True, "filters": [
            {"name": "architecture", "values": ["x86_64"]},
            {"name": "virtualization-type", "values": ["hvm"]},
            {"name": "name", "values": ["wallarm-node-7-1-*"]}]}, "eu-west-1")
    assert lt.inputs["imageId"] == expected["id"], lt.urn
    assert lt.inputs["tags"]["layerguard:node-ami-name"] == expected["name"]
    assert expected["name"].startswith("wallarm-node-7-1-")
    assert lt.inputs["tags"]["layerguard:node-ami-owner"] == "679593333241"


def test_a_pinned_ami_id_must_still_belong_to_the_owner():
    result = ec2("preview", config={"layerguard:nodeAmiId": "ami-0123456789abcdef0"})
    lt = named(result, "node-template")
    assert lt.inputs["imageId"] == "ami-0123456789abcdef0"
    assert lt.inputs["tags"]["layerguard:node-ami-owner"] == "679593333241"


def test_auto_scaling_group_registers_in_the_entry_node_target_group(mode):
    result = ec2(mode)
    (asg,) = of_type(result, ASG)
    i = asg.inputs
    lt, tg = named(result, "node-template"), named(result, "edge-node-tg")
    assert one_dep(asg, "launchTemplate") == lt.urn
    assert one_dep(asg, "targetGroupArns") == tg.urn
    assert tg.inputs["targetType"] == "instance" and tg.inputs["port"] == 80, tg.urn
    assert tg.inputs["healthCheck"]["path"] == HEALTH_PATH
    assert i["healthCheckType"] == "ELB" and i["healthCheckGracePeriod"] == 300, asg.urn
    assert (i["minSize"], i["maxSize"]) == (1, 2) and "desiredCapacity" not in i, asg.urn
    refresh = i["instanceRefresh"]
    assert refresh["strategy"] == "Rolling" and refresh["preferences"]["minHealthyPercentage"] == 100
    subnets = {r.urn for r in of_type(result, "aws:ec2/subnet:Subnet") if "private" in r.name}
    assert set(dep(asg, "vpcZoneIdentifiers")) == subnets and subnets, asg.urn
    tags = {t["key"]: t for t in i["tags"]}
    assert tags[LAYER_TAG]["value"] == "node" and tags[LAYER_TAG]["propagateAtLaunch"] is True, asg.urn
    assert all(s.name != "node-service" for s in of_type(result, "aws:ecs/service:Service"))


def test_node_group_admits_only_the_entry_on_the_node_port(mode):
    result = ec2(mode)
    node_sg = named(result, "node-sg").urn
    rules = [r for t in (INGRESS, EGRESS) for r in of_type(result, t) if one_dep(r, "securityGroupId") == node_sg]
    ingress = [(one_dep(r, "referencedSecurityGroupId"), r.inputs["toPort"]) for r in rules if r.type == INGRESS]
    assert ingress == [(named(result, "edge-alb-sg").urn, 80)], ingress
    egress = sorted((r.inputs.get("cidrIpv4") or one_dep(r, "referencedSecurityGroupId"), r.inputs["toPort"])
                    for r in rules if r.type == EGRESS)
    assert egress == sorted([("0.0.0.0/0", 443), (named(result, "app-alb-sg").urn, 8080)]), egress
    assert all(r.inputs["fromPort"] != 22 for r in of_type(result, INGRESS)), "port 22 is open"
    for sg in of_type(result, SG):
        assert not sg.inputs.get("ingress") and not sg.inputs.get("egress"), f"{sg.urn}: inline rules"


# -- user data: no secret, the token read by ARN, the ECS fleet's vhost ---------------------------

def test_user_data_reads_the_token_by_arn_and_holds_no_secret():
    result = ec2("update")
    script = user_data(result)
    assert script.startswith("#!/bin/bash\n")
    assert f"python3 - {TOKEN_ARN} eu-west-1 amazonaws.com <<'LAYERGUARD_FETCH'" in script
    assert heredoc(script, "LAYERGUARD_FETCH") == Path(node_token_fetch.__file__).read_text().rstrip()
    register = next(line for line in script.splitlines() if "cloud-init.py" in line and "-t" in line)
    assert register.startswith("/opt/wallarm/usr/share/wallarm-common/cloud-init.py -t \"$token\" ")
    assert "-H api.wallarm.com -p custom -m monitoring" in register
    # NGINX is stopped before anything else and started only at the end.
    lines = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert lines[:2] == ["set -euo pipefail", "systemctl disable --now nginx.service"], lines[:2]
    assert lines[-2:] == ["systemctl restart nginx.service",
                          'echo "layerguard: Wallarm node registered and serving"']


def test_a_token_from_the_settings_lives_only_in_the_secret():
    """wallarmToken given as a secret: the program creates the secret; the launch template and every
    other input carry its ARN, and the value only inside secret wrappers."""
    result = ec2("update", config={"layerguard:wallarmTokenSecretArn": ""}, secrets={"wallarmToken": TOKEN_VALUE})
    secret = named(result, "node-token")
    script = user_data(result)
    assert TOKEN_VALUE not in script
    assert f"python3 - {secret.outputs['arn']} eu-west-1" in script
    for res in result.resources:
        for path, text in walk_plain(res.inputs):
            assert TOKEN_VALUE not in text, f"{res.urn}: token in plaintext at {path}"
            if path.endswith("userData"):
                assert TOKEN_VALUE not in base64.b64decode(text).decode(), res.urn
    version = named(result, "node-token-value")
    assert SECRET_SIG in version.inputs["secretString"], version.urn


def test_the_vhost_is_the_ecs_fleets_vhost():
    ec2_result = ec2("update")
    alb_result = run("dev", "update", config_file=REPO / "examples" / "alb.yaml")
    assert alb_result.error is None, alb_result.error
    ecs_vhost = container_env(alb_result, "node-task", "nginx-vhost", "NODE_VHOST")
    vhost = heredoc(user_data(ec2_result), "LAYERGUARD_VHOST")
    assert vhost == ecs_vhost.rstrip()
    assert "wallarm_mode_allow_override strict;" in vhost and "wallarm_fallback off;" in vhost
    assert f"location = {HEALTH_PATH}" in vhost and "proxy_pass http://127.0.0.1:9446/ready;" in vhost


# -- the instance role -----------------------------------------------------------------------------

def test_instance_role_reads_only_the_token_secret(mode):
    result = ec2(mode)
    role = named(result, "node-instance-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "ec2.amazonaws.com"}], role.urn
    policy = named(result, "node-instance-policy")
    assert one_dep(policy, "role") == role.urn
    if mode == "preview":
        return  # the log group's ARN is unknown at the first preview, so is the document
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert set(statements) == {"ReadNodeToken", "SessionManager", "WriteNodeLogs"}, policy.urn
    assert statements["ReadNodeToken"]["Action"] == "secretsmanager:GetSecretValue"
    assert statements["ReadNodeToken"]["Resource"] == TOKEN_ARN
    assert all(a.startswith(("ssm:UpdateInstanceInformation", "ssmmessages:"))
               for a in statements["SessionManager"]["Action"])
    assert statements["WriteNodeLogs"]["Resource"].endswith(":log-group:/layerguard/dev/node:log-stream:*")
    attachments = of_type(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not [a for a in attachments if one_dep(a, "role") == role.urn], "no managed policy on the nodes"


def test_a_customer_managed_key_is_decrypted_through_secrets_manager_only():
    kms = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-4333-8444-555555555555"
    result = ec2("update", config={"layerguard:wallarmTokenKmsKeyArn": kms})
    statements = {s["Sid"]: s for s in json.loads(named(result, "node-instance-policy").inputs["policy"])["Statement"]}
    decrypt = statements["DecryptNodeToken"]
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == kms
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}


# -- every entry works with the EC2 fleet ----------------------------------------------------------

@pytest.mark.parametrize("example", ["cloudfront-vpc-origin", "nlb-cloudfront", "apigateway"])
def test_every_entry_routes_to_the_auto_scaling_group(example, tmp_path):
    """The entry's example with the EC2 fleet's node keys in place of the ECS ones."""
    config = yaml.safe_load((REPO / "examples" / f"{example}.yaml").read_text())["config"]
    for key in ("nodeCpu", "nodeMemory", "nodePostanalyticsMemoryMib", "dockerHubCredentialArn",
                "nodeImagePullThrough", "nodeImagePullThroughPrefix"):
        config.pop(f"layerguard:{key}", None)
    config.update({"layerguard:nodeFleet": "ec2", "layerguard:nodeInstanceType": "t3.medium",
                   "layerguard:nodeHealthCheckGracePeriod": 300})
    path = tmp_path / f"{example}-ec2.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    result = run("dev", "preview", config_file=path)
    assert result.exit_code == 0, f"{example}: {result.error}"
    (asg,) = of_type(result, ASG)
    tg = next(r for r in result.resources if r.urn == one_dep(asg, "targetGroupArns"))
    assert tg.name.endswith("-node-tg") and tg.inputs["targetType"] == "instance", tg.urn
    assert all(t.name != "node-task" for t in of_type(result, "aws:ecs/taskDefinition:TaskDefinition"))


# -- settings --------------------------------------------------------------------------------------

BAD = [
    ("nodeFleet", "fargate", "allowed: ecs, ec2"),
    ("nodeInstanceType", "c7g.large", "x86_64"),
    ("nodeInstanceType", "t3.micro", "medium size or bigger"),
    ("nodeInstanceType", "large", "an EC2 instance type"),
    ("nodeAmiId", "ami-xyz", "an AMI id"),
    ("nodeAmiOwner", "wallarm", "12-digit AWS account id"),
    ("nodeAmiNamePattern", "wallarm|node", "AMI name filter"),
    ("nodeVolumeSizeGib", "4", "from 8 to 1024"),
    ("nodeHealthCheckGracePeriod", "120", "at least 300"),
    ("nodePostanalyticsMemoryMib", "768", "applies only with nodeFleet ecs"),
]


@pytest.mark.parametrize("key,value,allowed", BAD, ids=[f"{k}={v}" for k, v, _a in BAD])
def test_bad_ec2_settings_are_named_and_nothing_is_registered(key, value, allowed):
    result = run("dev", "preview", config_file=EXAMPLE, config={f"layerguard:{key}": value})
    assert result.exit_code == 2 and result.resources == [], f"{key}={value}: {result.exit_code}"
    problems = [line.strip()[2:] for line in result.error.splitlines() if line.strip().startswith("- ")]
    assert len(problems) == 1, problems
    given = value if value.isdigit() else repr(value)  # integers are reported parsed
    assert problems[0].startswith(f"{key}: got {given}") or problems[0].startswith(f"{key}: got {value!r}"), problems
    assert allowed in problems[0], problems


def test_ec2_keys_are_refused_with_the_ecs_fleet():
    result = run("dev", "preview", config={"layerguard:nodeInstanceType": "c6i.xlarge"})
    assert result.exit_code == 2 and result.resources == []
    assert "nodeInstanceType: got 'c6i.xlarge'; applies only with nodeFleet ec2" in result.error


# -- the token fetcher signs as botocore does ------------------------------------------------------

def test_the_token_fetcher_signs_get_secret_value_as_botocore_does(monkeypatch):
    now = datetime.datetime(2026, 12, 4, 18, 0, 0, tzinfo=datetime.UTC)
    body = json.dumps({"SecretId": TOKEN_ARN}).encode()
    host = "secretsmanager.eu-west-1.amazonaws.com"
    ours = node_token_fetch.signed_headers(
        host=host, region="eu-west-1", target="secretsmanager.GetSecretValue", body=body,
        access_key="ASIAEXAMPLEEXAMPLE", secret_key="c2VjcmV0LWtleS1leGFtcGxl", session_token="session-token",
        now=now)
    request = botocore.awsrequest.AWSRequest(method="POST", url=f"https://{host}/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"})
    signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(
        "ASIAEXAMPLEEXAMPLE", "c2VjcmV0LWtleS1leGFtcGxl", "session-token"), "secretsmanager", "eu-west-1")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    signer.add_auth(request)
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours["x-amz-security-token"] == request.headers["X-Amz-Security-Token"]


# -- the boot script, run by bash with stand-ins for the instance's commands ----------------------

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
{body}
"""


def boot(tmp_path: Path, *, register_exit: int = 0) -> tuple[int, list[str], Path]:
    """Run the example's user data with stand-ins for systemctl, nginx, python3 (the token fetcher:
    it must receive the fetcher on stdin and the ARN as argument) and cloud-init.py, and the
    instance's paths moved under `tmp_path`. Returns the exit code, the calls made, the root."""
    import subprocess
    script = user_data(ec2("update"))
    root, bin_dir, log = tmp_path / "root", tmp_path / "bin", tmp_path / "calls.log"
    (root / "etc/nginx/sites-enabled").mkdir(parents=True)
    (root / "etc/nginx/conf.d").mkdir(parents=True)
    (root / "etc/nginx/sites-enabled/default").write_text("server { listen 80 default_server; }\n")
    bin_dir.mkdir()
    stubs = {
        "systemctl": "exit 0",
        "nginx": "exit 0",
        # The fetcher arrives on stdin; answer as it would, with the token on stdout.
        "python3": 'grep -q "def get_secret_string" || exit 3\nprintf "%s" "' + TOKEN_VALUE + '"',
        "cloud-init.py": f"exit {register_exit}",
    }
    for name, body in stubs.items():
        path = bin_dir / name
        path.write_text(STUB.format(log=log, body=body))
        path.chmod(0o755)
    script = script.replace("/opt/wallarm/usr/share/wallarm-common/cloud-init.py", str(bin_dir / "cloud-init.py"))
    script = script.replace(" /etc/nginx/", f" {root}/etc/nginx/")
    (tmp_path / "user-data.sh").write_text(script)
    out = subprocess.run(["bash", str(tmp_path / "user-data.sh")], capture_output=True, text=True, timeout=60,
                         env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    calls = log.read_text().splitlines() if log.exists() else []
    return out.returncode, calls, root


def test_boot_registers_then_serves_the_vhost(tmp_path):
    code, calls, root = boot(tmp_path)
    assert code == 0, calls
    assert calls[0] == "systemctl disable --now nginx.service", calls
    assert calls[1] == f"python3 - {TOKEN_ARN} eu-west-1 amazonaws.com", calls
    assert calls[2] == f"cloud-init.py -t {TOKEN_VALUE} -H api.wallarm.com -p custom -m monitoring", calls
    assert calls[3:] == ["nginx -t", "systemctl enable nginx.service", "systemctl restart nginx.service"], calls
    assert not (root / "etc/nginx/sites-enabled/default").exists(), "Debian's default site stays"
    vhost = (root / "etc/nginx/conf.d/layerguard-node.conf").read_text()
    assert vhost == heredoc(user_data(ec2("update")), "LAYERGUARD_VHOST") + "\n"


def test_a_failed_registration_leaves_nginx_stopped(tmp_path):
    code, calls, root = boot(tmp_path, register_exit=1)
    assert code != 0, calls
    assert calls[-1] == "systemctl disable --now nginx.service", calls
    assert not any(c.startswith(("systemctl enable", "systemctl restart", "nginx")) for c in calls), calls
    assert not (root / "etc/nginx/conf.d/layerguard-node.conf").exists()

"""`layerguard doctor` and `layerguard init`: every placeholder of the shipped stack files found,
the program's settings problems reported with their line, and each missing prerequisite in the
account found against moto (server mode, loopback)."""

from __future__ import annotations

import datetime
import json
import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from layerguard import doctor
from layerguard.cli import main

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(REPO.glob("Pulumi.*.yaml")) + sorted((REPO / "examples").glob("*.yaml"))
SHIPPED = [p for p in SHIPPED if p.name != "Pulumi.yaml"]

# Written by hand from the files: every value a user must replace with their own, per file, as
# "key" or "key[index]". Values that look real and may well be kept (aws:region, CIDRs, sizes,
# modes, the exemption reason's prose) are not in it.
_COMMON_ARNS = {"layerguard:wallarmTokenSecretArn", "layerguard:dockerHubCredentialArn",
                "layerguard:certificateArn"}
_EXISTING_NET = {"layerguard:existingVpcId", "layerguard:existingPublicSubnets[0]",
                 "layerguard:existingPublicSubnets[1]", "layerguard:existingPrivateSubnets[0]",
                 "layerguard:existingPrivateSubnets[1]"}
_CLOUDFRONT = {"layerguard:cloudfrontCertificateArn", "layerguard:cloudfrontAliases[0]"}
EXPECTED = {
    "Pulumi.dev.yaml": _COMMON_ARNS,
    "Pulumi.staging.yaml": _COMMON_ARNS,
    "Pulumi.prod.yaml": _COMMON_ARNS,
    "alb.yaml": _COMMON_ARNS,
    "apigateway.yaml": {"layerguard:wallarmTokenSecretArn", "layerguard:dockerHubCredentialArn"},
    "apigateway-mtls.yaml": _COMMON_ARNS | {"layerguard:apiGatewayDomainName",
                                            "layerguard:apiGatewayMtlsTruststoreUri"},
    "cloudfront-public-alb.yaml": _COMMON_ARNS | _CLOUDFRONT,
    "cloudfront-vpc-origin.yaml": _COMMON_ARNS | _CLOUDFRONT,
    "nlb-cloudfront.yaml": _COMMON_ARNS | _CLOUDFRONT,
    "nlb-waf-exempt.yaml": _COMMON_ARNS,
    # the EC2 fleet pulls no container image: no Docker Hub credential
    "ec2-fleet.yaml": {"layerguard:wallarmTokenSecretArn", "layerguard:certificateArn"},
    "private-apigateway.yaml": _COMMON_ARNS | {"layerguard:backendApiId"},
    "existing-vpc-kong.yaml": _COMMON_ARNS | _EXISTING_NET | {
        "layerguard:backendHost", "layerguard:backendHostHeader", "layerguard:backendSecurityGroupIds[0]"},
    "adopted-alb.yaml": _COMMON_ARNS | _EXISTING_NET | {
        "layerguard:adoptedListenerArn", "layerguard:adoptedLoadBalancerSecurityGroupId",
        "layerguard:adoptedAppSecurityGroupId", "layerguard:backendHost"},
}


def _found(path: Path) -> set[str]:
    out = set()
    for f in doctor.placeholders(path):
        item = f.message.split(" = ", 1)[0]
        out.add(item)
    return out


def test_every_shipped_stack_file_is_listed():
    assert {p.name for p in SHIPPED} == set(EXPECTED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_doctor_finds_every_placeholder_of_a_shipped_file(path):
    found = _found(path)
    assert found == EXPECTED[path.name], f"{path.name}: missed {EXPECTED[path.name] - found}, " \
                                         f"extra {found - EXPECTED[path.name]}"


def test_a_placeholder_finding_names_its_line():
    path = REPO / "Pulumi.dev.yaml"
    lines = path.read_text().splitlines()
    for f in doctor.placeholders(path):
        assert f.key in lines[f.line - 1], (f.line, f.key)


@pytest.mark.parametrize("value", [
    "arn:aws:acm:eu-west-1:210987654321:certificate/6f1c2a9e-1b7d-4e0a-9c55-3d2b8e4f7a10",
    "vpc-04f3c2a1b9e8d7c65", "sg-0b4e2f19a7c3d5e86", "api.shop-eu.net", "Z08153712QXPUVBLLW0TE",
])
def test_real_looking_values_are_not_placeholders(value):
    assert doctor.placeholder_reason(value) is None


def test_doctor_reports_the_programs_settings_problems_with_their_line(tmp_path, capsys):
    stack = tmp_path / "bad.yaml"
    stack.write_text("config:\n  aws:region: eu-west-1\n  layerguard:environment: dev\n"
                     "  layerguard:wallarmMode: bogus\n")
    code = main(["doctor", "--stack", "x", "--program", str(REPO), "--config-file", str(stack)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{stack}:4: wallarmMode: got 'bogus'" in out
    assert "wallarmTokenSecretArn" in out            # neither token setting given


def test_a_clean_stack_file_is_ready_without_the_account(tmp_path, capsys):
    stack = tmp_path / "ok.yaml"
    stack.write_text("config:\n  aws:region: eu-west-1\n  layerguard:environment: dev\n"
                     "  layerguard:allowHttpOnly: true\n  layerguard:nodeImagePullThrough: false\n"
                     "  layerguard:wallarmTokenSecretArn: arn:aws:secretsmanager:eu-west-1:210987654321:secret:wallarm-token-Q8xZ2p\n")
    assert main(["doctor", "--stack", "x", "--program", str(REPO), "--config-file", str(stack)]) == 0
    out = capsys.readouterr().out
    assert "READY" in out and "AWS account: not checked" in out


# --- init ----------------------------------------------------------------------------------------
def test_init_writes_the_example_with_its_placeholders_marked(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    example = REPO / "examples" / "cloudfront-vpc-origin.yaml"
    assert main(["init", "--example", str(example), "--stack", "edge", "--program", str(tmp_path)]) == 0
    written = tmp_path / "Pulumi.edge.yaml"
    assert yaml.safe_load(written.read_text()) == yaml.safe_load(example.read_text())
    marked = [line for line in written.read_text().splitlines() if line.endswith("# PLACEHOLDER: replace")]
    assert len(marked) == len(EXPECTED[example.name])
    # refuses to overwrite, and leaves the file as it was
    before = written.read_text()
    assert main(["init", "--example", str(REPO / "examples" / "alb.yaml"), "--stack", "edge",
                 "--program", str(tmp_path)]) == 2
    assert written.read_text() == before


# --- the account, against moto -------------------------------------------------------------------
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "eu-west-1", "AWS_CONFIG_FILE": "/nonexistent",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _certificate(names: list[str]) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


@pytest.fixture
def account(moto_url):
    """A moto account with every prerequisite of a CloudFront stack with a domain and Config rules;
    returns the stack's config (as project.load gives it) and a boto3 session."""
    import boto3
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    s = boto3.Session(region_name="eu-west-1")
    c = lambda svc, region="eu-west-1": s.client(svc, region_name=region, endpoint_url=moto_url)  # noqa: E731
    token = c("secretsmanager").create_secret(Name="layerguard/dev/wallarm-node-token",
                                              SecretString="node-token-value")["ARN"]
    hub = c("secretsmanager").create_secret(Name="ecr-pullthroughcache/docker-hub", SecretString=json.dumps(
        {"username": "me", "accessToken": "dckr_pat_x"}))["ARN"]
    pem, key = _certificate(["www.shop.test", "*.shop.test"])
    regional = c("acm").import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    viewer = c("acm", "us-east-1").import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    zone = c("route53").create_hosted_zone(Name="shop.test", CallerReference="1")["HostedZone"]["Id"].split("/")[-1]
    c("s3").create_bucket(Bucket="trail-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    c("cloudtrail").create_trail(Name="org-trail", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    c("cloudtrail").start_logging(Name="org-trail")
    cfg = c("config")
    cfg.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": "arn:aws:iam::123456789012:role/config",
        "recordingGroup": {"allSupported": True}})
    c("s3").create_bucket(Bucket="config-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-logs"})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    config = {"aws:region": "eu-west-1", "layerguard:entry": "cloudfront",
              "layerguard:wallarmTokenSecretArn": token, "layerguard:dockerHubCredentialArn": hub,
              "layerguard:certificateArn": regional, "layerguard:cloudfrontCertificateArn": viewer,
              "layerguard:cloudfrontAliases": json.dumps(["www.shop.test"]),
              "layerguard:domainName": "", "layerguard:hostedZoneId": zone,
              "layerguard:awsConfigRules": "true"}
    return {"config": config, "client": c, "url": moto_url, "viewer": viewer, "pem": pem, "key": key}


def _problems(acct, **change) -> list[doctor.Finding]:
    config = dict(acct["config"])
    for key, value in change.items():
        config[f"layerguard:{key}"] = value
    found = doctor.aws_checks(config, "layerguard", doctor.Account("eu-west-1", None, acct["url"]))
    return [f for f in found if not f.ok]


def test_every_prerequisite_present_passes(account):
    found = doctor.aws_checks(account["config"], "layerguard", doctor.Account("eu-west-1", None, account["url"]))
    assert [f.message for f in found if not f.ok] == []
    checked = {f.key for f in found if f.ok}
    assert checked == {"wallarmTokenSecretArn", "certificateArn", "cloudfrontCertificateArn",
                       "dockerHubCredentialArn", "hostedZoneId", "awsConfigRules", ""}


def _keys(problems) -> set[str]:
    return {p.key for p in problems}


def test_a_missing_token_secret_is_found(account):
    arn = account["config"]["layerguard:wallarmTokenSecretArn"]
    account["client"]("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert _keys(_problems(account)) == {"wallarmTokenSecretArn"}


def test_a_docker_hub_secret_without_an_access_token_is_found(account):
    arn = account["config"]["layerguard:dockerHubCredentialArn"]
    account["client"]("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps({"username": "me"}))
    problems = _problems(account)
    assert _keys(problems) == {"dockerHubCredentialArn"} and "accessToken" in problems[0].message


def test_a_cloudfront_certificate_outside_us_east_1_is_found(account):
    regional = account["config"]["layerguard:certificateArn"]
    assert _keys(_problems(account, cloudfrontCertificateArn=regional)) == {"cloudfrontCertificateArn"}


def test_a_missing_viewer_certificate_is_found(account):
    account["client"]("acm", "us-east-1").delete_certificate(CertificateArn=account["viewer"])
    assert _keys(_problems(account)) == {"cloudfrontCertificateArn"}


def test_a_certificate_not_covering_an_alias_is_found(account):
    problems = _problems(account, cloudfrontAliases=json.dumps(["www.shop.test", "api.other.test"]))
    assert _keys(problems) == {"certificateArn", "cloudfrontCertificateArn"}
    assert all("api.other.test" in p.message for p in problems)


def test_a_missing_hosted_zone_is_found(account):
    assert _keys(_problems(account, hostedZoneId="Z08153712QXPUVBLLW0TE")) == {"hostedZoneId"}


def test_a_zone_that_does_not_hold_the_domain_is_found(account):
    assert _keys(_problems(account, domainName="api.other.test")) == {"hostedZoneId"}


def test_a_config_recorder_that_does_not_record_is_found(account):
    account["client"]("config").stop_configuration_recorder(ConfigurationRecorderName="default")
    assert _keys(_problems(account)) == {"awsConfigRules"}


def test_no_config_recorder_is_fine_without_config_rules(account):
    account["client"]("config").stop_configuration_recorder(ConfigurationRecorderName="default")
    assert _problems(account, awsConfigRules="false") == []


def test_no_logging_trail_is_found(account):
    account["client"]("cloudtrail").stop_logging(Name="org-trail")
    problems = _problems(account)
    assert _keys(problems) == {""} and "CloudTrail" in problems[0].message


def test_doctor_aws_from_the_command_line(account, tmp_path):
    """The whole command, as a user runs it: a stack file of moto's ARNs, --aws --endpoint-url."""
    cfg = account["config"]
    stack = tmp_path / "Pulumi.edge.yaml"
    stack.write_text(yaml.safe_dump({"config": {
        "aws:region": "eu-west-1", "layerguard:environment": "dev", "layerguard:entry": "cloudfront",
        "layerguard:wallarmTokenSecretArn": cfg["layerguard:wallarmTokenSecretArn"],
        "layerguard:dockerHubCredentialArn": cfg["layerguard:dockerHubCredentialArn"],
        "layerguard:certificateArn": cfg["layerguard:certificateArn"],
        "layerguard:cloudfrontCertificateArn": "arn:aws:acm:us-east-1:210987654321:certificate/6f1c2a9e-1b7d-4e0a-9c55-3d2b8e4f7a10",
        "layerguard:cloudfrontAliases": ["www.shop.test"]}}))
    out = subprocess.run([sys.executable, "-m", "layerguard", "doctor", "--stack", "edge", "--program", str(REPO),
                          "--config-file", str(stack), "--aws", "--endpoint-url", account["url"],
                          "--json", str(tmp_path / "d.json")],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 1, out.stderr
    report = json.loads((tmp_path / "d.json").read_text())
    bad = {f["key"] for f in report["findings"] if f["check"] == "aws" and not f["ok"]}
    assert bad == {"cloudfrontCertificateArn"}
    assert "node-token-value" not in out.stdout and "dckr_pat_x" not in out.stdout

"""`verify --probe` against local servers on loopback: the program's node vhost in Debian's NGINX
(Wallarm directives stripped: it proxies without filtering) in front of a small backend, with the
stack's own host names mapped to them by --connect-to. AWS answers come from moto, seeded from
the dev stack (HTTP-only edge, monitoring mode)."""

from __future__ import annotations

import json

import pytest
from _servers import NGINX, backend, free_port, nginx, node_vhost

from layerguard.cli import main
from layerguard.verify import probes
from layerguard.verify.findings import Report
from layerguard.verify.state import parse

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make setup installs it)")

# The guide's check on the node (Verification checklist, "Bypass header test (CloudFront)").
ORIGIN_CHECK = """    if ($http_x_cloudfront_secret != "s3cr3t-from-cloudfront") {
        return 403;
    }
"""
# Stands in for the Wallarm module's blocking, which Debian's NGINX does not have.
BLOCK_STAND_IN = """    location = /etc/passwd {
        return 403;
    }
"""


def with_server_lines(vhost: str, lines: str) -> str:
    return vhost.replace("    server_tokens off;\n", "    server_tokens off;\n" + lines, 1)


def run(account, tmp_path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = main(["verify", "--state", str(account["path"]), "--endpoint-url", account["endpoint"],
                 "--no-policy-pack", "--probe", "--json", str(out), *extra])
    return code, json.loads(out.read_text()) if out.exists() else {}


def connect(account, name: str, port: int, to_port: int) -> list[str]:
    return ["--connect-to", f"{account['dns'][name]}:{port}:127.0.0.1:{to_port}"]


def checks(report: dict) -> list[tuple[str, str]]:
    return [(f["check"], f["resource"]) for f in report["findings"]]


@pytest.fixture
def app():
    with backend() as served:
        yield served


def test_monitoring_mode_passes_and_points_to_the_console(account, tmp_path, app):
    app_port, seen = app
    with nginx(tmp_path, node_vhost(free_port(), app_port)) as node:
        code, report = run(account, tmp_path, *connect(account, "edge-alb", 80, node),
                           *connect(account, "app-alb", 8080, free_port()))
    assert (code, report["findings"]) == (0, [])
    assert seen == ["/etc/passwd"], "the attack probe went through the node to the app"
    attack = [n for n in report["notes"] if n["check"] == "probe-attack-not-blocked"]
    assert len(attack) == 1 and "monitoring" in attack[0]["message"] and "Wallarm Console" in attack[0]["message"]


def test_app_reachable_directly_is_a_finding(account, tmp_path, app):
    app_port, _ = app
    with nginx(tmp_path, node_vhost(free_port(), app_port)) as node:
        code, report = run(account, tmp_path, *connect(account, "edge-alb", 80, node),
                           *connect(account, "app-alb", 8080, app_port))
    assert code == 1
    assert checks(report) == [("probe-direct-reachable", "app-alb")]


def test_block_mode_with_an_unfiltering_node_is_a_finding(account, tmp_path, app):
    """Debian's NGINX has no Wallarm module: in block mode the probe gets through, and says so."""
    app_port, _ = app
    with nginx(tmp_path, node_vhost(free_port(), app_port, mode="block")) as node:
        code, report = run(account, tmp_path, "--wallarm-mode", "block", *connect(account, "edge-alb", 80, node),
                           *connect(account, "app-alb", 8080, free_port()))
    assert code == 1
    assert checks(report) == [("probe-attack-not-blocked", "edge-alb")]
    assert "answered 200" in report["findings"][0]["evidence"]


def test_block_mode_with_a_blocking_node_passes(account, tmp_path, app):
    app_port, seen = app
    vhost = with_server_lines(node_vhost(free_port(), app_port, mode="block"), BLOCK_STAND_IN)
    with nginx(tmp_path, vhost) as node:
        code, report = run(account, tmp_path, "--wallarm-mode", "block", *connect(account, "edge-alb", 80, node),
                           *connect(account, "app-alb", 8080, free_port()))
    assert (code, report["findings"]) == (0, [])
    assert seen == []
    assert any("blocked (403)" in n["message"] for n in report["notes"])


def test_entry_that_does_not_answer_is_a_finding(account, tmp_path):
    code, report = run(account, tmp_path, *connect(account, "edge-alb", 80, free_port()),
                       *connect(account, "app-alb", 8080, free_port()))
    assert code == 1
    assert checks(report) == [("probe-entry-unreachable", "edge-alb")]


def test_bad_connect_to_exits_2(account, tmp_path, capsys):
    code, _ = run(account, tmp_path, "--connect-to", "edge:80:127.0.0.1")
    assert code == 2
    assert "--connect-to takes HOST:PORT:ADDRESS:PORT" in capsys.readouterr().err


SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc"}


def cloudfront_state(origin_host: str) -> dict:
    """A hand-written CloudFront stack: a public custom origin guarded by a secret header."""
    return {"version": 3, "deployment": {"resources": [
        {"urn": "urn:pulumi:dev::cf::pulumi:pulumi:Stack::cf-dev", "type": "pulumi:pulumi:Stack", "custom": False},
        {"urn": "urn:pulumi:dev::cf::aws:cloudfront/distribution:Distribution::cdn", "custom": True,
         "type": "aws:cloudfront/distribution:Distribution", "id": "E2EXAMPLE",
         "outputs": {"domainName": "d111111abcdef8.cloudfront.net", "tags": {"layerguard:layer": "edge"},
                     "origins": [{"originId": "node", "domainName": origin_host,
                                  "customOriginConfig": {"originProtocolPolicy": "http-only", "httpPort": 80,
                                                         "httpsPort": 443},
                                  "customHeaders": [{"name": "X-CloudFront-Secret", "value": SECRET}]}]}},
    ]}}


@pytest.mark.parametrize("guarded", [True, False], ids=["header-checked", "header-not-checked"])
def test_origin_without_the_secret_header(tmp_path, app, guarded):
    app_port, seen = app
    vhost = node_vhost(free_port(), app_port)
    if guarded:
        vhost = with_server_lines(vhost, ORIGIN_CHECK)
    state = parse(cloudfront_state("origin.example.test"))
    report = Report("cf/dev", "eu-west-1")
    with nginx(tmp_path, vhost) as node:
        prober = probes.Prober({("origin.example.test", 80): ("127.0.0.1", node),
                                ("d111111abcdef8.cloudfront.net", 443): ("127.0.0.1", free_port())})
        probes.run(state, report, prober, mode="monitoring")
    origin = [(f.check, f.resource) for f in report.findings if f.check == "probe-origin-header"]
    if guarded:
        assert origin == [] and seen == []
    else:
        assert origin == [("probe-origin-header", "cdn")] and "answered 200" in report.findings[0].evidence
        assert seen == ["/"]
    # the distribution itself is the entry; nothing listens for it here
    assert [f.resource for f in report.findings if f.check == "probe-entry-unreachable"] == ["cdn"]


def test_probes_are_bounded_and_only_go_to_the_stacks_hosts(account):
    state = parse(account["state"])
    hosts = {t.host for t in probes.direct_targets(state) + probes.public_origins(state) + probes.entries(state)}
    assert hosts == {account["dns"]["edge-alb"], account["dns"]["app-alb"]}
    closed = ("127.0.0.1", free_port())  # nothing leaves loopback
    prober = probes.Prober({(account["dns"]["edge-alb"], 80): closed, (account["dns"]["app-alb"], 8080): closed},
                           budget=1)
    report = Report("x", "eu-west-1")
    probes.run(state, report, prober)
    assert prober.budget == 0
    assert report.findings == []  # the one probe sent (app ALB, refused) passed
    assert [n.check for n in report.notes] == ["probe-entry-unreachable"]
    assert "budget" in report.notes[0].message


def test_public_ip_on_an_app_task_interface_is_probed(account, tmp_path, app):
    """A public address given to an app interface by hand (an Elastic IP): found live, probed on the
    app's ports, and reported when it answers. Every port is mapped to loopback."""
    import boto3
    app_port, _ = app
    ec2 = boto3.client("ec2", region_name="eu-west-1", endpoint_url=account["endpoint"])
    allocation = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=allocation["AllocationId"], NetworkInterfaceId=account["app_eni"])
    public = allocation["PublicIp"]
    closed = free_port()
    mapped = ["--connect-to", f"{public}:80:127.0.0.1:{closed}", "--connect-to", f"{public}:443:127.0.0.1:{closed}",
              "--connect-to", f"{public}:8080:127.0.0.1:{app_port}"]
    with nginx(tmp_path, node_vhost(free_port(), app_port)) as node:
        code, report = run(account, tmp_path, *connect(account, "edge-alb", 80, node),
                           *connect(account, "app-alb", 8080, closed), *mapped)
    assert code == 1
    assert checks(report) == [("probe-direct-reachable", account["app_eni"])]
    assert f"{public}:8080" in report["findings"][0]["evidence"]

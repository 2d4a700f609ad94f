"""Network Access Analyzer: moto has no EC2 network insights, so this path is tested for the
request it builds (validated against botocore's own service model), for its "unsupported" handling
against the real moto server, and for reading findings through botocore's Stubber."""

from __future__ import annotations

import json

import boto3
import botocore.exceptions
import botocore.session
import botocore.validate
import pytest
from botocore.stub import Stubber

from layerguard.cli import main
from layerguard.verify import access_analyzer
from layerguard.verify.findings import Report
from layerguard.verify.live import Account
from layerguard.verify.state import parse


def _input_shape(operation: str):
    return botocore.session.get_session().get_service_model("ec2").operation_model(operation).input_shape


def test_scope_request_is_valid_for_the_api():
    request = access_analyzer.build_scope(["eni-app2", "eni-app1"], ["eni-node1"], "token-1")
    report = botocore.validate.ParamValidator().validate(request, _input_shape("CreateNetworkInsightsAccessScope"))
    assert not report.has_errors(), report.generate_report()
    sources = [p["Source"]["ResourceStatement"]["ResourceTypes"] for p in request["MatchPaths"]]
    assert sources == [["AWS::EC2::InternetGateway"], ["AWS::EC2::NetworkInterface"]]
    assert all(p["Destination"]["ResourceStatement"]["Resources"] == ["eni-app1", "eni-app2"] for p in request["MatchPaths"])
    assert request["ExcludePaths"][0]["Source"]["ResourceStatement"]["Resources"] == ["eni-app1", "eni-app2", "eni-node1"]
    assert request["ExcludePaths"][1]["ThroughResources"][0]["ResourceStatement"]["Resources"] == ["eni-node1"]


def test_scope_request_without_nodes_excludes_no_through_path():
    request = access_analyzer.build_scope(["eni-app1"], [], "t")
    assert len(request["ExcludePaths"]) == 1


def test_moto_endpoint_is_reported_unsupported_and_verify_goes_on(account, tmp_path):
    out = tmp_path / "r.json"
    code = main(["verify", "--state", str(account["path"]), "--endpoint-url", account["endpoint"],
                 "--network-access-analyzer", "--no-policy-pack", "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 0, report
    assert "network-access-analyzer" in report["checks"]
    notes = [n for n in report["notes"] if n["check"] == "network-access-analyzer"]
    assert len(notes) == 1 and "unsupported in this account/region (or endpoint)" in notes[0]["message"]


def _client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "m"}}, "CreateNetworkInsightsAccessScope")


@pytest.mark.parametrize("code", ["UnsupportedOperation", "InvalidAction", "NotImplemented", "OptInRequired"])
def test_unsupported_codes(code):
    assert access_analyzer.unsupported(_client_error(code)).startswith("unsupported in this account/region")


def test_denied_is_said_plainly_and_other_errors_are_not_swallowed():
    assert "not permitted" in access_analyzer.unsupported(_client_error("UnauthorizedOperation"))
    assert access_analyzer.unsupported(_client_error("InvalidParameterValue")) is None


STATE = {"version": 3, "deployment": {"resources": [
    {"urn": "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev", "type": "pulumi:pulumi:Stack", "custom": False},
    {"urn": "urn:pulumi:dev::p::aws:ec2/securityGroup:SecurityGroup::app", "type": "aws:ec2/securityGroup:SecurityGroup",
     "custom": True, "id": "sg-app", "outputs": {"tags": {"layerguard:layer": "app"}}},
    {"urn": "urn:pulumi:dev::p::aws:ec2/securityGroup:SecurityGroup::node", "type": "aws:ec2/securityGroup:SecurityGroup",
     "custom": True, "id": "sg-node", "outputs": {"tags": {"layerguard:layer": "node"}}},
]}}


class _StubbedAccount(Account):
    def __init__(self, client):
        super().__init__(boto3.session.Session(region_name="eu-west-1"), "eu-west-1", None)
        self._c = client

    def client(self, service, region=None, attempts=None):
        return self._c


def test_findings_are_reported_with_their_path(monkeypatch):
    """botocore's Stubber answers as the API documents; the report names the path's hops."""
    monkeypatch.setattr(access_analyzer, "POLL", 0)
    ec2 = botocore.session.get_session().create_client(
        "ec2", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
    eni = lambda gid, eid: {"NetworkInterfaces": [{"NetworkInterfaceId": eid, "Groups": [{"GroupId": gid}]}]}  # noqa: E731
    with Stubber(ec2) as stub:
        stub.add_response("describe_network_interfaces", eni("sg-app", "eni-app"))
        stub.add_response("describe_network_interfaces", eni("sg-node", "eni-node"))
        stub.add_response("create_network_insights_access_scope",
                          {"NetworkInsightsAccessScope": {"NetworkInsightsAccessScopeId": "nis-1"}})
        stub.add_response("start_network_insights_access_scope_analysis",
                          {"NetworkInsightsAccessScopeAnalysis": {"NetworkInsightsAccessScopeAnalysisId": "nisa-1"}})
        stub.add_response("get_network_insights_access_scope_analysis_findings",
                          {"AnalysisStatus": "running", "AnalysisFindings": []})
        stub.add_response("get_network_insights_access_scope_analysis_findings", {
            "AnalysisStatus": "succeeded", "AnalysisFindings": [{
                "FindingId": "f-1", "FindingComponents": [
                    {"SequenceNumber": 2, "Component": {"Id": "eni-app"}},
                    {"SequenceNumber": 1, "Component": {"Id": "igw-1"}}]}]})
        stub.add_response("delete_network_insights_access_scope_analysis", {})
        stub.add_response("delete_network_insights_access_scope", {})
        report = Report("p/dev", "eu-west-1")
        access_analyzer.check(_StubbedAccount(ec2), parse(STATE), report)
        stub.assert_no_pending_responses()
    assert [(f.check, f.resource) for f in report.findings] == [("network-access-analyzer", "eni-app")]
    assert "igw-1 -> eni-app" in report.findings[0].evidence

"""VPC Network Access Analyzer, in the account: a scope that must match nothing.

Match: paths from any internet gateway, and from any network interface, to the app's network
interfaces. Exclude: paths that start at a node or app interface (the nodes are meant to reach the
app, and the app's own load balancer its tasks), and paths through a node interface. Any finding
is a path to the app that no node filters. The analyser's model stops at load balancers,
CloudFront and API Gateway (FACTS: its findings start or end at gateways and interfaces), which is
why the policy pack's model runs beside it.

Not every account, region or endpoint has the API (moto has none): an unsupported-operation
answer becomes a note "unsupported in this account/region (or endpoint)" and verify goes on.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import botocore.exceptions
import botocore.parsers

from .findings import Report
from .security_groups import SG
from .state import State

UNSUPPORTED_CODES = {"NotImplemented", "UnsupportedOperation", "InvalidAction", "UnknownOperationException",
                     "UnknownOperation", "OptInRequired", "InvalidParameterValue.Unsupported"}
DENIED_CODES = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
TIMEOUT = 600.0
POLL = 5.0
MAX_ENIS = 100


def build_scope(app_enis: list[str], node_enis: list[str], token: str) -> dict[str, Any]:
    """The `CreateNetworkInsightsAccessScope` request for the no-bypass scope."""
    destination = {"ResourceStatement": {"Resources": sorted(app_enis)}}
    request: dict[str, Any] = {
        "MatchPaths": [
            {"Source": {"ResourceStatement": {"ResourceTypes": ["AWS::EC2::InternetGateway"]}},
             "Destination": destination},
            {"Source": {"ResourceStatement": {"ResourceTypes": ["AWS::EC2::NetworkInterface"]}},
             "Destination": destination},
        ],
        "ExcludePaths": [{"Source": {"ResourceStatement": {"Resources": sorted(set(node_enis) | set(app_enis))}}}],
        "ClientToken": token,
        "TagSpecifications": [{"ResourceType": "network-insights-access-scope",
                               "Tags": [{"Key": "layerguard:purpose", "Value": "verify-no-bypass"}]}],
    }
    if node_enis:
        request["ExcludePaths"].append(
            {"ThroughResources": [{"ResourceStatement": {"Resources": sorted(node_enis)}}]})
    return request


def unsupported(exc: BaseException) -> str | None:
    """Why the API cannot be used here, or None when `exc` is an ordinary failure."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in UNSUPPORTED_CODES:
            return f"unsupported in this account/region (or endpoint): {code}"
        if code in DENIED_CODES:
            return f"not permitted for these credentials: {code}"
        return None
    if isinstance(exc, botocore.parsers.ResponseParserError):
        # AWS answers every error with an XML error document; an endpoint that answers the
        # operation with none (moto: an HTML 500 page, "action has not been implemented" in its
        # log) does not implement it.
        return ("unsupported in this account/region (or endpoint): the endpoint answered "
                "without an AWS error document")
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.UnknownEndpointError):
        return f"unsupported in this account/region (or endpoint): {exc}"
    return None


def _enis(ec2, group_ids: list[str]) -> list[str]:
    if not group_ids:
        return []
    found = ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": group_ids}])["NetworkInterfaces"]
    return sorted(e["NetworkInterfaceId"] for e in found)


def check(account, state: State, report: Report, timeout: float = TIMEOUT) -> None:
    ec2 = account.client("ec2", attempts=1)
    app_groups = [sg.id for sg in state.of(SG) if sg.layer == "app" and sg.id]
    node_groups = [sg.id for sg in state.of(SG) if sg.layer == "node" and sg.id]
    app_enis, node_enis = _enis(ec2, app_groups), _enis(ec2, node_groups)
    if not app_enis:
        report.note("network-access-analyzer", state.stack, "the app has no network interfaces in the account: nothing to analyse")
        return
    if len(app_enis) > MAX_ENIS:
        report.note("network-access-analyzer", state.stack, f"{len(app_enis)} app interfaces; analysing the first {MAX_ENIS}")
        app_enis = app_enis[:MAX_ENIS]
    scope_id = analysis_id = None
    try:
        scope = ec2.create_network_insights_access_scope(**build_scope(app_enis, node_enis, str(uuid.uuid4())))
        scope_id = scope["NetworkInsightsAccessScope"]["NetworkInsightsAccessScopeId"]
        analysis = ec2.start_network_insights_access_scope_analysis(NetworkInsightsAccessScopeId=scope_id,
                                                                     ClientToken=str(uuid.uuid4()))
        analysis_id = analysis["NetworkInsightsAccessScopeAnalysis"]["NetworkInsightsAccessScopeAnalysisId"]
        deadline = time.monotonic() + timeout
        while True:
            page = ec2.get_network_insights_access_scope_analysis_findings(
                NetworkInsightsAccessScopeAnalysisId=analysis_id)
            status = page.get("AnalysisStatus")
            if status != "running":
                break
            if time.monotonic() > deadline:
                report.note("network-access-analyzer", analysis_id, f"still running after {timeout:.0f} s; not waited for")
                return
            time.sleep(POLL)
        if status != "succeeded":
            report.note("network-access-analyzer", analysis_id, f"analysis ended with status {status}")
            return
        findings = list(page.get("AnalysisFindings", []))
        while page.get("NextToken"):
            page = ec2.get_network_insights_access_scope_analysis_findings(
                NetworkInsightsAccessScopeAnalysisId=analysis_id, NextToken=page["NextToken"])
            findings += page.get("AnalysisFindings", [])
        for f in findings:
            hops = [c.get("Component", {}).get("Id", "?") for c in
                    sorted(f.get("FindingComponents", []), key=lambda c: c.get("SequenceNumber", 0))]
            report.add("network-access-analyzer", hops[-1] if hops else analysis_id,
                       f"finding {f.get('FindingId')}: path {' -> '.join(hops)} reaches the app without a node")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
            botocore.parsers.ResponseParserError) as exc:
        why = unsupported(exc)
        if why is None:
            raise
        report.note("network-access-analyzer", state.stack, why)
    finally:
        if scope_id:
            try:
                if analysis_id:
                    ec2.delete_network_insights_access_scope_analysis(NetworkInsightsAccessScopeAnalysisId=analysis_id)
                ec2.delete_network_insights_access_scope(NetworkInsightsAccessScopeId=scope_id)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                pass  # a scope left behind costs nothing; the analysis result is already reported

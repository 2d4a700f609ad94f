"""`python -m layerguard verify`: the checks in order, one report, exit 0 / 1 / 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import botocore.exceptions

from ..errors import EngineError
from . import access_analyzer, instances, perimeter, probes, reachability, routes, security_groups, workloads
from .findings import Report
from .live import InputError, connect, missing_credentials
from .state import StateError, load

DEFAULT_PACK = Path(__file__).resolve().parent.parent.parent / "policy"


def run(args: argparse.Namespace) -> int:
    try:
        report = verify(args)
    except (InputError, StateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    if args.json_file is not None:
        args.json_file.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return report.exit_code


def verify(args: argparse.Namespace) -> Report:
    state = load(args.state)
    try:
        connect_to = probes.parse_connect_to(args.connect_to)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    pack = None if args.no_policy_pack else (args.policy_pack or DEFAULT_PACK)
    if pack is not None and not (pack / "PulumiPolicy.yaml").is_file():
        raise InputError(f"--policy-pack {pack}: no PulumiPolicy.yaml there (or pass --no-policy-pack)")
    account = connect(args.region or state.region(), args.profile, args.endpoint_url)
    report = Report(stack=f"{state.project}/{state.stack}", region=account.region)
    try:
        report.checks_run.append("security-groups")
        live = security_groups.audit(account, state, report)
        report.checks_run.append("route-tables")
        live_routes = routes.audit(account, state, report)
        routes.check_subnet_tables(account, state, report, live_routes)
        report.checks_run.append("perimeter")
        perimeter.check_load_balancers(account, state, report)
        perimeter.check_rest_stages(account, state, report)
        perimeter.check_distributions(account, state, report)
        workloads.check_web_acls(account, state, report)
        report.checks_run.append("workloads")
        overlay = workloads.Overlay()
        workloads.check_services(account, state, report, overlay)
        instances.check_fleets(account, state, report)
        workloads.check_listeners(account, state, report, overlay)
        workloads.check_targets(account, state, report)
        if pack is not None:
            report.checks_run.append("reachability")
            try:
                reachability.check(state, live, live_routes, pack, account.region, report, overlay)
            except EngineError as exc:
                raise InputError(f"the policy pack could not run: {exc}") from None
        if args.network_access_analyzer:
            report.checks_run.append("network-access-analyzer")
            access_analyzer.check(account, state, report)
        if args.probe:
            report.checks_run.append("probes")
            probes.run(state, report, probes.Prober(connect_to), account, args.wallarm_mode)
    except botocore.exceptions.BotoCoreError as exc:
        if missing_credentials(exc):
            raise InputError(f"AWS credentials are missing or incomplete: {exc}") from None
        raise InputError(f"the AWS API could not be reached: {exc}") from None
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code, message, operation = error.get("Code"), error.get("Message"), exc.operation_name
        if code in ("AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId",
                    "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"):
            raise InputError(f"AWS rejected the credentials: {code}: {message}") from None
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            raise InputError(f"the credentials may not call {operation} ({code}); see the permissions "
                             "listed in the README, \"After the deploy: verify\"") from None
        raise InputError(f"AWS answered {operation} with {code}: {message}") from None
    return report

"""The `verify` subcommand's options. Kept apart from `run.py` so that building the command line
(which `preview` does too) never imports boto3."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("verify", help="check the live account against a stack's exported state",
                       description="After `pulumi up`: prove in the live account that nothing reaches the app "
                                   "around the Wallarm nodes. FILE is `pulumi stack export --file FILE`.")
    p.add_argument("--state", required=True, type=Path, metavar="FILE", help="the stack's state, from `pulumi stack export`")
    p.add_argument("--region", default=None, help="AWS region (default: the state's provider region, then AWS_REGION)")
    p.add_argument("--profile", default=None, help="AWS profile from your AWS config")
    p.add_argument("--endpoint-url", default=None, help="AWS API endpoint (an emulator such as moto; default: AWS)")
    p.add_argument("--probe", action="store_true",
                   help="also send the guide's request tests (direct access, missing origin header, /etc/passwd)")
    p.add_argument("--connect-to", action="append", default=[], metavar="HOST:PORT:ADDRESS:PORT",
                   help="probes: connect to ADDRESS:PORT for HOST:PORT, like curl --connect-to (repeatable)")
    p.add_argument("--wallarm-mode", choices=("off", "monitoring", "safe_blocking", "block"), default=None,
                   help="probes: the nodes' mode (default: what the node task definitions in the state declare)")
    p.add_argument("--network-access-analyzer", action="store_true",
                   help="also run a VPC Network Access Analyzer scope (billed per analysed interface)")
    p.add_argument("--policy-pack", type=Path, default=None,
                   help="policy pack whose reachability model runs on the live data (default: this repo's policy/)")
    p.add_argument("--no-policy-pack", action="store_true", help="skip the reachability model")
    p.add_argument("--json", type=Path, default=None, dest="json_file", help="also write the report as JSON")

"""`python -m layerguard preview ...`: the offline preview from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .engine import MODES, preview
from .report import render


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m layerguard",
                                     description="Offline Pulumi preview with CrossGuard policies.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("preview", help="run a stack's program under mocks and analyse it with a policy pack")
    p.add_argument("--stack", "-s", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    p.add_argument("--program", default=".", type=Path, help="Pulumi program directory (default: .)")
    p.add_argument("--policy-pack", type=Path, default=None,
                   help="policy pack directory (default: ./policy when it exists)")
    p.add_argument("--no-policy-pack", action="store_true", help="do not analyse")
    p.add_argument("--policy-pack-config", type=Path, default=None,
                   help="policy config JSON, as for `pulumi preview --policy-pack-config`")
    p.add_argument("--mode", choices=MODES, default="preview",
                   help="preview: first preview of a fresh stack (computed values unknown); "
                        "update: computed values known")
    p.add_argument("--config", "-c", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, as for `pulumi preview --config` (repeatable)")
    p.add_argument("--secret", action="append", default=[], metavar="KEY=VALUE",
                   help="secret config value, as `pulumi config set --secret` stores it (repeatable)")
    p.add_argument("--config-file", type=Path, default=None,
                   help="use this file instead of Pulumi.<stack>.yaml")
    p.add_argument("--existing", type=Path, default=None, metavar="FILE",
                   help="properties of existing resources the program reads with .get() (JSON or "
                        "YAML; see README); a read it does not answer fails the run")
    p.add_argument("--json", type=Path, default=None, dest="json_file",
                   help="also write the result as JSON to this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, dict[str, str]] = {"config": {}, "secret": {}}
    for flag, items in (("config", args.config), ("secret", args.secret)):
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key:
                print(f"error: --{flag} takes KEY=VALUE, got {key + '=...' if sep else item!r}",
                      file=sys.stderr)
                return 2
            overrides[flag][key] = value
    pack = args.policy_pack
    if pack is None and not args.no_policy_pack and (Path.cwd() / "policy").is_dir():
        pack = Path("policy")
    if args.no_policy_pack:
        pack = None
    result = preview(args.program, args.stack, args.mode, policy_pack=pack,
                     policy_config=args.policy_pack_config, config=overrides["config"],
                     secrets=overrides["secret"],
                     config_file=args.config_file, existing=args.existing)
    if result.exit_code == 2:
        print(f"error: {result.error}", file=sys.stderr)
        return 2
    print(render(result))
    if args.json_file is not None:
        args.json_file.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    return result.exit_code

"""`python -m layerguard preview ...`: the offline preview from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from . import lifecycle
from .engine import MODES, preview
from .report import Progress, render


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m layerguard",
                                     description="Offline Pulumi preview with CrossGuard policies.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("preview", help="run a stack's program under mocks and analyse it with a policy pack")
    p.add_argument("--stack", "-s", default=None,
                   help="stack name (reads Pulumi.<stack>.yaml); with --all, the stack of each --config-file run "
                        "(default dev)")
    p.add_argument("--all", action="store_true", dest="all_stacks",
                   help="preview every Pulumi.<stack>.yaml of the program, and each --config-file, in one run: "
                        "one summary table, the exit code of the worst")
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
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                   help="a tag the stack already has, as `pulumi stack tag set KEY VALUE` sets it "
                        "(repeatable; the pack sees it in its stack tags)")
    p.add_argument("--config-file", type=Path, action="append", default=[],
                   help="use this file instead of Pulumi.<stack>.yaml (with --all: repeatable, one run each)")
    p.add_argument("--existing", type=Path, default=None, metavar="FILE",
                   help="properties of existing resources the program reads with .get() (JSON or "
                        "YAML; see README); a read it does not answer fails the run")
    p.add_argument("--json", type=Path, default=None, dest="json_file",
                   help="also write the result as JSON to this file")
    _output_flags(p)
    from .verify.options import add_parser as add_verify_parser
    add_verify_parser(sub)
    from .doctor import add_parsers as add_doctor_parsers
    add_doctor_parsers(sub)
    return parser


def _output_flags(p: argparse.ArgumentParser) -> None:
    """CI outputs (layerguard/outputs/), written after a preview that ran (exit 0 or 1)."""
    g = p.add_argument_group("CI outputs")
    g.add_argument("--sarif", type=Path, metavar="FILE", help="write SARIF 2.1.0 (code scanning) to FILE")
    g.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML (CI test tab) to FILE")
    g.add_argument("--markdown", type=Path, metavar="FILE",
                   help="write a Markdown summary with a Mermaid traffic path (pull-request comment) to FILE")
    g.add_argument("--diagram", type=Path, metavar="FILE.svg|.png",
                   help="draw the traffic path with AWS icons to FILE (needs diagrams and Graphviz)")


def _wrote(path: Path) -> None:
    print(f"wrote {path}", file=sys.stderr)


def _check_outputs(args) -> str | None:
    """An error message for output flags that cannot be honoured, checked before the preview runs."""
    if args.diagram is not None:
        from .outputs.diagram import DiagramUnavailable, check
        try:
            check(args.diagram)
        except (ValueError, DiagramUnavailable) as exc:
            return str(exc)
    return None


def _write_outputs(args, runs) -> None:
    """The CI files of one preview, or of every run of `preview --all` (`runs`: (label, stack,
    config file, result); a label only names the runs of `--all`). SARIF, JUnit and Markdown hold
    every run in one file; the diagram is one picture per run, FILE's name with the run's label
    added (`out.svg` -> `out-stack-dev.svg`)."""
    for target in (args.sarif, args.junit, args.markdown, args.diagram):
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
    labels = [label for label, _stack, _file, _result in runs] if args.all_stacks else None
    results = [result for _label, _stack, _file, result in runs]
    if args.sarif is not None:
        from .outputs import sarif
        from .project import main_file
        # A stack's run keeps the category a single preview of it has (`layerguard/<stack>/`).
        categories = [stack if config_file is None else label for label, stack, config_file, _r in runs]
        sarif.write(args.sarif, [(result, main_file(args.program, stack, config_file),
                                  config_file or args.program / f"Pulumi.{stack}.yaml")
                                 for _label, stack, config_file, result in runs],
                    categories if args.all_stacks else None)
        _wrote(args.sarif)
    if args.junit is not None:
        from .outputs import junit
        junit.write(args.junit, results, labels)
        _wrote(args.junit)
    if args.markdown is not None:
        from .outputs import markdown
        markdown.write(args.markdown, results, labels)
        _wrote(args.markdown)
    if args.diagram is not None:
        from .outputs import diagram
        from .outputs.model import slug
        for label, _stack, _file, result in runs:
            if result.exit_code == 2:
                continue  # nothing was captured to draw
            target = args.diagram.with_name(f"{args.diagram.stem}-{slug(label)}{args.diagram.suffix}") \
                if args.all_stacks else args.diagram
            diagram.render(result, target)
            _wrote(target)


def main(argv: list[str] | None = None) -> int:
    """The command line: exit 0 (clean), 1 (a violation or finding), 2 (anything else). Whatever
    goes wrong is one line on stderr and exit 2, never a traceback and never 1: CI reads 1 as a
    violation. `LAYERGUARD_DEBUG=1` prints the traceback of an unexpected error."""
    args = _parser().parse_args(argv)
    secrets = [item.partition("=")[2] for item in getattr(args, "secret", []) if item.partition("=")[2]]
    try:
        with lifecycle.stop_children_on_exit():
            return _run(args)
    except (Exception, RecursionError, MemoryError) as exc:
        if os.environ.get("LAYERGUARD_DEBUG"):
            traceback.print_exc()
        text = lifecycle.mask(f"{type(exc).__name__}: {exc}".splitlines()[0][:500], secrets)
        print(f"error: layerguard could not finish: {text}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "verify":
        from .verify.run import run as run_verify
        return run_verify(args)
    if args.command in ("doctor", "init"):
        from .doctor import run_doctor, run_init
        return run_doctor(args) if args.command == "doctor" else run_init(args)
    overrides: dict[str, dict[str, str]] = {"config": {}, "secret": {}, "tag": {}}
    for flag, items in (("config", args.config), ("secret", args.secret), ("tag", args.tag)):
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key:
                # A `--secret` without "=" may be the secret itself: never echo it.
                given = key + "=..." if sep else ("a value without '='" if flag == "secret" else repr(item))
                print(f"error: --{flag} takes KEY=VALUE, got {given}", file=sys.stderr)
                return 2
            overrides[flag][key] = value
    pack = args.policy_pack
    if pack is None and not args.no_policy_pack and (Path.cwd() / "policy").is_dir():
        pack = Path("policy")
    if args.no_policy_pack:
        pack = None
    problem = _check_outputs(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.all_stacks:
        from .batch import preview_all
        return preview_all(args.program, args.stack or "dev", args.config_file, args.mode, pack=pack,
                           policy_config=args.policy_pack_config, overrides=overrides,
                           json_file=args.json_file, write_outputs=lambda runs: _write_outputs(args, runs))
    if args.stack is None:
        print("error: --stack is required (or --all for every stack)", file=sys.stderr)
        return 2
    if len(args.config_file) > 1:
        print("error: --config-file is given once per preview (repeat it only with --all)", file=sys.stderr)
        return 2
    result = preview(args.program, args.stack, args.mode, policy_pack=pack,
                     policy_config=args.policy_pack_config, config=overrides["config"],
                     secrets=overrides["secret"], tags=overrides["tag"],
                     config_file=args.config_file[0] if args.config_file else None,
                     existing=args.existing, progress=Progress())
    if result.exit_code == 2:
        print(f"error: {result.error}", file=sys.stderr)
        return 2
    print(render(result))
    if args.json_file is not None:
        args.json_file.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        _wrote(args.json_file)
    _write_outputs(args, [(args.stack, args.stack, args.config_file[0] if args.config_file else None, result)])
    return result.exit_code

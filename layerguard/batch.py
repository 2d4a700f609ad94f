"""`preview --all`: every stack of a program (and any extra config files) in one run.

The SDK is imported once, by a zygote (`zygote.py`), and every preview forks its language host
from it; each preview keeps its own host and pack processes, exactly as a single preview does.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .engine import PreviewResult, preview
from .report import Progress
from .zygote import Zygote, sdk_modules

WORKERS = 2
VERDICTS = {0: "passed", 1: "FAILED", 2: "ERROR"}


def stacks_of(program_dir: Path) -> list[str]:
    """The stacks that have a `Pulumi.<stack>.yaml` beside the project file, sorted."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in program_dir.glob("Pulumi.*.yaml"))


def preview_all(program_dir: Path, file_stack: str, config_files: list[Path], mode: str, *,
                pack: Path | None, policy_config: Path | None, overrides: dict[str, dict[str, str]],
                json_file: Path | None = None,
                write_outputs: Callable[[list[tuple[str, str, Path | None, PreviewResult]]], None] | None = None) -> int:
    runs: list[tuple[str, str, Path | None]] = [(s, f"stack {s}", None) for s in stacks_of(program_dir)]
    runs += [(file_stack, f"{f} ({file_stack})", f) for f in config_files]
    if not runs:
        print(f"error: no Pulumi.<stack>.yaml in {program_dir} and no --config-file", file=sys.stderr)
        return 2

    def one(run: tuple[str, str, Path | None]) -> PreviewResult:
        stack, label, config_file = run
        result = preview(program_dir, stack, mode, policy_pack=pack, policy_config=policy_config,
                         config=overrides["config"], secrets=overrides["secret"], config_file=config_file,
                         tags=overrides.get("tag"), progress=Progress(label, started))
        Progress(label, started)(f"done: {'error' if result.exit_code == 2 else 'exit ' + str(result.exit_code)}")
        return result

    started = time.monotonic()

    with Zygote(sdk_modules(program_dir)), ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(one, runs))
    print(render_summary([label for _s, label, _f in runs], results))
    if json_file is not None:
        doc: list[dict[str, Any]] = [{"run": label, "exit_code": r.exit_code, "error": r.error, **r.to_json()}
                                     for (_s, label, _f), r in zip(runs, results, strict=True)]
        json_file.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if write_outputs is not None:
        write_outputs([(label, stack, config_file, r) for (stack, label, config_file), r in zip(runs, results, strict=True)])
    return max(r.exit_code for r in results)


def render_summary(labels: list[str], results: list[PreviewResult]) -> str:
    width = max(len(label) for label in labels)
    lines = [f"{'run':<{width}}  verdict  resources  mandatory  advisory",
             f"{'-' * width}  -------  ---------  ---------  --------"]
    details: list[str] = []
    for label, r in zip(labels, results, strict=True):
        created = sum(1 for res in r.resources if res.custom and res.kind != "default-provider"
                      and not res.type.startswith("pulumi:providers:"))  # as the report counts them
        advisory = len(r.violations) - len(r.mandatory)
        lines.append(f"{label:<{width}}  {VERDICTS.get(r.exit_code, '?'):<7}  {created:>9}  "
                     f"{len(r.mandatory):>9}  {advisory:>8}")
        if r.exit_code == 2:
            details.append(f"{label}: error: {r.error}")
        for v in r.mandatory:
            details.append(f"{label}: {v.enforcement} {v.policy} {v.urn or '(stack)'}: {v.message.splitlines()[-1]}")
    worst = max(r.exit_code for r in results)
    lines.append("")
    lines.append(f"{len(results)} previews: {sum(r.exit_code == 0 for r in results)} passed, "
                 f"{sum(r.exit_code == 1 for r in results)} failed, {sum(r.exit_code == 2 for r in results)} "
                 f"errors; exit {worst}")
    return "\n".join(lines + (["", *details] if details else []))

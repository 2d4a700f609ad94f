"""layerguard benchmarks: `make bench` (or `python bench/run.py`).

    python bench/run.py                 # everything; writes docs/BENCHMARKS.md (about 10 minutes)
    python bench/run.py --quick         # smoke run: fewer runs and sizes, nothing written by default
    python bench/run.py --only b2 --sizes 1000 5000 --runs 5

B1  `python -m layerguard preview --stack dev|prod` (with the pack, preview mode) as whole processes.
B2  the pack alone through the Analyzer protocol on synthetic stacks of 1,000 / 5,000 / 20,000.
B3  a synthetic ~2,000-resource program through `preview()`, without and with the pack.
B4  `python -m layerguard preview --all` (every stack, the SDK imported once by a zygote).
B5  the whole test suite on a fresh clone: wall time and previews made (bench/suite.py; `--only b5`).

Every figure is a median over `--runs` runs after a warm-up, with min and max beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import b1_cli  # noqa: E402
import b1_floor  # noqa: E402
import b2_pack  # noqa: E402
import b3_program  # noqa: E402
import b4_all  # noqa: E402
import machine  # noqa: E402
import synth  # noqa: E402
from measure import load_average  # noqa: E402

TARGETS = {
    "b1_over_floor_s": 0.3, "b4_ratio": 1.5, "b5_wall_s": 240.0, "b5_previews": 2 * 156,
    "b1_wall_s": 2.0, "b1_rss_mb": 300.0, "b2_ratio": 22.0, "b2_stack_s": 5.0, "b2_analyze_ms": 1.0,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/run.py", description="layerguard benchmarks (B1, B2, B3).")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2 runs, B1 dev only, B2 at 1,000 only, B3 at 500 resources, no decomposition; "
                        "does not write docs/BENCHMARKS.md unless --output is given")
    p.add_argument("--runs", type=int, default=None, help="counted runs per measurement (default 5, quick 2)")
    p.add_argument("--warmup", type=int, default=1, help="warm-up runs before the counted ones (default 1)")
    p.add_argument("--only", default="b1,b2,b3,b4", help="comma-separated subset of b1,b2,b3,b4,b5 (b5, the "
                   "whole test suite on a fresh clone, only when named)")
    p.add_argument("--stacks", nargs="+", default=None, help="B1 stacks (default: dev prod)")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="B2 sizes (default: 1000 5000 20000)")
    p.add_argument("--b3-size", type=int, default=None, help="B3 program size (default 2000)")
    p.add_argument("--no-decompose", action="store_true", help="skip the in-process AnalyzeStack decomposition")
    p.add_argument("--output", type=Path, default=None, help="markdown report (default docs/BENCHMARKS.md)")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--json", type=Path, default=None, help="also write every measurement as JSON")
    p.add_argument("--from-json", type=Path, default=None,
                   help="measure nothing: render the report from a --json file of an earlier run")
    return p


def _fmt_targets(results: dict) -> list[tuple[str, str, str, str]]:
    """(target, measured, verdict, where) rows, from the measurements only."""
    rows = []
    b1 = {r["stack"]: r for r in results.get("b1", [])}
    if "prod" in b1:
        wall, rss = b1["prod"]["wall_s"]["median"], b1["prod"]["peak_rss_mb"]["median"]
        rows.append(("B1 prod wall, median <= 2.0 s", f"{wall:.2f} s", _verdict(wall <= TARGETS["b1_wall_s"]), "B1"))
        rows.append(("B1 prod peak RSS (tree), median <= 300 MB", f"{rss:.0f} MB",
                     _verdict(rss <= TARGETS["b1_rss_mb"]), "B1"))
    floor = results.get("b1_floor")
    if "prod" in b1 and floor and floor.get("import_wall_s"):
        gap = b1["prod"]["wall_s"]["median"] - floor["import_wall_s"]["median"]
        rows.append(("B1 prod wall minus the SDK import floor's wall <= 0.3 s", f"{gap:.2f} s",
                     _verdict(gap <= TARGETS["b1_over_floor_s"]), "B1"))
    b4 = results.get("b4")
    if b4 and "prod" in b1:
        ratio = b4["wall_s"]["median"] / b1["prod"]["wall_s"]["median"]
        rows.append((f"B4 preview --all ({len(b4['stacks'])} stacks) <= 1.5 x one cold prod preview",
                     f"{ratio:.2f} x", _verdict(ratio <= TARGETS["b4_ratio"]), "B4"))
    b5 = results.get("b5")
    if b5:
        rows.append(("B5 test suite on a fresh clone <= 4 min wall", f"{b5['wall_s'] / 60:.1f} min",
                     _verdict(b5["wall_s"] <= TARGETS["b5_wall_s"]), "B5"))
        rows.append(("B5 previews >= 2 x the 156 before the zygote", f"{b5['previews']}",
                     _verdict((b5["previews"] or 0) >= TARGETS["b5_previews"]), "B5"))
    b2 = {r["target"]: r for r in results.get("b2", [])}
    if 1000 in b2 and 20000 in b2:
        small, big = b2[1000]["analyze_stack_s"]["median"], b2[20000]["analyze_stack_s"]["median"]
        ratio = big / small
        rows.append(("B2 AnalyzeStack(20k) <= 22 x AnalyzeStack(1k)", f"{ratio:.1f} x", _verdict(ratio <= TARGETS["b2_ratio"]), "B2"))
    if 20000 in b2:
        big = b2[20000]["analyze_stack_s"]["median"]
        rows.append(("B2 AnalyzeStack(20k) < 5 s", f"{big:.2f} s", _verdict(big < TARGETS["b2_stack_s"]), "B2"))
    for size, r in sorted(b2.items()):
        med = r["analyze_median_ms"]["median"]
        rows.append((f"B2 Analyze median per resource < 1 ms ({size:,})", f"{med:.3f} ms",
                     _verdict(med < TARGETS["b2_analyze_ms"]), "B2"))
    return rows


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _stat(d: dict, key: str, digits: int = 2, scale: float = 1.0) -> str:
    s = d.get(key)
    if not s:
        return "n/a"
    return f"{s['median'] * scale:.{digits}f} ({s['min'] * scale:.{digits}f}–{s['max'] * scale:.{digits}f})"


def render(results: dict) -> str:
    m = results["machine"]
    runs, warm = results["runs"], results["warmup"]
    out = []
    out.append(f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['memory_gib']} GiB RAM, "
               f"{m['os']} (kernel {m['kernel']}), {m['python_impl']} {m['python']}.")
    out.append("Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + f". Commit: {m['commit']}.")
    out.append(f"Command: `{results['command']}`; {runs} counted runs after {warm} warm-up run(s); "
               f"figures are median (min–max). Load average (1/5/15 min) at start {results['load_start']}, "
               f"at end {results['load_end']}; total {results['elapsed_s'] / 60:.1f} min.")
    out.append("")
    if results.get("b1"):
        out.append("### B1: `python -m layerguard preview --stack NAME` (with the pack, preview mode), whole process tree")
        out.append("")
        out.append("| stack | resources | violations (mandatory) | exit | wall s | CPU s (tree) | peak RSS MB (tree, sampled) | sum of per-process peaks MB | largest process MB |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results["b1"]:
            out.append(f"| {r['stack']} | {r['resources']} | {r['violations']} ({r['mandatory']}) | "
                       f"{'/'.join(map(str, r['exit_codes']))} | {_stat(r, 'wall_s')} | {_stat(r, 'cpu_s')} | "
                       f"{_stat(r, 'peak_rss_mb', 0)} | {_stat(r, 'hwm_sum_mb', 0)} | {_stat(r, 'largest_process_mb', 0)} |")
        out.append("")
        out.append("CPU seconds and peak RSS per process (median over the runs; CPU read from /proc at the last "
                   "sample before each process exited, so it can fall short by one sampling interval):")
        out.append("")
        out.append("| stack | " + " | ".join(f"{k} CPU s | {k} peak RSS MB" for k in ("cli", "host", "pack")) + " |")
        out.append("|---|" + "---:|" * 6)
        for r in results["b1"]:
            cells = []
            for k in ("cli", "host", "pack"):
                cpu, rss = r["cpu_by_role"].get(k), r["rss_by_role"].get(k)
                cells.append(f"{cpu['median']:.2f}" if cpu else "n/a")
                cells.append(f"{rss['median']:.0f}" if rss else "n/a")
            out.append(f"| {r['stack']} | " + " | ".join(cells) + " |")
        out.append("")
        f = results.get("b1_floor")
        if f:
            names = ", ".join(m.split(".", 1)[1] for m in f["modules"])
            out.append(f"SDK import floor of the {f['stack']} program: a bare `python -c` that only imports `pulumi` and "
                       f"the {len(f['modules'])} `pulumi_aws` subpackages the program uses ({names}) takes "
                       f"{_stat(f, 'import_cpu_s')} s of CPU (a bare interpreter: {_stat(f, 'interpreter_cpu_s')} s). "
                       "The language host must pay this before the first registration.")
            out.append("")
    if results.get("b2"):
        out.append("### B2: the pack alone over the Analyzer protocol (fresh pack process per run), synthetic stacks")
        out.append("")
        out.append("| size | resources (custom) | units / with bypass | bypass units reported | violations | "
                   "AnalyzeStack s | Analyze median ms/resource | Analyze p95 ms | Analyze calls timed | "
                   "empty round trip ms | pack start s | request MB |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results["b2"]:
            calls = -(-r["custom"] // r["analyze_stride"])
            sample = f"{calls}" + (f" (every {r['analyze_stride']}th)" if r["analyze_stride"] > 1 else " (all)")
            out.append(f"| {r['target']:,} | {r['resources']:,} ({r['custom']:,}) | {r['units']} / {r['bypass_units']} | "
                       f"{r['detected']}/{r['bypass_units']} (clean units reported: {r['false_positive_units']}) | "
                       f"{r['violations']} | {_stat(r, 'analyze_stack_s')} | {_stat(r, 'analyze_median_ms', 3)} | "
                       f"{_stat(r, 'analyze_p95_ms', 3)} | {sample} | {_stat(r, 'rpc_floor_ms', 3)} | {_stat(r, 'startup')} | "
                       f"{r['request_mb']:.1f} |")
        out.append("")
        policies = sorted({p for r in results["b2"] for p in r["by_policy"]})
        if policies:
            out.append("Violations per policy: " + "; ".join(
                f"{r['target']:,}: " + ", ".join(f"{p} {r['by_policy'].get(p, 0)}" for p in policies)
                for r in results["b2"]) + ".")
            out.append("")
        out.append("*Empty round trip*: the median of 200 `ConfigureStack` calls per run (no work in the pack): "
                   "what one Python gRPC request/response costs between two processes on this machine.")
        out.append("")
    if results.get("decompose"):
        d = results["decompose"]
        out.append(f"#### Where AnalyzeStack time goes (in-process, CPU s, best of 2; {d['stack_policies']} stack policies)")
        out.append("")
        out.append("| size | resources | pack as is | SDK floor (no-op policies) | pack's own code | pack, GC off | SDK floor, GC off |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in d["sizes"]:
            out.append(f"| {r['target']:,} | {r['resources']:,} | {r['pack']:.2f} | {r['sdk_floor']:.2f} | "
                       f"{r['pack'] - r['sdk_floor']:.2f} | {r['pack_nogc']:.2f} | {r['sdk_floor_nogc']:.2f} |")
        out.append("")
        first = d["sizes"][0]
        if "analyze_ms" in first:
            out.append(f"Analyze in-process at {first['target']:,} (no gRPC; {d.get('resource_policies', '?')} resource "
                       f"policies): {first['analyze_ms']:.3f} ms per resource with the pack, "
                       f"{first['analyze_sdk_floor_ms']:.3f} ms with every policy a no-op (the SDK's deserialization).")
            out.append("")
    if results.get("b3"):
        r = results["b3"]
        w, p = r["without_pack_s"]["median"], r["with_pack_s"]["median"]
        out.append(f"### B3: synthetic program of {r['resources']:,} resources ({r['units']} units) through `preview()`")
        out.append("")
        out.append("| preview | wall s | CPU s (engine + host + pack) |")
        out.append("|---|---:|---:|")
        out.append(f"| without the pack | {_stat(r, 'without_pack_s')} | {_stat(r, 'without_pack_cpu_s')} |")
        out.append(f"| with the pack | {_stat(r, 'with_pack_s')} | {_stat(r, 'with_pack_cpu_s')} |")
        out.append(f"| the pack's share (difference of medians) | {p - w:.2f} ({(p - w) / p * 100:.0f} % of the preview) | "
                   f"{r['with_pack_cpu_s']['median'] - r['without_pack_cpu_s']['median']:.2f} |")
        out.append("")
        out.append(f"The pack reported {r['detected']} bypass units ({r['violations']} violations).")
        out.append("")
    rows = _fmt_targets(results)
    if rows:
        out.append("### Targets")
        out.append("")
        out.append("| target | measured (median) | verdict |")
        out.append("|---|---:|---|")
        for target, measured, verdict, _ in rows:
            out.append(f"| {target} | {measured} | {verdict} |")
        out.append("")
    return "\n".join(out)


def document(results: dict, table: str) -> str:
    notes = (HERE / "NOTES.md").read_text(encoding="utf-8")
    generated = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(results["started"]))
    return (f"# Benchmarks\n\n<!-- generated by `make bench` (bench/run.py) on {generated}; "
            "the prose after the tables is bench/NOTES.md -->\n\n"
            f"Generated {generated} by `make bench`.\n\n## Results\n\n{table}\n{notes}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Every figure is of a cold process tree: never fork hosts from a zygote someone left running
    # (the test suite runs one; layerguard/zygote.py).
    os.environ.pop("LAYERGUARD_ZYGOTE", None)
    runs = args.runs if args.runs is not None else (2 if args.quick else 5)
    only = {x.strip().lower() for x in args.only.split(",") if x.strip()}
    stacks = args.stacks or (["dev"] if args.quick else ["dev", "prod"])
    sizes = args.sizes or ([1000] if args.quick else [1000, 5000, 20000])
    b3_size = args.b3_size or (500 if args.quick else 2000)
    decompose = not (args.quick or args.no_decompose)
    output = args.output or (None if args.quick else ROOT / "docs" / "BENCHMARKS.md")
    command = "python bench/run.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    if args.from_json:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
        table = render(results)
        print(table)
        if output is not None and not args.no_write:
            output.write_text(document(results, table), encoding="utf-8")
        return 0

    results: dict = {"machine": machine.describe(ROOT), "runs": runs, "warmup": args.warmup, "command": command.strip(),
                     "load_start": load_average(), "started": time.time()}
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.perf_counter()
    if "b1" in only:
        log("B1: python -m layerguard preview (whole process tree)")
        results["b1"] = [b1_cli.run_stack(ROOT, s, runs, args.warmup, log=log).as_dict() for s in stacks]
        if not args.quick:
            log(f"B1: the SDK import floor of the {stacks[-1]} program")
            # A diagnostic beside B1 (the B1 runs already warmed the same imports): 3 runs, no warm-up.
            results["b1_floor"] = b1_floor.measure(ROOT, stacks[-1], 3, 0, log=log)
    if "b4" in only:
        log("B4: python -m layerguard preview --all (whole process tree)")
        results["b4"] = b4_all.run_all(ROOT, runs, args.warmup, log=log)
    if "b5" in only:
        log("B5: the whole test suite on a fresh clone (several minutes)")
        import suite
        results["b5"] = suite.run_once("HEAD")
        log(f"    {results['b5']}")
    templates = None
    if only & {"b2", "b3"}:
        with tempfile.TemporaryDirectory(prefix="lgbench-") as tmp:
            log("capturing the synthetic units through the engine")
            templates = synth.capture_templates(Path(tmp))
    if "b2" in only:
        log("B2: the pack alone over the Analyzer protocol")
        if args.warmup:  # one warm-up for the series: a fresh pack process on the smallest stack
            b2_pack.run_size(templates, min(sizes), ROOT / "policy", runs=0, warmup=args.warmup, log=log)
        results["b2"] = [b2_pack.run_size(templates, n, ROOT / "policy", runs, warmup=0, log=log).as_dict()
                         for n in sizes]
        if decompose:
            small = [n for n in sizes if n <= 5000]
            log(f"B2: decomposing AnalyzeStack in-process at {small}")
            proc = subprocess.run([sys.executable, str(HERE / "decompose.py"), "--sizes", *map(str, small)],
                                  cwd=ROOT, capture_output=True, text=True, timeout=900)
            sys.stderr.write(proc.stderr)
            if proc.returncode == 0:
                results["decompose"] = json.loads(proc.stdout.strip().splitlines()[-1])
    if "b3" in only:
        log(f"B3: a synthetic program of ~{b3_size} resources through preview()")
        results["b3"] = b3_program.run_program(ROOT, b3_size, templates.per_unit, runs, args.warmup, log=log).as_dict()
    results["elapsed_s"] = time.perf_counter() - t0
    results["load_end"] = load_average()

    table = render(results)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    if output is not None and not args.no_write:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document(results, table), encoding="utf-8")
        log(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

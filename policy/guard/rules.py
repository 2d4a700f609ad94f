"""Rules, findings and the adapters that turn pure predicates into CrossGuard policies.

Every policy is two things kept apart (cdk-nag style): a `Rule` (metadata: ID, name, text,
severity, link, default level, config schema) and a *pure predicate* that judges plain data. An
adapter joins them into a `pulumi_policy` policy that never raises and never touches a proxy::

    def check(res: Resource, cfg: dict) -> Iterable[str | Finding]:   # resource predicate
        ...yield "message"                      # a violation on `res`
    POLICY = resource_policy(RULE, check)

    def check(stack: Stack, cfg: dict) -> Iterable[Finding]:          # stack predicate
        ...yield Finding(res.urn, "message")    # URN "" = the stack as a whole
    POLICY = stack_policy(RULE, check)

Fail closed, visibly:

* An `Unknown` used as a value raises `Unresolved`; the adapter turns it into a finding naming the
  property ("... is unknown at preview, so this rule cannot prove ..."). A predicate that wants a
  better message yields `waiting(value, "message")` instead.
* A predicate that raises anything else becomes its own finding ("the rule failed: ...") at the
  policy's level, never an RPC crash and never the SDK's advisory "can't run policy".

Deferral (resource rules only): `pulumi up` runs `Analyze` on each resource before its step, with
the outputs of what it depends on known by then, and a mandatory violation there stops the
resource from being created (pulumi/pulumi pkg/resource/deploy/analyze_snapshot.go
`analyzeResource`: invalid "unless dryRun"). So at preview (`is_dry_run()`) a resource rule whose
finding only says that a property is unknown is *deferred*: it is not reported by the rule but by
the advisory `report-deferred-checks` policy, registered after every resource policy, as

    decided at `pulumi up`, before <resource name> is created: [<rule ID>] <rule name> waits for .<property path> (<detail>)

When not a dry run the same finding is reported by the rule itself at its level (mandatory: fail
closed). Stack rules never defer: `AnalyzeStack` runs only after every resource exists during
`pulumi up`, so what they cannot decide at preview they report as a violation.
"""

from __future__ import annotations

import os
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from guard.planned import INPUTS
from guard.suppressions import LEDGER, SUPPRESSION_SCHEMA, suppress
from guard.values import Unknown, Unresolved, is_dry_run, plain
from guard.view import Resource, Stack, build_stack, to_resource

SEVERITIES = ("low", "medium", "high", "critical")
LEVELS = ("advisory", "mandatory", "disabled")
_ID_RE = re.compile(r"^LG-[A-Z]{2,6}-\d{3}$")
_NAME_RE = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
DEFERRED_PREFIX = "decided at `pulumi up`, before {name} is created: "


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    description: str
    remediation: str
    severity: str
    link: str
    level: str = "mandatory"
    resource_types: tuple = ()
    config: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not _ID_RE.match(self.id):
            problems.append(f"id {self.id!r} is not LG-<AREA>-<nnn>")
        if not _NAME_RE.match(self.name):
            problems.append(f"name {self.name!r} is not kebab-case")
        if self.severity not in SEVERITIES:
            problems.append(f"severity {self.severity!r} not in {SEVERITIES}")
        if self.level not in LEVELS:
            problems.append(f"level {self.level!r} not in {LEVELS}")
        if "enforcementLevel" in self.config or "suppressions" in self.config:
            problems.append("config may not declare enforcementLevel or suppressions")
        if problems:
            raise ValueError(f"rule {self.id}: " + "; ".join(problems))

    def defaults(self) -> dict:
        return {k: v["default"] for k, v in self.config.items() if "default" in v}


@dataclass(frozen=True)
class Finding:
    urn: str
    message: str
    # The unknown property the finding waits for (resource rules defer on it at preview).
    waits_for: Unknown | None = field(default=None, compare=False)


def waiting(value: Unknown, message: str) -> Finding:
    """A finding on the analysed resource that only says `value` is not known yet."""
    return Finding("", message, waits_for=value if value.property else None)


class Deferrals:
    """Deferred findings per URN, from the resource rules to `report-deferred-checks`, which runs
    after them in the same `Analyze` call (the SDK runs a call's policies in order, on one thread;
    several calls may run at once, hence the lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_urn: dict[str, list[str]] = {}

    def add(self, urn: str, text: str) -> None:
        with self.lock:
            self.by_urn.setdefault(urn, []).append(text)

    def pop(self, urn: str) -> list[str]:
        with self.lock:
            return self.by_urn.pop(urn, [])

    def clear(self) -> None:
        with self.lock:
            self.by_urn.clear()


DEFERRED = Deferrals()


FAIL_CLOSED = (", so this rule cannot prove the resource compliant (fail closed); make the value "
               "known at preview or suppress with a reason")


def deferral_message(rule: Rule, name: str, finding: Finding) -> str:
    unknown = finding.waits_for
    path = unknown.path if unknown is not None else "?"
    detail = finding.message.removesuffix(FAIL_CLOSED)
    return DEFERRED_PREFIX.format(name=name) + f"[{rule.id}] {rule.name} waits for .{path} ({detail})"


def _config(rule: Rule, raw: Mapping[str, Any] | None) -> tuple[dict, list]:
    cfg = rule.defaults()
    entries: list = []
    for k, v in dict(raw or {}).items():
        if k == "suppressions":
            entries = list(v) if isinstance(v, (list, tuple)) else [v]
        elif k != "enforcementLevel":
            cfg[k] = v
    return cfg, entries


def _emit(rule: Rule, findings: list[Finding], entries: list, names: Mapping[str, str],
          report: Callable[[str, str | None], None],
          defer: Callable[[Finding, str], None] | None = None) -> None:
    for f in findings:
        name = names.get(f.urn, f.urn.rsplit("::", 1)[-1] if f.urn else "")
        suppressed, note = suppress(rule, f.urn, name, entries)
        if suppressed:
            continue
        if defer is not None and f.waits_for is not None:
            defer(f, name)
        else:
            report(f"[{rule.id}] {f.message}{note}", f.urn or None)


def _run(fn: Callable[[], Iterable[Any]], default_urn: str) -> list[Finding]:
    """Run a predicate; unknowns and crashes become findings, never exceptions."""
    out: list[Finding] = []
    try:
        for item in fn() or ():
            if isinstance(item, Finding):
                out.append(item if item.urn or not default_urn else
                           Finding(default_urn, item.message, item.waits_for))
            else:
                out.append(Finding(default_urn, str(item)))
    except Unresolved as e:
        unknown = e.unknown
        out.append(Finding(default_urn, unknown.describe() + FAIL_CLOSED,
                           waits_for=unknown if unknown.property else None))
    except UnknownValueError as e:  # a predicate that read a proxy directly
        out.append(Finding(default_urn, f"{e.message}, so this rule cannot prove the resource "
                                        "compliant (fail closed)"))
    except Exception as e:  # cdk-nag: a rule that throws is itself a finding
        frames = traceback.extract_tb(e.__traceback__)
        ours = [f for f in frames if f"{os.sep}guard{os.sep}" in f.filename]
        where = (ours or frames)[-1]
        out.append(Finding(default_urn, f"the rule failed and could not judge this resource: "
                                        f"{type(e).__name__}: {e} "
                                        f"({os.path.basename(where.filename)}:{where.lineno})"))
    return out


def policy_kwargs(rule: Rule) -> dict:
    props = {k: dict(v) for k, v in rule.config.items()}
    props["suppressions"] = SUPPRESSION_SCHEMA
    return dict(
        name=rule.name,
        description=f"{rule.id}: {rule.description}",
        enforcement_level=EnforcementLevel(rule.level),
        config_schema=PolicyConfigSchema(properties=props),
        display_name=f"{rule.id} {rule.name}",
        severity=Severity(rule.severity),
        remediation_steps=rule.remediation,
        url=rule.link,
        tags=[rule.id],
    )


ResourcePredicate = Callable[[Resource, dict], Iterable[str | Finding]]
StackPredicate = Callable[[Stack, dict], Iterable[Finding]]


def _record_inputs(args) -> None:
    """Source 1 of `guard.planned`: every resource policy sees every resource's `Analyze`, so the
    first one to run records the URN's configured inputs for `AnalyzeStack`."""
    if INPUTS.wants(args.urn):
        INPUTS.record(args.urn, plain(args.props))


def resource_policy(rule: Rule, predicate: ResourcePredicate) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy running `predicate` on resources of `rule.resource_types`."""

    def validate(args, report_violation) -> None:
        cfg, entries = {}, []
        try:
            _record_inputs(args)
            cfg, entries = _config(rule, args.get_config())
            LEDGER.record_config(rule, entries)
            if rule.resource_types and args.resource_type not in rule.resource_types:
                return
            parent = getattr(args.opts, "parent", None) or None
            res = to_resource(args.urn, args.resource_type, args.name, args.props, parent,
                              args.provider)
        except Exception as e:  # pragma: no cover - conversion never raises; keep the promise
            report_violation(f"[{rule.id}] could not read the resource: {e}", None)
            return
        findings = _run(lambda: predicate(res, cfg), args.urn)
        defer = None
        if is_dry_run():
            def defer(finding: Finding, name: str) -> None:
                DEFERRED.add(args.urn, deferral_message(rule, name, finding))
        _emit(rule, findings, entries, {args.urn: args.name}, report_violation, defer)

    return ResourceValidationPolicy(validate=validate, **policy_kwargs(rule))


def deferred_report_policy(rule: Rule) -> ResourceValidationPolicy:
    """The advisory policy that reports what the resource rules deferred on this resource."""

    def validate(args, report_violation) -> None:
        for text in DEFERRED.pop(args.urn):
            report_violation(text, args.urn)

    return ResourceValidationPolicy(validate=validate, **policy_kwargs(rule))


def stack_policy(rule: Rule, predicate: StackPredicate) -> StackValidationPolicy:
    """A StackValidationPolicy running `predicate` once over the whole stack."""

    def validate(args, report_violation) -> None:
        cfg, entries = {}, []
        try:
            DEFERRED.clear()  # left over only when report-deferred-checks is disabled
            cfg, entries = _config(rule, args.get_config())
            LEDGER.record_config(rule, entries)
            stack = build_stack(args)
        except Exception as e:  # pragma: no cover
            report_violation(f"[{rule.id}] could not read the stack: {e}", None)
            return
        findings = _run(lambda: predicate(stack, cfg), "")
        names = {r.urn: r.name for r in stack.resources}
        _emit(rule, findings, entries, names, report_violation)

    return StackValidationPolicy(validate=validate, **policy_kwargs(rule))


def each(stack: Stack, types: Sequence[str], check: Callable[[Resource], Iterable[Any]]):
    """Run a per-resource check inside a stack predicate, isolating unknowns and crashes per
    resource (so one unresolved resource does not hide the verdict on the others)."""
    for res in stack.resources:
        if res.type in types:
            yield from _run(lambda res=res: check(res), res.urn)

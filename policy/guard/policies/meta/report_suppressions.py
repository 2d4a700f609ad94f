"""LG-META-002: list every suppression that removed a finding, as advisory diagnostics.

CrossGuard gives each policy one enforcement level, so a mandatory policy cannot say "suppressed"
without failing the preview. Each policy instead records the suppressions it applied in the
framework's ledger, and this advisory policy reports them, one diagnostic per suppressed resource
(policy ID, pattern, reason). It runs last and then clears the ledger for the next preview.
"""

from __future__ import annotations

from guard.framework import LEDGER, Finding, Rule, Stack, stack_policy

RULE = Rule(
    id="LG-META-002",
    name="report-suppressions",
    description="Every suppression applied during this run is listed with its policy, resource and reason.",
    remediation="Review the listed exceptions; remove a suppression from the policy pack config once its reason no longer holds.",
    severity="low",
    level="advisory",
    link="https://www.pulumi.com/docs/iac/crossguard/configuration/",
)


def check(stack: Stack, cfg: dict):
    with LEDGER.lock:
        applied = sorted(LEDGER.applied.values(), key=lambda a: (a[0].id, a[1]))
    try:
        for rule, urn, pattern, reason in applied:
            yield Finding(urn, f"suppressed {rule.id} {rule.name} (pattern {pattern!r}): {reason}")
    finally:
        LEDGER.clear()


POLICY = stack_policy(RULE, check)

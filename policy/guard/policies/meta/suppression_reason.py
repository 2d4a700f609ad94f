"""LG-META-001: every suppression in the pack config carries a reason of at least 10 characters.

Reads the suppression entries each policy recorded in the framework's ledger as it ran (a policy
only sees its own config), so it must run after every other policy: keep it at the end of the
registry.
"""

from __future__ import annotations

from guard.framework import LEDGER, MIN_REASON, Finding, Rule, Stack, stack_policy, suppression_problem

RULE = Rule(
    id="LG-META-001",
    name="require-suppression-reason",
    description=f"Every suppression in the policy pack config must name a resource and give a reason of at least {MIN_REASON} characters.",
    remediation="Give the suppression a 'resource' pattern and a 'reason' explaining why the exception is safe, or delete it.",
    severity="high",
    link="https://www.pulumi.com/docs/iac/crossguard/configuration/",
)


def check(stack: Stack, cfg: dict):
    with LEDGER.lock:
        configs = list(LEDGER.configs.values())
    for rule, entries in configs:
        for entry in entries:
            problem = suppression_problem(entry)
            if problem:
                yield Finding("", f"{rule.id} {rule.name}: {problem}; it was not applied")


POLICY = stack_policy(RULE, check)

"""LG-META-003: list the resource checks that wait for `pulumi up`, as advisory diagnostics.

At preview a resource rule that meets a property the program computes from another resource's
output (a task definition built from a secret created in the same stack) cannot decide yet.
`pulumi up` runs `Analyze` on the resource before creating it, with that value known, and a
mandatory violation then stops the resource from being created. So the rule defers (framework
`guard.rules`) and this advisory policy, registered after every resource policy, reports each
deferral on the resource, one diagnostic each:

    decided at `pulumi up`, before <resource name> is created: [<rule ID>] <rule name> waits for .<property path> (<detail>)

Keep it advisory: as mandatory it would fail every preview that has something to decide later.
Disabled, the deferrals are not shown at preview (they are still enforced at `pulumi up`).
"""

from __future__ import annotations

from guard.framework import Rule, deferred_report_policy

RULE = Rule(
    id="LG-META-003",
    name="report-deferred-checks",
    description="Every resource check that cannot decide at preview, because a value is computed from another resource, is listed as decided at pulumi up before the resource is created.",
    remediation="Nothing to do when the value will be compliant; to decide at preview, make the value a literal (a secret ARN or SSM parameter name instead of another resource's output).",
    severity="low",
    level="advisory",
    link="https://www.pulumi.com/docs/iac/crossguard/core-concepts/",
)

POLICY = deferred_report_policy(RULE)

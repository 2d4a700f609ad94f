"""The layerguard policy framework, as one import: a facade over the modules that do its jobs.

* `guard.values`: plain data out of CrossGuard proxies, `Unknown`/`Unresolved`, `get`,
  `parse_json`, `is_dry_run`.
* `guard.planned`: which unknowns in `AnalyzeStack` the program configured and which the provider
  only computes (those are removed: absent = not configured).
* `guard.layers`: the one layer identity (`layer_of`, `layer_hint`), labels read as AWS applies
  them.
* `guard.view`: `Resource`, `Stack`, `stack_name`.
* `guard.suppressions`: the suppression ledger.
* `guard.rules`: `Rule`, `Finding`, `waiting`, the adapters `resource_policy`/`stack_policy`,
  `each`, and the deferral of resource rules at preview.
* `guard.checks`: `ValueCheck`, the shared one-attribute check.

Policy modules and the reachability model import from here; see each module's docstring for its
contract. API in short::

    RULE = Rule(id="LG-ALB-001", name="enforce-...", description="One sentence.",
                remediation="One sentence.", severity="high", link="https://...",
                level="mandatory", resource_types=("aws:lb/loadBalancer:LoadBalancer",),
                config={"key": {"type": "string", "default": "x"}})

    def check(res: Resource, cfg: dict) -> Iterable[str | Finding]:   # resource predicate
        ...yield "message"                      # a violation on `res`
    POLICY = resource_policy(RULE, check)

    def check(stack: Stack, cfg: dict) -> Iterable[Finding]:          # stack predicate
        ...yield Finding(res.urn, "message")    # URN "" = the stack as a whole
    POLICY = stack_policy(RULE, check)
"""

from __future__ import annotations

from guard.checks import ABSENT_FAILS, ValueCheck
from guard.layers import (
    ATTACH_PROPS,
    LAYER_TAG,
    LAYERS,
    UNCLASSIFIED,
    component_layer,
    layer_hint,
    layer_of,
    urn_type_chain,
)
from guard.planned import INPUTS
from guard.rules import (
    DEFERRED,
    DEFERRED_PREFIX,
    LEVELS,
    SEVERITIES,
    Finding,
    ResourcePredicate,
    Rule,
    StackPredicate,
    deferral_message,
    deferred_report_policy,
    each,
    resource_policy,
    stack_policy,
    waiting,
)
from guard.suppressions import LEDGER, MIN_REASON, Ledger, suppression_problem
from guard.values import Unknown, Unresolved, get, is_dry_run, is_unknown, parse_json, plain
from guard.view import Resource, Stack, build_stack, stack_name, to_resource

__all__ = [
    "ABSENT_FAILS", "ATTACH_PROPS", "DEFERRED", "DEFERRED_PREFIX", "INPUTS", "LAYERS", "LAYER_TAG",
    "LEDGER", "LEVELS", "MIN_REASON", "SEVERITIES", "UNCLASSIFIED", "Finding", "Ledger", "Resource",
    "ResourcePredicate", "Rule", "Stack", "StackPredicate", "Unknown", "Unresolved", "ValueCheck",
    "build_stack", "component_layer", "deferral_message", "deferred_report_policy", "each", "get",
    "is_dry_run", "is_unknown", "layer_hint", "layer_of", "parse_json", "plain", "resource_policy",
    "stack_name", "stack_policy", "suppression_problem", "to_resource", "urn_type_chain", "waiting",
]

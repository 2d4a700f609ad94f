"""The pack decides on the plan the real CLI sends (issue 8): `Analyze` gets the configured
inputs, `AnalyzeStack` the planned outputs, where every attribute the provider computes and the
program did not set is unknown. Driven over the Analyzer protocol against the real pack process
(layerguard.analyzer.PolicyPackProcess), with planned outputs derived from pulumi_aws's own types
(tests/policy/_planned.py), independently of what the offline engine sends.
"""

from __future__ import annotations

import json

import pytest
from _planned import cli_messages
from _previews import PACK, PROGRAMS, REPO

from layerguard.analyzer import LEVELS, PolicyPackProcess, resolve_policy_config
from layerguard.engine import ORGANIZATION, PreviewResult, preview

SCENARIOS = PROGRAMS.parent / "scenarios"
LAYERS_ON = {"report-layers": "advisory"}


def capture(program, stack: str, case: str | None = None, key: str = "policytests:case") -> PreviewResult:
    result = preview(program, stack, "preview", policy_pack=None, config={key: case} if case else None)
    assert result.exit_code == 0 and result.error is None, result.error
    return result


class _WithoutDryRunVariable(PolicyPackProcess):
    """A client that starts the pack without PULUMI_DRY_RUN in its environment: dry run or not is
    only in `ConfigureStack`, as the protocol carries it."""

    def _environment(self) -> dict[str, str]:
        env = super()._environment()
        env.pop("PULUMI_DRY_RUN", None)
        return env


def drive(result: PreviewResult, *, with_analyze: bool = True, dry_run: bool = True,
          policy_config: dict | None = None, edit=None, dry_run_variable: bool = True) -> list[dict]:
    """Send what the CLI sends at preview (or, dry_run=False, at update) and return the
    diagnostics as dicts {policy, enforcement, urn, message (our line)}."""
    requests, entries = cli_messages(result, with_analyze=with_analyze)
    if edit is not None:
        edit(requests, entries)
    out = []
    process = PolicyPackProcess if dry_run_variable else _WithoutDryRunVariable
    with process(PACK, project=result.project, stack=result.stack, organization=ORGANIZATION,
                 dry_run=dry_run, config={}, secret_keys=set()) as pack:
        pack.handshake()
        pack.configure_stack({})
        info = pack.info()
        pack.configure(resolve_policy_config(info, policy_config))
        diagnostics = []
        for request in requests:
            for d in pack.analyze(request).diagnostics:
                d.urn = d.urn or request.urn
                diagnostics.append(d)
        diagnostics.extend(pack.analyze_stack(entries).diagnostics)
    for d in diagnostics:
        out.append({"policy": d.policyName, "enforcement": LEVELS.get(d.enforcementLevel, "advisory"),
                    "urn": d.urn, "message": d.message.splitlines()[-1]})
    return out


def mandatory(diagnostics) -> list:
    return [d for d in diagnostics if d["enforcement"] == "mandatory"]


def show(diagnostics) -> str:
    return "\n".join(f"{d['enforcement']} {d['policy']} {d['urn']}: {d['message'][:300]}" for d in diagnostics)


@pytest.fixture(scope="module")
def dev():
    return capture(REPO, "dev")


@pytest.fixture(scope="module")
def scenario_baseline():
    return capture(SCENARIOS, "test", "baseline", "scenarios:case")


def test_planned_outputs_carry_computed_unknowns(dev):
    """The harness is not vacuous: the plan holds computed unknowns the inputs do not (a load
    balancer's `internal` unless the program set it, ARNs, `tagsAll`, ...)."""
    from google.protobuf import json_format
    requests, entries = cli_messages(dev)
    sentinels = ("04da6b54-80e4-46f7-96ec-b56ff0331ba9", "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
                 "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2")

    def unknowns(messages) -> int:
        text = "".join(json.dumps(json_format.MessageToDict(m.properties)) for m in messages)
        return sum(text.count(s) for s in sentinels)
    assert unknowns(entries) > unknowns(requests) + len(requests)


_SHIPPED: dict[str, PreviewResult] = {}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
@pytest.mark.parametrize("with_analyze", [True, False], ids=["inputs-recorded", "dependencies-only"])
def test_our_stacks_pass_on_the_real_plan(dev, stack, with_analyze):
    if stack not in _SHIPPED:
        _SHIPPED[stack] = dev if stack == "dev" else capture(REPO, stack)
    diagnostics = drive(_SHIPPED[stack], with_analyze=with_analyze, policy_config=LAYERS_ON)
    assert mandatory(diagnostics) == [], show(diagnostics)
    assert not [d for d in diagnostics if "can't run policy" in d["message"]], show(diagnostics)


def test_scenario_baseline_passes_on_the_real_plan(scenario_baseline):
    diagnostics = drive(scenario_baseline)
    assert mandatory(diagnostics) == [], show(diagnostics)


def _drop_internal(name: str):
    """Make a load balancer's `internal` unset in the inputs and unknown in the plan, as the CLI
    shows a program that never set it."""
    def edit(requests, entries):
        for message in [*requests, *entries]:
            if message.name == name and "internal" in message.properties:
                del message.properties["internal"]
        for entry in entries:
            if entry.name == name:
                entry.properties["internal"] = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"
    return edit


@pytest.mark.parametrize("with_analyze", [True, False], ids=["inputs-recorded", "dependencies-only"])
def test_unset_internal_is_internet_facing(scenario_baseline, with_analyze):
    """A computed `internal` the program did not set is the provider default: internet-facing, so
    the app ALB's plain-HTTP forward is judged as on an internet-facing ALB (it must redirect),
    exactly as with `internal=False`. (It is no bypass here: the app subnets have no route from an
    internet gateway, which the reachability model checks.)"""
    diagnostics = drive(scenario_baseline, with_analyze=with_analyze, edit=_drop_internal("app-alb"))
    app_http = next(r.urn for r in scenario_baseline.resources if r.name == "app-http")
    found = {(d["policy"], d["urn"]) for d in mandatory(diagnostics)}
    assert ("require-https-redirect", app_http) in found, show(diagnostics)
    baseline = {(d["policy"], d["urn"]) for d in mandatory(drive(scenario_baseline, with_analyze=with_analyze))}
    assert ("require-https-redirect", app_http) not in baseline, "the baseline's app ALB is internal"


def test_configured_unknown_still_fails_closed(scenario_baseline):
    """An unknown the program configured (it has a property dependency) is not dropped: an app
    rule whose CIDR list comes from another resource cannot be proven and fails closed."""
    def edit(requests, entries):
        for message in [*requests, *entries]:
            if message.type == "aws:lb/loadBalancer:LoadBalancer" and message.name == "app-alb":
                message.properties["internal"] = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"
        for entry in entries:
            if entry.name == "app-alb":
                vpc = next(r.urn for r in scenario_baseline.resources if r.name == "vpc")
                entry.propertyDependencies["internal"].urns.append(vpc)
    diagnostics = drive(scenario_baseline, with_analyze=True, edit=edit)
    app_alb = next(r.urn for r in scenario_baseline.resources if r.name == "app-alb")
    assert any(d["urn"] == app_alb and "internal" in d["message"] for d in mandatory(diagnostics)), \
        show(diagnostics)


def test_unset_ssl_policy_fails_tls_rule(dev):
    """A listener without ssl_policy gets ELBSecurityPolicy-2016-08 from the API: the TLS rule
    fails in Analyze (inputs), and nothing in the plan hides it."""
    def edit(requests, entries):
        for message in [*requests, *entries]:
            if message.type.endswith("listener:Listener") and "protocol" in message.properties \
                    and message.properties["protocol"] == "HTTPS" and "sslPolicy" in message.properties:
                del message.properties["sslPolicy"]
        for entry in entries:  # the plan: computed, unknown
            if entry.type.endswith("listener:Listener") and entry.properties["protocol"] == "HTTPS":
                entry.properties["sslPolicy"] = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    diagnostics = drive(dev, edit=edit)
    tls = [d for d in mandatory(diagnostics) if d["policy"] == "enforce-listener-tls-policy"]
    assert tls and all("2016-08" in d["message"] for d in tls), show(diagnostics)


def test_layers_report_is_one_advisory_json(dev):
    diagnostics = drive(dev, policy_config=LAYERS_ON)
    reports = [d for d in diagnostics if d["policy"] == "report-layers"]
    assert len(reports) == 1 and reports[0]["enforcement"] == "advisory", show(diagnostics)
    assert reports[0]["message"].startswith("layerguard-layers:")
    layers = json.loads(reports[0]["message"][len("layerguard-layers:"):])
    assert set(layers) == {r.urn for r in dev.resources}
    assert set(layers.values()) <= {"network", "edge", "node", "app", "unclassified"}
    assert {"edge", "node", "app"} <= set(layers.values())
    # Disabled by default: a CLI user sees nothing.
    assert not [d for d in drive(dev) if d["policy"] == "report-layers"]


@pytest.fixture(scope="module")
def in_stack_secret():
    return capture(PROGRAMS / "hygiene", "dev", "token-secret-in-stack")


@pytest.mark.parametrize("dry_run_variable", [True, False], ids=["environment", "configure-stack-only"])
def test_resource_rules_defer_at_preview_and_fail_closed_otherwise(in_stack_secret, dry_run_variable):
    """The same unknown task definition: advisory deferral in a dry run, mandatory otherwise;
    told by PULUMI_DRY_RUN and ConfigureStack as the CLI does, or by ConfigureStack alone."""
    task = next(r.urn for r in in_stack_secret.resources if r.name == "node-task")
    rules = {"require-wallarm-token-secret", "enforce-wallarm-mode", "require-supported-node-release"}
    at_preview = drive(in_stack_secret, dry_run=True, dry_run_variable=dry_run_variable)
    assert not [d for d in mandatory(at_preview) if d["policy"] in rules], show(at_preview)
    deferred = [d for d in at_preview if d["policy"] == "report-deferred-checks"]
    assert {d["urn"] for d in deferred} == {task} and len(deferred) == len(rules), show(at_preview)
    assert all(d["enforcement"] == "advisory" and d["message"].startswith(
        "decided at `pulumi up`, before node-task is created: [LG-WLM-00") and
        "waits for .containerDefinitions (" in d["message"] for d in deferred), show(at_preview)
    not_dry = drive(in_stack_secret, dry_run=False, dry_run_variable=dry_run_variable)
    failing = {(d["policy"], d["urn"]) for d in mandatory(not_dry)}
    assert {(rule, task) for rule in rules} <= failing, show(not_dry)
    assert not [d for d in not_dry if d["policy"] == "report-deferred-checks"], show(not_dry)

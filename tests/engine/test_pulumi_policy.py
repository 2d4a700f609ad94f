"""pulumi/pulumi-policy's own integration scenarios, run through the offline engine.

Each scenario under tests/fixtures/pulumi-policy/ keeps upstream's Python policy pack and a Python
port of its program (tests/fixtures/pulumi-policy/NOTE.md says what was changed and why). The
expected results are those of upstream's tests/integration/integration_test.go (commit
805bcbcd3a6d826eab5574bd8976301161008acf), cited per test by function and line.

The Go test runs `pulumi up --yes` once per scenario: a preview, then, when the preview passes, the
update. `_up` does the same with the engine's two modes and gathers what both reported. An expected
"[level]  policy  (type: name)" line must be a violation of that policy at that level attributed to
that resource (the CLI prints the URN's type with `tokens.Type.DisplayName`,
pkg/backend/display/diff.go `policyResourceClause`); an expected "error: ..." must be a whole line of
the error; every other expected text must appear in a violation's message or the pack's
`name@vversion`. A scenario with no expected
errors must pass both runs without any violation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from layerguard.engine import preview

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pulumi-policy"
GO_TEST = "pulumi/pulumi-policy tests/integration/integration_test.go"
STACK = "test"
# The programs are Python ports: a Python dynamic resource's type is `pulumi-python:dynamic:Resource`
# where the TypeScript originals register `pulumi-nodejs:dynamic:Resource`.
PORTED_TYPES = {"pulumi-nodejs:dynamic:Resource": "pulumi-python:dynamic:Resource"}
HEADER = re.compile(r"^\[(\w+)\]  (\S+)(?:  \((.+): (.+)\))?$")


def _display_type(type_token: str) -> str:
    """pulumi/pulumi sdk/go/common/tokens/tokens.go `Type.DisplayName`: `pkg:mod/file:Name` shows as
    `pkg:mod:Name` when `file` is the camel-cased `Name`."""
    parts = type_token.split(":")
    if len(parts) != 3 or "/" not in parts[1] or not parts[2]:
        return type_token
    module, file = parts[1].rsplit("/", 1)
    if file != parts[2][:1].lower() + parts[2][1:]:
        return type_token
    return f"{parts[0]}:{module}:{parts[2]}"


def _up(monkeypatch, scenario: str, number: int = 1, *, config=None, policy_config=None, tags=None):
    """`pulumi up` of the scenario's program with its pack: the preview, then the update if the
    preview passed. Returns the runs made. Like the Go test, every run sets the config value
    `scenario` to its 1-based number (`runPolicyPackIntegrationTestWithStackTags`)."""
    monkeypatch.setenv("PULUMI_TEST_PROJECT", scenario)
    monkeypatch.setenv("PULUMI_TEST_STACK", STACK)
    given = {**(config or {}), "scenario": str(number)}
    runs = Runs()
    for mode in ("preview", "update"):
        result = preview(FIXTURES / scenario / "program", STACK, mode,
                         policy_pack=FIXTURES / scenario / "policy-pack-python",
                         policy_config=policy_config, config=given, tags=tags)
        if mode == "update" and _refuses_dynamic(result):
            # The engine plans a dynamic resource at preview as the CLI does (its inputs as its
            # state) but cannot run its `create` for an update (layerguard/host.py `unplannable`):
            # the update is refused naming them, and upstream's expectations are judged on the
            # preview, where the CLI already reports every violation these packs raise.
            runs.update_refused = True
            break
        runs.append(result)
        if result.exit_code != 0:
            break
    return runs


class Runs(list):
    update_refused = False


def _refuses_dynamic(result) -> bool:
    """An update refused (exit 2) only because the program registers dynamic resources."""
    if result.exit_code != 2 or not result.error:
        return False
    named = [line for line in result.error.splitlines() if line.lstrip().startswith("- urn:")]
    return bool(named) and all(":dynamic:" in line.split("(", 1)[-1] for line in named)


def _check(runs, want: list[str] | None, advisory: bool = False) -> None:
    last = runs[-1]
    label = f"{last.project} ({last.mode})"
    if not want:
        for run in runs:
            assert run.exit_code == 0, f"{label}: {run.error or [v.__dict__ for v in run.violations]}"
            assert not run.violations, f"{run.mode}: {[v.__dict__ for v in run.violations]}"
        assert len(runs) == 2 or runs.update_refused
        return
    if advisory:
        assert all(run.exit_code == 0 for run in runs) and (len(runs) == 2 or runs.update_refused), \
            f"{label}: {[(r.mode, r.exit_code, r.error) for r in runs]}"
    else:
        assert last.exit_code != 0, f"{label}: expected to fail, passed"
    found = [v for run in runs for v in run.violations]
    texts = [v.message for v in found] + [f"{run.pack.name}@v{run.pack.version}" for run in runs if run.pack]
    errors = ["error: " + line for run in runs if run.error for line in run.error.splitlines()]
    for line in want:
        for old, new in PORTED_TYPES.items():
            line = line.replace(old, new)
        header = HEADER.match(line)
        if header:
            level, policy, type_name, name = header.groups()
            matches = [v for v in found if v.policy == policy and v.enforcement == level]
            assert matches, f"{label}: no {level} violation of {policy}: {[v.__dict__ for v in found]}"
            if type_name is not None:
                assert any(_display_type(v.urn.split("::")[2].rsplit("$", 1)[-1]) == type_name
                           and v.urn.rsplit("::", 1)[1] == name for v in matches), \
                    f"{label}: {policy} not attributed to {type_name}: {name}: {[v.urn for v in matches]}"
            continue
        if line.startswith("error: "):  # one whole line of the CLI's error output
            assert line in errors, f"{label}: {line!r} not among {errors}"
            continue
        assert any(line in text for text in texts), f"{label}: {line!r} not reported"


# --- TestValidateResource (integration_test.go:311) ----------------------------------------------
VALIDATE_RESOURCE = [
    None, None,
    ["[mandatory]  dynamic-no-state-with-value-1  (pulumi-nodejs:dynamic:Resource: a)",
     "Prohibits setting state to 1 on dynamic resources.", "'state' must not have the value 1."],
    ["[mandatory]  dynamic-no-state-with-value-2  (pulumi-nodejs:dynamic:Resource: b)",
     "Prohibits setting state to 2 on dynamic resources.", "'state' must not have the value 2."],
    ["[mandatory]  dynamic-no-state-with-value-3-or-4  (pulumi-nodejs:dynamic:Resource: c)",
     "Prohibits setting state to 3 or 4 on dynamic resources.", "'state' must not have the value 3."],
    ["[mandatory]  dynamic-no-state-with-value-3-or-4  (pulumi-nodejs:dynamic:Resource: d)",
     "Prohibits setting state to 3 or 4 on dynamic resources.", "'state' must not have the value 4."],
    ["[mandatory]  randomuuid-no-keepers  (random:index:RandomUuid: r1)",
     "Prohibits creating a RandomUuid without any 'keepers'.", "RandomUuid must not have an empty 'keepers'."],
    None,
    # The pack names "some-urn"; the CLI still attributes it to the analysed resource.
    ["[mandatory]  dynamic-no-state-with-value-5  (pulumi-nodejs:dynamic:Resource: e)",
     "Prohibits setting state to 5 on dynamic resources.", "'state' must not have the value 5."],
    None,
    None,  # a 5 MB string property: gRPC messages over 4 MB (pulumi/pulumi#4155)
]


@pytest.mark.parametrize("number", range(1, len(VALIDATE_RESOURCE) + 1))
def test_validate_resource(monkeypatch, number):
    _check(_up(monkeypatch, "validate_resource", number), VALIDATE_RESOURCE[number - 1])


# --- TestValidatePythonResource (integration_test.go:389): upstream's own Python program ----------
VALIDATE_PYTHON_RESOURCE = [
    ["[mandatory]  randomuuid-no-keepers  (random:index:RandomUuid: r1)",
     "Prohibits creating a RandomUuid without any 'keepers'.", "RandomUuid must not have an empty 'keepers'."],
    ["[mandatory]  randomuuid-no-keepers  (random:index:RandomUuid: r2)",
     "Prohibits creating a RandomUuid without any 'keepers'.", "RandomUuid must not have an empty 'keepers'."],
    None,
]


@pytest.mark.parametrize("number", range(1, len(VALIDATE_PYTHON_RESOURCE) + 1))
def test_validate_python_resource(monkeypatch, number):
    _check(_up(monkeypatch, "validate_python_resource", number), VALIDATE_PYTHON_RESOURCE[number - 1])


# --- TestValidateStack (integration_test.go:417) -------------------------------------------------
VALIDATE_STACK = [
    None, None,
    ["[mandatory]  dynamic-no-state-with-value-1",
     "Prohibits setting state to 1 on dynamic resources.", "'state' must not have the value 1."],
    ["[mandatory]  dynamic-no-state-with-value-2",
     "Prohibits setting state to 2 on dynamic resources.", "'state' must not have the value 2."],
    ["[mandatory]  dynamic-no-state-with-value-3  (pulumi-nodejs:dynamic:Resource: c)",
     "Prohibits setting state to 3 on dynamic resources.", "'state' must not have the value 3."],
    ["[mandatory]  randomuuid-no-keepers",
     "Prohibits creating a RandomUuid without any 'keepers'.", "RandomUuid must not have an empty 'keepers'."],
    ["[mandatory]  no-randomstrings", "Prohibits RandomString resources.", "RandomString resources are not allowed."],
    None, None,
    # A stack policy at "remediate" is reported as "mandatory".
    ["[mandatory]  dynamic-no-foo-with-value-bar",
     "Prohibits setting foo to 'bar' on dynamic resources.", "'foo' must not have the value 'bar'."],
]


@pytest.mark.parametrize("number", range(1, len(VALIDATE_STACK) + 1))
def test_validate_stack(monkeypatch, number):
    _check(_up(monkeypatch, "validate_stack", number), VALIDATE_STACK[number - 1])


def test_stack_diagnostic_without_resource_goes_to_the_root_stack(monkeypatch):
    """TestValidateStack scenario 3 (integration_test.go:431): the policy names no resource, and
    the CLI attributes its violation to the root stack (step_generator.go `AnalyzeResources`)."""
    [run] = _up(monkeypatch, "validate_stack", 3)
    [violation] = run.violations
    assert violation.urn == f"urn:pulumi:{STACK}::validate_stack::pulumi:pulumi:Stack::validate_stack-{STACK}"


# --- TestUnknownValues (integration_test.go:489) -------------------------------------------------
def test_unknown_values(monkeypatch):
    _check(_up(monkeypatch, "unknown_values", config={"aws:region": "us-west-2"}), [
        "unknown-values-policy@v0.0.1",
        "[advisory]  unknown-values-resource-validation  (random:index:RandomPet: pet)",
        "can't run policy 'unknown-values-resource-validation' from policy pack 'unknown-values-policy@v0.0.1' "
        "during preview: string value at .prefix can't be known during preview",
        "[advisory]  unknown-values-stack-validation",
        "can't run policy 'unknown-values-stack-validation' from policy pack 'unknown-values-policy@v0.0.1' "
        "during preview: string value at .prefix can't be known during preview",
    ], advisory=True)


# --- TestRuntimeData (integration_test.go:509) ---------------------------------------------------
def test_runtime_data(monkeypatch):
    _check(_up(monkeypatch, "runtime_data",
               config={"aConfigValue": "this value is a value", "aws:region": "us-west-2"}), None)


# --- TestResourceOptions (integration_test.go:519) -----------------------------------------------
@pytest.mark.parametrize("number", [1, 2])
def test_resource_options(monkeypatch, number):
    _check(_up(monkeypatch, "resource_options", number), None)


# --- TestParentDependencies (integration_test.go:531) ---------------------------------------------
def test_parent_dependencies(monkeypatch):
    _check(_up(monkeypatch, "parent_dependencies"), None)


# --- TestProvider (integration_test.go:540) -------------------------------------------------------
def test_provider(monkeypatch):
    _check(_up(monkeypatch, "provider"), None)


# --- TestEnforcementLevel (integration_test.go:547) -----------------------------------------------
def _levels(level: str) -> list[str]:
    return [f"[{level}]  validate-resource  (random:index:RandomString: str)",
            "Always reports a resource violation.", "validate-resource-violation-message",
            f"[{level}]  validate-stack", "Always reports a stack violation.", "validate-stack-violation-message"]


A, M = _levels("advisory"), _levels("mandatory")
ENFORCEMENT_LEVEL = [(A, True), (None, False), (M, False), (A, True),
                     (A, True), (None, False), (M, False), (None, False),
                     (A, True), (None, False), (M, False), (M, False),
                     (A, True), (None, False), (M, False), (A, True)]


@pytest.mark.parametrize("number", range(1, len(ENFORCEMENT_LEVEL) + 1))
def test_enforcement_level(monkeypatch, number):
    want, advisory = ENFORCEMENT_LEVEL[number - 1]
    _check(_up(monkeypatch, "enforcementlevel", number), want, advisory)


# --- TestConfig (integration_test.go:702) ---------------------------------------------------------
def _config_errors(*errors: str) -> list[str]:
    preamble = "error: validating policy config: config-policy 0.0.1  "
    return [preamble + policy + ": " + e for e in errors for policy in ("resource-validation", "stack-validation")]


def _both(value: dict) -> dict:
    return {"resource-validation": value, "stack-validation": value}


CONFIG = [
    (_both({"foo": "bar"}), None), (None, None), (None, None), (_both({"foo": "overridden"}), None), (None, None),
    (None, _config_errors("foo is required")),
    (None, _config_errors("foo: Invalid type. Expected: string, given: integer")),
    (None, _config_errors("foo: String length must be less than or equal to 3")),
    (None, _config_errors("foo: String length must be greater than or equal to 50")),
    (None, _config_errors('foo: foo must be one of the following: "bar", "baz"')),
    (None, _config_errors('foo: foo does not match: "bar"')),
    (_both({"foo": 1}), _config_errors("foo: Invalid type. Expected: string, given: integer")),
    (_both({"foo": "blah"}), _config_errors('foo: foo must be one of the following: "bar", "baz"')),
    (_both({"foo": "blah"}), _config_errors('foo: foo does not match: "bar"')),
    (_both({"foo": "this is too long", "bar": 3.14}),
     _config_errors("bar: Invalid type. Expected: integer, given: number",
                    "foo: String length must be less than or equal to 3")),
    (_both({"foo": 42}), None), (_both({"foo": 3.14}), None), (_both({"foo": 42}), None),
    (_both({"foo": True}), None), (_both({"foo": False}), None), (_both({"foo": {"bar": "baz"}}), None),
    (_both({"foo": ["a", "b", "c"]}), None), (_both({"foo": None}), None),
    (None, None), (_both({"foo": "overridden"}), None),
]


@pytest.mark.parametrize("number", range(1, len(CONFIG) + 1))
def test_config(monkeypatch, number):
    policy_config, want = CONFIG[number - 1]
    _check(_up(monkeypatch, "config", number, policy_config=policy_config), want)


def test_config_errors_come_all_at_once_sorted(monkeypatch):
    """TestConfig scenario 15 (integration_test.go:802): both policies' errors, every field's, in the
    CLI's sorted order (pkg/engine/update.go sorts `allValidationErrors`)."""
    [run] = _up(monkeypatch, "config", 15, policy_config=CONFIG[14][0])
    lines = ["error: " + line for line in run.error.splitlines() if line.startswith("validating policy config")]
    assert lines == sorted(CONFIG[14][1])


# --- TestDeserialize (integration_test.go:883) ----------------------------------------------------
def test_deserialize(monkeypatch):
    _check(_up(monkeypatch, "deserialize"), None)


# --- TestStackTags (integration_test.go:937): stack tags foo=bar, hello=world ---------------------
def test_stack_tags(monkeypatch):
    _check(_up(monkeypatch, "stack_tags", tags={"foo": "bar", "hello": "world"}), None)


def test_stack_tags_are_checked(monkeypatch):
    """The same pack fails when the tags are not given: its assertions are live."""
    runs = _up(monkeypatch, "stack_tags")
    assert runs[-1].exit_code == 2 and "Analyze failed" in runs[-1].error

"""The pack's AnalyzeStack memo (policy/guard/sdk_memo.py) changes speed, never verdicts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from layerguard.engine import preview

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def _verdicts(result):
    return sorted((v.policy, v.enforcement, v.urn, v.message) for v in result.violations)


@pytest.mark.parametrize("case", ["baseline", "app-sg-open-world"])
def test_same_diagnostics_with_and_without_the_memo(case, monkeypatch):
    kwargs = {"policy_pack": REPO / "policy", "config": {"scenarios:case": case}}
    with_memo = preview(SCENARIOS, "test", **kwargs)
    monkeypatch.setenv("LAYERGUARD_NO_SDK_MEMO", "1")
    without = preview(SCENARIOS, "test", **kwargs)
    assert with_memo.error is None and without.error is None, (with_memo.error, without.error)
    assert _verdicts(with_memo) == _verdicts(without)
    assert (with_memo.exit_code, case) in ((0, "baseline"), (1, "app-sg-open-world"))


def test_the_memo_is_installed_in_the_pack_process():
    # The pack's entry point installs it; the switch turns it off (read at install time).
    import sys
    sys.path.insert(0, str(REPO / "policy"))
    try:
        from guard import sdk_memo
        os.environ["LAYERGUARD_NO_SDK_MEMO"] = "1"
        assert sdk_memo.install() is False
    finally:
        os.environ.pop("LAYERGUARD_NO_SDK_MEMO", None)
        sys.path.remove(str(REPO / "policy"))
    assert "sdk_memo.install()" in (REPO / "policy" / "__main__.py").read_text()


def _sdk_memo_module():
    import importlib
    import sys
    sys.path.insert(0, str(REPO / "policy"))
    try:
        return importlib.import_module("guard.sdk_memo")
    finally:
        sys.path.remove(str(REPO / "policy"))


def _structs_of_a_real_preview():
    """The property Structs the engine sends for the dev stack, as the pack receives them."""
    from layerguard.engine import analyzer_messages
    result = preview(REPO, "dev", mode="update")
    assert result.error is None, result.error
    for _res, _request, entry in analyzer_messages(result):
        yield entry.properties
        if entry.HasField("provider"):
            yield entry.provider.properties


def test_the_struct_conversion_equals_message_to_dict():
    from google.protobuf import json_format, struct_pb2
    memo = _sdk_memo_module()
    odd = struct_pb2.Struct()
    odd.update({"none": None, "t": True, "f": False, "int": 3, "neg": -2.5, "big": 1e300, "tiny": 5e-324,
                "s": "ünïcode ✓", "empty": {}, "emptyList": [], "nested": {"a": [1, {"b": [None, "x", [True]]}]}})
    structs = [odd, struct_pb2.Struct(), *_structs_of_a_real_preview()]
    assert len(structs) > 50
    for struct in structs:
        fast, real = memo.struct_to_dict(struct), json_format.MessageToDict(struct)
        assert fast == real
        assert list(fast) == list(real)  # the same key order
        assert repr(fast) == repr(real)  # the same value types (1.0 stays a float, True a bool)


def test_an_infinite_number_fails_as_message_to_dict_fails():
    from google.protobuf import json_format, struct_pb2
    memo = _sdk_memo_module()
    struct = struct_pb2.Struct()
    struct.update({"x": float("inf")})
    with pytest.raises(ValueError) as real:
        json_format.MessageToDict(struct)
    with pytest.raises(ValueError) as ours:
        memo._JsonFormat(json_format)._to_dict(struct)
    assert str(ours.value) == str(real.value)

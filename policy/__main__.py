"""The layerguard CrossGuard policy pack: `pulumi preview --policy-pack policy`."""

import gc

from pulumi_policy import PolicyPack

from guard import sdk_memo
from guard.registry import policies
from guard.values import record_configure_stack

# AnalyzeStack builds every resource's properties once per stack policy (the SDK's design), which
# on a stack of thousands of resources means millions of short-lived containers. With the default
# thresholds the collector rescans the long-lived ones (the SDK, the pack) over and over and the
# pack slows down faster than the stack grows (docs/BENCHMARKS.md). Nothing here makes reference
# cycles that need prompt collection, so collect rarely, and never rescan what import created.
gc.freeze()
gc.set_threshold(100_000, 50, 100)
# Each resource deserialized once per AnalyzeStack instead of once per stack policy (sdk_memo.py).
sdk_memo.install()
# Dry run or not, as ConfigureStack says it too (guard/values.py `is_dry_run`).
record_configure_stack()

PolicyPack(name="layerguard", policies=policies())

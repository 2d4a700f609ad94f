"""The layerguard CrossGuard policy pack: `pulumi preview --policy-pack policy`."""

from pulumi_policy import PolicyPack

from guard.registry import policies

PolicyPack(name="layerguard", policies=policies())

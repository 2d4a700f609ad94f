"""The layer tag every taggable resource carries in its own `tags` input.

Project and stack tags come from the provider's `default_tags`; the layer tag cannot, because one
provider serves every layer. Policies read a resource's `tags` (not `tagsAll`), so it must be here.
"""

from __future__ import annotations

LAYER_TAG = "layerguard:layer"
LAYERS = ("network", "edge", "node", "app")


def layer_tags(layer: str, name: str) -> dict[str, str]:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
    return {LAYER_TAG: layer, "Name": name}

"""Where a stack file (`Pulumi.<stack>.yaml`) sets each config value: line numbers for doctor's
findings, `init`'s markers and SARIF locations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Entry:
    """One value of a stack file's `config:` block: `key` as written (`layerguard:certificateArn`),
    `value` (a list item is its own entry, `index` its position), the 1-based `line` it is on."""
    key: str
    value: object
    line: int
    index: int | None = None


def entries(path: Path) -> list[Entry]:
    """Every scalar under `config:`, in file order. A secure value (`{secure: ...}`) is left out:
    it is ciphertext. An unreadable file gives no entries (the preview reports it)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    config = _child(root, "config")
    if not isinstance(config, yaml.MappingNode):
        return []
    found: list[Entry] = []
    for key_node, value_node in config.value:
        key = str(key_node.value)
        if isinstance(value_node, yaml.ScalarNode):
            found.append(Entry(key, _scalar(value_node), value_node.start_mark.line + 1))
        elif isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                if isinstance(item, yaml.ScalarNode):
                    found.append(Entry(key, _scalar(item), item.start_mark.line + 1, i))
    return found


def key_lines(path: Path) -> dict[str, int]:
    """The line of each config key (the key's own line), namespaced keys as written."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    config = _child(root, "config")
    if not isinstance(config, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _v in config.value}


def _child(node, name: str):
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if key_node.value == name:
            return value_node
    return None


def _scalar(node: yaml.ScalarNode) -> object:
    return yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value

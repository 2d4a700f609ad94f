"""What production means to the pack: one definition for every rule that judges production
differently (LG-WLM-002 modes and failing closed, LG-WLM-003 node releases, LG-ALB-005 deletion
protection), the same the program uses (docs/CONTRACTS.md, "Production").

A stack declares its environment with the tag `layerguard:environment` (key compared without case),
on the resource itself or in its provider's `defaultTags` (layerguard's program puts its validated
`environment` setting there on every AWS provider, so every resource and every rule sees it, in
`Analyze` and `AnalyzeStack` alike). A rule decides, for the resource it judges:

* the stack's name matches one of the rule's stack-name globs for production: production, whatever
  is declared (a declaration never takes production away);
* a declared value in `productionEnvironments` (default `prod`): production;
* a declared value the pack does not know (outside `knownEnvironments`, a blank value included),
  or one that is unknown at preview: production (fail closed);
* declarations that disagree (the resource's own tag and its provider's): production if any is;
* nothing declared (a hand-written stack): the stack-name globs alone decide.

A resource that is production by declaration only is judged as the stack named `prod`
(PRODUCTION_NAME) in the rule's stack-name tables, so the tables keep one meaning.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from guard.framework import Resource, is_unknown, stack_name

ENVIRONMENT_TAG = "layerguard:environment"
PRODUCTION_NAME = "prod"

CONFIG = {
    "productionEnvironments": {
        "type": "array", "items": {"type": "string"}, "default": ["prod"],
        "description": "Values of the layerguard:environment tag (resource tags or provider default tags) that make a stack production whatever its name; production stacks are judged as the stack named prod.",
    },
    "knownEnvironments": {
        "type": "array", "items": {"type": "string"}, "default": ["dev", "staging", "prod"],
        "description": "Every layerguard:environment value the pack knows; any other value (a blank one included) is treated as production (fail closed).",
    },
}


def declared(res: Resource) -> list[Any]:
    """Every `layerguard:environment` value the resource carries: its own tags (and `tagsAll`
    when known), then its provider's default tags. An unknown tag map is one unknown value."""
    out: list[Any] = []
    sources = (("tags", res.props.get("tags")), ("tagsAll", res.props.get("tagsAll")),
               ("defaultTags", res.provider_tags))
    for source, tags in sources:
        if is_unknown(tags):
            if source != "tagsAll":   # tagsAll is computed from the other two, read directly
                out.append(tags)
            continue
        if isinstance(tags, Mapping):
            for key, value in tags.items():
                if isinstance(key, str) and key.lower() == ENVIRONMENT_TAG:
                    out.append(value)
    return out


def declared_production(res: Resource, cfg: dict) -> str | None:
    """Why the declaration makes `res` production (None when it does not)."""
    production = {str(v).lower() for v in cfg.get("productionEnvironments") or ()}
    known = {str(v).lower() for v in cfg.get("knownEnvironments") or ()}
    for value in declared(res):
        if is_unknown(value):
            return f"its {ENVIRONMENT_TAG} tag is unknown at preview (fail closed: production)"
        text = value.strip().lower() if isinstance(value, str) else None
        if text in production:
            return f"it declares {ENVIRONMENT_TAG}={value}"
        if text not in known:
            return (f"it declares {ENVIRONMENT_TAG}={value!r}, which the pack does not know "
                    "(fail closed: production)")
    return None


def judged_stack(res: Resource, cfg: dict, production_globs: Sequence[str]) -> tuple[Any, str]:
    """(the stack name the rule's tables are read with, how to name it in a message). The name is
    `Unknown` when the host did not say (the caller reports that)."""
    stack = stack_name()
    if is_unknown(stack):
        return stack, "?"
    if any(fnmatch.fnmatchcase(stack, glob) for glob in production_globs):
        return stack, repr(stack)
    why = declared_production(res, cfg)
    if why is None:
        return stack, repr(stack)
    return PRODUCTION_NAME, f"{stack!r} (production: {why})"

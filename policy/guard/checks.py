"""A shared value check for the rules that judge one attribute (checkov's
`BaseResourceValueCheck`: the attribute, the values that pass, what an absent value means).

    HEADERS = ValueCheck("dropInvalidHeaderFields", "drop_invalid_header_fields",
                         expected=(True,), absent=False)   # the API default when unset
    def check(res, cfg):
        yield from HEADERS.judge(res, cfg)

`absent` is the value AWS applies when the attribute is not set (an attribute the provider
computes and the program did not set reaches a stack rule as absent too, `guard.planned`);
`ABSENT_FAILS` makes an unset attribute a finding of its own. An unknown value becomes a
`waiting` finding: deferred to `pulumi up` in resource rules at preview, mandatory otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from guard.rules import Finding, waiting
from guard.values import is_unknown
from guard.view import Resource

ABSENT_FAILS = object()


@dataclass(frozen=True)
class ValueCheck:
    path: str                 # engine property path (camelCase, dotted)
    label: str                # the attribute as a program writes it (snake_case)
    expected: Collection | Callable[[dict], Collection]  # values that pass, or from the config
    absent: Any = ABSENT_FAILS  # the value applied when unset (the provider's or API's default)

    def accepted(self, cfg: dict) -> Collection:
        return self.expected(cfg) if callable(self.expected) else self.expected

    def judge(self, res: Resource, cfg: dict) -> Iterable[str | Finding]:
        value = res.get(self.path)
        if is_unknown(value):
            yield waiting(value, f"{self.label} is not known yet; it must be one of {self._show(cfg)}")
            return
        unset = value is None
        if unset:
            if self.absent is ABSENT_FAILS:
                yield f"{self.label} is not set; it must be one of {self._show(cfg)}"
                return
            value = self.absent
        if value not in self.accepted(cfg):
            where = " (not set, so the default applies)" if unset else ""
            yield f"{self.label} is {value!r}{where}; it must be one of {self._show(cfg)}"

    def _show(self, cfg: dict) -> str:
        return ", ".join(repr(v) for v in self.accepted(cfg))

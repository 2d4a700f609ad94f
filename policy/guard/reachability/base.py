"""The data types and helpers every family of the reachability model reads (see model.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from guard.framework import Resource, is_unknown
from guard.planned import INPUTS

from .net import ALL, Ports

INTERNET = "internet"
COMPUTE = frozenset({"ecs", "instance", "eni", "asg", "lambda", "rds", "address", "edgefn"})  # address: compute.py; edgefn: CloudFront Function
FORWARDERS = frozenset({"alb", "nlb", "gwlb", "vpclink"})


def same(value: Any, literal: Any) -> bool:
    """`value == literal` for a value that may be unknown (an unknown is never equal)."""
    return not is_unknown(value) and value == literal


_SG = "sg|"
_NET = "net|"
_OUTSIDE = "outside|"  # what an app security group with no member in the stack protects


@dataclass(frozen=True)
class Problem:
    """A value the model needs but cannot resolve: reported as a violation (fail closed)."""

    urn: str
    prop: str
    message: str
    area: str  # "reach" (no-bypass) or "perimeter"


@dataclass
class Endpoint:
    urn: str
    kind: str
    layer: str
    sgs: list = field(default_factory=list)        # security group URNs (or pseudo default SGs)
    subnets: list = field(default_factory=list)    # subnet URNs
    exposures: list = field(default_factory=list)  # (opener, reason): the internet reaches it directly
    public: list = field(default_factory=list)     # (opener, reason): a routable public address
    listen: list | None = None                     # [(proto, port)], None: any port
    vpc: str | None = None
    sg_openers: dict = field(default_factory=dict)  # sg -> the resource that attached it

    @property
    def compute(self) -> bool:
        return self.kind in COMPUTE


@dataclass(frozen=True)
class Source:
    """Where a security group rule admits traffic from, and on which ports."""

    kind: str             # "cidr" | "sg" | "self" | "cloudfront" | "internet" | "subnets"
    value: Any = None     # Network for cidr, SG URN for sg, a reason for internet, subnet URNs for subnets
    opener: str = ""      # the rule (or the security group, for inline rules)
    ports: Ports = ALL


class Edge(NamedTuple):
    dst: str
    openers: tuple
    note: str
    via_cloudfront_list: bool = False
    membership: bool = False
    ports: str = ""       # ":443" (what the destination receives)
    via: str = ""         # "listener 'edge-https' -> target group 'app-tg':8080"
    entry: tuple | None = None  # into a load balancer: the listeners it enters on (None: every one)
    listener: str = ""    # out of a load balancer: the listener that forwards it ("" : not a forward)
    rule: str = ""        # into a resource through a security group: the rule (or group) admitting it


def pget(res: Any, path: str, default: Any = None) -> Any:
    """`pget(res, path)` over plain dicts/lists: None or the default when absent, the `Unknown`
    itself when a step is unknown."""
    cur: Any = res.props if isinstance(res, Resource) else res
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
            if cur is None:
                return default
        elif is_unknown(cur):
            return cur
        else:
            return default
    return cur


def _configured(res: Resource, prop: str) -> bool:
    """Whether the program set top-level `prop` (its Analyze inputs say so); without a record of
    them, every present value counts as set (fail closed)."""
    shape = INPUTS.shape(res.urn)
    return shape is None or (isinstance(shape, dict) and prop in shape)


def _items(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


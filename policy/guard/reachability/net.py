"""Address arithmetic for the reachability model: CIDRs, VPC address space, subnet lookup.

A CIDR in a security group admits every address it covers. The part outside the VPC is "the
internet" (anything routable from outside: internet, peering, VPN); the part inside admits every
resource in the subnets it overlaps. Subnets are indexed per VPC as sorted intervals so a rule's
overlapping subnets are found with a bisection, not a scan (the model must stay linear-ish).
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(value: object) -> Network | None:
    """A CIDR string (or a bare address) as a network; None when it is not one."""
    if not isinstance(value, str):
        return None
    return _parse(value)


@functools.lru_cache(maxsize=65536)
def _parse(value: str) -> Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _span(net: Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def overlap_size(a: Network, b: Network) -> int:
    if a.version != b.version:
        return 0
    a0, a1 = _span(a)
    b0, b1 = _span(b)
    lo, hi = max(a0, b0), min(a1, b1)
    return hi - lo + 1 if hi >= lo else 0


def has_outside_part(cidr: Network, inside: Iterable[Network]) -> bool:
    """True when `cidr` covers at least one address outside every network of `inside`.

    `inside` networks are VPC CIDRs, which never overlap one another within a VPC; across VPCs the
    sum may double count, which can only make us *less* sure an address is inside, so duplicates
    are removed first."""
    seen = set()
    covered = 0
    for net in inside:
        if net.version != cidr.version or net in seen:
            continue
        seen.add(net)
        covered += overlap_size(cidr, net)
    return covered < cidr.num_addresses


class SubnetIndex:
    """Subnets (urn, network) per VPC key, queried by overlap with a CIDR."""

    def __init__(self) -> None:
        self._raw: dict[tuple, list[tuple[int, int, str]]] = {}
        self._built: dict[tuple, tuple[list[int], list[tuple[int, int, str]], bool]] = {}

    def add(self, vpc: str | None, net: Network, subnet_urn: str) -> None:
        lo, hi = _span(net)
        self._raw.setdefault((vpc, net.version), []).append((lo, hi, subnet_urn))
        self._built.clear()

    def _bucket(self, key: tuple):
        if key not in self._built:
            items = sorted(self._raw.get(key, ()))
            disjoint = all(items[i][1] < items[i + 1][0] for i in range(len(items) - 1))
            ends = [hi for _lo, hi, _u in items]
            self._built[key] = (ends, items, disjoint)
        return self._built[key]

    def vpcs(self) -> set:
        return {vpc for vpc, _v in self._raw}

    def overlapping(self, cidr: Network, vpc: str | None = None, any_vpc: bool = False) -> list[str]:
        """Subnet URNs overlapping `cidr`: in `vpc`, or in every VPC when `any_vpc`."""
        keys = ([(v, cidr.version) for v in self.vpcs()] if any_vpc else [(vpc, cidr.version)])
        lo, hi = _span(cidr)
        out: list[str] = []
        for key in keys:
            ends, items, disjoint = self._bucket(key)
            if not items:
                continue
            if disjoint:
                i = bisect.bisect_left(ends, lo)  # first subnet ending at or after lo
                while i < len(items) and items[i][0] <= hi:
                    out.append(items[i][2])
                    i += 1
            else:  # malformed (overlapping) subnets: stay correct, scan the bucket
                out.extend(u for s_lo, s_hi, u in items if s_lo <= hi and s_hi >= lo)
        return out

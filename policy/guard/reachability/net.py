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
from typing import NamedTuple

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


# ---------------------------------------------------------------------------------------------
# Address space: what part of a CIDR is the public internet


_NOT_INTERNET = [ipaddress.ip_network(c) for c in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8")]


def has_public_part(cidr: Network) -> bool:
    """True when `cidr` covers an address that can be a source on the internet (not RFC 1918,
    CGNAT, link-local, loopback, multicast, unique-local)."""
    return has_outside_part(cidr, _NOT_INTERNET)


# ---------------------------------------------------------------------------------------------
# Protocols and ports


PROTOCOLS = {"-1": "all", "all": "all", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp",
             "icmp": "icmp", "1": "icmp", "icmpv6": "icmpv6", "58": "icmpv6"}


class Ports(tuple):
    """(protocol, low, high): protocol is tcp, udp, all, icmp, icmpv6 or a number; all ports for
    `all`. Only tcp/udp/all can carry a request to a listener."""

    __slots__ = ()

    def __new__(cls, proto: str, lo: int = 0, hi: int = 65535):
        return tuple.__new__(cls, (proto, lo, hi))

    @property
    def proto(self) -> str:
        return self[0]

    def text(self) -> str:
        proto, lo, hi = self
        if proto == "all":
            return "all traffic"
        if lo == 0 and hi == 65535:
            return f"{proto} all ports"
        return f"{proto} {lo}" if lo == hi else f"{proto} {lo}-{hi}"


ALL = Ports("all")


def ports_of(protocol: object, from_port: object, to_port: object) -> Ports | None:
    """The ports a rule admits; None when the protocol or ports are not literal (caller fails closed)."""
    if protocol is None:
        return None
    proto = PROTOCOLS.get(str(protocol).lower(), str(protocol).lower())
    if proto == "all":
        return ALL
    if proto not in ("tcp", "udp"):
        return Ports(proto, -1, -1)
    try:
        lo = int(from_port) if from_port is not None else 0
        hi = int(to_port) if to_port is not None else 65535
    except (TypeError, ValueError):
        return None
    if lo < 0 or hi < 0:  # -1 means every port for tcp/udp in the EC2 API
        lo, hi = 0, 65535
    return Ports(proto, lo, hi)


# A listener: (protocol, port); None as the port means every port of that protocol.
Listen = tuple


def carries(admitted: Ports, listening: list | None) -> list[Listen]:
    """The listeners an admitted port range reaches (empty: not a path). `listening` None means the
    resource may listen anywhere (compute whose ports the model cannot read)."""
    proto, lo, hi = admitted
    if proto not in ("tcp", "udp", "all"):
        return []
    if listening is None:
        return [(proto if proto != "all" else "tcp", None if (lo, hi) != (lo, lo) or proto == "all" else lo)]
    out = []
    for lp, port in listening:
        if proto != "all" and lp != proto:
            continue
        if port is None or lo <= port <= hi:
            out.append((lp, port if port is not None else (lo if lo == hi and proto != "all" else None)))
    return out


def listen_text(found: list[Listen]) -> str:
    ports = sorted({p for _proto, p in found if p is not None})
    if not ports:
        return ""
    return ":" + ",".join(str(p) for p in ports[:4]) + ("..." if len(ports) > 4 else "")


# ---------------------------------------------------------------------------------------------
# Network ACLs (stateless, first matching rule by number wins, implicit deny at the end)


class AclRule(NamedTuple):
    number: int
    allow: bool
    ports: Ports
    cidr: Network | None  # None: the rule's CIDR is not literal (treated as matching everything)


def acl_allows(rules: list[AclRule], src: Network | None, port: Ports) -> bool:
    """Could a packet from `src` (None: any address) within `port` pass these rules? A deny only
    stops the walk when it covers the whole source and port range (otherwise part of the traffic
    may slip past it to a later allow): the answer errs towards "allowed", never the other way."""
    for rule in sorted(rules, key=lambda r: r.number):
        if not _proto_overlap(rule.ports, port):
            continue
        if rule.cidr is not None and src is not None and overlap_size(rule.cidr, src) == 0:
            continue
        if rule.cidr is not None and src is None and rule.cidr.num_addresses < 2 ** (32 if rule.cidr.version == 4 else 128):
            if not rule.allow:
                continue  # a partial deny of "any address"
        if rule.allow:
            return True
        covers_src = rule.cidr is None or (src is not None and overlap_size(rule.cidr, src) == src.num_addresses)
        if covers_src and _proto_covers(rule.ports, port):
            return False
    return False


def _proto_overlap(a: Ports, b: Ports) -> bool:
    if a.proto == "all" or b.proto == "all":
        return True
    if a.proto != b.proto:
        return False
    if a.proto not in ("tcp", "udp"):
        return True
    return a[1] <= b[2] and b[1] <= a[2]


def _proto_covers(rule: Ports, want: Ports) -> bool:
    if rule.proto == "all":
        return True
    if want.proto == "all" or rule.proto != want.proto:
        return False
    return rule[1] <= want[1] and want[2] <= rule[2]

"""The guide's request tests, sent from where verify runs (`--probe`).

* Direct access: every public address of the app and of the nodes (load balancer DNS names, public
  IPs of their network interfaces and instances) must refuse the connection or time out.
* Bypass header (CloudFront): a request to a public custom origin without the secret header must
  be answered 403.
* Attack: `GET /etc/passwd` through each internet entry: 403 in `block` mode; in the monitoring
  modes the request passes and shows up in Wallarm Console -> Attacks, which verify cannot read.

Bounded: at most MAX_PROBES requests, each with a short timeout, and only to hosts and addresses
taken from the state or from the stack's own network interfaces. `connect_to` maps a host:port to
another address:port, like curl's --connect-to (for a name not yet in DNS, or a test).
TLS certificates are not verified: the probes test filtering and reachability, not the
certificate (the entry's certificate names the site, not the load balancer's DNS name).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from dataclasses import dataclass, field

from .findings import Report
from .perimeter import DISTRIBUTION, LB_TYPES, STAGE
from .security_groups import SG, intended_rules
from .state import State

LISTENER_TYPES = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
INSTANCE = "aws:ec2/instance:Instance"
ATTACK_PATH = "/etc/passwd"
MAX_PROBES = 40
MAX_PORTS = 5  # per public address
TIMEOUT = 4.0


@dataclass
class Target:
    host: str
    port: int
    scheme: str = "http"
    resource: str = ""
    why: str = ""


@dataclass
class Prober:
    connect_to: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    timeout: float = TIMEOUT
    budget: int = MAX_PROBES

    def spend(self, report: Report, target: Target, check: str) -> bool:
        """Take one probe from the budget; once it is spent, every skipped probe is a note."""
        if self.budget <= 0:
            report.note(check, target.resource, f"probe budget ({MAX_PROBES} requests) spent: "
                                                f"{target.host}:{target.port} not probed")
            return False
        self.budget -= 1
        return True

    def _address(self, host: str, port: int) -> tuple[str, int]:
        return self.connect_to.get((host, port), (host, port))

    def connect(self, host: str, port: int) -> str | None:
        """None when the connection was refused, timed out or the name does not resolve; else
        the address that accepted it."""
        address = self._address(host, port)
        try:
            with socket.create_connection(address, timeout=self.timeout):
                return f"{address[0]}:{address[1]}"
        except OSError:
            return None

    def request(self, target: Target, path: str, headers: dict[str, str] | None = None) -> int:
        """The status of `GET path` (redirects not followed); raises OSError when nothing answers."""
        address = self._address(target.host, target.port)
        sock = socket.create_connection(address, timeout=self.timeout)
        if target.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=target.host)
        conn = http.client.HTTPConnection(target.host, target.port, timeout=self.timeout)
        conn.sock = sock
        try:
            conn.request("GET", path, headers={"Host": target.host, "User-Agent": "layerguard-verify",
                                               **(headers or {})})
            response = conn.getresponse()
            response.read(65536)
            return response.status
        finally:
            conn.close()


def _listeners(state: State) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for listener in state.of(*LISTENER_TYPES):
        lb = listener.get("loadBalancerArn")
        port = listener.get("port")
        if isinstance(lb, str) and isinstance(port, int | float):
            out.setdefault(lb, []).append((int(port), str(listener.get("protocol") or "HTTP").upper()))
    return out


def direct_targets(state: State, account=None) -> list[Target]:
    """Every address of the app and of the nodes someone could try around the entry."""
    listeners = _listeners(state)
    targets: list[Target] = []
    for lb in state.of(*LB_TYPES):
        dns = lb.get("dnsName")
        if lb.layer in ("app", "node") and isinstance(dns, str) and dns:
            for port, proto in listeners.get(lb.get("arn") or lb.id, [(80, "HTTP")]):
                targets.append(Target(dns, port, "https" if proto in ("HTTPS", "TLS") else "http", lb.name,
                                      f"{lb.layer} load balancer"))
    for inst in state.of(INSTANCE):
        if inst.layer in ("app", "node"):
            for key in ("publicIp", "publicDns"):
                if isinstance(inst.get(key), str) and inst.get(key):
                    targets += [Target(inst.get(key), p, resource=inst.name, why=f"{inst.layer} instance {key}")
                                for p in (80, 443)]
    if account is not None:
        groups = {sg.id: sg.layer for sg in state.of(SG) if sg.layer in ("app", "node") and sg.id}
        sgs = state.by_id(SG)
        if groups:
            ec2 = account.client("ec2")
            enis = ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": sorted(groups)}])
            for eni in enis["NetworkInterfaces"]:
                public = (eni.get("Association") or {}).get("PublicIp")
                if public:
                    mine = [g["GroupId"] for g in eni.get("Groups", []) if g["GroupId"] in groups]
                    layer = groups[mine[0]] if mine else "app"
                    # The ports the interface's groups are meant to serve, then the web ports.
                    ports = sorted({k[1] for g in mine for k in intended_rules(state, sgs[g])
                                    if k[0] == "tcp" and k[1] == k[2] and k[1] > 0})[:MAX_PORTS - 2]
                    targets += [Target(public, p, resource=eni["NetworkInterfaceId"],
                                       why=f"public IP of a {layer} network interface")
                                for p in dict.fromkeys([*ports, 80, 443])]
    return targets


def public_origins(state: State) -> list[Target]:
    """CloudFront custom origins reachable from the internet (no VPC origin) that rely on a
    secret header."""
    out = []
    for dist in state.of(DISTRIBUTION):
        for origin in dist.get("origins") or []:
            if not isinstance(origin, dict) or origin.get("vpcOriginConfig"):
                continue
            custom = origin.get("customOriginConfig")
            if not isinstance(custom, dict) or not origin.get("customHeaders"):
                continue
            policy = custom.get("originProtocolPolicy", "https-only")
            scheme = "http" if policy == "http-only" else "https"
            port = int(custom.get("httpPort" if scheme == "http" else "httpsPort") or (80 if scheme == "http" else 443))
            out.append(Target(origin.get("domainName", ""), port, scheme, dist.name,
                              f"origin {origin.get('originId')}"))
    return out


def entries(state: State) -> list[Target]:
    """Internet entries: internet-facing load balancers outside the app and node layers (their
    HTTPS listener when there is one), CloudFront distributions, REST API stages."""
    listeners = _listeners(state)
    out = []
    for lb in state.of(*LB_TYPES):
        if lb.layer in ("app", "node") or lb.get("internal") is not False:
            continue
        dns = lb.get("dnsName")
        ports = sorted(listeners.get(lb.get("arn") or lb.id, []), key=lambda p: p[1] != "HTTPS")
        if isinstance(dns, str) and ports:
            port, proto = ports[0]
            out.append(Target(dns, port, "https" if proto == "HTTPS" else "http", lb.name, "internet-facing load balancer"))
    for dist in state.of(DISTRIBUTION):
        if isinstance(dist.get("domainName"), str):
            out.append(Target(dist.get("domainName"), 443, "https", dist.name, "CloudFront distribution"))
    for stage in state.of(STAGE):
        url = stage.get("invokeUrl")
        m = re.match(r"https://([^/]+)(/.*)?$", url or "")
        if m:
            out.append(Target(m.group(1), 443, "https", stage.name, f"REST API stage {m.group(2) or '/'}"))
    return out


def wallarm_mode(state: State) -> str | None:
    """The nodes' mode as the state declares it: WALLARM_MODE of the node task definitions, or
    the first `wallarm_mode` directive of a vhost they carry. None when no node declares one."""
    modes = set()
    for td in state.of(TASK_DEFINITION):
        if td.layer != "node":
            continue
        try:
            containers = json.loads(td.get("containerDefinitions") or "[]")
        except (TypeError, ValueError):
            continue
        for c in containers:
            for env in c.get("environment") or []:
                if env.get("name") == "WALLARM_MODE":
                    modes.add(env.get("value"))
                elif isinstance(env.get("value"), str):
                    found = re.search(r"^\s*wallarm_mode\s+(\w+);", env["value"], re.MULTILINE)
                    if found:
                        modes.add(found.group(1))
    if not modes:
        return None
    # The weakest mode decides what an attacker meets.
    for mode in ("off", "monitoring", "safe_blocking", "block"):
        if mode in modes:
            return mode
    return sorted(modes)[0]


def run(state: State, report: Report, prober: Prober, account=None, mode: str | None = None) -> None:
    for t in direct_targets(state, account):
        if not prober.spend(report, t, "probe-direct-reachable"):
            continue
        accepted = prober.connect(t.host, t.port)
        if accepted:
            report.add("probe-direct-reachable", t.resource,
                       f"{t.host}:{t.port} ({t.why}) accepted a connection (at {accepted}): the app or a node "
                       "is reachable around the entry")
    for t in public_origins(state):
        if not prober.spend(report, t, "probe-origin-header"):
            continue
        try:
            status = prober.request(t, "/")
        except (OSError, http.client.HTTPException) as exc:
            report.note("probe-origin-header", t.resource, f"{t.scheme}://{t.host}:{t.port} ({t.why}) did not answer "
                                                           f"without the header ({exc.__class__.__name__}): rejected")
            continue
        if status != 403:
            report.add("probe-origin-header", t.resource,
                       f"{t.scheme}://{t.host}:{t.port}/ ({t.why}) answered {status} without the secret header; "
                       "expected 403")
    mode = mode or wallarm_mode(state)
    for t in entries(state):
        if not prober.spend(report, t, "probe-entry-unreachable"):
            continue
        url = f"{t.scheme}://{t.host}:{t.port}{ATTACK_PATH}"
        try:
            status = prober.request(t, ATTACK_PATH)
        except (OSError, http.client.HTTPException) as exc:
            report.add("probe-entry-unreachable", t.resource, f"GET {url} ({t.why}) failed: {exc.__class__.__name__}: {exc}")
            continue
        if mode == "block":
            if status != 403:
                report.add("probe-attack-not-blocked", t.resource,
                           f"GET {url} answered {status}; in block mode the node must answer 403")
            else:
                report.note("probe-attack-not-blocked", t.resource, f"GET {url} blocked (403)")
        else:
            report.note("probe-attack-not-blocked", t.resource,
                        f"GET {url} answered {status}; the nodes are in {mode or 'an undeclared'} mode, which does "
                        "not block: see Wallarm Console -> Attacks for the request")


def parse_connect_to(items: list[str]) -> dict[tuple[str, int], tuple[str, int]]:
    """curl-style `HOST:PORT:ADDR:PORT` entries."""
    out = {}
    for item in items:
        parts = item.rsplit(":", 3)
        if len(parts) != 4 or not all(parts) or not parts[1].isdigit() or not parts[3].isdigit():
            raise ValueError(f"--connect-to takes HOST:PORT:ADDRESS:PORT, got {item!r}")
        out[(parts[0], int(parts[1]))] = (parts[2], int(parts[3]))
    return out



"""What `verify` finds, how it is printed, and its JSON form.

A finding is `check` (a stable identifier, listed in CHECKS and in the README), `resource` (the
AWS id or the stack URN it concerns) and `evidence` (what was observed). Notes are what a check
could not decide or only reports (an unsupported API, a monitoring-mode attack probe): they are
printed and written, never counted as findings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CHECKS = {
    "sg-world-open": "an app, backend or node security group admits 0.0.0.0/0 or ::/0",
    "sg-public-source": "an app, backend or node security group admits a public (non-private) CIDR",
    "sg-drift": "an app or node security group has an ingress rule the state does not declare",
    "route-drift": "a route table routes to an internet gateway, or serves a subnet, without the state declaring it",
    "waf-missing": "an internet entry has no web ACL attached",
    "waf-mismatch": "an internet entry has a different web ACL than the state declares",
    "lb-attribute": "a load balancer attribute differs from what the state declares",
    "entry-missing": "an entry the state declares does not exist in the account",
    "cloudfront-origin-unprotected": "a CloudFront custom origin has neither a secret header nor a VPC origin",
    "ecs-drift": "a node service runs fewer tasks, or another task definition revision, than the state declares",
    "ec2-drift": "a node Auto Scaling group or instance is gone, runs fewer instances than the state's minSize, or runs (or launches) another image than the state declares",
    "node-image": "the image a node runs has another owner or name than the launch's layerguard:node-ami-owner / layerguard:node-ami-name declare",
    "listener-drift": "a listener's default action or rule forwards to a target group the state does not declare for it",
    "target-drift": "a target group holds an interface of another layer, or an interface carries another layer's security group",
    "waf-rules": "a web ACL lacks rules, or the default action, the state declares",
    "reachability": "the policy pack's model, run on the live data, finds a path around the nodes or an unprotected entry",
    "network-access-analyzer": "Network Access Analyzer found a path to the app that does not pass a node",
    "probe-direct-reachable": "a public address of the app or of a node accepted a connection",
    "probe-origin-header": "a CloudFront public origin answered a request without the secret header with something other than 403",
    "probe-attack-not-blocked": "in block mode, the attack probe through the entry was not answered with 403",
    "probe-entry-unreachable": "the attack probe could not reach the entry",
}


@dataclass
class Finding:
    check: str
    resource: str
    evidence: str


@dataclass
class Note:
    check: str
    resource: str
    message: str


@dataclass
class Report:
    stack: str
    region: str
    checks_run: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def add(self, check: str, resource: str, evidence: str) -> None:
        assert check in CHECKS, check
        self.findings.append(Finding(check, resource, evidence))

    def note(self, check: str, resource: str, message: str) -> None:
        self.notes.append(Note(check, resource, message))

    @property
    def exit_code(self) -> int:
        return 1 if self.findings else 0

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "region": self.region, "checks": self.checks_run,
                "findings": [asdict(f) for f in self.findings],
                "notes": [asdict(n) for n in self.notes], "exit_code": self.exit_code}

    def render(self) -> str:
        lines = [f"verify: stack {self.stack} in {self.region}",
                 f"checks: {', '.join(self.checks_run) or '(none)'}", ""]
        if self.findings:
            lines.append(f"{len(self.findings)} finding(s):")
            for f in self.findings:
                lines.append(f"  [{f.check}] {f.resource}")
                lines.extend(f"      {line}" for line in f.evidence.splitlines())
        else:
            lines.append("no findings: nothing reaches the app around the nodes in the live account")
        if self.notes:
            lines += ["", "notes:"]
            for n in self.notes:
                lines.append(f"  [{n.check}] {n.resource}: {n.message}")
        return "\n".join(lines)

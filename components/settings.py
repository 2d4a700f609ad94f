"""The stack's settings: one typed model, read once from stack config and validated as a whole.

Every key is declared (type, default, description) in `Pulumi.yaml`; `DEFAULTS` below mirrors
those defaults because the offline preview and unit tests do not always apply project defaults, and
a test keeps the two in step. `load()` reads every key, collects every problem, and raises one
`SettingsError` listing them all, before the program registers a single resource.
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi

from components.partition import partition

NAMESPACE = "layerguard"


def _pattern(regex: str) -> re.Pattern:
    """Every settings pattern is ASCII-only (Python's `\\d` and `\\w` also match other scripts'
    digits and letters) and is used with `fullmatch` (`$` alone accepts a trailing newline)."""
    return re.compile(regex, re.ASCII)


ENVIRONMENTS = ("dev", "staging", "prod")
# What "production" means, shared with the policy pack (docs/CONTRACTS.md, "Production"): the
# environment prod, which the program declares to the pack as the provider default tag
# layerguard:environment; a stack whose name matches these globs is production whatever it
# declares (the pack's own fallback for stacks that declare nothing), so the program refuses a
# stack so named with any other environment.
PRODUCTION_ENVIRONMENT = "prod"
PRODUCTION_STACKS = ("prod", "prod-*", "production")
WALLARM_MODES = ("off", "monitoring", "safe_blocking", "block")
# The Wallarm Clouds and their API hosts (https://docs.wallarm.com/api/overview/: US, EU, ME).
WALLARM_API_HOSTS = {"us": "us1.api.wallarm.com", "eu": "api.wallarm.com", "me": "me1.api.wallarm.com"}
NAT_LAYOUTS = ("single", "perAz")
RATE_LIMIT_KEYS = ("IP", "FORWARDED_IP")
RATE_WINDOWS = (60, 120, 300, 600)
RATE_LIMIT_MAX = 2_000_000_000
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)

# Fargate task sizes: CPU units -> allowed memory (MiB).
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# AWS managed rule groups we know the capacity (WCU) of. Bot Control is a paid group.
WAF_MANAGED_RULE_GROUPS = {
    "AWSManagedRulesCommonRuleSet": 700,
    "AWSManagedRulesKnownBadInputsRuleSet": 200,
    "AWSManagedRulesSQLiRuleSet": 200,
    "AWSManagedRulesLinuxRuleSet": 200,
    "AWSManagedRulesUnixRuleSet": 100,
    "AWSManagedRulesAmazonIpReputationList": 25,
    "AWSManagedRulesAnonymousIpList": 50,
    "AWSManagedRulesBotControlRuleSet": 50,
}
WAF_RATE_RULE_WCU = 2
# Bot Control needs its inspection level, COMMON or TARGETED (ManagedRuleGroupConfig
# AWSManagedRulesBotControlRuleSet.InspectionLevel, required by the WAFV2 API:
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-bot.html).
BOT_CONTROL = "AWSManagedRulesBotControlRuleSet"
BOT_CONTROL_INSPECTION_LEVELS = ("COMMON", "TARGETED")
# What a prod web ACL must always run: AWS's baseline groups for any web application
# (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html).
WAF_PRODUCTION_BASELINE = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
# Capacity included in the web ACL price; more is billed extra, so the program refuses it.
WAF_WCU_BUDGET = 1500

# NGINX itself needs room beside the postanalytics arena inside the node task.
NODE_NGINX_HEADROOM_MIB = 512
# Wallarm supports the latest minor of each of its two latest majors only
# (https://docs.wallarm.com/updating-migrating/versioning-policy/): the oldest release accepted per
# major (6.13 is the last 6.x minor, 6.13.9 of 2026-11-30 in
# https://docs.wallarm.com/6.x/updating-migrating/node-artifact-versions/). Production needs 7.1 or
# later, which fixes a detection bypass through streamed request data (issue 20; not found in the
# stored Wallarm pages); the policy pack holds the same floor (LG-WLM-003, `productionFloor`).
SUPPORTED_NODE_RELEASES = {7: (7, 1), 6: (6, 13)}
SUPPORTED_NODE_MAJORS = tuple(sorted(SUPPORTED_NODE_RELEASES))
PRODUCTION_NODE_FLOOR = (7, 1)

_NODE_TAG = _pattern(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,4})(?:-[0-9]{1,4})?")
_DIGEST = _pattern(r"sha256:[0-9a-f]{64}")
_REGION = _pattern(r"[a-z]{2}(?:-gov)?-[a-z]{4,9}-[0-9]")
# ARNs: the partition is checked against the stack's region after the match (_same_region).
_PARTITIONS = "(?:aws|aws-cn|aws-us-gov)"
_ACM_ARN = _pattern(rf"arn:{_PARTITIONS}:acm:([a-z0-9-]{{1,32}}):[0-9]{{12}}:certificate/[0-9a-f-]{{36}}")
# Secret names: at most 512 of these characters; the ARN adds `-` and 6 random characters.
_SECRET_ARN = _pattern(rf"arn:{_PARTITIONS}:secretsmanager:([a-z0-9-]{{1,32}}):[0-9]{{12}}:"
                       r"secret:[A-Za-z0-9/_+=.@-]{1,519}")
_HEALTH_PATH = _pattern(r"/[A-Za-z0-9._~/-]{0,1023}")

DEFAULTS: dict[str, Any] = {
    "vpcCidr": "10.20.0.0/16",
    "azCount": 2,
    "natGateways": "perAz",
    "wallarmMode": "block",
    "wallarmCloud": "eu",
    "wallarmApplication": -1,
    "wallarmToken": "",
    "wallarmTokenSecretArn": "",
    "nodeImageTag": "7.1.0",
    "nodeImageDigest": "",
    "nodeCpu": 1024,
    "nodeMemory": 2048,
    "nodePostanalyticsMemoryMib": 1024,
    "nodeMinCount": 2,
    "nodeMaxCount": 6,
    "nodeHealthCheckGracePeriod": 120,
    "appImage": "ealen/echo-server:0.9.2",
    "appPort": 8080,
    "appCount": 2,
    "appHealthCheckPath": "/",
    "certificateArn": "",
    "allowHttpOnly": False,
    "wafManagedRuleGroups": [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ],
    "wafBotControlInspectionLevel": "COMMON",
    "wafRateLimit": 2000,
    "wafRateWindowSeconds": 300,
    "wafRateLimitKey": "IP",
    "deletionProtection": True,
    "albAccessLogs": True,
    "logRetentionDays": 90,
    # --- network and backend (issue 11) ---
    "network": "new",
    "existingVpcId": "",
    "existingVpcCidrs": [],
    "existingPublicSubnets": [],
    "existingPrivateSubnets": [],
    "backend": "service",
    "backendHost": "",
    "backendPort": 443,
    "backendScheme": "https",
    "backendTlsVerify": True,
    "backendCaBundle": "",
    "backendHostHeader": "",
    "backendSecurityGroupIds": [],
    "backendCidrs": [],
    "backendApiId": "",
    "backendApiStage": "",
    "adoptedListenerArn": "",
    "adoptedLoadBalancerSecurityGroupId": "",
    "adoptedAppSecurityGroupId": "",
    # --- end network and backend ---
    # --- nodes that fail closed and stay in mode; operations (read by _load_ops below) ---
    "wallarmModeAllowOverride": "strict",
    "nodeFailClosed": True,
    "nodeImagePullThrough": True,
    "nodeImagePullThroughPrefix": "docker-hub",
    "dockerHubCredentialArn": "",
    "wallarmTokenKmsKeyArn": "",
    "nodeMaxBodySizeMib": 16,
    "wafBodySizeAction": "count",
    "waitForSteadyState": True,
    "alarmTopicArn": "",
    "awsConfigRules": False,
    "domainName": "",
    "hostedZoneId": "",
    # --- entry settings (issue 10) -------------------------------------------------------------
    **{
        "entry": "alb",
        "cloudfrontOriginStyle": "vpcOrigin",
        "cloudfrontCertificateArn": "",
        "cloudfrontAliases": [],
        "nlbFrontedByCloudFront": True,
        "nlbWafExemptionReason": "",
        "nlbClientIpPreservation": "auto",
        "apiGatewayThrottleRateLimit": 500,
        "apiGatewayThrottleBurstLimit": 1000,
        "apiGatewayDomainName": "",
        "apiGatewayMtlsTruststoreUri": "",
        "apiGatewayManageAccountLogRole": True,
    },
    # --- end of entry settings -----------------------------------------------------------------
    # --- node fleet form (issue 18): see _node_fleet() ---
    "nodeFleet": "ecs",
    "nodeInstanceType": "c6i.large",
    "nodeAmiId": "",
    "nodeAmiOwner": "679593333241",
    "nodeAmiNamePattern": "",
    "nodeVolumeSizeGib": 20,
    # --- end node fleet form ---
}
# Keys without a default: every stack must set them.
REQUIRED = ("environment",)


class SettingsError(Exception):
    """The stack's configuration is invalid; the message lists every problem, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem"
                         f"{'' if len(problems) == 1 else 's'}):\n{lines}")


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    region: str
    environment: str
    vpc_cidr: str
    az_count: int
    nat_per_az: bool
    wallarm_mode: str
    wallarm_cloud: str
    wallarm_api_host: str
    wallarm_application: int
    # Exactly one of the two is set. The token is a secret Output, never a plain string.
    wallarm_token: pulumi.Output[str] | None
    wallarm_token_secret_arn: str | None
    node_image: str
    node_cpu: int
    node_memory: int
    node_postanalytics_memory_mib: int
    node_min_count: int
    node_max_count: int
    node_health_check_grace_period: int
    app_image: str
    app_port: int
    app_count: int
    app_health_check_path: str
    certificate_arn: str | None
    waf_managed_rule_groups: tuple[str, ...]
    waf_bot_control_inspection_level: str
    waf_rate_limit: int
    waf_rate_window_seconds: int
    waf_rate_limit_key: str
    deletion_protection: bool
    alb_access_logs: bool
    log_retention_days: int
    ops: OpsSettings
    # --- entry settings (issue 10) ---
    entry: EntrySettings
    # --- end of entry settings ---
    # --- network and backend (issue 11): see _network_and_backend() ---
    existing_network: ExistingNetwork | None = None
    backend: str = "service"
    existing_backend: ExistingBackend | None = None
    private_api: PrivateApi | None = None
    adopted_alb: AdoptedAlb | None = None
    # --- end network and backend ---
    # --- node fleet form (issue 18) ---
    node_fleet: str = "ecs"
    ec2_fleet: Ec2Fleet | None = None
    # --- end node fleet form ---

    @property
    def production(self) -> bool:
        """The one meaning of production (PRODUCTION_ENVIRONMENT; see `_environment`)."""
        return self.environment == PRODUCTION_ENVIRONMENT

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None

    @property
    def slab_alloc_arena_gb(self) -> str:
        """`SLAB_ALLOC_ARENA` takes GB as a decimal number."""
        return f"{self.node_postanalytics_memory_mib / 1024:g}"


# Lengths are checked before any pattern runs, so no value can make a pattern slow; every pattern
# is also free of nested quantifiers over overlapping characters (issue 20: a 64 KB appImage took
# 99 s against the old image pattern).
MAX_VALUE_CHARS = 1024
MAX_VALUE_CHARS_BY_KEY = {"backendCaBundle": 32_768, "wallarmToken": 4096}
MAX_LIST_ENTRIES = 64
MAX_LIST_ENTRY_CHARS = 512
# Printable ASCII: every setting is an AWS name, id, ARN, CIDR, host name or choice; only the CA
# bundle spans lines.
_PRINTABLE = _pattern(r"[\x20-\x7e]*")
_PRINTABLE_LINES = _pattern(r"[\x20-\x7e\r\n]*")
_INTEGER = _pattern(r"-?[0-9]{1,10}")
_GIVEN_CHARS = 80


def _shown(given: Any) -> str:
    """`given` as a message shows it: repr, cut to a readable length."""
    text = repr(given)
    return text if len(text) <= _GIVEN_CHARS else f"{text[:_GIVEN_CHARS]}... ({len(text)} characters)"


class _Reader:
    """Reads raw config strings and parses them, recording problems instead of raising."""

    def __init__(self, config: pulumi.Config):
        self.config = config
        self.problems: list[str] = []
        self.refused: set[str] = set()

    def secret(self, key: str) -> bool:
        """Whether the stack holds `key` as a secret (or it is the token): its value is never shown."""
        return key == "wallarmToken" or _is_secret(f"{NAMESPACE}:{key}")

    def problem(self, key: str, given: Any, allowed: str) -> None:
        shown = "a secret value" if self.secret(key) else _shown(given)
        self.problems.append(f"{key}: got {shown}; {allowed}")

    def raw(self, key: str) -> str | None:
        """The value as given, or None when unset. A value that is too long or holds characters no
        setting takes is reported once and read as unset (its default), so nothing else judges it."""
        value = self.config.get(key)
        if value is None or key in self.refused:
            return None
        limit = MAX_VALUE_CHARS_BY_KEY.get(key, MAX_VALUE_CHARS * (16 if _is_list(key) else 1))
        secret = self.secret(key)
        if len(value) > limit:
            self.refused.add(key)
            self.problems.append(f"{key}: got {len(value)} characters; allowed: at most {limit}")
            return None
        printable = _PRINTABLE_LINES if key == "backendCaBundle" or _is_list(key) else _PRINTABLE
        if not printable.fullmatch(value):
            self.refused.add(key)
            self.problems.append(f"{key}: got " + ("a secret value" if secret else _shown(value))
                                 + " with a control or non-ASCII character; allowed: printable ASCII")
            return None
        return value

    def string(self, key: str) -> str:
        value = self.raw(key)
        if value is None:
            if key in REQUIRED and key not in self.refused:
                self.problems.append(f"{key}: not set; it is required in every stack")
                return ""
            return DEFAULTS.get(key, "")
        return value.strip()

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if value is None:
            return DEFAULTS[key]
        # int() would also take `1_0`, ` 10 ` and other scripts' digits (`١`).
        if not _INTEGER.fullmatch(value.strip()):
            self.problem(key, value, "expected an integer (ASCII digits, optionally a leading -)")
            return DEFAULTS[key]
        return int(value.strip())

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if value is None:
            return DEFAULTS[key]
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        self.problem(key, value, "expected true or false")
        return DEFAULTS[key]

    def string_list(self, key: str) -> list[str]:
        value = self.raw(key)
        if value is None:
            return list(DEFAULTS[key])
        try:
            parsed = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
            self.problem(key, value, "expected a list of strings")
            return list(DEFAULTS[key])
        if len(parsed) > MAX_LIST_ENTRIES:
            self.problem(key, f"{len(parsed)} entries", f"allowed: at most {MAX_LIST_ENTRIES}")
            return list(DEFAULTS[key])
        bad = [v for v in parsed if len(v) > MAX_LIST_ENTRY_CHARS or not _PRINTABLE.fullmatch(v)]
        if bad:
            self.problem(key, bad[0], f"each entry is printable ASCII of at most {MAX_LIST_ENTRY_CHARS} "
                                      "characters (no newline or other control character)")
            return list(DEFAULTS[key])
        return parsed

    def check(self, key: str, value: Any, ok: bool, allowed: str) -> None:
        if not ok:
            self.problem(key, value, allowed)

    def one_of(self, key: str, value: Any, choices: tuple) -> None:
        self.check(key, value, value in choices, f"allowed: {', '.join(map(str, choices))}")

    def in_range(self, key: str, value: int, low: int, high: int) -> None:
        self.check(key, value, low <= value <= high, f"allowed: an integer from {low} to {high}")


def _is_list(key: str) -> bool:
    return isinstance(DEFAULTS.get(key), list)


def known_keys() -> set[str]:
    """Every `layerguard:` key the program reads (read at call time: other blocks add keys)."""
    return set(DEFAULTS) | set(REQUIRED)


def _config_keys() -> set[str]:
    """Every key of the stack's configuration. `pulumi.Config` cannot list keys; under the CLI the
    Python language host passes the whole configuration as PULUMI_CONFIG (pulumi/pulumi
    sdk/python/cmd/pulumi-language-python/main.go, `Run`) and pulumi-language-python-exec loads it
    with `pulumi.runtime.set_all_config(get_config_env(), ...)` before the program starts, so
    `pulumi.runtime.config.CONFIG` holds it (the environment is read too, for hosts that skip that)."""
    from pulumi.runtime import config as runtime_config
    try:
        from_env = set(runtime_config.get_config_env())
    except ValueError:   # PULUMI_CONFIG that is not JSON: nothing to list from it
        from_env = set()
    return set(runtime_config.CONFIG.get()) | from_env


def _unknown_keys(r: _Reader) -> None:
    """Refuse every `layerguard:` key the program does not read, naming the closest known one."""
    known = known_keys()
    by_lower = {k.lower(): k for k in known}
    for full in sorted(_config_keys()):
        if not full.startswith(f"{NAMESPACE}:"):
            continue
        key = full[len(NAMESPACE) + 1:]
        if key in known:
            continue
        if len(key) > 64:
            r.problems.append(f"{NAMESPACE}:{key[:64]}... ({len(key)} characters): not a setting of "
                              "this program; remove it")
            continue
        guess = by_lower.get(key.lower())
        if guess is None:
            close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
            guess = by_lower[close[0]] if close else None
        r.problems.append(f"{NAMESPACE}:{key}: not a setting of this program"
                          + (f"; did you mean {guess}?" if guess else "; remove it")
                          + " (the settings are listed in Pulumi.yaml)")


_REGISTRY = _pattern(r"[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?")
_PATH_COMPONENT = _pattern(r"[a-z0-9._-]{1,128}")
_SEPARATOR_RUN = _pattern(r"[._]{2}|[._]-|-[._]")
_IMAGE_TAG = _pattern(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
IMAGE_MAX_CHARS = 512


def image_reference_ok(ref: str) -> bool:
    """`[registry[:port]/]path[/path...][:tag][@sha256:<hex>]` as Docker reads it, checked piece by
    piece (no single pattern over the whole reference, so its time is linear in its length)."""
    if not ref or len(ref) > IMAGE_MAX_CHARS:
        return False
    name, at, digest = ref.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        return False
    parts = name.split("/")
    last, colon, tag = parts[-1].partition(":")
    if colon and not _IMAGE_TAG.fullmatch(tag):
        return False
    parts[-1] = last
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry = parts.pop(0)
        if not _REGISTRY.fullmatch(registry) or registry[0] in ".-" or registry.split(":")[0][-1] in ".-":
            return False
    return all(_PATH_COMPONENT.fullmatch(p) and p[0].isalnum() and p[-1].isalnum()
               and not _SEPARATOR_RUN.search(p.replace("__", "_0")) for p in parts)


def _ca_bundle_ok(pem: str) -> bool:
    """PEM certificates that parse as X.509, and nothing else in the text."""
    from cryptography import x509
    blocks = pem.count("-----BEGIN CERTIFICATE-----")
    if blocks == 0 or blocks != pem.count("-----END CERTIFICATE-----"):
        return False
    stripped = re.sub(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\r\n]*-----END CERTIFICATE-----", "", pem)
    if stripped.strip():
        return False
    try:
        return len(x509.load_pem_x509_certificates(pem.encode("ascii"))) == blocks
    except ValueError:
        return False


# --- network and backend (issue 11) ------------------------------------------------------------

NETWORKS = ("new", "existing")
BACKENDS = ("service", "existing", "private-apigateway")
BACKEND_SCHEMES = ("http", "https")
_VPC_ID = _pattern(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_SUBNET_ID = _pattern(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_SG_ID = _pattern(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_DNS_NAME = _pattern(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_API_ID = _pattern(r"^[a-z0-9]{10}$")
_STAGE = _pattern(r"^[A-Za-z0-9_-]{1,128}$")
_LISTENER_ARN = _pattern(r"^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):(\d{12}):"
                           r"listener/app/([A-Za-z0-9-]{1,32})/([0-9a-f]{16})/([0-9a-f]{16})$")


@dataclass(frozen=True)
class SubnetDecl:
    """A subnet the stack uses but does not own, as the user declared it."""

    id: str
    cidr: str
    az: str


@dataclass(frozen=True)
class ExistingNetwork:
    vpc_id: str
    vpc_cidrs: tuple[str, ...]
    public_subnets: tuple[SubnetDecl, ...]
    private_subnets: tuple[SubnetDecl, ...]


@dataclass(frozen=True)
class ExistingBackend:
    host: str
    port: int
    scheme: str
    tls_verify: bool
    ca_bundle: str | None           # PEM; None: the node image's system store
    host_header: str | None         # None: the client's Host is passed on
    security_group_ids: tuple[str, ...]
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class PrivateApi:
    api_id: str
    stage: str


@dataclass(frozen=True)
class AdoptedAlb:
    listener_arn: str
    load_balancer_arn: str
    load_balancer_security_group_id: str
    app_security_group_id: str | None


def _subnets(r: _Reader, key: str, vpc_nets: list, region: str) -> tuple[SubnetDecl, ...]:
    """`subnet-<id>,<cidr>,<az>` entries: each CIDR inside the VPC, at least two zones."""
    entries = r.string_list(key)
    out = []
    for entry in entries:
        parts = [p.strip() for p in entry.split(",")]
        if len(parts) != 3:
            r.problem(key, entry, "each entry is `subnet-<id>,<cidr>,<availability zone>`, "
                                  "e.g. subnet-0123456789abcdef0,10.40.0.0/24,eu-west-1a")
            continue
        sid, cidr, az = parts
        ok = bool(_SUBNET_ID.fullmatch(sid))
        r.check(key, entry, ok, f"{sid!r} is not a subnet id (subnet-<8 or 17 hex digits>)")
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            r.problem(key, entry, f"{cidr!r} is not an IPv4 network such as 10.40.0.0/24")
            continue
        if vpc_nets and not any(net.version == v.version and net.subnet_of(v) for v in vpc_nets):
            r.problem(key, entry, f"{cidr} lies outside existingVpcCidrs "
                                  f"({', '.join(map(str, vpc_nets))})")
        if region and not re.fullmatch(re.escape(region) + "[a-z]", az, re.ASCII):
            r.problem(key, entry, f"availability zone {az!r} is not in the stack's region "
                                  f"({region}), e.g. {region}a")
        out.append(SubnetDecl(sid, str(net), az))
    if len(out) == len(entries) and len({s.az for s in out}) < 2:
        r.problem(key, entries, "allowed: subnets in at least two availability zones "
                                "(the load balancers need two)")
    return tuple(out)


def _network_and_backend(r: _Reader, region: str, environment: str) -> dict[str, Any]:
    """The `network`, `backend` and `adopted*` settings and their cross-field rules."""
    found: dict[str, Any] = {"existing_network": None, "existing_backend": None,
                             "private_api": None, "adopted_alb": None}

    network = r.string("network")
    r.one_of("network", network, NETWORKS)
    existing_keys = ("existingVpcId", "existingVpcCidrs", "existingPublicSubnets",
                     "existingPrivateSubnets")
    if network == "existing":
        vpc_id = r.string("existingVpcId")
        r.check("existingVpcId", vpc_id, bool(_VPC_ID.fullmatch(vpc_id)),
                "required with network existing: a VPC id such as vpc-0123456789abcdef0")
        cidrs = r.string_list("existingVpcCidrs")
        nets = []
        for cidr in cidrs:
            try:
                net = ipaddress.ip_network(cidr, strict=True)
                ok = net.version == 4 and net.is_private
            except ValueError:
                ok = False
            r.check("existingVpcCidrs", cidr, ok,
                    "each entry is a private IPv4 network (RFC 1918), e.g. 10.40.0.0/16")
            if ok:
                nets.append(net)
        r.check("existingVpcCidrs", cidrs, bool(cidrs),
                "required with network existing: the VPC's IPv4 CIDR blocks")
        public = _subnets(r, "existingPublicSubnets", nets, region)
        private = _subnets(r, "existingPrivateSubnets", nets, region)
        every = [*public, *private]
        ids = [s.id for s in every]
        if len(set(ids)) != len(ids):
            r.problem("existingPrivateSubnets", sorted({i for i in ids if ids.count(i) > 1}),
                      "a subnet may be listed once, as public or as private")
        for i, a in enumerate(every):
            for b in every[i + 1:]:
                if a.id != b.id and ipaddress.ip_network(a.cidr).overlaps(ipaddress.ip_network(b.cidr)):
                    r.problem("existingPrivateSubnets", [a.cidr, b.cidr],
                              f"subnets {a.id} and {b.id} overlap; subnet CIDRs are disjoint")
        found["existing_network"] = ExistingNetwork(vpc_id, tuple(map(str, nets)), public, private)
    else:
        for key in existing_keys:
            value = r.raw(key)
            if value is not None and value.strip() not in ("", "[]"):
                r.problem(key, value, "allowed only with network existing")

    backend = r.string("backend")
    r.one_of("backend", backend, BACKENDS)
    found["backend"] = backend
    existing_backend_keys = ("backendHost", "backendHostHeader", "backendCaBundle",
                             "backendSecurityGroupIds", "backendCidrs")
    api_keys = ("backendApiId", "backendApiStage")
    if backend == "existing":
        host = r.string("backendHost")
        r.check("backendHost", host, bool(_DNS_NAME.fullmatch(host)),
                "required with backend existing: the backend's DNS name, e.g. "
                "internal-kong-123.eu-west-1.elb.amazonaws.com")
        port = r.integer("backendPort")
        r.in_range("backendPort", port, 1, 65535)
        scheme = r.string("backendScheme")
        r.one_of("backendScheme", scheme, BACKEND_SCHEMES)
        verify = r.boolean("backendTlsVerify")
        ca = (r.raw("backendCaBundle") or "").strip()
        if ca:
            ca = ca.replace("\r\n", "\n") + "\n"
            # The PEM is public; a mangled one would only fail at the node, so reject it here.
            r.check("backendCaBundle", ca[:40] + "...", _ca_bundle_ok(ca),
                    "allowed: PEM X.509 certificates (-----BEGIN CERTIFICATE----- ...) and nothing "
                    "else, or empty for the system store")
            if scheme != "https" or not verify:
                r.problem("backendCaBundle", ca[:40] + "...",
                          "allowed only with backendScheme https and backendTlsVerify true")
        if scheme == "https" and not verify and environment == "prod":
            r.problem("backendTlsVerify", False, "must be true in the prod environment")
        host_header = r.string("backendHostHeader")
        if host_header:
            r.check("backendHostHeader", host_header, bool(_DNS_NAME.fullmatch(host_header)),
                    "allowed: a DNS name, or empty to pass on the client's Host")
        sg_ids = r.string_list("backendSecurityGroupIds")
        for sg in sg_ids:
            r.check("backendSecurityGroupIds", sg, bool(_SG_ID.fullmatch(sg)),
                    "each entry is a security group id such as sg-0123456789abcdef0")
        if len(set(sg_ids)) != len(sg_ids):
            r.problem("backendSecurityGroupIds", sg_ids, "each group may appear once")
        cidrs = r.string_list("backendCidrs")
        for cidr in cidrs:
            try:
                net = ipaddress.ip_network(cidr, strict=True)
                ok = net.version == 4 and net.is_private and net.prefixlen >= 16
            except ValueError:
                ok = False
            r.check("backendCidrs", cidr, ok,
                    "each entry is a private IPv4 network of /16 or smaller, e.g. 10.40.8.0/24")
        adopted_app_sg = r.string("adoptedAppSecurityGroupId")
        if adopted_app_sg and adopted_app_sg in sg_ids:
            r.problem("backendSecurityGroupIds", sg_ids,
                      f"{adopted_app_sg} is adoptedAppSecurityGroupId: an adopted group gets its rule "
                      "inline, so list it in one of the two only")
        if not sg_ids and not cidrs and not adopted_app_sg:
            r.problem("backendSecurityGroupIds", [],
                      "with backend existing set backendSecurityGroupIds (the groups the stack "
                      "opens to the nodes) or backendCidrs (where the nodes may connect); the nodes "
                      "have no other egress to the backend")
        found["existing_backend"] = ExistingBackend(
            host, port, scheme, verify, ca or None, host_header or None, tuple(sg_ids), tuple(cidrs))
    else:
        for key in existing_backend_keys:
            value = r.raw(key)
            if value is not None and value.strip() not in ("", "[]"):
                r.problem(key, value if "Ca" not in key else value[:40] + "...",
                          "allowed only with backend existing")
        # Project defaults always reach the program, so only a changed value is a mistake here.
        for key, read in (("backendPort", r.integer), ("backendScheme", r.string),
                          ("backendTlsVerify", r.boolean)):
            value = read(key)
            if value != DEFAULTS[key]:
                r.problem(key, value, "allowed only with backend existing (the private API is "
                                      "reached over verified https on 443)"
                          if backend == "private-apigateway" else "allowed only with backend existing")
    if backend == "private-apigateway":
        api_id = r.string("backendApiId")
        r.check("backendApiId", api_id, bool(_API_ID.fullmatch(api_id)),
                "required with backend private-apigateway: the REST API id (10 lower-case "
                "letters and digits)")
        stage = r.string("backendApiStage")
        r.check("backendApiStage", stage, bool(_STAGE.fullmatch(stage)),
                "required with backend private-apigateway: the stage name, e.g. prod")
        found["private_api"] = PrivateApi(api_id, stage)
    else:
        for key in api_keys:
            value = r.raw(key)
            if value is not None and value.strip():
                r.problem(key, value, "allowed only with backend private-apigateway")

    listener = r.string("adoptedListenerArn")
    listener_sg = r.string("adoptedLoadBalancerSecurityGroupId")
    app_sg = r.string("adoptedAppSecurityGroupId")
    if listener:
        match = _LISTENER_ARN.fullmatch(listener)
        r.check("adoptedListenerArn", listener, bool(match),
                "allowed: an application load balancer listener ARN "
                "(arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)")
        _same_region(r, "adoptedListenerArn", listener, match, region)
        r.check("adoptedLoadBalancerSecurityGroupId", listener_sg, bool(_SG_ID.fullmatch(listener_sg)),
                "required with adoptedListenerArn: the adopted ALB's security group id")
        if network != "existing":
            r.problem("adoptedListenerArn", listener,
                      "an adopted ALB lives in an existing VPC: set network existing")
        if not r.string("certificateArn"):
            r.problem("adoptedListenerArn", listener,
                      "the adopted listener becomes HTTPS:443: set certificateArn")
        if app_sg:
            r.check("adoptedAppSecurityGroupId", app_sg, bool(_SG_ID.fullmatch(app_sg)),
                    "allowed: a security group id such as sg-0123456789abcdef0")
            if backend != "existing":
                r.problem("adoptedAppSecurityGroupId", app_sg,
                          "allowed only with backend existing (it is the backend's group)")
        if match:
            lb_arn = (listener.split(":listener/")[0] + ":loadbalancer/"
                      + "/".join(listener.split(":listener/")[1].split("/")[:3]))
            found["adopted_alb"] = AdoptedAlb(listener, lb_arn, listener_sg, app_sg or None)
    else:
        for key, value in (("adoptedLoadBalancerSecurityGroupId", listener_sg),
                           ("adoptedAppSecurityGroupId", app_sg)):
            if value:
                r.problem(key, value, "allowed only with adoptedListenerArn")
    return found

# --- end network and backend --------------------------------------------------------------------


def _is_secret(full_key: str) -> bool:
    from pulumi.runtime import config as runtime_config
    return (runtime_config.is_config_secret(full_key)
            or full_key in runtime_config.get_config_secret_keys_env())

# --- node fleet form (issue 18) ----------------------------------------------------------------
# `nodeFleet`: the Wallarm nodes as an ECS Fargate service of the wallarm/node image (ecs) or as an
# EC2 Auto Scaling group of Wallarm's AMI (ec2, components/node_fleet_ec2.py).

NODE_FLEETS = ("ecs", "ec2")
# Wallarm's AMI is published through AWS Marketplace, whose images are owned by this account (the
# owner Wallarm's own Terraform module looks the AMI up under: wallarm/terraform-aws-wallarm,
# modules/template/ami.tf, with owner-alias aws-marketplace and name wallarm-node-<x>-<y>-*).
AWS_MARKETPLACE_OWNER = "679593333241"
AMI_OWNER_ALIASES = ("self", "aws-marketplace", "amazon")
# The AMI is x86_64 (the architecture Wallarm's module filters on): Graviton types cannot boot it.
_INSTANCE_TYPE = re.compile(r"^([a-z]+)(\d+)([a-z-]*)\.([0-9]*[a-z]+[0-9]*)$")
_AMI_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_ACCOUNT = re.compile(r"^\d{12}$")
# EC2 image names: 3-128 of letters, digits, ( ) [ ] space . / - ' @ _ ; plus the filter wildcards.
_AMI_NAME_PATTERN = re.compile(r"^[A-Za-z0-9()\[\] ./'@_*?-]{3,128}$")
# An instance boots, registers with the Wallarm Cloud and loads its rules before it is ready.
EC2_MIN_GRACE_SECONDS = 300
_ECS_ONLY_KEYS = ("nodeCpu", "nodeMemory", "nodePostanalyticsMemoryMib", "nodeImagePullThrough",
                  "nodeImagePullThroughPrefix", "dockerHubCredentialArn")
_EC2_ONLY_KEYS = ("nodeInstanceType", "nodeAmiId", "nodeAmiOwner", "nodeAmiNamePattern",
                  "nodeVolumeSizeGib")


@dataclass(frozen=True)
class Ec2Fleet:
    instance_type: str
    ami_id: str | None              # None: the newest image matching ami_name_pattern
    ami_owner: str
    ami_name_pattern: str
    volume_size_gib: int


def _node_fleet(r: _Reader, node_tag: str, grace: int) -> dict[str, Any]:
    """`nodeFleet` and the EC2 fleet's keys; a key of the other fleet is a mistake worth naming."""
    fleet = r.string("nodeFleet")
    r.one_of("nodeFleet", fleet, NODE_FLEETS)
    found: dict[str, Any] = {"node_fleet": fleet, "ec2_fleet": None}
    if fleet not in NODE_FLEETS:
        return found
    for key in _ECS_ONLY_KEYS if fleet == "ec2" else _EC2_ONLY_KEYS:
        if _differs(r.raw(key), DEFAULTS[key]):
            other = "ecs" if fleet == "ec2" else "ec2"
            r.problem(key, r.raw(key), f"applies only with nodeFleet {other}, not with nodeFleet "
                                       f"{fleet}; remove it")
    if fleet == "ecs":
        return found

    instance_type = r.string("nodeInstanceType")
    m = _INSTANCE_TYPE.fullmatch(instance_type)
    if not m:
        r.problem("nodeInstanceType", instance_type, "allowed: an EC2 instance type such as c6i.large")
    elif "g" in m.group(3) or m.group(1) == "a":
        r.problem("nodeInstanceType", instance_type, "allowed: an x86_64 instance type (Wallarm's "
                  "AMI is x86_64; Graviton types such as c7g cannot run it), e.g. c6i.large")
    elif m.group(4) in ("nano", "micro", "small"):
        r.problem("nodeInstanceType", instance_type, "allowed: a medium size or bigger (2 vCPU or "
                  "more): Wallarm sizes NGINX and postanalytics at one vCPU each")
    ami_id = r.string("nodeAmiId")
    if ami_id:
        r.check("nodeAmiId", ami_id, bool(_AMI_ID.fullmatch(ami_id)),
                "allowed: an AMI id such as ami-0123456789abcdef0, or empty for the newest image "
                "matching nodeAmiOwner and nodeAmiNamePattern")
    owner = r.string("nodeAmiOwner")
    r.check("nodeAmiOwner", owner, bool(_ACCOUNT.fullmatch(owner)) or owner in AMI_OWNER_ALIASES,
            f"allowed: a 12-digit AWS account id ({AWS_MARKETPLACE_OWNER} for AWS Marketplace, where "
            f"Wallarm publishes its AMI) or one of {', '.join(AMI_OWNER_ALIASES)}")
    pattern = r.string("nodeAmiNamePattern")
    tag = _NODE_TAG.fullmatch(node_tag)
    if pattern:
        r.check("nodeAmiNamePattern", pattern, bool(_AMI_NAME_PATTERN.fullmatch(pattern)),
                "allowed: an AMI name filter of 3-128 letters, digits, ( ) [ ] . / - ' @ _ and the "
                "wildcards * ?, e.g. wallarm-node-7-1-*")
    elif tag:
        # Wallarm names its AMIs after the node release: wallarm-node-<major>-<minor>-<build>.
        pattern = f"wallarm-node-{tag.group(1)}-{tag.group(2)}-*"
    size = r.integer("nodeVolumeSizeGib")
    r.in_range("nodeVolumeSizeGib", size, 8, 1024)
    if grace < EC2_MIN_GRACE_SECONDS:
        r.problem("nodeHealthCheckGracePeriod", grace,
                  f"with nodeFleet ec2 at least {EC2_MIN_GRACE_SECONDS} seconds: an instance boots, "
                  "registers with the Wallarm Cloud and loads its rules before its readiness answers, "
                  "and a shorter grace period makes the Auto Scaling group replace it in a loop")
    found["ec2_fleet"] = Ec2Fleet(instance_type, ami_id or None, owner, pattern, size)
    return found

# --- end node fleet form ------------------------------------------------------------------------

# --- Nodes that fail closed and stay in mode; operations ---------------------------------------
# Kept in one block: the node fleet, the edge's WAF overrides, the operations layer and the custom
# domain read these through `Settings.ops`.

MODE_ALLOW_OVERRIDES = ("strict", "off")
# Node releases from 7.1 serve 127.0.0.1:9446/ready (wd); failing closed follows it.
READINESS_SINCE = (7, 1)
WAF_BODY_SIZE_ACTIONS = ("count", "block")
# ECR pull-through cache: Docker Hub credentials must live in a secret named with this prefix.
PULL_THROUGH_SECRET_PREFIX = "ecr-pullthroughcache/"
_ECR_PREFIX = _pattern(r"^(?=.{2,30}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_KMS_KEY_ARN = _pattern(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key/[0-9a-f-]{36}$")
_SNS_ARN = _pattern(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}$")
_DOMAIN = _pattern(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = _pattern(r"^Z[A-Z0-9]{1,31}$")


@dataclass(frozen=True)
class OpsSettings:
    wallarm_mode_allow_override: str
    # True: WALLARM_FALLBACK=false and `wallarm_fallback off`, and the LB health check follows the
    # node's readiness; a node that cannot filter stops receiving traffic.
    node_fail_closed: bool
    # None: pull wallarm/node from Docker Hub directly (anonymous, rate limited).
    node_image_pull_through_prefix: str | None
    docker_hub_credential_arn: str | None
    wallarm_token_kms_key_arn: str | None
    node_max_body_size_mib: int
    waf_body_size_action: str
    wait_for_steady_state: bool
    alarm_topic_arn: str | None
    aws_config_rules: bool
    domain_name: str | None
    hosted_zone_id: str | None


def _same_region(r: _Reader, key: str, value: str, match: re.Match | None, region: str) -> None:
    """An ARN that matched its pattern names the stack's region, in the region's partition."""
    if match and region and match.group(1) != region:
        r.problem(key, value, f"must be in the stack's region ({region})")
    elif match and region and value.split(":", 2)[1] != partition(region):
        r.problem(key, value, f"must be in the partition of the stack's region ({partition(region)})")


def _load_ops(r: _Reader, region: str, environment: str, *, token_arn_given: bool,
              fleet: str = "ecs") -> OpsSettings:
    override = r.string("wallarmModeAllowOverride")
    r.one_of("wallarmModeAllowOverride", override, MODE_ALLOW_OVERRIDES)

    fail_closed = r.boolean("nodeFailClosed")
    if environment == "prod" and not fail_closed:
        r.problem("nodeFailClosed", False, "must be true in the prod environment: a node that "
                  "cannot load its rules must not receive traffic")
    tag = _NODE_TAG.fullmatch(r.string("nodeImageTag") or "")
    if fail_closed and tag and (int(tag.group(1)), int(tag.group(2))) < READINESS_SINCE:
        r.problem("nodeFailClosed", True, "needs nodeImageTag 7.1.0 or later, whose nodes serve "
                  "the readiness endpoint the health check follows (or set nodeFailClosed false "
                  "outside prod)")

    pull_through = r.boolean("nodeImagePullThrough")
    prefix = r.string("nodeImagePullThroughPrefix")
    r.check("nodeImagePullThroughPrefix", prefix, bool(_ECR_PREFIX.fullmatch(prefix)),
            "allowed: an ECR repository prefix of 2-30 characters (lower-case letters, digits, "
            "'.', '_', '-', '/'), e.g. docker-hub")
    credential = r.string("dockerHubCredentialArn")
    if credential:
        m = _SECRET_ARN.fullmatch(credential)
        name = credential.split(":secret:", 1)[-1]
        r.check("dockerHubCredentialArn", credential,
                bool(m) and name.startswith(PULL_THROUGH_SECRET_PREFIX),
                "allowed: a Secrets Manager secret ARN whose name starts with "
                f"{PULL_THROUGH_SECRET_PREFIX} (ECR pull-through cache reads only those)")
        _same_region(r, "dockerHubCredentialArn", credential, m, region)
    elif pull_through and fleet == "ecs":  # EC2 nodes run the Wallarm AMI: no image to pull
        r.problem("dockerHubCredentialArn", credential,
                  "required while nodeImagePullThrough is true: ECR pulls through to Docker Hub "
                  f"only with credentials (a secret named {PULL_THROUGH_SECRET_PREFIX}...)")

    kms = r.string("wallarmTokenKmsKeyArn")
    if kms:
        m = _KMS_KEY_ARN.fullmatch(kms)
        r.check("wallarmTokenKmsKeyArn", kms, bool(m),
                "allowed: a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias")
        _same_region(r, "wallarmTokenKmsKeyArn", kms, m, region)
        if not token_arn_given:
            r.problem("wallarmTokenKmsKeyArn", kms, "only with wallarmTokenSecretArn: the secret "
                      "the program creates uses the AWS managed key")

    body = r.integer("nodeMaxBodySizeMib")
    r.in_range("nodeMaxBodySizeMib", body, 1, 1024)
    body_action = r.string("wafBodySizeAction")
    r.one_of("wafBodySizeAction", body_action, WAF_BODY_SIZE_ACTIONS)

    steady = r.boolean("waitForSteadyState")
    topic = r.string("alarmTopicArn")
    if topic:
        m = _SNS_ARN.fullmatch(topic)
        r.check("alarmTopicArn", topic, bool(m),
                "allowed: an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
        _same_region(r, "alarmTopicArn", topic, m, region)
    config_rules = r.boolean("awsConfigRules")

    domain = r.string("domainName").lower().rstrip(".")
    zone = r.string("hostedZoneId")
    if domain or zone:
        r.check("domainName", domain, bool(_DOMAIN.fullmatch(domain)),
                "allowed: a DNS name such as api.example.com (set together with hostedZoneId)")
        r.check("hostedZoneId", zone, bool(_ZONE_ID.fullmatch(zone)),
                "allowed: a Route 53 public hosted zone id such as Z0123456789ABCDEFGHIJ "
                "(set together with domainName)")

    return OpsSettings(
        wallarm_mode_allow_override=override,
        node_fail_closed=fail_closed,
        node_image_pull_through_prefix=prefix if pull_through else None,
        docker_hub_credential_arn=credential or None,
        wallarm_token_kms_key_arn=kms or None,
        node_max_body_size_mib=body,
        waf_body_size_action=body_action,
        wait_for_steady_state=steady,
        alarm_topic_arn=topic or None,
        aws_config_rules=config_rules,
        domain_name=domain or None,
        hosted_zone_id=zone or None,
    )
# --- end of the fail-closed / operations block -------------------------------------------------


def _environment(r: _Reader) -> str:
    """`environment`: one of ENVIRONMENTS, never blank; a stack named as production (the pack's
    fallback globs, PRODUCTION_STACKS) must say prod, so the program and the pack agree."""
    before = len(r.problems)
    environment = r.string("environment")
    if len(r.problems) > before or "environment" in r.refused:   # not set, or unreadable: reported
        return ""
    r.one_of("environment", environment, ENVIRONMENTS)
    stack = pulumi.get_stack()
    if (environment in ENVIRONMENTS and environment != PRODUCTION_ENVIRONMENT
            and any(fnmatch.fnmatchcase(stack, p) for p in PRODUCTION_STACKS)):
        r.problem("environment", environment,
                  f"stack {stack!r} is production by its name ({', '.join(PRODUCTION_STACKS)}), "
                  f"which the policy pack judges as prod whatever it declares: set environment "
                  f"{PRODUCTION_ENVIRONMENT}, or name the stack otherwise")
    return environment


def _node_image(r: _Reader, environment: str) -> str:
    """`wallarm/node:<tag>[@<digest>]`. The tag names the release (Wallarm's versioning policy:
    SUPPORTED_NODE_RELEASES), the optional digest pins its bytes; production needs
    PRODUCTION_NODE_FLOOR. A digest never stands alone: without the tag neither this program nor
    the policy pack could tell the release."""
    tag = r.string("nodeImageTag")
    digest = r.string("nodeImageDigest")
    match = _NODE_TAG.fullmatch(tag)
    release = (int(match.group(1)), int(match.group(2))) if match else None
    supported = ", ".join(f"{major}.{minor} or a later {major}.x"
                          for major, (_m, minor) in sorted(SUPPORTED_NODE_RELEASES.items(), reverse=True))
    if release is None or release[0] not in SUPPORTED_NODE_RELEASES:
        r.problem("nodeImageTag", tag, f"allowed: a wallarm/node release tag (e.g. 7.1.0) of a "
                                       f"supported line: {supported}")
    elif release < SUPPORTED_NODE_RELEASES[release[0]]:
        r.problem("nodeImageTag", tag, f"Wallarm supports only the latest minor of each major: "
                                       f"{supported}")
    elif environment == PRODUCTION_ENVIRONMENT and release < PRODUCTION_NODE_FLOOR:
        floor = ".".join(map(str, PRODUCTION_NODE_FLOOR))
        r.problem("nodeImageTag", tag, f"the prod environment needs {floor} or later (it fixes a "
                                       "detection bypass through streamed request data)")
    if digest and not _DIGEST.fullmatch(digest):
        r.problem("nodeImageDigest", digest, "allowed: sha256:<64 lower-case hex digits> (the "
                                             "image manifest digest), or empty")
    return f"wallarm/node:{tag}" + (f"@{digest}" if digest else "")


def load(config: pulumi.Config | None = None) -> Settings:
    """Read and validate every setting; raise one SettingsError naming every bad key."""
    config = config or pulumi.Config(NAMESPACE)
    r = _Reader(config)

    region = pulumi.Config("aws").get("region") or ""
    region_ok = bool(_REGION.fullmatch(region))
    if not region_ok:
        r.problems.append(f"aws:region: got {region!r}; set an AWS region such as eu-west-1 "
                          "(`pulumi config set aws:region eu-west-1`)")

    _unknown_keys(r)
    for key in sorted(known_keys()):
        r.raw(key)   # every value's length and characters, before any pattern or parser sees it
    environment = _environment(r)

    vpc_cidr = r.string("vpcCidr")
    try:
        network = ipaddress.ip_network(vpc_cidr, strict=True)
        ok = network.version == 4 and network.is_private and 16 <= network.prefixlen <= 24
    except ValueError:
        ok = False
    r.check("vpcCidr", vpc_cidr, ok,
            "allowed: a private IPv4 network (RFC 1918) with a prefix from /16 to /24, e.g. 10.20.0.0/16")

    az_count = r.integer("azCount")
    r.in_range("azCount", az_count, 2, 3)
    nat = r.string("natGateways")
    r.one_of("natGateways", nat, NAT_LAYOUTS)

    mode = r.string("wallarmMode")
    r.one_of("wallarmMode", mode, WALLARM_MODES)
    cloud = r.string("wallarmCloud")
    r.one_of("wallarmCloud", cloud, tuple(WALLARM_API_HOSTS))
    application = r.integer("wallarmApplication")
    r.check("wallarmApplication", application, application == -1 or application >= 1,
            "allowed: -1 (the default application) or a positive application id")

    node_image = _node_image(r, environment)

    cpu = r.integer("nodeCpu")
    memory = r.integer("nodeMemory")
    if cpu not in FARGATE_MEMORY:
        r.one_of("nodeCpu", cpu, tuple(FARGATE_MEMORY))
    elif memory not in FARGATE_MEMORY[cpu]:
        pairs = FARGATE_MEMORY[cpu]
        r.problem("nodeMemory", memory,
                  f"with nodeCpu {cpu} Fargate allows {pairs[0]} to {pairs[-1]} MiB "
                  f"({', '.join(map(str, pairs))})")
    memory_ok = cpu in FARGATE_MEMORY and memory in FARGATE_MEMORY[cpu]
    arena = r.integer("nodePostanalyticsMemoryMib")
    if arena < 128:
        r.problem("nodePostanalyticsMemoryMib", arena, "allowed: at least 128 MiB")
    elif memory_ok and arena + NODE_NGINX_HEADROOM_MIB > memory:
        r.problem("nodePostanalyticsMemoryMib", arena,
                  f"must fit inside nodeMemory ({memory} MiB) with {NODE_NGINX_HEADROOM_MIB} MiB "
                  f"left for NGINX: at most {memory - NODE_NGINX_HEADROOM_MIB} MiB")

    min_count = r.integer("nodeMinCount")
    max_count = r.integer("nodeMaxCount")
    r.in_range("nodeMinCount", min_count, 1, 100)
    r.in_range("nodeMaxCount", max_count, 1, 100)
    if min_count > max_count:
        r.problem("nodeMaxCount", max_count, f"must be at least nodeMinCount ({min_count})")
    grace = r.integer("nodeHealthCheckGracePeriod")
    r.in_range("nodeHealthCheckGracePeriod", grace, 60, 1800)

    # The token: a Pulumi secret, or the ARN of a Secrets Manager secret that already holds it.
    token_key = f"{NAMESPACE}:wallarmToken"
    token_given = bool((r.raw("wallarmToken") or "").strip())
    token_arn = r.string("wallarmTokenSecretArn")
    if token_given == bool(token_arn) and "wallarmTokenSecretArn" not in r.refused:
        r.problems.append(
            "wallarmToken / wallarmTokenSecretArn: "
            + ("both are set" if token_given else "neither is set")
            + "; set exactly one: the node token as a secret "
              "(`pulumi config set --secret wallarmToken`) or the ARN of an existing "
              "Secrets Manager secret holding it")
    if token_given and not _is_secret(token_key):
        # Never echo the value: it is the credential.
        r.problems.append("wallarmToken: given in plaintext; allowed: a secret value only "
                          "(`pulumi config set --secret wallarmToken ...`)")
    if token_arn:
        arn_match = _SECRET_ARN.fullmatch(token_arn)
        r.check("wallarmTokenSecretArn", token_arn, bool(arn_match),
                "allowed: a Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
        _same_region(r, "wallarmTokenSecretArn", token_arn, arn_match, region if region_ok else "")

    app_image = r.string("appImage")
    r.check("appImage", app_image, image_reference_ok(app_image),
            "allowed: a container image reference such as ealen/echo-server:0.9.2")
    app_port = r.integer("appPort")
    r.in_range("appPort", app_port, 1024, 65535)
    app_count = r.integer("appCount")
    r.in_range("appCount", app_count, 1, 100)
    health_path = r.string("appHealthCheckPath")
    r.check("appHealthCheckPath", health_path,
            bool(_HEALTH_PATH.fullmatch(health_path)),
            "allowed: an absolute URL path such as /health")

    certificate = r.string("certificateArn")
    http_only = r.boolean("allowHttpOnly")
    entry = _entry_settings(r, region if region_ok else None, certificate, http_only)
    if entry.kind != "alb":
        pass  # certificateArn and allowHttpOnly were judged for this entry by _entry_settings
    elif certificate:
        cert_match = _ACM_ARN.fullmatch(certificate)
        r.check("certificateArn", certificate, bool(cert_match),
                "allowed: an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)")
        _same_region(r, "certificateArn", certificate, cert_match, region if region_ok else "")
        if http_only:
            r.problem("allowHttpOnly", True, "must be false when certificateArn is set")
    elif not http_only:
        r.problem("certificateArn", certificate,
                  "required: an ACM certificate ARN for the HTTPS listener "
                  "(HTTP only is possible in dev, with allowHttpOnly: true)")
    elif environment and environment != "dev":
        r.problem("allowHttpOnly", True,
                  f"HTTP only is allowed in the dev environment only, not in {environment}")

    groups = r.string_list("wafManagedRuleGroups")
    unknown = [g for g in groups if g not in WAF_MANAGED_RULE_GROUPS]
    duplicates = sorted({g for g in groups if groups.count(g) > 1})
    if unknown:
        r.problem("wafManagedRuleGroups", unknown,
                  f"allowed: {', '.join(WAF_MANAGED_RULE_GROUPS)}")
    if duplicates:
        r.problem("wafManagedRuleGroups", duplicates, "each rule group may appear once")
    if not groups:
        r.problem("wafManagedRuleGroups", groups, "allowed: at least one managed rule group (a web "
                  "ACL with the rate rule alone inspects nothing), e.g. the default list")
    elif environment == PRODUCTION_ENVIRONMENT and set(WAF_PRODUCTION_BASELINE) - set(groups):
        r.problem("wafManagedRuleGroups", groups,
                  f"must include {' and '.join(WAF_PRODUCTION_BASELINE)} in the prod environment "
                  "(AWS's baseline rule groups)")
    bot_level = r.string("wafBotControlInspectionLevel")
    r.one_of("wafBotControlInspectionLevel", bot_level, BOT_CONTROL_INSPECTION_LEVELS)
    if BOT_CONTROL not in groups and _differs(r.raw("wafBotControlInspectionLevel"),
                                              DEFAULTS["wafBotControlInspectionLevel"]):
        r.problem("wafBotControlInspectionLevel", bot_level,
                  f"applies only when wafManagedRuleGroups lists {BOT_CONTROL}; remove it")
    capacity = WAF_RATE_RULE_WCU + sum(WAF_MANAGED_RULE_GROUPS.get(g, 0) for g in set(groups))
    if capacity > WAF_WCU_BUDGET:
        r.problem("wafManagedRuleGroups", groups,
                  f"needs {capacity} WCU with the rate rule; the web ACL budget is "
                  f"{WAF_WCU_BUDGET} WCU (capacities: "
                  + ", ".join(f"{g} {WAF_MANAGED_RULE_GROUPS[g]}" for g in groups
                              if g in WAF_MANAGED_RULE_GROUPS) + ")")

    rate_limit = r.integer("wafRateLimit")
    r.in_range("wafRateLimit", rate_limit, 10, RATE_LIMIT_MAX)
    rate_window = r.integer("wafRateWindowSeconds")
    r.one_of("wafRateWindowSeconds", rate_window, RATE_WINDOWS)
    rate_key = r.string("wafRateLimitKey")
    r.one_of("wafRateLimitKey", rate_key, RATE_LIMIT_KEYS)
    if rate_key == "FORWARDED_IP":
        r.problem("wafRateLimitKey", rate_key, _FORWARDED_IP_REFUSED.format(entry=entry.kind))

    deletion_protection = r.boolean("deletionProtection")
    if environment == "prod" and not deletion_protection:
        r.problem("deletionProtection", False, "must be true in the prod environment")
    access_logs = r.boolean("albAccessLogs")
    if environment == "prod" and not access_logs:
        r.problem("albAccessLogs", False, "must be true in the prod environment")
    retention = r.integer("logRetentionDays")
    r.one_of("logRetentionDays", retention, LOG_RETENTION_DAYS)

    network_and_backend = _network_and_backend(r, region if region_ok else "", environment)
    fleet = _node_fleet(r, r.string("nodeImageTag"), grace)
    ops = _load_ops(r, region if region_ok else "", environment,
                    token_arn_given=bool(token_arn) and bool(_SECRET_ARN.fullmatch(token_arn)),
                    fleet=fleet["node_fleet"])

    # The custom domain is an alias record to the edge ALB and a certificate on its HTTPS listener:
    # only the ALB entry the stack builds has both (CloudFront and API Gateway take their own names).
    domain = getattr(ops, "domain_name", "")
    if domain and (getattr(entry, "kind", "alb") != "alb" or network_and_backend.get("adopted_alb") is not None):
        r.problem("domainName", domain, "is supported with entry alb on an ALB the stack builds; with "
                                        "cloudfront set cloudfrontAliases, with apigateway apiGatewayDomainName")
    if r.problems:
        raise SettingsError(r.problems)

    token: pulumi.Output[str] | None = None
    if token_given:
        token = pulumi.Output.secret(r.raw("wallarmToken").strip())

    return Settings(
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        region=region,
        environment=environment,
        vpc_cidr=vpc_cidr,
        az_count=az_count,
        nat_per_az=nat == "perAz",
        wallarm_mode=mode,
        wallarm_cloud=cloud,
        wallarm_api_host=WALLARM_API_HOSTS[cloud],
        wallarm_application=application,
        wallarm_token=token,
        wallarm_token_secret_arn=token_arn or None,
        node_image=node_image,
        node_cpu=cpu,
        node_memory=memory,
        node_postanalytics_memory_mib=arena,
        node_min_count=min_count,
        node_max_count=max_count,
        node_health_check_grace_period=grace,
        app_image=app_image,
        app_port=app_port,
        app_count=app_count,
        app_health_check_path=health_path,
        certificate_arn=certificate or None,
        waf_managed_rule_groups=tuple(groups),
        waf_bot_control_inspection_level=bot_level,
        waf_rate_limit=rate_limit,
        waf_rate_window_seconds=rate_window,
        waf_rate_limit_key=rate_key,
        deletion_protection=deletion_protection,
        alb_access_logs=access_logs,
        log_retention_days=retention,
        **network_and_backend,
        **fleet,
        ops=ops,
        entry=entry,
    )


# ================================================================================================
# Entry settings (issue 10): which internet entry stands in front of the nodes, and what it needs.
# Kept in one block so it merges cleanly with other changes to this module.
# ================================================================================================

ENTRIES = ("alb", "cloudfront", "nlb", "apigateway")
CLOUDFRONT_ORIGIN_STYLES = ("vpcOrigin", "publicAlb")
# CloudFront only takes viewer certificates (and CLOUDFRONT web ACLs) from us-east-1.
CLOUDFRONT_REGION = "us-east-1"
NLB_EXEMPTION_MIN_CHARS = 20
# auto: on when the NLB faces the clients (the nodes see them), off behind CloudFront (the nodes
# then read the viewer from the X-Forwarded-For CloudFront wrote, instead of CloudFront's address).
NLB_IP_PRESERVATION = ("auto", "on", "off")
API_GATEWAY_RATE_MAX = 10_000   # the default account-level REST API quota per region
API_GATEWAY_BURST_MAX = 5_000
_DNS_NAME = _pattern(r"^(?=.{1,253}$)(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# AWS tag values: letters, digits, spaces and _ . : / = + - @, at most 256 characters.
_TAG_VALUE = _pattern(r"^[\w .:/=+\-@]{1,256}$")
_WAF_KEYS = ("wafManagedRuleGroups", "wafRateLimit", "wafRateWindowSeconds", "wafRateLimitKey")
_S3_URI = _pattern(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+$")
# Which keys belong to which entry: setting one of them for another entry is a mistake worth naming.
_ENTRY_KEYS = {
    "cloudfrontOriginStyle": ("cloudfront",),
    "cloudfrontCertificateArn": ("cloudfront", "nlb"),
    "cloudfrontAliases": ("cloudfront", "nlb"),
    "nlbFrontedByCloudFront": ("nlb",),
    "nlbWafExemptionReason": ("nlb",),
    "nlbClientIpPreservation": ("nlb",),
    "apiGatewayThrottleRateLimit": ("apigateway",),
    "apiGatewayThrottleBurstLimit": ("apigateway",),
    "apiGatewayDomainName": ("apigateway",),
    "apiGatewayMtlsTruststoreUri": ("apigateway",),
    "apiGatewayManageAccountLogRole": ("apigateway",),
}
# AWS WAF reads only the first address of the header, and skips the rule when the header is
# absent (docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-forwarded-ip-address.html),
# so a client that writes or omits X-Forwarded-For escapes a FORWARDED_IP rate limit. Every web ACL
# this program builds sits at the first hop: the ALB's and the REST stage's see the client as the
# source, and a CLOUDFRONT-scope ACL is evaluated at the edge, where the source is the viewer.
_FORWARDED_IP_REFUSED = (
    "allowed: IP. With entry {entry} the web ACL is at the first hop (a CloudFront web ACL is "
    "evaluated at the edge and already sees the viewer's address as the source), so "
    "X-Forwarded-For is written by the client and FORWARDED_IP would let it dodge the rate limit; "
    "FORWARDED_IP belongs only on a web ACL behind a trusted proxy")


def _differs(raw: str | None, default: Any) -> bool:
    if raw is None:
        return False
    if isinstance(default, bool):
        return raw.strip().lower() != str(default).lower()
    if isinstance(default, list):
        try:
            return json.loads(raw) != default
        except json.JSONDecodeError:
            return True
    return raw.strip() != str(default)


@dataclass(frozen=True)
class EntrySettings:
    kind: str                                   # alb | cloudfront | nlb | apigateway
    cloudfront_origin_style: str
    cloudfront_certificate_arn: str | None      # us-east-1 viewer certificate
    cloudfront_aliases: tuple[str, ...]
    nlb_fronted_by_cloudfront: bool
    nlb_waf_exemption_reason: str | None
    nlb_client_ip_preservation: bool
    api_throttle_rate_limit: int
    api_throttle_burst_limit: int
    api_domain_name: str | None
    api_mtls_truststore_uri: str | None
    api_manage_account_log_role: bool

    @property
    def cloudfront_in_front(self) -> bool:
        return self.kind == "cloudfront" or (self.kind == "nlb" and self.nlb_fronted_by_cloudfront)


def _entry_settings(r: _Reader, region: str | None, certificate: str,
                    http_only: bool) -> EntrySettings:
    """Read the entry keys and judge them together with certificateArn and allowHttpOnly (for
    every entry but alb, whose rules stay in load())."""
    kind = r.string("entry")
    r.one_of("entry", kind, ENTRIES)
    # Project defaults reach the program as config, so only a value other than the default counts.
    for key, owners in _ENTRY_KEYS.items():
        if kind in ENTRIES and kind not in owners and _differs(r.raw(key), DEFAULTS[key]):
            r.problem(key, r.raw(key), f"applies only with entry {' or '.join(owners)}, not with "
                                       f"entry {kind}; remove it")

    style = r.string("cloudfrontOriginStyle")
    r.one_of("cloudfrontOriginStyle", style, CLOUDFRONT_ORIGIN_STYLES)
    before = len(r.problems)
    fronted = r.boolean("nlbFrontedByCloudFront")
    fronted_known = len(r.problems) == before  # a bad value is reported once, not judged further
    reason = r.string("nlbWafExemptionReason")
    preservation_mode = r.string("nlbClientIpPreservation")
    r.one_of("nlbClientIpPreservation", preservation_mode, NLB_IP_PRESERVATION)
    rate = r.integer("apiGatewayThrottleRateLimit")
    r.in_range("apiGatewayThrottleRateLimit", rate, 1, API_GATEWAY_RATE_MAX)
    burst = r.integer("apiGatewayThrottleBurstLimit")
    r.in_range("apiGatewayThrottleBurstLimit", burst, 1, API_GATEWAY_BURST_MAX)
    domain = r.string("apiGatewayDomainName").lower()
    truststore = r.string("apiGatewayMtlsTruststoreUri")
    account_role = r.boolean("apiGatewayManageAccountLogRole")
    cf_certificate = r.string("cloudfrontCertificateArn")
    aliases = [a.strip().lower() for a in r.string_list("cloudfrontAliases")]

    cloudfront = kind == "cloudfront" or (kind == "nlb" and fronted and fronted_known)
    if cloudfront:
        # CloudFront's default *.cloudfront.net certificate pins the viewer minimum to TLSv1;
        # TLS 1.2 at the viewer needs our own certificate and names.
        cf_match = _ACM_ARN.fullmatch(cf_certificate)
        if not cf_match:
            r.problem("cloudfrontCertificateArn", cf_certificate,
                      "required with CloudFront in front: an ACM certificate ARN in us-east-1 "
                      "(arn:aws:acm:us-east-1:<account>:certificate/<id>) covering cloudfrontAliases")
        elif cf_match.group(1) != CLOUDFRONT_REGION:
            r.problem("cloudfrontCertificateArn", cf_certificate,
                      "CloudFront takes viewer certificates from us-east-1 only")
        if not aliases:
            r.problem("cloudfrontAliases", aliases,
                      "required with CloudFront in front: at least one DNS name the viewer "
                      "certificate covers, e.g. [\"www.example.com\"]")
    bad_aliases = [a for a in aliases if not _DNS_NAME.fullmatch(a)]
    if bad_aliases:
        r.problem("cloudfrontAliases", bad_aliases, "allowed: DNS names such as www.example.com")
    if len(set(aliases)) != len(aliases):
        r.problem("cloudfrontAliases", aliases, "each name may appear once")

    if kind == "nlb" and fronted_known:
        if not fronted and len(reason) < NLB_EXEMPTION_MIN_CHARS:
            r.problem("nlbWafExemptionReason", reason,
                      "required when nlbFrontedByCloudFront is false: an NLB cannot carry AWS WAF, "
                      f"so say why this stack may go without it (at least {NLB_EXEMPTION_MIN_CHARS} "
                      "characters); the policy pack reports it as an advisory on every preview")
        if reason and not _TAG_VALUE.fullmatch(reason):
            r.problem("nlbWafExemptionReason", reason,
                      "allowed: at most 256 letters, digits, spaces and _ . : / = + - @ (it becomes "
                      "the NLB's layerguard:waf-exemption tag)")
        if not fronted:
            for key in _WAF_KEYS:
                if _differs(r.raw(key), DEFAULTS[key]):
                    r.problem(key, r.raw(key), "no web ACL exists with entry nlb and "
                                               "nlbFrontedByCloudFront false (an NLB cannot carry "
                                               "AWS WAF); remove it, or put CloudFront in front")
        if fronted and reason:
            r.problem("nlbWafExemptionReason", reason,
                      "allowed only when nlbFrontedByCloudFront is false (CloudFront's WAF covers "
                      "this NLB); remove it")

    if domain and not _DNS_NAME.fullmatch(domain):
        r.problem("apiGatewayDomainName", domain, "allowed: a DNS name such as api.example.com")
    if truststore:
        r.check("apiGatewayMtlsTruststoreUri", truststore, bool(_S3_URI.fullmatch(truststore)),
                "allowed: an S3 URI of the PEM truststore, s3://<bucket>/<key>")
        if not domain:
            r.problem("apiGatewayMtlsTruststoreUri", truststore,
                      "mutual TLS needs a custom domain: set apiGatewayDomainName too")

    if kind in ENTRIES and kind != "alb":
        # What certificateArn (a regional certificate) is for with each entry.
        needs = {"cloudfront": "the origin load balancer's HTTPS listener",
                 "nlb": "the NLB's TLS listener",
                 "apigateway": "the API's custom domain"}[kind]
        required = kind != "apigateway" or bool(domain)
        if http_only:
            r.problem("allowHttpOnly", True, f"allowed only with entry alb; entry {kind} serves "
                                             "HTTPS only")
        if certificate:
            cert_match = _ACM_ARN.fullmatch(certificate)
            r.check("certificateArn", certificate, bool(cert_match),
                    "allowed: an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)")
            _same_region(r, "certificateArn", certificate, cert_match, region or "")
            if not required:
                r.problem("certificateArn", certificate,
                          "not used with entry apigateway without apiGatewayDomainName; remove it "
                          "or set the custom domain it is for")
        elif required:
            r.problem("certificateArn", certificate,
                      f"required with entry {kind}: an ACM certificate ARN for {needs}")

    preservation = (preservation_mode == "on" or
                    (preservation_mode == "auto" and not (kind == "nlb" and fronted)))
    return EntrySettings(
        kind=kind, cloudfront_origin_style=style,
        cloudfront_certificate_arn=cf_certificate or None, cloudfront_aliases=tuple(aliases),
        nlb_fronted_by_cloudfront=fronted, nlb_waf_exemption_reason=reason or None,
        nlb_client_ip_preservation=preservation, api_throttle_rate_limit=rate,
        api_throttle_burst_limit=burst, api_domain_name=domain or None,
        api_mtls_truststore_uri=truststore or None, api_manage_account_log_role=account_role)

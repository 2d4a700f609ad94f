"""`python -m layerguard doctor --stack NAME`: is this stack file ready for its first `pulumi up`?

Three kinds of check, each finding naming the key and, where it can, the file and line:

1. placeholders: values copied from the shipped examples that cannot be anyone's real account
   (account 123456789012, the all-zero certificate ids, example.com names, ids such as
   vpc-0a1b2c3d4e5f60718 or sg-0ee5555555555555e);
2. settings: the program's own validation (components/settings.py), run through the offline
   preview without a policy pack; every message it gives (exit 2) is a finding. The engine never
   imports the program: what the settings need is the program's to say;
3. with `--aws`, the prerequisites in the account (boto3, `--endpoint-url` for an emulator): the
   node token secret, the certificates (the us-east-1 one for CloudFront covering the aliases), the
   Docker Hub credential secret of the pull-through cache, the Route 53 zone, a recording AWS Config
   recorder (awsConfigRules) and a logging CloudTrail trail (the security-group change alerts are
   EventBridge rules on CloudTrail events). Secret values are read to check their shape, never
   printed.

`python -m layerguard init --example FILE --stack NAME` writes Pulumi.NAME.yaml from an example,
every placeholder line marked with a comment.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import stackfile

# --- placeholders ------------------------------------------------------------------------------
# (pattern, what it is). The ids: runs of one repeated digit/letter and counting sequences are what
# example ids are made of; AWS assigns random hex.
PLACEHOLDERS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"(?<!\d)123456789012(?!\d)"), "the example AWS account 123456789012"),
    (re.compile(r"00000000-0000-[0-9a-f]{4}-[0-9a-f]{4}-0000000000[0-9a-f]{2}"), "an example certificate id"),
    (re.compile(r"(?<![a-z0-9])example(?:\.(?:com|org|net)\b|-)", re.I),
     "an example name (example.com, example.org, example.net, example-...)"),
    (re.compile(r"\b(?:vpc|subnet|sg|vpce|igw|nat|rtb|eni|i|key|Z)-?[0-9a-z]*?([0-9a-f])\1{5,}", re.I),
     "an example resource id (a run of one repeated character)"),
    (re.compile(r"0a1b2c3d|a1b2c3d4|0123456789|1234567890|abcdef0123", re.I),
     "an example id (a counting sequence)"),
)
FREE_TEXT = {"nlbWafExemptionReason"}   # prose, not an identifier


@dataclass
class Finding:
    check: str          # placeholder | settings | aws
    key: str            # the config key ("" for the whole stack)
    message: str
    line: int | None = None
    ok: bool = False    # a passed AWS check, listed for the record

    def to_json(self) -> dict:
        return {"check": self.check, "key": self.key, "message": self.message, "line": self.line,
                "ok": self.ok}


def placeholder_reason(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    for pattern, what in PLACEHOLDERS:
        if pattern.search(value):
            return what
    return None


def placeholders(path: Path) -> list[Finding]:
    found = []
    for entry in stackfile.entries(path):
        if entry.key.split(":")[-1] in FREE_TEXT:
            continue
        reason = placeholder_reason(entry.value)
        if reason:
            item = f"[{entry.index}]" if entry.index is not None else ""
            found.append(Finding("placeholder", entry.key, f"{entry.key}{item} = {entry.value}: looks like "
                                 f"{reason}; put your own value here", entry.line))
    return found


# --- settings, through the program's own validation ----------------------------------------------
def settings(program: Path, stack: str, config_file: Path | None) -> list[Finding]:
    from .engine import preview
    result = preview(program, stack, "preview", policy_pack=None, config_file=config_file)
    if result.exit_code != 2:
        return []
    lines = stackfile.key_lines(config_file or program / f"Pulumi.{stack}.yaml")
    found = []
    for text in (result.error or "").splitlines():
        text = text.strip().lstrip("-* ").strip()
        if not text or text.endswith(":"):
            continue  # a heading ("invalid stack configuration (6 problems):")
        key = _key_named(text, lines)
        found.append(Finding("settings", key, text, lines.get(key) if key else None))
    return found or [Finding("settings", "", result.error or "the preview failed")]


def _key_named(text: str, lines: dict[str, int]) -> str:
    """The stack-file key a settings message is about: the program starts each with the key."""
    m = re.match(r"([\w:]+)(?: / [\w:]+)*:", text)
    if not m:
        return ""
    key = m.group(1)
    for candidate in (key, *(k for k in lines if k.split(":")[-1] == key)):
        if candidate in lines:
            return candidate
    return key


# --- the account -------------------------------------------------------------------------------
class Account:
    """boto3 clients per service and region; errors become findings, never tracebacks."""

    def __init__(self, region: str, profile: str | None, endpoint_url: str | None):
        import boto3
        self.session = boto3.Session(profile_name=profile, region_name=region)
        self.region, self.endpoint_url = region, endpoint_url
        self._clients: dict[tuple[str, str], object] = {}

    def client(self, service: str, region: str | None = None):
        region = region or self.region
        if (service, region) not in self._clients:
            self._clients[(service, region)] = self.session.client(service, region_name=region,
                                                                   endpoint_url=self.endpoint_url)
        return self._clients[(service, region)]


def _region_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else default


def _error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return f"{type(exc).__name__}: {exc}"


def _covers(names: list[str], name: str) -> bool:
    name = name.lower().rstrip(".")
    for pattern in names:
        pattern = pattern.lower().rstrip(".")
        if pattern == name:
            return True
        if pattern.startswith("*.") and name.count(".") == pattern.count(".") and fnmatch.fnmatch(name, pattern):
            return True
    return False


def aws_checks(config: dict[str, str], project: str, account: Account) -> list[Finding]:
    def get(key: str, default: str = "") -> str:
        return config.get(f"{project}:{key}", default)

    def flag(key: str, default: bool) -> bool:
        raw = get(key, "")
        return default if raw == "" else raw.lower() == "true"

    def names(key: str) -> list[str]:
        raw = get(key, "[]")
        try:
            value = json.loads(raw)
        except ValueError:
            return []
        return [str(v) for v in value] if isinstance(value, list) else []

    found: list[Finding] = []
    now = datetime.now(UTC)

    def secret(key: str, *, fields: tuple[str, ...] = (), prefix: str = "") -> None:
        arn = get(key)
        if not arn:
            return
        sm = account.client("secretsmanager", _region_of(arn, account.region))
        try:
            meta = sm.describe_secret(SecretId=arn)
            if meta.get("DeletedDate"):
                found.append(Finding("aws", key, f"{key}: secret {arn} is scheduled for deletion"))
                return
            if prefix and not meta.get("Name", "").startswith(prefix):
                found.append(Finding("aws", key, f"{key}: secret name {meta.get('Name')!r} must start with {prefix}"))
                return
            value = sm.get_secret_value(SecretId=arn).get("SecretString") or ""
        except Exception as exc:  # any API failure is the finding
            found.append(Finding("aws", key, f"{key}: cannot read secret {arn}: {_error(exc)}"))
            return
        if not value.strip():
            found.append(Finding("aws", key, f"{key}: secret {arn} has an empty value"))
            return
        if fields:
            try:
                doc = json.loads(value)
            except ValueError:
                doc = None
            missing = [f for f in fields if not (isinstance(doc, dict) and doc.get(f))]
            if missing:
                found.append(Finding("aws", key, f"{key}: secret {arn} must be JSON with "
                                     f"{', '.join(fields)} (missing: {', '.join(missing)})"))
                return
        found.append(Finding("aws", key, f"{key}: secret {arn} exists and has a value", ok=True))

    def certificate(key: str, covering: list[str], region: str | None = None) -> None:
        arn = get(key)
        if not arn:
            return
        where = _region_of(arn, account.region)
        if region and where != region:
            found.append(Finding("aws", key, f"{key}: {arn} is in {where}; CloudFront needs a certificate in {region}"))
            return
        try:
            cert = account.client("acm", where).describe_certificate(CertificateArn=arn)["Certificate"]
        except Exception as exc:  # any API failure is the finding
            found.append(Finding("aws", key, f"{key}: cannot describe certificate {arn}: {_error(exc)}"))
            return
        status = cert.get("Status")
        if status != "ISSUED":
            found.append(Finding("aws", key, f"{key}: certificate {arn} is {status}, not ISSUED"))
            return
        not_after = cert.get("NotAfter")
        if isinstance(not_after, datetime) and not_after <= now:
            found.append(Finding("aws", key, f"{key}: certificate {arn} expired on {not_after:%Y-%m-%d}"))
            return
        sans = cert.get("SubjectAlternativeNames") or [cert.get("DomainName", "")]
        uncovered = [n for n in covering if not _covers(sans, n)]
        if uncovered:
            found.append(Finding("aws", key, f"{key}: certificate {arn} does not cover {', '.join(uncovered)} "
                                 f"(it covers {', '.join(sans)})"))
            return
        found.append(Finding("aws", key, f"{key}: certificate {arn} is issued"
                             + (f" and covers {', '.join(covering)}" if covering else ""), ok=True))

    entry = get("entry", "alb")
    cloudfront = entry == "cloudfront" or (entry == "nlb" and flag("nlbFrontedByCloudFront", True))
    aliases = names("cloudfrontAliases") if cloudfront else []
    secret("wallarmTokenSecretArn")
    regional_names = list(aliases)
    if entry == "apigateway" and get("apiGatewayDomainName"):
        regional_names.append(get("apiGatewayDomainName"))
    certificate("certificateArn", regional_names)
    if cloudfront:
        certificate("cloudfrontCertificateArn", aliases, region="us-east-1")
    if flag("nodeImagePullThrough", True):
        secret("dockerHubCredentialArn", fields=("username", "accessToken"), prefix="ecr-pullthroughcache/")

    zone_id = get("hostedZoneId")
    if zone_id:
        domain = get("domainName").lower().rstrip(".")
        try:
            zone = account.client("route53").get_hosted_zone(Id=zone_id)["HostedZone"]
        except Exception as exc:  # any API failure is the finding
            found.append(Finding("aws", "hostedZoneId", f"hostedZoneId: cannot read zone {zone_id}: {_error(exc)}"))
        else:
            zone_name = zone["Name"].lower().rstrip(".")
            if zone.get("Config", {}).get("PrivateZone"):
                found.append(Finding("aws", "hostedZoneId", f"hostedZoneId: zone {zone_id} ({zone_name}) is private; "
                                     "the alias record must be public"))
            elif domain and not (domain == zone_name or domain.endswith("." + zone_name)):
                found.append(Finding("aws", "hostedZoneId", f"hostedZoneId: zone {zone_id} is {zone_name}, "
                                     f"which does not hold domainName {domain}"))
            else:
                found.append(Finding("aws", "hostedZoneId", f"hostedZoneId: zone {zone_id} ({zone_name}) exists",
                                     ok=True))

    if flag("awsConfigRules", False):
        cfg = account.client("config")
        try:
            recorders = cfg.describe_configuration_recorders().get("ConfigurationRecorders", [])
            statuses = cfg.describe_configuration_recorder_status().get("ConfigurationRecordersStatus", [])
        except Exception as exc:  # any API failure is the finding
            found.append(Finding("aws", "awsConfigRules", f"awsConfigRules: cannot read the Config recorder: {_error(exc)}"))
        else:
            recording = [s["name"] for s in statuses if s.get("recording")]
            if not recorders:
                found.append(Finding("aws", "awsConfigRules", f"awsConfigRules is true but {account.region} has no "
                                     "AWS Config recorder: its rules would never evaluate"))
            elif not recording:
                found.append(Finding("aws", "awsConfigRules", f"awsConfigRules is true but the Config recorder "
                                     f"{recorders[0].get('name')} is not recording"))
            else:
                found.append(Finding("aws", "awsConfigRules", f"AWS Config recorder {recording[0]} is recording",
                                     ok=True))

    trail_client = account.client("cloudtrail")
    try:
        trails = trail_client.describe_trails(includeShadowTrails=True).get("trailList", [])
        logging_trails = [t["Name"] for t in trails
                          if trail_client.get_trail_status(Name=t["TrailARN"]).get("IsLogging")]
    except Exception as exc:
        found.append(Finding("aws", "", f"CloudTrail: cannot list trails: {_error(exc)}"))
    else:
        if not logging_trails:
            found.append(Finding("aws", "", f"CloudTrail: no trail is logging in {account.region}; the stack's "
                                 "security-group change alerts (EventBridge rules on CloudTrail events) "
                                 "would never fire"))
        else:
            found.append(Finding("aws", "", f"CloudTrail: trail {logging_trails[0]} is logging", ok=True))
    return found


# --- the command -------------------------------------------------------------------------------
def add_parsers(sub) -> None:
    p = sub.add_parser("doctor", help="check a stack file before the first `pulumi up`",
                       description="Placeholders left from the examples, the settings the program "
                                   "rejects, and (with --aws) the prerequisites in the account.")
    p.add_argument("--stack", "-s", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    p.add_argument("--program", default=Path("."), type=Path, help="Pulumi program directory (default: .)")
    p.add_argument("--config-file", type=Path, default=None, help="check this file instead of Pulumi.<stack>.yaml")
    p.add_argument("--aws", action="store_true", help="also check the prerequisites in the AWS account (boto3)")
    p.add_argument("--region", default=None, help="AWS region (default: the stack's aws:region)")
    p.add_argument("--profile", default=None, help="AWS profile from your AWS config")
    p.add_argument("--endpoint-url", default=None, help="AWS API endpoint (an emulator such as moto; default: AWS)")
    p.add_argument("--json", type=Path, default=None, dest="json_file", help="also write the findings as JSON")

    i = sub.add_parser("init", help="write Pulumi.<stack>.yaml from an example, its placeholders marked")
    i.add_argument("--example", required=True, type=Path, metavar="FILE", help="an example stack file (examples/*.yaml)")
    i.add_argument("--stack", "-s", required=True, help="name of the new stack")
    i.add_argument("--program", default=Path("."), type=Path, help="Pulumi program directory (default: .)")


def run_doctor(args) -> int:
    from .errors import EngineError
    from .project import load
    stack_file = args.config_file or args.program / f"Pulumi.{args.stack}.yaml"
    if not stack_file.is_file():
        print(f"error: no stack file {stack_file} (create one: .venv/bin/python -m layerguard init "
              f"--example examples/alb.yaml --stack {args.stack})", file=sys.stderr)
        return 2
    findings = placeholders(stack_file) + settings(args.program, args.stack, args.config_file)
    if args.aws:
        try:
            loaded = load(args.program, args.stack, config_file=args.config_file)
        except EngineError as exc:
            findings.append(Finding("aws", "", f"AWS checks skipped: {exc}"))
        else:
            region = args.region or loaded.config.get("aws:region") or ""
            try:
                account = Account(region, args.profile, args.endpoint_url)
                findings += aws_checks(loaded.config, loaded.project, account)
            except Exception as exc:  # any API failure is the finding
                findings.append(Finding("aws", "", f"AWS checks could not run: {_error(exc)}"))
    problems = [f for f in findings if not f.ok]
    print(f"layerguard doctor: {stack_file}")
    for label, check in (("Placeholders", "placeholder"), ("Settings", "settings"), ("AWS account", "aws")):
        items = [f for f in findings if f.check == check]
        if check == "aws" and not args.aws:
            print(f"{label}: not checked (pass --aws, with AWS credentials for the stack's account)")
            continue
        bad = [f for f in items if not f.ok]
        print(f"{label}: {'ok' if not bad else f'{len(bad)} problem(s)'}")
        for f in items:
            where = f"{stack_file}:{f.line}: " if f.line else ""
            print(f"  [{'ok' if f.ok else 'fix'}] {where}{f.message}")
    print("READY for `pulumi up`." if not problems else f"NOT READY: {len(problems)} problem(s) to fix first.")
    if args.json_file is not None:
        args.json_file.write_text(json.dumps({"file": str(stack_file), "findings": [f.to_json() for f in findings]},
                                             indent=2) + "\n", encoding="utf-8")
    return 1 if problems else 0


def run_init(args) -> int:
    target = args.program / f"Pulumi.{args.stack}.yaml"
    if not args.example.is_file():
        print(f"error: --example {args.example}: no such file (see examples/)", file=sys.stderr)
        return 2
    if target.exists():
        print(f"error: {target} exists; init never overwrites a stack file (remove it or pick another --stack)",
              file=sys.stderr)
        return 2
    marked = {f.line: f for f in placeholders(args.example)}
    lines = args.example.read_text(encoding="utf-8").splitlines()
    out = [f"# Written by `layerguard init` from {args.example.as_posix()}. Lines marked",
           "# PLACEHOLDER hold example values: replace each, then run",
           f"#   .venv/bin/python -m layerguard doctor --stack {args.stack} [--aws]"]
    for number, text in enumerate(lines, start=1):
        out.append(f"{text}  # PLACEHOLDER: replace" if number in marked else text)
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {target}: {len(marked)} placeholder line(s) to replace")
    for line in sorted(marked):
        print(f"  {target}:{line}: {marked[line].key}")
    return 0

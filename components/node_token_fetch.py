"""Read the Wallarm node token from Secrets Manager on an EC2 node at boot, with the instance role.

The EC2 fleet's user data runs this file's text with the instance's `python3` (Wallarm's AMI is
Debian 12, whose cloud-init is Python: python3 is there; the AWS CLI may not be). Standard library
only. It prints the secret's value on stdout and nothing else, so the user data holds the secret's
ARN, never the token. Arguments: secret ARN, region, DNS suffix (amazonaws.com, amazonaws.com.cn).

The instance role's credentials come from IMDSv2 (a session token first: the launch template
requires it, with a hop limit of 1). The request is signed with Signature Version 4
(https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html) for the Secrets
Manager JSON API (`GetSecretValue`,
https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import sys
import urllib.request

IMDS = "http://169.254.169.254/latest"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_headers(*, host: str, region: str, target: str, body: bytes, access_key: str,
                   secret_key: str, session_token: str | None, now: datetime.datetime) -> dict[str, str]:
    """The headers of a SigV4-signed POST to `/` of an AWS JSON 1.1 API (service secretsmanager)."""
    service = "secretsmanager"
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {"content-type": "application/x-amz-json-1.1", "host": host, "x-amz-date": amz_date,
               "x-amz-target": target}
    if session_token:
        headers["x-amz-security-token"] = session_token
    names = sorted(headers)
    canonical = "\n".join([
        "POST", "/", "",
        "".join(f"{n}:{headers[n].strip()}\n" for n in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers


def _imds(path: str, token: str) -> str:
    request = urllib.request.Request(f"{IMDS}/{path}", headers={"X-aws-ec2-metadata-token": token})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def role_credentials() -> dict[str, str]:
    session = urllib.request.Request(f"{IMDS}/api/token", method="PUT",
                                     headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    with urllib.request.urlopen(session, timeout=5) as response:
        token = response.read().decode()
    role = _imds("meta-data/iam/security-credentials/", token).split()[0]
    return json.loads(_imds(f"meta-data/iam/security-credentials/{role}", token))


def get_secret_string(secret_arn: str, region: str, dns_suffix: str, credentials: dict[str, str],
                      endpoint: str | None = None) -> str:
    host = f"secretsmanager.{region}.{dns_suffix}"
    body = json.dumps({"SecretId": secret_arn}).encode()
    headers = signed_headers(
        host=host, region=region, target="secretsmanager.GetSecretValue", body=body,
        access_key=credentials["AccessKeyId"], secret_key=credentials["SecretAccessKey"],
        session_token=credentials.get("Token"), now=datetime.datetime.now(datetime.UTC))
    request = urllib.request.Request(endpoint or f"https://{host}/", data=body, method="POST",
                                     headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        value = json.loads(response.read().decode())
    if "SecretString" not in value:
        raise SystemExit("the node token secret has no SecretString")
    return value["SecretString"].strip()


def main(argv: list[str]) -> int:
    secret_arn, region, dns_suffix = argv
    sys.stdout.write(get_secret_string(secret_arn, region, dns_suffix, role_credentials()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The Wallarm node's NGINX virtual host, rendered as text by a pure function.

The node image serves `/etc/nginx/http.d/default.conf`. We supply our own (and therefore must not
set `NGINX_BACKEND`, whose init script would overwrite it) for three reasons the stock file cannot
meet:

* a health endpoint the load balancer can use: the node has none by default, and an ALB health
  check on `/` would be filtered (and in `block` mode could be blocked) like any request;
* the upstream is an internal ALB whose addresses change: a variable in `proxy_pass` plus the VPC
  resolver makes NGINX re-resolve its name instead of pinning the addresses seen at start;
* the real client address: only the edge load balancer's subnets are trusted to set
  X-Forwarded-For, otherwise the node attributes every attack to the ALB and may graylist it;
* the mode we set is the mode that runs: `wallarm_mode_allow_override` defaults to `on`, which lets
  rules from the Wallarm Cloud weaken `wallarm_mode`; we render `strict` (only tighten) or `off`;
* fail closed: with `wallarm_fallback on` (the default) a node that cannot load proton.db or its
  custom ruleset keeps proxying with filtering off. Failing closed renders `wallarm_fallback off`
  and answers the health check from the node's own readiness endpoint, which node 7.1 serves on
  loopback (`127.0.0.1:9446/ready`: 200 once initialised, 503 while starting, degraded or failed;
  https://docs.wallarm.com/admin-en/nginx-node-metrics/#health-endpoints), so the load balancer
  stops sending traffic to a node that cannot filter;
* request bodies: NGINX's default `client_max_body_size` (1 MiB) breaks real APIs; it is a setting.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

# The Amazon-provided DNS server, reachable from every VPC subnet.
VPC_RESOLVER = "169.254.169.253"
HEALTH_PATH = "/healthz"
# The CA bundle of the wallarm/node image (Alpine's ca-certificates; Debian uses the same path).
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Where the init container writes a backend CA bundle given in the settings.
UPSTREAM_CA_FILE = "/etc/nginx/http.d/upstream-ca.pem"
WALLARM_MODES = ("off", "monitoring", "safe_blocking", "block")
MODE_ALLOW_OVERRIDES = ("strict", "off")
# The node's readiness endpoint (wd, node 7.1+), loopback only.
READINESS_URL = "http://127.0.0.1:9446/ready"

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def render_node_vhost(*, listen_port: int, upstream_scheme: str, upstream_host: str,
                      upstream_port: int, trusted_proxy_cidrs: Sequence[str], wallarm_mode: str,
                      wallarm_application: int = -1, health_path: str = HEALTH_PATH,
                      resolver: str = VPC_RESOLVER, host_header: str | None = None,
                      path_prefix: str = "", headers: Mapping[str, str] | None = None,
                      tls_verify: bool = False, tls_name: str | None = None,
                      tls_trusted_certificate: str = SYSTEM_CA_BUNDLE, mode_allow_override: str = "strict",
                      fail_closed: bool = True, max_body_size_mib: int = 16,
                      readiness_url: str = READINESS_URL) -> str:
    """Return the text of `default.conf`. Every value is checked, so nothing can inject directives."""
    if upstream_scheme not in ("http", "https"):
        raise ValueError(f"upstream scheme {upstream_scheme!r}: expected http or https")
    if not _HOSTNAME.match(upstream_host):
        raise ValueError(f"upstream host {upstream_host!r} is not a DNS name")
    for port in (listen_port, upstream_port):
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"port {port!r} is out of range")
    if wallarm_mode not in WALLARM_MODES:
        raise ValueError(f"wallarm mode {wallarm_mode!r}: expected one of {', '.join(WALLARM_MODES)}")
    if mode_allow_override not in MODE_ALLOW_OVERRIDES:
        raise ValueError(f"wallarm_mode_allow_override {mode_allow_override!r}: expected "
                         f"{' or '.join(MODE_ALLOW_OVERRIDES)}")
    if not re.fullmatch(r"http://127\.0\.0\.1:\d{1,5}/[A-Za-z0-9._~/-]*", readiness_url):
        raise ValueError(f"readiness URL {readiness_url!r}: expected http://127.0.0.1:<port>/<path>")
    if not 1 <= int(max_body_size_mib) <= 1024:
        raise ValueError(f"body size {max_body_size_mib!r} MiB: expected 1 to 1024")
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", health_path):
        raise ValueError(f"health path {health_path!r} is not a plain absolute path")
    for name in (host_header, tls_name):
        if name is not None and not _HOSTNAME.match(name):
            raise ValueError(f"upstream name {name!r} is not a DNS name")
    if path_prefix and not re.fullmatch(r"(?:/[A-Za-z0-9._~-]+)+", path_prefix):
        raise ValueError(f"upstream path prefix {path_prefix!r} is not a plain absolute path")
    for header, value in (headers or {}).items():
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", header) or not re.fullmatch(r"[A-Za-z0-9._~-]{1,256}", value):
            raise ValueError(f"upstream header {header!r}: {value!r} is not a plain token")
    if tls_verify and upstream_scheme != "https":
        raise ValueError("TLS verification needs the https scheme")
    if not re.fullmatch(r"/[A-Za-z0-9._/-]+", tls_trusted_certificate):
        raise ValueError(f"trusted certificate path {tls_trusted_certificate!r} is not a plain path")
    trusted = [str(ipaddress.ip_network(c)) for c in trusted_proxy_cidrs]
    if not trusted:
        raise ValueError("at least one trusted proxy CIDR is needed for the real client address")
    ipaddress.ip_address(resolver)

    real_ip = "\n".join(f"    set_real_ip_from {cidr};" for cidr in trusted)
    application = (f"    wallarm_application {int(wallarm_application)};\n"
                   if int(wallarm_application) != -1 else "")
    tls = ""
    if upstream_scheme == "https":
        tls = "        proxy_ssl_server_name on;\n"
        if tls_name:
            tls += f"        proxy_ssl_name {tls_name};\n"
        if tls_verify:
            # Without this NGINX accepts any certificate the backend (or anyone on the path) shows.
            tls += ("        proxy_ssl_verify on;\n"
                    "        proxy_ssl_verify_depth 4;\n"
                    f"        proxy_ssl_trusted_certificate {tls_trusted_certificate};\n"
                    "        proxy_ssl_protocols TLSv1.2 TLSv1.3;\n")
    host = host_header or "$host"
    # A variable with a URI part replaces the request URI, so the original one is appended.
    target = "$layerguard_upstream$request_uri" if path_prefix else "$layerguard_upstream"
    extra = "".join(f"        proxy_set_header {h} {v};\n" for h, v in sorted((headers or {}).items()))
    if fail_closed:
        # Ready means initialised with its rules; a node in fallback or still starting answers 503.
        health = (f"        proxy_pass {readiness_url};\n"
                  "        proxy_connect_timeout 2s;\n"
                  "        proxy_read_timeout 3s;\n")
    else:
        health = ('        default_type text/plain;\n'
                  '        return 200 "ok\\n";\n')
    return f"""\
# Rendered by layerguard (components/nginx_conf.py). Do not edit in the container.
server {{
    listen {int(listen_port)} default_server;
    server_name _;
    server_tokens off;

    # Only the edge load balancer may tell us who the client is.
{real_ip}
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;

    wallarm_mode {wallarm_mode};
    wallarm_mode_allow_override {mode_allow_override};
    wallarm_fallback {"off" if fail_closed else "on"};
{application}
    client_max_body_size {int(max_body_size_mib)}m;

    # Re-resolve the upstream through the VPC resolver instead of once at start.
    resolver {resolver} valid=10s ipv6=off;
    resolver_timeout 5s;
    set $layerguard_upstream "{upstream_scheme}://{upstream_host}:{int(upstream_port)}{path_prefix}";

    # The load balancer's health check: never filtered, never proxied upstream; answered by the
    # node's readiness endpoint when failing closed, else here.
    location = {health_path} {{
        wallarm_mode off;
        access_log off;
{health}    }}

    location / {{
        proxy_pass {target};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host {host};
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;
{extra}{tls}    }}
}}
"""

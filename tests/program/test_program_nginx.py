"""The node's rendered vhost, checked by a real NGINX (Debian's; `make setup` installs it).

The Wallarm module is not in Debian's NGINX, so its directives (and only those) are stripped first.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import time

import pytest

from components.nginx_conf import render_node_vhost

NGINX = shutil.which("nginx") or (shutil.which("nginx", path="/usr/sbin:/sbin"))
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make setup installs it)")


def vhost(port: int = 80, **overrides) -> str:
    args = dict(listen_port=port, upstream_scheme="http", upstream_host="app.dev.layerguard.internal",
                upstream_port=8080, trusted_proxy_cidrs=["10.20.0.0/19", "10.20.32.0/19"],
                wallarm_mode="block", wallarm_application=7)
    args.update(overrides)
    return render_node_vhost(**args)


def without_wallarm(text: str) -> str:
    kept = [line for line in text.splitlines() if not line.strip().startswith("wallarm_")]
    assert len(text.splitlines()) - len(kept) == 3, "expected wallarm_mode x2 and wallarm_application"
    return "\n".join(kept) + "\n"


def write_main_conf(tmp_path, server: str):
    (tmp_path / "default.conf").write_text(without_wallarm(server))
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / sub).mkdir(exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/default.conf;
}}
""")
    return conf


def test_rendered_vhost_passes_nginx_t(tmp_path):
    conf = write_main_conf(tmp_path, vhost())
    out = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_nginx_t_catches_a_broken_vhost(tmp_path):
    """Guards the test above against passing vacuously."""
    conf = write_main_conf(tmp_path, vhost().replace("real_ip_header", "real_ip_headr"))
    out = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0


def test_health_endpoint_answers_200_without_the_upstream(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = vhost(port).replace(f"listen {port} default_server;", f"listen 127.0.0.1:{port} default_server;")
    conf = write_main_conf(tmp_path, server)
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError((tmp_path / "error.log").read_text() if
                                         (tmp_path / "error.log").exists() else "nginx did not start") from None
                time.sleep(0.1)
        assert response.status == 200 and response.read() == b"ok\n"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("bad", [
    {"upstream_host": "app.internal; include /etc/passwd"},
    {"trusted_proxy_cidrs": []},
    {"wallarm_mode": "blocking"},
    {"health_path": "/h z"},
])
def test_render_refuses_values_that_could_inject(bad):
    with pytest.raises(ValueError):
        vhost(**bad)

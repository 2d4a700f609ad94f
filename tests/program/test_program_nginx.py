"""The node's rendered vhost, checked by a real NGINX (Debian's; `make setup` installs it).

The Wallarm module is not in Debian's NGINX, so its directives (and only those: wallarm_mode,
wallarm_mode_allow_override, wallarm_fallback, wallarm_application) are stripped first; what they
say is asserted on the rendered text instead. The readiness endpoint the health location proxies to
(the node's 127.0.0.1:9446/ready) is stood in for by a loopback server on a free port.
"""

from __future__ import annotations

import http.client
import http.server
import shutil
import socket
import subprocess
import threading
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


WALLARM_LINES = {"wallarm_mode", "wallarm_mode_allow_override", "wallarm_fallback", "wallarm_application"}


def without_wallarm(text: str) -> str:
    lines = text.splitlines()
    stripped = [line.strip().split()[0] for line in lines if line.strip().startswith("wallarm_")]
    assert set(stripped) <= WALLARM_LINES, f"an unexpected Wallarm directive would go unchecked: {stripped}"
    return "\n".join(line for line in lines if not line.strip().startswith("wallarm_")) + "\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
    # Bodies stay in memory: NGINX's workers may run as another user than the test's temp dir's.
    client_body_buffer_size 4m;
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


class _Readiness(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self):
        body = b"ready\n" if type(self).status == 200 else b"not ready\n"
        self.send_response(type(self).status if self.path == "/ready" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def serve(tmp_path, server: str, port: int, check):
    """Run NGINX on the vhost (on loopback) and call check(); NGINX stops afterwards."""
    server = server.replace(f"listen {port} default_server;", f"listen 127.0.0.1:{port} default_server;")
    conf = write_main_conf(tmp_path, server)
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                get(port, "/nginx-is-up")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError((tmp_path / "error.log").read_text() if
                                         (tmp_path / "error.log").exists() else "nginx did not start") from None
                time.sleep(0.1)
        check()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_fail_open_health_answers_200_without_the_upstream(tmp_path):
    port = free_port()

    def check():
        assert get(port, "/healthz") == (200, b"ok\n")

    serve(tmp_path, vhost(port, fail_closed=False), port, check)


def test_fail_closed_health_follows_the_node_readiness(tmp_path):
    """503 while the node is not ready (starting, or failed to load its rules), 200 once it is."""
    handler = type("Readiness", (_Readiness,), {"status": 503})
    ready = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=ready.serve_forever, daemon=True)
    thread.start()
    port = free_port()

    def check():
        status, _body = get(port, "/healthz")
        assert status == 503
        handler.status = 200
        assert get(port, "/healthz") == (200, b"ready\n")

    try:
        serve(tmp_path, vhost(port, readiness_url=f"http://127.0.0.1:{ready.server_address[1]}/ready"),
              port, check)
    finally:
        ready.shutdown()
        ready.server_close()


def test_fail_closed_health_is_unhealthy_when_nothing_answers(tmp_path):
    """No readiness endpoint at all (a node whose wd never started) is unhealthy, not 200."""
    port, nothing = free_port(), free_port()

    def check():
        status, _body = get(port, "/healthz")
        assert status == 502

    serve(tmp_path, vhost(port, readiness_url=f"http://127.0.0.1:{nothing}/ready"), port, check)


def test_body_limit_is_enforced(tmp_path):
    """client_max_body_size from the setting: 413 above it; below it the request goes on to the
    (here absent) upstream, which NGINX reports as 502."""
    port = free_port()

    def post(size: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("POST", "/api", body=b"x" * size, headers={"Content-Type": "application/octet-stream"})
            return conn.getresponse().status
        finally:
            conn.close()

    def check():
        assert post(2 * 1024 * 1024 + 1) == 413
        assert post(1024 * 1024 + 1) == 502, "NGINX's own 1 MiB default would answer 413"

    # An address as the upstream: NGINX needs no resolver for it, and nothing listens there.
    serve(tmp_path, vhost(port, max_body_size_mib=2, upstream_host="127.0.0.1", upstream_port=free_port()),
          port, check)


@pytest.mark.parametrize("environment,fail_closed,override,body", [
    ("dev", False, "strict", 16), ("staging", True, "strict", 16), ("prod", True, "off", 64)])
def test_rendered_wallarm_directives_per_environment(environment, fail_closed, override, body):
    text = vhost(fail_closed=fail_closed, mode_allow_override=override, max_body_size_mib=body)
    server_level = text.split("location")[0]
    assert f"wallarm_mode_allow_override {override};" in server_level, environment
    assert f"wallarm_fallback {'off' if fail_closed else 'on'};" in server_level, environment
    assert f"client_max_body_size {body}m;" in server_level, environment
    health = text.split("location = /healthz {")[1].split("}")[0]
    assert "wallarm_mode off;" in health
    if fail_closed:
        assert "proxy_pass http://127.0.0.1:9446/ready;" in health and "return 200" not in health
    else:
        assert "return 200" in health and "proxy_pass" not in health


@pytest.mark.parametrize("bad", [
    {"upstream_host": "app.internal; include /etc/passwd"},
    {"trusted_proxy_cidrs": []},
    {"wallarm_mode": "blocking"},
    {"health_path": "/h z"},
    {"mode_allow_override": "on"},
    {"max_body_size_mib": 0},
    {"readiness_url": "http://10.0.0.5:9446/ready"},
])
def test_render_refuses_values_that_could_inject(bad):
    with pytest.raises(ValueError):
        vhost(**bad)

"""Local servers on loopback for the probes: a small HTTP backend (the app) and Debian's NGINX
running the program's own node vhost (components/nginx_conf.py). Debian's NGINX has no Wallarm
module, so the `wallarm_*` directives (and only those) are stripped, as in
tests/program/test_program_nginx.py: this node proxies but does not filter."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from components.nginx_conf import render_node_vhost

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def free_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def backend():
    """The app: answers 200 to anything and remembers the paths it was asked for."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            body = b"app\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def node_vhost(port: int, upstream_port: int, mode: str = "monitoring") -> str:
    text = render_node_vhost(listen_port=port, upstream_scheme="http", upstream_host="127.0.0.1",
                             upstream_port=upstream_port, trusted_proxy_cidrs=["10.20.0.0/19"], wallarm_mode=mode)
    text = text.replace(f"listen {port} default_server;", f"listen 127.0.0.1:{port} default_server;")
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("wallarm_")) + "\n"


@contextmanager
def nginx(tmp_path: Path, server: str):
    """Run NGINX with `server` as its only virtual host; yields once it answers."""
    port = int(server.split("listen 127.0.0.1:", 1)[1].split()[0])
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / sub).mkdir(exist_ok=True)
    (tmp_path / "default.conf").write_text(server)
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
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = tmp_path / "error.log"
                    raise AssertionError(log.read_text() if log.exists() else "nginx did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""Production serving: gunicorn behind the shipped nginx configuration survives slow clients.

Fifty connections that send their headers a byte at a time used to take /healthz down
for everyone when gunicorn faced the network (each one holds a worker thread). With
nginx in front they cost nginx a few kilobytes each, and the application never sees
them. Also: HSTS whenever the public URL is https.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SLOW_CLIENTS = 50


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, seconds: float = 120) -> None:
    """Wait until /healthz answers (gunicorn's worker loads the app after it binds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if http_get(port, "/healthz", timeout=5)[0] == 200:
                return
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"/healthz does not answer on {port}")


def http_get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def nginx_config(folder: Path, listen: int, upstream: int) -> Path:
    """The shipped server block on test ports, inside a minimal main configuration."""
    shipped = (ROOT / "deploy" / "nginx-sipas.conf").read_text()
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{listen};", shipped)
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
    assert site != shipped
    (folder / "sipas.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(
        f"""
pid {folder}/nginx.pid;
{"user root;" if os.geteuid() == 0 else ""}
error_log {folder}/error.log;
worker_processes 1;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/sipas.conf;
}}
"""
    )
    return main


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """gunicorn (one worker, two threads: easy to starve) behind nginx; yields the ports."""
    tmp_path = tmp_path_factory.mktemp("serving")
    if not Path(NGINX).exists():
        skip_or_fail(f"nginx not found at {NGINX} (apt-get install nginx-light)")
    app_port, public_port = free_port(), free_port()
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite'}",
        "SIPAS_SECRET_KEY": "serving-test-secret-key",
        "SIPAS_INTEGRITY_SALT": "serving-test-integrity-salt",
        "SIPAS_PUBLIC_BASE_URL": "https://khaosat.example.gov.vn",
        "SIPAS_PROXY_COUNT": "1",
        "BIND": f"127.0.0.1:{app_port}",
        "WORKERS": "1",
        "THREADS": "2",
    }
    env.pop("SIPAS_DEMO", None)
    subprocess.run(  # a schema, as `make serve` migrates before it serves
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    config = nginx_config(tmp_path, public_port, app_port)
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(app_port)
        wait_for(public_port)
        yield public_port
    finally:
        for process in (nginx, gunicorn):
            process.send_signal(signal.SIGTERM)
        for process in (nginx, gunicorn):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_healthz_answers_through_nginx_while_50_clients_dawdle(served):
    assert http_get(served, "/healthz", timeout=5)[0] == 200
    slow = []
    try:
        for _ in range(SLOW_CLIENTS):
            conn = socket.create_connection(("127.0.0.1", served), timeout=5)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never ends
            slow.append(conn)
        time.sleep(0.5)
        for conn in slow:  # keep dawdling: one more header line each
            conn.sendall(b"X-Slow: 1\r\n")
        started = time.monotonic()
        status, body = http_get(served, "/healthz", timeout=5)
        elapsed = time.monotonic() - started
    finally:
        for conn in slow:
            conn.close()
    assert status == 200
    assert b'"database":"ok"' in body.replace(b" ", b"")
    assert elapsed < 1.0, (
        f"/healthz took {elapsed:.2f} s behind {SLOW_CLIENTS} slow clients"
    )


def test_https_public_url_sends_hsts(served):
    with socket.create_connection(("127.0.0.1", served), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head and (chunk := conn.recv(4096)):
            head += chunk
    assert b"Strict-Transport-Security: max-age=31536000" in head


def test_hsts_only_when_the_public_url_is_https(make_app):
    plain = make_app(PUBLIC_BASE_URL="http://khaosat.example.gov.vn").test_client()
    assert "Strict-Transport-Security" not in plain.get("/").headers
    secure = make_app(PUBLIC_BASE_URL="https://khaosat.example.gov.vn").test_client()
    assert secure.get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def post_through_nginx(port: int, path: str, size: int) -> tuple[int, bytes]:
    """POST `size` bytes through nginx; return the status and the answer's first bytes."""
    body = b"x" * size
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head)
        # nginx may refuse before the body is sent
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(body)
        answer = b""
        while len(answer) < 4096 and (chunk := conn.recv(4096)):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def test_only_the_import_routes_take_large_bodies_through_nginx(served):
    # nginx refuses a large body anywhere else before it reaches the application ...
    status, answer = post_through_nginx(served, "/s/abc-abcdefghijkl", 3 * 1024 * 1024)
    assert status == 413
    assert b"SIPAS" not in answer
    # ... and passes one to the imports, where the application decides: only a logged-in
    # administrator may send that much, so this anonymous client gets its page.
    status, answer = post_through_nginx(
        served, "/admin/register/import", 3 * 1024 * 1024
    )
    assert status == 413
    assert b"SIPAS" in answer

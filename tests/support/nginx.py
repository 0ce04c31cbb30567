"""A real nginx in front of a server, for the self-tests: a reverse proxy on 127.0.0.1 as deployments run one
(gzip, keep-alive to the upstream, optionally a rate limit), started from a generated config in a temporary folder
with no root needed; and a plug between nginx and its upstream, pulled to make the upstream die mid-run."""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from reference_server import start_embedded

# Debian's package puts the binary in /usr/sbin, which is not on a non-root user's PATH.
NGINX_PATHS = ("/usr/sbin/nginx",)
NOT_INSTALLED = "nginx is not installed (apt-get install nginx-light)"
READY_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0
# nginx cannot be told to bind port 0 and say which it got: a free port is picked, then bound by nginx, and another
# process may take it in between. These many tries, each with a new port.
PORT_TRIES = 5
# A location answered by nginx itself: its nonce proves the port is served by this nginx, not by whoever else.
READY_PATH = "/.selftest-nginx-ready"


def nginx_binary() -> str | None:
    """The nginx executable, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((path for path in NGINX_PATHS if os.access(path, os.X_OK)), None)


@dataclass(frozen=True)
class Options:
    """How nginx fronts the upstream."""

    gzip: bool = True  # gzip_types application/json, gzip_proxied any: the envelopes come compressed
    keepalive: bool = True  # idle connections to the upstream kept and reused (HTTP/1.1, Connection cleared)
    rate: int | None = None  # limit_req: requests a second from one client address; past them nginx's own 503
    burst: int = 0  # limit_req's burst, answered at once (nodelay)
    max_request_line: int | None = None  # bytes (large_client_header_buffers); None: nginx's default, 8k


@dataclass(frozen=True)
class Logged:
    """A request in nginx's access log."""

    method: str
    status: int
    gzip_ratio: str  # "-": the answer went uncompressed
    request_line: str  # as nginx logs it: the generated requests' URIs are percent-encoded ASCII, logged as sent

    @classmethod
    def parse(cls, line: str) -> Logged:
        method, status, ratio, request = line.split(" ", 3)
        return cls(method, int(status), ratio, request)

    @property
    def request_line_bytes(self) -> int:
        """Bytes of the request line as the client sent it, CRLF included (nginx's limit counts them)."""
        return len(self.request_line.encode()) + 2


class NginxFailed(RuntimeError):
    pass


def config_text(folder: Path, port: int, upstream: str, options: Options, nonce: str) -> str:
    """nginx.conf for one process of this user, everything it writes inside folder."""
    parts = urlsplit(upstream)
    if parts.scheme != "http" or not parts.hostname or parts.path.strip("/"):
        raise ValueError(f"the upstream must be http://HOST:PORT without a path, got {upstream!r}")
    gzip = "gzip on; gzip_types application/json; gzip_proxied any; gzip_min_length 1;" if options.gzip else "gzip off;"
    keepalive = "keepalive 8;" if options.keepalive else ""
    # HTTP/1.1 and an empty Connection header keep the upstream connection open; without keep-alive, nginx's
    # default (HTTP/1.0, Connection: close) is what it sends.
    upstream_protocol = 'proxy_http_version 1.1; proxy_set_header Connection "";' if options.keepalive else ""
    zone = f"limit_req_zone $binary_remote_addr zone=perclient:1m rate={options.rate}r/s;" if options.rate else ""
    burst = f" burst={options.burst} nodelay" if options.burst else ""  # nginx refuses burst=0: no burst is none
    limit = f"limit_req zone=perclient{burst};" if options.rate else ""
    buffers = f"large_client_header_buffers 4 {options.max_request_line};" if options.max_request_line else ""
    return f"""
# master_process off: one process, of this user; no worker switching to the `user` directive's account, so no
# root is needed and the files below stay writable. daemon off: the process is the test's child, stopped by it.
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log notice;
events {{ worker_connections 256; }}
http {{
    # what the self-tests read back: the method, the status, whether gzip compressed the answer, the request line
    log_format selftest '$request_method $status $gzip_ratio $request';
    access_log {folder}/access.log selftest;
    {buffers}
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    default_type application/octet-stream;
    upstream service {{
        server {parts.hostname}:{parts.port or 80};
        {keepalive}
    }}
    {zone}
    server {{
        listen 127.0.0.1:{port};
        {gzip}
        location = {READY_PATH} {{ return 200 "{nonce}"; }}
        location / {{
            {limit}
            proxy_pass http://service;
            {upstream_protocol}
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Nginx:
    """`with Nginx(upstream_url) as nginx:` serves at nginx.base_url, proxying to upstream_url."""

    def __init__(self, upstream: str, options: Options = Options(), binary: str | None = None):
        self.upstream = upstream
        self.options = options
        self.binary = binary or nginx_binary()
        if self.binary is None:
            raise NginxFailed(NOT_INSTALLED)
        self.folder = Path(tempfile.mkdtemp(prefix="selftest-nginx-"))
        self.port: int | None = None
        self._process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def access_log(self) -> list[Logged]:
        """Each request nginx answered so far."""
        path = self.folder / "access.log"
        lines = path.read_text("utf-8", "replace").splitlines() if path.exists() else []
        return [Logged.parse(line) for line in lines]

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text("utf-8", "replace") if path.exists() else ""

    def start(self) -> Nginx:
        try:
            for attempt in itertools.count(1):
                if self._start_once():
                    return self
                if attempt == PORT_TRIES:
                    raise NginxFailed(f"nginx found no free port in {PORT_TRIES} tries: {self.error_log()[-2000:]}")
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")

    def _start_once(self) -> bool:
        """True once nginx serves its port; False when another process took the port first."""
        self.port = _free_port()
        nonce = secrets.token_hex(8)
        conf = self.folder / "nginx.conf"
        conf.write_text(config_text(self.folder, self.port, self.upstream, self.options, nonce), encoding="utf-8")
        (self.folder / "error.log").unlink(missing_ok=True)
        # -e: the error log before the config is read is inside the folder too, not /var/log/nginx
        self._process = subprocess.Popen(
            [self.binary, "-p", str(self.folder), "-c", str(conf), "-e", str(self.folder / "error.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.monotonic()
        while True:
            if self._process.poll() is not None:
                log = self.error_log()
                self._process = None
                if "Address already in use" in log:
                    return False
                raise NginxFailed(f"nginx for 127.0.0.1:{self.port} exited at start: {log[-2000:]}")
            if _answers(f"{self.base_url}{READY_PATH}", nonce):
                return True
            if time.monotonic() - started > READY_TIMEOUT_SECONDS:
                raise NginxFailed(
                    f"nginx on 127.0.0.1:{self.port} not ready after {READY_TIMEOUT_SECONDS:g} s: "
                    f"{self.error_log()[-2000:]}"
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop nginx (SIGTERM, SIGKILL past the deadline), wait for it, remove its folder; later calls do nothing."""
        process, self._process = self._process, None
        try:
            if process is not None:
                process.terminate()
                try:
                    process.wait(STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _answers(url: str, nonce: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (our own nginx on 127.0.0.1)
            return response.read().decode("ascii", "replace") == nonce
    except (OSError, urllib.error.URLError):
        return False


# --- an upstream that dies mid-run ---------------------------------------------------------------


class Plug:
    """A TCP relay on 127.0.0.1 between nginx and the upstream; `pull()` closes it and every connection through
    it, so nginx finds its upstream gone (connection refused, or closed mid-answer) and answers 502 itself.
    nginx's kept-alive connections go through the relay too, so they die with it."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self._target = (parts.hostname, parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._pulled = False
        self._thread = threading.Thread(target=self._accept, name="selftest-plug", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Plug:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.pull()
        self._thread.join()

    def pull(self) -> None:
        """Close the relay's port and every connection through it; later calls do nothing."""
        with self._lock:
            if self._pulled:
                return
            self._pulled = True
            doomed = [self._listener, *self._sockets]
        for sock in doomed:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # not connected (the listener), or already closed by its peer
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # pulled
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)  # an idle kept-alive connection waits as long as nginx keeps it
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._pulled:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        """Bytes both ways until either side closes (or the plug is pulled); then both are closed."""
        pair = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [])
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):
            return  # pulled: the sockets were closed under the select (ValueError: a closed socket's fd is -1)
        finally:
            with self._lock:
                self._sockets.difference_update(pair)
            for sock in pair:
                sock.close()


def dies_after(app: Callable, requests: int, die: Callable[[], None]) -> Callable:
    """The WSGI app, answering its first `requests` requests; at the next, die() is called and no answer comes."""
    count = itertools.count(1)
    lock = threading.Lock()

    def wsgi(environ, start_response):
        with lock:
            n = next(count)
        if n > requests:
            die()
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"this upstream is dead: nginx never relays this answer"]
        return app(environ, start_response)

    return wsgi


@contextlib.contextmanager
def dying_upstream(app: Callable, requests: int) -> Iterator[str]:
    """Serve the WSGI app on 127.0.0.1 through a plug pulled at its request number `requests + 1`; yields the URL
    for nginx to proxy to. The plug and the server are stopped on leaving."""
    plugs: list[Plug] = []  # the plug is made after the server it plugs into, which serves `die` already

    def die() -> None:
        plugs[0].pull()

    with start_embedded(dies_after(app, requests, die)) as server, Plug(server.base_url) as plug:
        plugs.append(plug)
        yield plug.url

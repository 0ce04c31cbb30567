"""Hostile targets for the self-tests: a raw TCP server on 127.0.0.1 that answers the first few requests
honestly (by forwarding them to a reference server, so the suite's preflight passes), then misbehaves as its
behaviour says: hangs, stalls, drips, floods, bombs, redirects, resets. It records every request it sees."""

from __future__ import annotations

import http.client
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

CRLF = b"\r\n"
HEADERS_LIMIT = 65536


@dataclass
class Seen:
    at: float
    method: str
    target: str
    headers: dict[str, str]


@dataclass
class HostileServer:
    """Serves until stop(); `behaviour(conn, seen, server)` answers each request past the first `honest` ones."""

    behaviour: Callable[[socket.socket, Seen, HostileServer], None]
    upstream: str | None = None  # "http://127.0.0.1:PORT" answering the honest requests
    honest: int = 0
    # Requests without a token (the suite's probe of the environment) forwarded honestly too: the hostility is
    # then the endpoint's own answer to the cases, not a target that went down (which the suite reads as exit 2)
    spare_tokenless: bool = False
    seen: list[Seen] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        seen = _read_request(conn)
        if seen is None:
            return
        with self._lock:
            self.seen.append(seen)
            number = len(self.seen)
        try:
            tokenless = self.spare_tokenless and not any(name.lower() == "authorization" for name in seen.headers)
            if (number <= self.honest or tokenless) and self.upstream:
                _forward(conn, seen, self.upstream)
            else:
                self.behaviour(conn, seen, self)
        except OSError:
            pass  # the client gave up (its deadline): that is the point

    def peak_rate(self) -> int:
        """The most requests seen within any one second."""
        times = sorted(s.at for s in self.seen)
        best = 0
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best


def _read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while CRLF * 2 not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > HEADERS_LIMIT:
            return None
    head = data.split(CRLF * 2, 1)[0].decode("latin-1")
    line, *header_lines = head.split("\r\n")
    method, target, _ = (line.split(" ") + ["", ""])[:3]
    headers = {}
    for header in header_lines:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    return Seen(time.monotonic(), method, target, headers)


@dataclass(frozen=True)
class Forwarded:
    status: int
    body: bytes
    raw: bytes  # the whole answer, ready to relay


def forward_and_keep(seen: Seen, upstream: str) -> Forwarded:
    """Send the request seen to upstream; its answer, as bytes to relay."""
    host, port = upstream.removeprefix("http://").split(":")
    client = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {k: v for k, v in seen.headers.items() if k.lower() not in ("host", "connection")}
    client.request(seen.method, seen.target, headers=headers)
    answer = client.getresponse()
    body = answer.read()
    client.close()
    kept = [
        (k, v) for k, v in answer.getheaders() if k.lower() not in ("transfer-encoding", "connection", "content-length")
    ]
    head = f"HTTP/1.1 {answer.status} {answer.reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return Forwarded(answer.status, body, head.encode("latin-1") + body)


def _forward(conn: socket.socket, seen: Seen, upstream: str) -> None:
    conn.sendall(forward_and_keep(seen, upstream).raw)


def _head(status: str, *headers: str) -> bytes:
    return ("HTTP/1.1 " + status + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode("latin-1")


# -- behaviours --------------------------------------------------------------------------------------------


def forward(conn, seen, server) -> None:
    """Answer every request as the upstream does: an honest target that counts what it is sent, and when."""
    _forward(conn, seen, server.upstream)


def hang(conn, seen, server) -> None:
    """Read the request, never answer."""
    server.stopping.wait(60)


def stall_after_headers(conn, seen, server) -> None:
    """Send the status and headers of a 1000-byte JSON body, then nothing."""
    conn.sendall(_head("200 OK", "Content-Type: application/json", "Content-Length: 1000"))
    server.stopping.wait(60)


def drip(conn, seen, server) -> None:
    """Send the headers, then one byte of body every 0.2 s, for ever."""
    conn.sendall(_head("200 OK", "Content-Type: application/json", "Connection: close"))
    while not server.stopping.wait(0.2):
        conn.sendall(b" ")


def html_500(conn, seen, server) -> None:
    """HTTP 500 with an HTML page, as a crashed application server answers."""
    body = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
    conn.sendall(_head("500 Internal Server Error", "Content-Type: text/html", f"Content-Length: {len(body)}") + body)


HUGE_BYTES = 50 * 1024 * 1024


def huge_body(conn, seen, server) -> None:
    """A 50 MB JSON-looking body."""
    conn.sendall(_head("200 OK", "Content-Type: application/json", f"Content-Length: {HUGE_BYTES}"))
    block = b'{"code": 5032, "msg": "' + b"x" * 65000 + b'"}'
    sent = 0
    while sent < HUGE_BYTES:
        piece = block[: HUGE_BYTES - sent]
        conn.sendall(piece)
        sent += len(piece)


def make_gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip stream of inflated_mib MiB of zeros, about 1000 times smaller: one fully flushed deflate run of
    1 MiB of zeros (it refers to nothing before it) repeated, then the gzip trailer."""
    block = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    run = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    final_block = b"\x03\x00"  # an empty final fixed-Huffman block
    trailer = struct.pack("<II", crc, (inflated_mib << 20) & 0xFFFFFFFF)
    return header + run * inflated_mib + final_block + trailer


def gzip_bomb(bomb: bytes):
    def behaviour(conn, seen, server) -> None:
        """A small gzip body that inflates to gigabytes."""
        conn.sendall(
            _head("200 OK", "Content-Type: application/json", "Content-Encoding: gzip", f"Content-Length: {len(bomb)}")
            + bomb
        )

    return behaviour


def nested_json(conn, seen, server) -> None:
    """JSON nested 100000 levels deep."""
    body = b"[" * 100000 + b"]" * 100000
    conn.sendall(_head("200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}") + body)


def invalid_utf8(conn, seen, server) -> None:
    """An envelope whose bytes are not UTF-8."""
    body = b'{"code": 5032, "msg": "\xff\xfe\xfd", "data": null, "extMsg": null}'
    conn.sendall(_head("200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}") + body)


def redirect_to(location: Callable[[Seen], str], status: str = "307 Temporary Redirect"):
    def behaviour(conn, seen, server) -> None:
        """Redirect elsewhere."""
        conn.sendall(_head(status, f"Location: {location(seen)}", "Content-Length: 0"))

    return behaviour


def reset(conn, seen, server) -> None:
    """Close the connection with a TCP reset, no answer."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def counting(conn, seen, server) -> None:
    """The "other host" of a redirect: answer a plain envelope (it must never be reached)."""
    body = b'{"code": 5032, "msg": "Token verification failed"}'
    conn.sendall(_head("200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}") + body)
